/** The lab's side of each engine's control socket: requests, status, and waiting on the pair's states. */

import { join } from 'node:path';
import { controlRequest } from '../src/cli/control-client.js';
import type { ControlRequest, ControlResponse } from '../src/runtime/control-protocol.js';
import type { NodeStatus } from '../src/runtime/status.js';
import { sleep } from './exec.js';
import { nodeDir, type NodeName } from './topology.js';

export async function request(n: NodeName, request: ControlRequest): Promise<ControlResponse> {
  return controlRequest(join(nodeDir(n), 'run', 'control.sock'), request, 3_000);
}

export async function status(n: NodeName): Promise<NodeStatus> {
  const r = await request(n, { cmd: 'status' });
  if (!r.ok || !('status' in r)) throw new Error(`status of ${n}: ${r.ok ? 'unexpected' : r.error}`);
  return r.status;
}

/** States of both nodes; a node whose engine is down shows as `down`. */
export async function states(): Promise<Record<NodeName, string>> {
  const get = async (n: NodeName) => (await status(n).catch(() => null))?.state ?? 'down';
  return { a: await get('a'), b: await get('b') };
}

export async function waitFor(what: string, pred: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await pred()) return Date.now() - started;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; states ${JSON.stringify(await states())}`);
}

/** Exactly one node serving, the other not holding anything active. */
export async function servingNode(): Promise<NodeName | null> {
  const s = await states();
  const serving = (['a', 'b'] as const).filter((n) => s[n].startsWith('active.serving'));
  return serving.length === 1 ? (serving[0] ?? null) : null;
}

export async function waitOneServing(timeoutMs = 60_000): Promise<NodeName> {
  // set inside the predicate: the cast keeps TypeScript from narrowing it to null for good
  let node = null as NodeName | null;
  await waitFor('exactly one node serving', async () => (node = await servingNode()) !== null, timeoutMs);
  return node ?? 'a';
}
