import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';

/** Runs inside the namespace: one TCP connection to a loopback port, bridged to stdin/stdout. */
const BRIDGE =
  "const s = require('net').connect(Number(process.argv[1]), '127.0.0.1'); process.stdin.pipe(s).pipe(process.stdout); s.on('error', () => process.exit(1)); s.on('close', () => process.exit(0));";

/**
 * A loopback port on this host that reaches a loopback port inside a lab node's network namespace
 * (its viewer and metrics listen there, as on a real host behind an SSH tunnel). One `nsenter`
 * bridge process per connection; each ends with its connection.
 */
export async function forwardIntoNamespace(netns: string, targetPort: number, listenPort: number): Promise<Server> {
  const server = createServer((socket) => {
    const child = spawn('nsenter', [`--net=/run/netns/${netns}`, '--', process.execPath, '-e', BRIDGE, String(targetPort)], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    socket.pipe(child.stdin);
    child.stdout.pipe(socket);
    const end = () => {
      socket.destroy();
      if (child.exitCode === null) child.kill('SIGTERM');
    };
    socket.on('error', end).on('close', end);
    child.on('exit', () => socket.end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => resolve());
  });
  return server;
}
