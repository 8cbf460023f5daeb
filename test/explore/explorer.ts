import { stateViolation } from './invariants.js';
import { Model, type ModelOptions, type State, type Step } from './model.js';
import { isWriter, NODES, type NodeId } from './world.js';

/*
 * Breadth-first exploration of the composed state: every step from every state up to a depth,
 * with at most `maxFaults` faults per path; visited states are hashed (sha1 of the canonical key).
 * G1–G4 are checked on every state and step; liveness runs one fault-free continuation from
 * every explored state (memoized: continuations meet quickly).
 */

export interface ExploreOptions extends ModelOptions {
  maxDepth: number;
  /** Check liveness from every state (`every` 1), every k-th new state, or never (0). */
  livenessEvery: number;
  /** Steps a fault-free continuation may take before someone must serve. */
  livenessSteps: number;
  /** Stop at the first violation (mutation tests) or collect up to this many. */
  maxViolations: number;
  /** Give up (and say so) after this long. */
  timeLimitMs: number;
  /** Where paths start: a cold start of both nodes, and/or the steady state (a serves, b stands by). */
  roots: readonly RootName[];
  /** Stop at the first violation matching this (mutation tests); otherwise at `maxViolations`. */
  stopOn?: RegExp;
  /**
   * Bounded unavailability: the faults stay (nothing heals, nothing resumes) and the fault-free
   * continuation may let at most this much model time pass while no node serves.
   */
  availability?: Availability;
}

/** The availability bound, checked from the states `when` accepts (all when unset). */
export interface Availability {
  maxOutageMs: number;
  when?: (w: State['world']) => boolean;
}

export type RootName = 'cold' | 'steady';

/** The steady state: a cold start run fault-free until it rests (a serves, b is a standby that polled the image). */
export function rootState(model: Model, root: RootName): State {
  let s = model.initial();
  if (root === 'cold') return s;
  for (let i = 0; i < 200; i += 1) {
    const steps = model.successors(s, false).filter((x) => !x.fault);
    let best: Step | undefined;
    for (const x of steps) if (best === undefined || rank(x.label) < rank(best.label)) best = x;
    if (best === undefined) return s;
    s = best.next;
  }
  throw new Error('the steady root does not come to rest');
}

export interface Violation {
  kind: 'safety' | 'liveness';
  message: string;
  /** Labels of the steps from the initial state. */
  path: string[];
}

export interface ExploreResult {
  states: number;
  transitions: number;
  depth: number;
  faultsPerPath: number;
  violations: Violation[];
  livenessChecked: number;
  runMs: number;
  complete: boolean;
  machineTransitions: number;
  memoHits: number;
}

interface Visit {
  parent: string | null;
  label: string;
}

export function pathTo(visited: Map<string, Visit>, key: string): string[] {
  const labels: string[] = [];
  for (let k: string | null = key; k !== null;) {
    const v = visited.get(k);
    if (!v) break;
    labels.push(v.label);
    k = v.parent;
  }
  return labels.reverse();
}

/** The node that serves: its engine serves, Harbor runs and writes, the VIP is there. */
export function serving(model: Model, s: State, n: NodeId): boolean {
  const e = model.live(s, n);
  return e !== null && e.snap.hasTag('serving') && s.world.hosts[n].harbor && isWriter(s.world, n) && s.world.hosts[n].vip;
}

