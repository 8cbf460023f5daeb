import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { parseRequest, type ControlRequest, type ControlResponse } from './control-protocol.js';
import type { TransitionRecord } from './status.js';

export interface ControlHandlers {
  handle(request: Exclude<ControlRequest, { cmd: 'events' }>): ControlResponse;
  /** Subscribe to transitions; returns the unsubscribe. */
  onTransition(listener: (t: TransitionRecord) => void): () => void;
}

/**
 * The root-only control socket: its directory is 0700 and the socket 0600, both root's, so only
 * root can connect. One JSON request per line, one JSON response per line; `events` streams.
 */
export interface ControlServer {
  /** Stop listening and drop every connection (an `events` follower must not keep the service alive). */
  close(): void;
}

export async function startControlServer(path: string, handlers: ControlHandlers): Promise<ControlServer> {
  const sockets = new Set<Socket>();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  chmodSync(dirname(path), 0o700);
  rmSync(path, { force: true });
  const server: Server = createServer((socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffer = '';
    let unsubscribe: (() => void) | null = null;
    const reply = (r: ControlResponse) => socket.write(`${JSON.stringify(r)}\n`);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const request = parseRequest(line);
        if (request === null) {
          reply({ ok: false, error: 'unknown request: expected {"cmd":"status|check|switchover|maintenance|resume|shutdown|events"}' });
          continue;
        }
        if (request.cmd === 'events') {
          unsubscribe?.();
          unsubscribe = handlers.onTransition((t) => reply({ ok: true, transition: t }));
          continue;
        }
        try {
          reply(handlers.handle(request));
        } catch (error) {
          reply({ ok: false, error: error instanceof Error ? error.message : String(error) });
        }
      }
    });
    socket.on('close', () => unsubscribe?.());
    socket.on('error', () => unsubscribe?.());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const old = process.umask(0o177);
    server.listen(path, () => {
      process.umask(old);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  return {
    close() {
      server.close();
      for (const s of sockets) s.destroy();
      rmSync(path, { force: true });
    },
  };
}
