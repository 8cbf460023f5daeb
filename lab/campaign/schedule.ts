/**
 * Seeded fault schedules for the lab campaign. A schedule is data only: which faults, aimed at
 * which role, when and for how long. The same seed always yields the same schedule (no clock, no
 * Math.random), so a failing seed is replayed by running that seed again.
 */

/** Resolved to node a or b when the fault starts: the node serving at that moment, or the other. */
export type Role = 'serving' | 'standby';

/** What a fault does to its node (run.ts carries it out; every one of them ends by itself). */
export type FaultKind =
  /** engine and keepalived SIGKILLed; both restarted after `durationMs` */
  | 'crash'
  /** every process of the node's namespace SIGSTOPped for `durationMs` (a paused VM) */
  | 'pause'
  /** the node cut from Ceph for less than the watch timeout: its watch survives */
  | 'ceph-cut-short'
  /** the node cut from Ceph for longer than the watch timeout: Ceph drops its watch */
  | 'ceph-cut-long'
  /** VRRP dropped in and out of the node for `durationMs` (split brain when aimed at the standby) */
  | 'vrrp-cut'
  /** the node's registry container stopped (Harbor unhealthy); no undo: the engine hands over */
  | 'harbor-down'
  /** a host reboot as far as storage and Docker go: crash, dockerd and the mount gone, dockerd back after `durationMs`, then the service */
  | 'dockerd-restart'
  /** the service stopped (SIGTERM, it detaches) and started again after `durationMs`; keepalived keeps running */
  | 'service-restart'
  /** `switchover` asked of the node */
  | 'switchover'
  /** `maintenance on`, then `maintenance off` after `durationMs` */
  | 'maintenance';

interface Timed {
  /** Start, from the beginning of the campaign run's fault window (ms). */
  atMs: number;
  /** How long the fault lasts before its undo (ms); 0 for a single action. */
  durationMs: number;
}

/** Harbor down and switchover only mean something on the node that serves. */
export type Fault = Timed &
  ({ kind: Exclude<FaultKind, 'harbor-down' | 'switchover'>; target: Role } | { kind: 'harbor-down' | 'switchover'; target: 'serving' });

export interface Schedule {
  seed: number;
  /** Ordered by start. */
  faults: Fault[];
  /** The last fault's end (ms from the window's start). */
  windowMs: number;
}

export const FAULT_KINDS: readonly FaultKind[] = [
  'crash',
  'pause',
  'ceph-cut-short',
  'ceph-cut-long',
  'vrrp-cut',
  'harbor-down',
  'dockerd-restart',
  'service-restart',
  'switchover',
  'maintenance',
];

/** osd_client_watch_timeout: after it, Ceph forgets a cut client's watch. Short and long Ceph cuts straddle it. */
export const WATCH_TIMEOUT_MS = 30_000;
/** Every fault ends within this window, so a run's length is bounded whatever the seed. */
export const WINDOW_MAX_MS = 90_000;
/**
 * How long a single-action fault (switchover, Harbor down) keeps the pair busy: a hand-over takes
 * seconds. Used to tell overlapping from sequential faults and to space sequential ones.
 */
export const INSTANT_SPAN_MS = 3_000;

/**
 * Duration bounds per kind (ms, inclusive). The short Ceph cut stays 5 s under the watch timeout
 * and the long one 2 s over it, so timer drift at run time cannot move a cut across it.
 */
export const DURATION_MS: Readonly<Record<FaultKind, readonly [number, number]>> = {
  crash: [3_000, 20_000],
  pause: [3_000, 40_000],
  'ceph-cut-short': [5_000, WATCH_TIMEOUT_MS - 5_000],
  'ceph-cut-long': [WATCH_TIMEOUT_MS + 2_000, 40_000],
  'vrrp-cut': [5_000, 30_000],
  'harbor-down': [0, 0],
  'dockerd-restart': [5_000, 20_000],
  'service-restart': [500, 10_000],
  switchover: [0, 0],
  maintenance: [5_000, 30_000],
};

