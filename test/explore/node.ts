import { initialTransition, transition, type AnyEventObject, type SnapshotFrom } from 'xstate';
import { nodeMachine } from '../../src/machine/index.js';
import type { NodeContext, NodeInput } from '../../src/machine/context.js';
import type { Timing } from '../../src/machine/timing.js';
import { stateName } from '../../src/runtime/status.js';
import { IP, NOW, type NodeId } from './world.js';

/*
 * One real `nodeMachine` as the explorer holds it: the snapshot of the pure transition function,
 * the timers it armed (from the `xstate.raise` actions with a delay, with the time left), and the
 * inputs of its running invokes (from `xstate.spawnChild`). Transitions are memoized on the
 * snapshot's canonical key: every stored snapshot is re-based to NOW, so equal keys mean equal
 * behaviour.
 */

export type Machine = typeof nodeMachine;
export type Snap = SnapshotFrom<Machine>;

export interface Timer {
  /** The delayed event's id, which is also its type: `xstate.after.<delay>.<state id>`. */
  id: string;
  remaining: number;
}

export interface EngineState {
  snap: Snap;
  timers: Timer[];
  inputs: Record<string, unknown>;
}

/** What a transition asked the outside world to do, besides timers and invokes. */
export type MarkerAction = 'persistFailed' | 'clearFailed' | 'persistMaintenance' | 'clearMaintenance';
const MARKERS: ReadonlySet<string> = new Set<MarkerAction>(['persistFailed', 'clearFailed', 'persistMaintenance', 'clearMaintenance']);

export interface Stepped {
  engine: EngineState;
  markers: MarkerAction[];
}

export function nodeInput(n: NodeId, timing: Timing): NodeInput {
  return { timing, nodeName: n, ownAddresses: [IP[n]], fenceScope: 'client' };
}

interface Raised {
  type: string;
  params?: { delay?: number; id?: string; sendId?: string; input?: unknown };
}

function paramsOf(a: unknown): Raised['params'] {
  const p = (a as Raised).params;
  return typeof p === 'object' ? p : undefined;
}

/** Active invoke ids of a snapshot. */
export function invokesOf(snap: Snap): string[] {
  const ids: string[] = [];
  for (const n of snap._nodes) for (const i of n.invoke) ids.push(i.id);
  return ids;
}

function applyActions(prev: EngineState | null, snap: Snap, actions: readonly unknown[]): Stepped {
  const timers = prev ? prev.timers.map((t) => ({ ...t })) : [];
  let inputs: Record<string, unknown> = prev ? { ...prev.inputs } : {};
  const markers: MarkerAction[] = [];
  for (const a of actions) {
    const type = (a as Raised).type;
    const p = paramsOf(a);
    if (type === 'xstate.raise' && p?.delay !== undefined && p.id !== undefined) {
      const id = p.id;
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
      timers.push({ id, remaining: p.delay });
    } else if (type === 'xstate.cancel' && p?.sendId !== undefined) {
      const i = timers.findIndex((t) => t.id === p.sendId);
      if (i >= 0) timers.splice(i, 1);
    } else if (type === 'xstate.spawnChild' && p?.id !== undefined) {
      inputs[p.id] = p.input;
    } else if (MARKERS.has(type)) {
      markers.push(type as MarkerAction);
    }
  }
  const active = new Set(invokesOf(snap));
  inputs = Object.fromEntries(Object.entries(inputs).filter(([id]) => active.has(id)));
  timers.sort((x, y) => (x.id < y.id ? -1 : 1));
  return { engine: { snap, timers, inputs }, markers };
}

/** The context fields behaviour depends on (reason and lastError are text for people). */
export function contextKey(c: NodeContext): unknown[] {
  return [
    c.vrrp,
    c.health,
    c.attempts,
    c.fenceRounds,
    c.failures,
    c.knownHolders.map((k) => [k.address, k.firstSeenAt - NOW]),
    c.holders.map((h) => h.address),
    c.ownership,
    c.knownClaim === null ? null : [c.knownClaim.node, c.knownClaim.generation, c.knownClaim.firstSeenAt - NOW],
    c.generation,
    c.claimAttempt,
    c.fencedAddresses,
    c.holdings,
    c.exitTo,
    c.releaseFailed,
    c.releaseStalled,
    c.deadPath,
  ];
}

