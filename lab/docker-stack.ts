/** Each node's dockerd (the Harbor-shaped stack of lab/docker runs on it) and the docker CLI against it. */

import { join } from 'node:path';
import { run } from './exec.js';
import { dockerDir, dockerSocket, dockerState, LAB, mountNsPath, type NodeName } from './topology.js';

/** One dockerd per node in its namespace, with the stack's images (built once per machine). */
export function startDockers(log: (line: string) => void): void {
  const t0 = Date.now();
  run([join(dockerDir, 'install.sh')], { timeoutMs: 600_000 });
  run([join(dockerDir, 'build-images.sh')], { timeoutMs: 1_800_000 });
  for (const n of ['a', 'b'] as const) {
    startDockerd(n);
    run([join(dockerDir, 'load-images.sh'), dockerSocket(n)], { timeoutMs: 600_000 });
  }
  log(`dockerd a and b up with images in ${Date.now() - t0} ms`);
}

/** Node `n`'s daemon, in the node's network and mount namespaces (it binds what the node's engine mounted). */
export function startDockerd(n: NodeName): void {
  run(dockerdArgv('start', n), { timeoutMs: 60_000 });
}

/** `dockerd.sh <verb>` for node `n` (with its mount namespace). */
export function dockerdArgv(verb: 'start' | 'stop', n: NodeName, ...options: string[]): string[] {
  return [join(dockerDir, 'dockerd.sh'), verb, n, `${LAB.prefix}-${n}`, dockerState(n), `--mount-ns=${mountNsPath(n)}`, ...options];
}

/** The docker CLI against the node's own daemon. */
export function docker(n: NodeName, args: string[], timeoutMs = 30_000): string {
  return run(['/usr/bin/docker', '-H', `unix://${dockerSocket(n)}`, ...args], { timeoutMs });
}