const SERVING_ONLY: ReadonlySet<FaultKind> = new Set(['harbor-down', 'switchover']);

/** mulberry32: a 32-bit state PRNG, plenty for picking faults, and the same on every platform. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The span a fault occupies for overlap purposes: its duration, or the hand-over an instant one starts. */
export function spanMs(f: Fault): number {
  return Math.max(f.durationMs, INSTANT_SPAN_MS);
}

/** Do any two faults of the schedule run at the same time? */
export function overlaps(s: Schedule): boolean {
  return s.faults.some((f, i) => s.faults.some((g, j) => i < j && f.atMs < g.atMs + spanMs(g) && g.atMs < f.atMs + spanMs(f)));
}

/** Does some fault start only after an earlier one has ended? */
export function hasSequential(s: Schedule): boolean {
  return s.faults.some((f, i) => s.faults.some((g, j) => i !== j && g.atMs >= f.atMs + spanMs(f)));
}

/** Are all faults aimed at the same role? */
export function sameTarget(s: Schedule): boolean {
  return new Set(s.faults.map((f) => f.target)).size === 1;
}

function makeFault(kind: FaultKind, target: Role, atMs: number, durationMs: number): Fault {
  if (kind === 'harbor-down' || kind === 'switchover') return { kind, target: 'serving', atMs, durationMs };
  return { kind, target, atMs, durationMs };
}

/** The schedule of seed `seed` (an unsigned 32-bit integer). */
export function scheduleFor(seed: number): Schedule {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new RangeError(`seed must be an integer in 0..4294967295, got ${seed}`);
  const rng = mulberry32(seed);
  const below = (n: number) => Math.floor(rng() * n);
  // in steps of 100 ms: schedules read well and print the same everywhere
  const between = (lo: number, hi: number) => lo + 100 * below(Math.floor((hi - lo) / 100) + 1);
  const count = 2 + below(3);
  // a third of the schedules aim every fault at one role by design; in the others each fault draws its own
  const sameRole: Role | null = rng() < 0.35 ? (rng() < 0.6 ? 'serving' : 'standby') : null;
  const kinds = sameRole === 'standby' ? FAULT_KINDS.filter((k) => !SERVING_ONLY.has(k)) : FAULT_KINDS;
  const faults: Fault[] = [];
  for (let i = 0; i < count; i++) {
    const kind = kinds[below(kinds.length)] ?? 'crash';
    const target: Role = sameRole ?? (rng() < 0.6 ? 'serving' : 'standby');
    const [lo, hi] = DURATION_MS[kind];
    const durationMs = between(lo, hi);
    const prev = faults.at(-1);
    let atMs: number;
    if (!prev) atMs = between(1_000, 6_000);
    // overlapping: inside the previous fault's span; sequential: after it, with time to recover
    else if (rng() < 0.45) atMs = prev.atMs + between(0, spanMs(prev) - 100);
    else atMs = prev.atMs + spanMs(prev) + between(3_000, 15_000);
    // never past the window: a late fault is moved earlier, which may make it overlap
    atMs = Math.max(0, Math.min(atMs, WINDOW_MAX_MS - Math.max(durationMs, INSTANT_SPAN_MS)));
    faults.push(makeFault(kind, target, atMs, durationMs));
  }
  faults.sort((x, y) => x.atMs - y.atMs);
  return { seed, faults, windowMs: Math.max(...faults.map((f) => f.atMs + f.durationMs)) };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** One line: `seed 7, window 63.4s: +2.3s crash(serving) 12.0s; +5.1s ceph-cut-long(standby) 35.2s`. */
export function describeSchedule(s: Schedule): string {
  const faults = s.faults.map((f) => `+${seconds(f.atMs)} ${f.kind}(${f.target})${f.durationMs > 0 ? ` ${seconds(f.durationMs)}` : ''}`);
  return `seed ${s.seed}, window ${seconds(s.windowMs)}: ${faults.join('; ')}`;
}
