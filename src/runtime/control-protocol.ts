import type { NodeStatus, TransitionRecord } from './status.js';
import type { Fitness } from '../guards/fitness.js';

/** One JSON line from the operator's CLI to the service over the root-only control socket. */
export type ControlRequest =
  | { cmd: 'status' }
  | { cmd: 'check' }
  | { cmd: 'switchover' }
  | { cmd: 'maintenance'; on: boolean }
  | { cmd: 'resume' }
  | { cmd: 'shutdown'; release: boolean }
  | { cmd: 'events' };

export type ControlResponse =
  | { ok: true; status: NodeStatus }
  | { ok: true; fitness: Fitness }
  | { ok: true; accepted: string; state: string }
  | { ok: true; transition: TransitionRecord }
  | { ok: false; error: string };

export function parseRequest(line: string): ControlRequest | null {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof doc !== 'object' || doc === null) return null;
  const r = doc as Record<string, unknown>;
  switch (r.cmd) {
    case 'status':
    case 'check':
    case 'switchover':
    case 'resume':
    case 'events':
      return { cmd: r.cmd };
    case 'maintenance':
      return typeof r.on === 'boolean' ? { cmd: 'maintenance', on: r.on } : null;
    case 'shutdown':
      return typeof r.release === 'boolean' ? { cmd: 'shutdown', release: r.release } : null;
    default:
      return null;
  }
}
