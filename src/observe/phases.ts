import type { StateView } from '../machine/index.js';
import type { PhaseDuration } from './journal.js';

export type Operation = 'takeover' | 'release';

export interface OperationSummary {
  operation: Operation;
  outcome: string;
  ok: boolean;
  startedAt: number;
  /** What started it: the event and the machine's reason at that moment ("operator switchover"). */
  cause: { event: string; reason: string };
  totalMs: number;
  /** acquiring-rbd, fencing, mounting, starting / surveying, stopping-harbor, unmounting, unmapping, released */
  phases: PhaseDuration[];
  steps: PhaseDuration[];
}

interface Running {
  operation: Operation;
  startedAt: number;
  cause: { event: string; reason: string };
  phases: Map<string, number>;
  steps: Map<string, number>;
}

/** Which operation a state belongs to, by its tags. */
function operationOf(state: StateView): Operation | null {
  if (state.tags.includes('release')) return 'release';
  if (state.tags.includes('takeover')) return 'takeover';
  return null;
}

/** How an operation ended: `serving`, or the top-level state it left for. */
const outcomeOf = (to: StateView): string => (to.tags.includes('serving') ? 'serving' : to.top);

const add = (m: Map<string, number>, k: string, ms: number) => m.set(k, (m.get(k) ?? 0) + ms);
const list = (m: Map<string, number>): PhaseDuration[] => [...m].map(([phase, durationMs]) => ({ phase, durationMs }));

/**
 * Turns the stream of transitions into takeover and release summaries: how long each phase and
 * each step took (retries and backoffs included), and how it ended. Pure: time is passed in.
 */
export class PhaseTracker {
  private running: Running | null = null;
  private lastAt: number | null = null;

  /** Feed every transition in order; returns the operations this transition completed. */
  observe(at: number, from: StateView, to: StateView, cause: { event: string; reason: string } = { event: '', reason: '' }): OperationSummary[] {
    const done: OperationSummary[] = [];
    const r = this.running;
    if (r && this.lastAt !== null && operationOf(from) === r.operation) {
      const phase = from.phase ?? '';
      const ms = at - this.lastAt;
      add(r.phases, phase, ms);
      add(r.steps, from.within ? `${phase}.${from.within}` : phase, ms);
    }
    this.lastAt = at;
    const next = operationOf(to);
    if (r && next !== r.operation) {
      const outcome = outcomeOf(to);
      const ok = r.operation === 'takeover' ? outcome === 'serving' : outcome !== 'failed';
      done.push({
        operation: r.operation,
        outcome,
        ok,
        startedAt: r.startedAt,
        cause: r.cause,
        totalMs: at - r.startedAt,
        phases: list(r.phases),
        steps: list(r.steps),
      });
      this.running = null;
    }
    if (next !== null && this.running === null) this.running = { operation: next, startedAt: at, cause, phases: new Map(), steps: new Map() };
    return done;
  }
}