const PRIORITY: Array<[RegExp, number]> = [
  [/resumes|restart|heals|healthy again|maintenance\.off|VIP reconciler/, 0],
  [/keepalived/, 1],
  [/watchdog|health\.|standby poll|late /, 2],
  [/ done | fails \(/, 3],
  [/\+\d+ ms/, 4],
];
const rank = (label: string): number => PRIORITY.find(([re]) => re.test(label))?.[1] ?? 5;

const HEALS = /resumes|heals|healthy again|restart/;
const elapsedMs = (label: string): number => Number(/\+(\d+) ms/.exec(label)?.[1] ?? 0);

export class Liveness {
  private readonly memo = new Map<string, string | null>();
  constructor(
    private readonly model: Model,
    private readonly maxSteps: number,
    private readonly availability: Availability | null = null,
  ) {}

  /** Null when exactly one node serves at the end of the fault-free continuation; else why not, with the continuation. */
  check(start: State): { error: string; continuation: string[] } | null {
    if (this.availability?.when && !this.availability.when(start.world)) return null;
    const keys: string[] = [];
    const labels: string[] = [];
    let s = start;
    let verdict: string | null = 'continuation stopped';
    // with the availability bound the verdict depends on the time already spent: no memo
    const memo = this.availability === null ? this.memo : new Map<string, string | null>();
    let outageMs = 0;
    for (let i = 0; ; i += 1) {
      const key = this.model.key(s);
      const known = memo.get(key);
      if (known !== undefined) {
        verdict = known;
        break;
      }
      keys.push(key);
      let steps = this.model.successors(s, false).filter((x) => !x.fault);
      // the VIP reconciler runs while faults have stopped, like every other reaction
      steps.push(...this.model.reconcile(s));
      if (this.availability !== null) steps = steps.filter((x) => !HEALS.test(x.label));
      if (steps.length === 0) {
        const servers = NODES.filter((n) => serving(this.model, s, n));
        verdict = servers.length === 1 ? null : `at rest with ${servers.length} nodes serving`;
        break;
      }
      if (i >= this.maxSteps) {
        verdict = `no rest within ${this.maxSteps} fault-free steps`;
        break;
      }
      let best: Step | undefined;
      for (const x of steps) if (best === undefined || rank(x.label) < rank(best.label)) best = x;
      if (best === undefined) break;
      labels.push(best.label);
      if (this.availability !== null && !NODES.some((n) => serving(this.model, s, n))) {
        outageMs += elapsedMs(best.label);
        if (outageMs > this.availability.maxOutageMs) {
          verdict = `nobody served for ${outageMs} ms of model time (bound ${this.availability.maxOutageMs} ms)`;
          break;
        }
      }
      s = best.next;
    }
    const v = verdict;
    for (const k of keys) memo.set(k, v);
    return v === null ? null : { error: v, continuation: labels };
  }
}

export function explore(o: ExploreOptions): ExploreResult {
  const started = Date.now();
  const model = new Model(o);
  const liveness = new Liveness(model, o.livenessSteps, o.availability ?? null);
  const visited = new Map<string, Visit>();
  const violations: Violation[] = [];
  let frontier: Array<[string, State]> = [];
  for (const root of o.roots) {
    const s = rootState(model, root);
    const k = model.key(s);
    visited.set(k, { parent: null, label: `start:${root}` });
    frontier.push([k, s]);
  }
  let transitions = 0;
  let depth = 0;
  let livenessChecked = 0;
  let complete = true;
  let sinceLiveness = 0;

  const stop = () => violations.length >= o.maxViolations || (o.stopOn !== undefined && violations.some((v) => o.stopOn?.test(v.message)));
  const record = (message: string, path: string[]) => {
    if (violations.length < Math.max(o.maxViolations, 1000)) violations.push({ kind: 'safety', message, path });
  };
  const checkLiveness = (key: string, s: State) => {
    if (o.livenessEvery <= 0) return;
    sinceLiveness += 1;
    if (sinceLiveness < o.livenessEvery) return;
    sinceLiveness = 0;
    livenessChecked += 1;
    const r = liveness.check(s);
    if (r)
      violations.push({
        kind: 'liveness',
        message: `liveness: ${r.error}; fault-free continuation: ${r.continuation.join(' → ')}`,
        path: pathTo(visited, key),
      });
  };

  for (const [k, s] of frontier) checkLiveness(k, s);
  outer: while (frontier.length > 0 && depth < o.maxDepth) {
    const next: Array<[string, State]> = [];
    for (const [key, s] of frontier) {
      if (Date.now() - started > o.timeLimitMs) {
        complete = false;
        break outer;
      }
      for (const step of model.successors(s)) {
        transitions += 1;
        const bad = step.violation ?? stateViolation(step.next.world);
        const k = model.key(step.next);
        if (visited.has(k)) {
          if (step.violation !== undefined) record(step.violation, [...pathTo(visited, key), step.label]);
          if (stop()) break outer;
          continue;
        }
        // a violating state is recorded and still explored (a mutant's G4 may lead on to its G1)
        if (bad !== null) record(bad, [...pathTo(visited, key), step.label]);
        if (stop()) break outer;
        visited.set(k, { parent: key, label: step.label });
        next.push([k, step.next]);
        checkLiveness(k, step.next);
        if (stop()) break outer;
      }
    }
    depth += 1;
    frontier = next;
  }
  return {
    states: visited.size,
    transitions,
    depth,
    faultsPerPath: o.maxFaults,
    violations,
    livenessChecked,
    runMs: Date.now() - started,
    complete,
    machineTransitions: model.engine.transitions,
    memoHits: model.engine.memoHits,
  };
}

export function summaryLine(r: ExploreResult): string {
  return `safety exploration: states ${r.states}, transitions ${r.transitions}, depth ${r.depth}, faults per path ${r.faultsPerPath}, violations ${r.violations.length}`;
}
