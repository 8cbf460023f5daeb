import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createActor, fromPromise, type PromiseActorLogic } from 'xstate';
import { nodeMachine, type NodeActors, type Timing, type WorldSnapshot } from '../src/machine/index.js';
import { buildConfig } from '../src/config/index.js';
import { silentLogger } from '../src/log/logger.js';
import { Observability } from '../src/observe/observability.js';
import { watchTransitions } from '../src/runtime/status.js';
import { goodEnv } from '../test/support/config.js';

/** Default timing: the figures measure the engine, and no timer fires with instant actions. */
export const timing: Timing = {
  timeouts: {
    readWorld: 20_000,
    readHolders: 15_000,
    fence: 20_000,
    verifyFence: 45_000,
    map: 60_000,
    probeFilesystem: 15_000,
    format: 600_000,
    fsck: 1_800_000,
    mount: 60_000,
    composeUp: 300_000,
    healthy: 300_000,
    composeDown: 180_000,
    unmount: 60_000,
    unmap: 60_000,
    claim: 20_000,
    record: 20_000,
    disown: 20_000,
  },
  retry: { maxAttempts: 3, backoffBaseMs: 1_000, backoffMaxMs: 30_000 },
  failureBudget: 3,
  holderGraceMs: 5_000,
  fencedCooldownMs: 120_000,
  standDownMs: 30_000,
  // a cycle's release is VRRP BACKUP while serving: no grace, or every cycle would wait it out
  vipLossGraceMs: 0,
};

/** Instant actions over an in-memory world: what is left of a cycle's time is the engine's own. */
export function instantActors(): NodeActors {
  const w = { device: null as string | null, mounted: false, composeRunning: false };
  // a promise constructor, so a throw in f still rejects the actor's promise
  const now = <O, I>(f: (input: I) => NoInfer<O>): PromiseActorLogic<O, I> =>
    fromPromise<O, I>(
      ({ input }) =>
        new Promise<O>((resolve) => {
          resolve(f(input));
        }),
    );
  const world = (): WorldSnapshot => ({
    vipHere: false,
    ...w,
    foreignMount: null,
    ownership: 'ours',
    owner: null,
    failedMarker: null,
    maintenanceMarker: false,
  });
  let generation = 0;
  return {
    readWorld: now(world),
    readHolders: now(() => ({ holders: [], observedAt: 0, ownership: { record: null, lock: null, lastGeneration: generation } })),
    claim: now(() => (generation++, { claimed: true, holder: null })),
    record: now(() => ({ clients: ['10.0.0.1:0/1'] })),
    disown: now(() => undefined),
    fence: now(() => ({ fenced: [] })),
    verifyFence: now(() => ({ holders: [], observedAt: 0 })),
    map: now(() => ((w.device = '/dev/rbd0'), { device: '/dev/rbd0' })),
    probeFilesystem: now(() => ({ fsType: 'ext4', formattedBefore: true })),
    format: now(() => undefined),
    fsck: now(() => undefined),
    mount: now(() => void (w.mounted = true)),
    composeUp: now(() => void (w.composeRunning = true)),
    composeDown: now(() => void (w.composeRunning = false)),
    unmount: now(() => void (w.mounted = false)),
    unmap: now(() => void (w.device = null)),
  };
}

export interface EngineFigures {
  cycles: number;
  cycleMedianUs: number;
  cycleP99Us: number;
  /** The first cycle, on code never run before: a cold takeover + release as the service's first. */
  firstCycleUs: number;
  /** Process CPU time (all threads: GC helpers too) per cycle, mean: steadier than the wall median on a busy machine. */
  cpuPerCycleUs: number;
  eventsPerSecond: number;
  rssStartMiB: number;
  rssAfterMiB: number;
  heapStartMiB: number;
  heapAfterMiB: number;
}

const settle = () => new Promise<void>((r) => setImmediate(r));

type ClockHandle = NodeJS.Timeout | { immediate: NodeJS.Immediate };

