/** Each node's dockerd (the Harbor-shaped stack of lab/docker runs on it) and the docker CLI against it. */

import { join } from 'node:path';
import { run } from './exec.js';
import { dockerDir, dockerSocket, dockerState, LAB, type NodeName } from './topology.js';

/** One dockerd per node in its namespace, with the stack's images (built once per machine). */
export function startDockers(log: (line: string) => void): void {
  const t0 = Date.now();
  run([join(dockerDir, 'install.sh')], { timeoutMs: 600_000 });
  run([join(dockerDir, 'build-images.sh')], { timeoutMs: 1_800_000 });
  for (const n of ['a', 'b'] as const) {
    run([join(dockerDir, 'dockerd.sh'), 'start', n, `${LAB.prefix}-${n}`, dockerState(n)], { timeoutMs: 60_000 });
    run([join(dockerDir, 'load-images.sh'), dockerSocket(n)], { timeoutMs: 600_000 });
  }
  log(`dockerd a and b up with images in ${Date.now() - t0} ms`);
}

export function startDockerd(n: NodeName): void {
  run([join(dockerDir, 'dockerd.sh'), 'start', n, `${LAB.prefix}-${n}`, dockerState(n)], { timeoutMs: 60_000 });
}

/** The docker CLI against the node's own daemon. */
export function docker(n: NodeName, args: string[], timeoutMs = 30_000): string {
  return run(['/usr/bin/docker', '-H', `unix://${dockerSocket(n)}`, ...args], { timeoutMs });
}