// snapshots and engine states are never mutated: their keys are computed once
const snapKeys = new WeakMap<Snap, string>();
const engineKeys = new WeakMap<EngineState, string>();

export function snapKey(snap: Snap): string {
  let k = snapKeys.get(snap);
  if (k === undefined) {
    k = JSON.stringify([snap.status, snap.value, contextKey(snap.context)]);
    snapKeys.set(snap, k);
  }
  return k;
}

export function engineKey(e: EngineState | null): string {
  if (e === null) return 'down';
  let k = engineKeys.get(e);
  if (k === undefined) {
    k = JSON.stringify([snapKey(e.snap), e.timers.map((t) => [t.id, t.remaining]), e.inputs]);
    engineKeys.set(e, k);
  }
  return k;
}

export function eventKey(e: AnyEventObject): string {
  const err = (e as { error?: unknown }).error;
  return JSON.stringify(err instanceof Error ? { ...e, error: err.message } : e);
}

/** The real machine (or a mutant of it) with a memo of its pure transitions. */
export class Engine {
  private readonly memo = new Map<string, [Snap, readonly unknown[]]>();
  transitions = 0;
  memoHits = 0;

  constructor(
    readonly machine: Machine,
    readonly timing: Timing,
  ) {}

  private readonly started = new Map<NodeId, Stepped>();

  start(n: NodeId): Stepped {
    let r = this.started.get(n);
    if (r === undefined) {
      const [snap, actions] = initialTransition(this.machine, nodeInput(n, this.timing));
      this.transitions += 1;
      r = applyActions(null, snap, actions);
      this.started.set(n, r);
    }
    return r;
  }

  send(prev: EngineState, event: AnyEventObject): Stepped {
    const key = `${prev.snap.context.nodeName}|${snapKey(prev.snap)}|${eventKey(event)}`;
    let hit = this.memo.get(key);
    if (hit) this.memoHits += 1;
    else {
      hit = transition(this.machine, prev.snap, event as never);
      this.transitions += 1;
      if (this.memo.size > 400_000) this.memo.clear();
      this.memo.set(key, hit);
    }
    return applyActions(prev, hit[0], hit[1]);
  }
}

/** A copy of the snapshot with another context (its methods are own properties using `this`). */
function withContext(snap: Snap, context: NodeContext): Snap {
  return Object.assign(Object.create(Object.getPrototypeOf(snap) as object) as Snap, snap, { context });
}

/**
 * `d` ms passed: timers run down (unless frozen), and every remembered time moves back by d.
 * Ages of `cap` or more (the holder grace) all behave the same, so they are clamped: that keeps
 * the state space finite without changing what any guard decides.
 */
export function rebase(e: EngineState, d: number, cap: number, frozen: boolean): EngineState {
  if (d === 0) return e;
  const floor = NOW - cap;
  const shift = (t: number) => Math.max(t - d, floor);
  const c = e.snap.context;
  const record = c.ownership.record;
  const context: NodeContext = {
    ...c,
    knownHolders: c.knownHolders.map((k) => ({ address: k.address, firstSeenAt: shift(k.firstSeenAt) })),
    knownClaim: c.knownClaim === null ? null : { ...c.knownClaim, firstSeenAt: shift(c.knownClaim.firstSeenAt) },
    ownership: record === null ? c.ownership : { ...c.ownership, record: { ...record, at: new Date(shift(Date.parse(record.at))).toISOString() } },
  };
  return {
    snap: withContext(e.snap, context),
    timers: frozen ? e.timers : e.timers.map((t) => ({ id: t.id, remaining: t.remaining - d })),
    inputs: e.inputs,
  };
}

/** `xstate.after.claimTimeout.node.active.claiming.running` → `claimTimeout`. */
export function delayName(timerId: string): string {
  return timerId.split('.')[2] ?? timerId;
}

export const flatState = (snap: Snap): string => stateName(snap.value);