/**
 * XState's clock, except that a delay of 0 (the VIP-loss grace above) fires on the next macrotask
 * instead of on a timer: Node clamps `setTimeout(f, 0)` to 1 ms and fires it on the event loop's
 * millisecond clock, so with it every cycle waited for the next whole millisecond (the median
 * snapped to ~1000 µs bare, ~2000 µs observed, whatever the engine did). The event still comes in
 * a later macrotask, as a timer's would. Every other delay (the steps' timeouts) is a real timer.
 */
const clock = {
  setTimeout: (fn: () => void, ms: number): ClockHandle => (ms <= 0 ? { immediate: setImmediate(fn) } : setTimeout(fn, ms)),
  clearTimeout: (handle: ClockHandle): void => {
    if ('immediate' in handle) clearImmediate(handle.immediate);
    else clearTimeout(handle);
  },
};

/**
 * Takeover + release cycles on the real machine with instant actions. With `observe`, every
 * transition also goes to the journal and the metrics as the service sends it (its cost).
 */
export async function measureEngine(cycles: number, observe?: Observability): Promise<EngineFigures> {
  const gc = (globalThis as { gc?: () => void }).gc;
  let events = 0;
  const onTransition = watchTransitions(
    () => actor,
    (record, snap, views) => observe?.transition(record, snap.context, views),
  );
  const actor = createActor(nodeMachine.provide({ actors: instantActors() }), {
    clock,
    input: { timing, nodeName: 'bench', ownAddresses: ['10.0.0.1'], fenceScope: 'client' },
    inspect: (e) => {
      if (e.type === '@xstate.event' && e.actorRef === actor) events++;
      if (!observe) return;
      observe.inspect(e);
      onTransition(e);
    },
  });
  actor.start();
  await settle();
  gc?.();
  const rssStart = process.memoryUsage();
  const durations: number[] = [];
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < cycles; i++) {
    const t = performance.now();
    actor.send({ type: 'vrrp', state: 'MASTER' });
    while (!actor.getSnapshot().matches({ active: { starting: 'waiting-healthy' } })) await settle();
    actor.send({ type: 'health.healthy' });
    actor.send({ type: 'vrrp', state: 'BACKUP' });
    while (!actor.getSnapshot().matches('idle')) await settle();
    durations.push(performance.now() - t);
  }
  const total = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  gc?.();
  const after = process.memoryUsage();
  actor.stop();
  const first = durations[0] ?? 0;
  durations.sort((a, b) => a - b);
  const q = (p: number) => durations[Math.min(durations.length - 1, Math.floor(p * durations.length))] ?? 0;
  const mib = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;
  return {
    cycles,
    cycleMedianUs: Math.round(q(0.5) * 1000),
    cycleP99Us: Math.round(q(0.99) * 1000),
    firstCycleUs: Math.round(first * 1000),
    cpuPerCycleUs: Math.round((cpu.user + cpu.system) / cycles),
    eventsPerSecond: Math.round(events / (total / 1000)),
    rssStartMiB: mib(rssStart.rss),
    rssAfterMiB: mib(after.rss),
    heapStartMiB: mib(rssStart.heapUsed),
    heapAfterMiB: mib(after.heapUsed),
  };
}

/**
 * The cycles with the service's observability attached as the service feeds it (journal in a
 * temporary directory, metrics registry, no servers): its figures and the journal bytes per cycle.
 */
export async function measureObservedEngine(cycles: number): Promise<{ figures: EngineFigures; journalBytesPerCycle: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'ha-bench-'));
  try {
    const config = buildConfig({
      env: goodEnv,
      yaml: {
        text: `node: { stateDir: ${dir}/state, runDir: ${dir}/run }\nmetrics: { listen: "" }\nviewer: { listen: "" }\njournal: { maxBytes: 1073741824 }\n`,
        source: 'bench',
      },
    });
    const observe = new Observability(config, silentLogger());
    await observe.start({ inspect: false });
    const figures = await measureEngine(cycles, observe);
    await observe.close();
    return { figures, journalBytesPerCycle: Math.round(statSync(config.paths.journal).size / cycles) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
