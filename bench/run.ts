import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { Lab } from '../lab/lab.js';
import { crashMaster, harborUnhealthy, runScenario, other, waitServing, type ScenarioOptions, type ScenarioResult } from '../lab/scenarios.js';
import { SERVICE_NODE_FLAGS } from '../src/cli/node-flags.js';
import { fileSchema } from '../src/config/schema.js';
import { measureEngine, measureObservedEngine } from './engine.js';
import { DOCKER_WORK, splitRecovery, type RecoverySplit, type RecoveryTimes } from './phase-split.js';
import { splitMasterEntries } from './master-entries.js';

/**
 * `npm run bench`: lab recovery times against their VRRP floor, engine overhead per takeover +
 * release cycle with instant actions, and memory after 10,000 cycles. Writes reports/bench.json.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 10_000);
const ADVERT_S = 0.1;
/** keepalived.advertInt as shipped (config/harbor-assistant.example.yaml): the figure operators see. */
const SHIPPED_ADVERT_S = fileSchema.keepalived.advertInt.default;
const PROBE = { intervalMs: 500, fall: 3 };
const PRIORITY = { a: 150, b: 100 } as const;
/** BENCH_ONLY=master crash,switchover: only these lab kinds (the others are left out of the report). */
const ONLY = process.env.BENCH_ONLY?.split(',').map((x) => x.trim());
const SOAK_MIN = Number(process.env.BENCH_SOAK_MIN ?? 30);
/**
 * BENCH_LOAD=N: N processes spinning on the CPU beside each lab run (started before the lab,
 * stopped by PID after it), so recovery is measured on a busy machine; the report goes to
 * reports/bench-load.json and each run records the load average it saw.
 */
const BACKGROUND_LOAD = Number(process.env.BENCH_LOAD ?? 0);
const PUSH_MIB = 200;
const git = (...args: string[]) => spawnSync('git', args, { encoding: 'utf8', timeout: 10_000 }).stdout.trim();
const COMMIT = `${git('rev-parse', '--short', 'HEAD') || 'unknown'}${git('status', '--porcelain', '--untracked-files=no') ? '+dirty' : ''}`;
const PUSH_RUNS = Number(process.env.BENCH_PUSH_RUNS ?? 3);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? null) : Math.round(((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2);
};

interface LabFigures {
  scenario: string;
  runs: number;
  passed: number;
  rtoMinMs: number | null;
  rtoMedianMs: number | null;
  rtoMaxMs: number | null;
  /** The 1-minute load average at the end of each run, in run order. */
  load1PerRun: number[];
  /** keepalived entering MASTER beyond the run's expected hand-overs, over all runs: false failovers (VRRP timing under this load). */
  /** keepalived entering MASTER after the first node served, beyond the run's hand-overs: false failovers. */
  unexpectedMasterEntries: number;
  /** Runs whose cold start had both nodes enter MASTER (before the first served; the engine fences one). */
  startMasterRaces: number;
  /** Runs whose takeover started the stack its host kept (Engine API), not compose up. */
  keptStackStarts: number;
  floorMs: number;
  floorBasis: string;
  ratioMedian: number | null;
  phaseMediansMs: Record<string, number | null>;
  /** Takeover time minus Harbor's start (compose up to healthy): what the engine adds. */
  engineAddedMedianMs: number | null;
  /** Harbor answering healthy on the new master (polled every 20 ms from its namespace) → the engine serving. */
  healthLagMedianMs: number | null;
  /** Fault → the new master serving, minus the old master's compose down and the new one's compose up to healthy. */
  overheadMedianMs: number | null;
  composeUpMedianMs: number | null;
  composeDownMedianMs: number | null;
  /** The recovery by part (engine, VRRP, Docker, Harbor's readiness, the measurement), adding up to the total. */
  phaseTable: ReturnType<typeof phaseTable>;
  /** Per run: the engine's own share (release + takeover), ms. */
  engineShareMs: ReturnType<typeof stats>;
  /** Per run: Harbor's prepare and the installer's flush on the new master before it served (0 unless harbor.yml changed: both nodes mount at one path). */
  prepareAndFlushMs: ReturnType<typeof stats>;
  lost: number;
}

type Fault = (lab: Lab, serving: 'a' | 'b') => Promise<'a' | 'b'>;

interface Kind {
  scenario: string;
  floorBasis: string;
  fault: Fault;
  floor: (standby: 'a' | 'b') => number;
  options?: ScenarioOptions;
}

const CRASH_BOTH_SERVED = 'master crash (both served)';
const SWITCHOVER_BOTH_SERVED = 'switchover (both served)';
const CRASH_SHIPPED_TIMING = 'master crash (both served; shipped VRRP timing)';

async function switchover(lab: Lab, serving: 'a' | 'b'): Promise<'a' | 'b'> {
  await lab.request(serving, { cmd: 'switchover' });
  return other(serving);
}

const vrrpFloorAt = (advertS: number) => (standby: 'a' | 'b') => Math.round((3 * advertS + ((256 - PRIORITY[standby]) / 256) * advertS) * 1000);
const vrrpFloor = vrrpFloorAt(ADVERT_S);
const sum = (xs: Array<number | undefined>) => xs.reduce<number>((a, x) => a + (x ?? 0), 0);

const KINDS: Kind[] = [
  { scenario: 'master crash', floorBasis: '3 × advert_int + skew of the standby ((256 − priority)/256 × advert_int)', fault: crashMaster, floor: vrrpFloor },
  {
    // the master crashes right after its own takeover (the standby has known its watcher for less than the holder grace)
    scenario: 'fresh master crash',
    floorBasis: 'as master crash',
    fault: crashMaster,
    floor: vrrpFloor,
    options: { noSteadyState: true },
  },
  {
    scenario: 'harbor unhealthy',
    floorBasis: 'health fall × probe interval (detection alone)',
    fault: harborUnhealthy,
    floor: () => PROBE.fall * PROBE.intervalMs,
  },
  {
    scenario: 'switchover',
    floorBasis: '0 (planned)',
    fault: switchover,
    floor: () => 0,
  },
  {
    // production's usual case: both hosts have served, so the standby keeps Harbor's containers
    scenario: CRASH_BOTH_SERVED,
    floorBasis: 'as master crash',
    fault: crashMaster,
    floor: vrrpFloor,
    options: { bothServedBefore: true },
  },
  {
    scenario: SWITCHOVER_BOTH_SERVED,
    floorBasis: '0 (planned)',
    fault: switchover,
    floor: () => 0,
    options: { bothServedBefore: true },
  },
  {
    // the health probe while Harbor starts at the engine's earlier 50 ms: its cost to a starting Harbor under load
    scenario: 'master crash (both served; starting probe 50 ms)',
    floorBasis: 'as master crash',
    fault: crashMaster,
    floor: vrrpFloor,
    options: { bothServedBefore: true, lab: { startingProbeMs: 50 } },
  },
  {
    // the same crash with keepalived.advertInt as shipped: what an operator sees without tuning
    scenario: CRASH_SHIPPED_TIMING,
    floorBasis: `as master crash, advert_int ${String(SHIPPED_ADVERT_S)} s`,
    fault: crashMaster,
    floor: vrrpFloorAt(SHIPPED_ADVERT_S),
    options: { bothServedBefore: true, lab: { advertInt: SHIPPED_ADVERT_S } },
  },
];

interface Run extends ScenarioResult {
  floor: number;
  healthLagMs: number | null;
  /** The recovery cut into parts that add up to it (null: the run failed before it could be read). */
  split: RecoverySplit | null;
  /** The 1-minute load average as the run ended. */
  load1: number;
}

/** `n` busy loops at normal priority, bounded by a timeout of their own in case this process dies first. */
function startBackgroundLoad(n: number): ChildProcess[] {
  return Array.from({ length: n }, () => spawn(process.execPath, ['-e', 'const end = Date.now() + 600000; while (Date.now() < end) {}'], { stdio: 'ignore' }));
}

/** One run of a kind: a fresh lab, the fault, the figures (with BENCH_LOAD busy loops beside it). */
async function runKind(k: Kind): Promise<Run> {
  const load = startBackgroundLoad(BACKGROUND_LOAD);
  try {
    return await runKindNow(k);
  } finally {
    for (const p of load) p.kill('SIGKILL');
  }
}

async function runKindNow(k: Kind): Promise<Run> {
  let standby: 'a' | 'b' = 'a';
  let healthy: Promise<number | null> = Promise.resolve(null);
  let faultAt = 0;
  // set in the scenario's `after`, while the lab's journals are still there
  const captured: { times: Omit<RecoveryTimes, 'pullOkAt' | 'firstHealthyAt'> | null } = { times: null };
  const r = await runScenario(
    k.scenario,
    async (lab, serving) => {
      standby = other(serving);
      healthy = lab.firstHealthy(standby, 20, 120_000);
      faultAt = Date.now();
      return k.fault(lab, serving);
    },
    {
      ...k.options,
      // did the takeover start the stack this host kept, or create it with compose up?
      after: (lab, next, result) => {
        const started = lab.journal(next).filter((e) => e.kind === 'command' && Date.parse(e.at) >= faultAt && /^(compose up$|docker start )/.test(e.what));
        result.measured = { ...result.measured, keptStack: started.length > 0 && started.every((e) => e.kind === 'command' && e.what !== 'compose up') };
        captured.times = recoveryTimes(lab, next, other(next), faultAt);
        // both nodes mount at one path, as in production: prepare runs only when harbor.yml changed
        const served = captured.times?.servingAt ?? Infinity;
        result.measured = {
          ...result.measured,
          prepareAndFlushMs: lab
            .journal(next)
            .filter(
              (e) =>
                e.kind === 'command' &&
                (e.what === 'harbor prepare' || e.what === 'sync installer') &&
                Date.parse(e.at) >= faultAt &&
                Date.parse(e.at) <= served,
            )
            .reduce((n, e) => n + (e.kind === 'command' ? e.durationMs : 0), 0),
        };
        // after the first serving: the two switchovers of a both-served run and the fault's; any
        // more is a false failover. Before it: the cold start's one, two when both came up MASTER
        const firstServedAt = Math.min(
          ...(['a', 'b'] as const).map((x) => lab.transitions(x, 0).find((t) => t.to.startsWith('active.serving'))?.at ?? Infinity),
        );
        const entries = splitMasterEntries(
          (['a', 'b'] as const).map((x) => lab.keepalivedLog(x)),
          firstServedAt,
          1 + (k.options?.bothServedBefore ? 2 : 0),
        );
        result.measured = { ...result.measured, unexpectedMasterEntries: entries.unexpected, startMasterRaces: entries.startRaces };
        return Promise.resolve();
      },
    },
  );
  const firstHealthy = await healthy;
  const servedAt = r.servingAtMs !== undefined ? faultAt + r.servingAtMs : null;
  const split =
    captured.times !== null && r.rto_ms !== null ? splitRecovery({ ...captured.times, pullOkAt: faultAt + r.rto_ms, firstHealthyAt: firstHealthy }) : null;
  return {
    ...r,
    floor: k.floor(standby),
    split,
    healthLagMs: firstHealthy !== null && servedAt !== null ? servedAt - firstHealthy : null,
    load1: Math.round((loadavg()[0] ?? 0) * 10) / 10,
  };
}

/** From both nodes' logs and journals: when each part of the recovery after `faultAt` began and ended. */
function recoveryTimes(lab: Lab, next: 'a' | 'b', old: 'a' | 'b', faultAt: number): Omit<RecoveryTimes, 'pullOkAt' | 'firstHealthyAt'> | null {
  const moves = lab.transitions(next, faultAt);
  const takeoverAt = moves.find((t) => t.to.startsWith('active.acquiring-rbd'))?.at;
  const servingAt = moves.find((t) => t.to.startsWith('active.serving'))?.at;
  if (takeoverAt === undefined || servingAt === undefined) return null;
  const dockerWork = (n: 'a' | 'b') =>
    lab.journal(n).flatMap((e) => {
      if (e.kind !== 'command' || !DOCKER_WORK.test(e.what)) return [];
      const end = Date.parse(e.at);
      return end >= faultAt ? [{ start: end - e.durationMs, end }] : [];
    });
  const release = lab
    .journal(old)
    .find((e) => e.kind === 'summary' && e.operation === 'release' && Date.parse(e.at) >= faultAt && Date.parse(e.at) <= takeoverAt);
  return { faultAt, takeoverAt, servingAt, oldReleaseEndAt: release ? Date.parse(release.at) : null, newDocker: dockerWork(next), oldDocker: dockerWork(old) };
}

/** A kind's recovery as the goals state it: min, median, max and the runs that passed. */
const figuresOf = (l: LabFigures | undefined) => (l ? { min: l.rtoMinMs, median: l.rtoMedianMs, max: l.rtoMaxMs, runs: l.passed } : null);

const stats = (xs: number[]) => ({ min: xs.length ? Math.min(...xs) : null, median: median(xs), max: xs.length ? Math.max(...xs) : null, runs: xs.length });

/** Each part's mean over the runs (means add up, medians do not), the run with the median total, whole, and every run in order. */
function phaseTable(splits: RecoverySplit[]): { meanMs: Record<keyof RecoverySplit, number>; medianRunMs: RecoverySplit; perRunMs: RecoverySplit[] } | null {
  if (splits.length === 0) return null;
  const keys = Object.keys(splits[0] ?? {}) as Array<keyof RecoverySplit>;
  const meanMs = Object.fromEntries(keys.map((k) => [k, Math.round(sum(splits.map((x) => x[k])) / splits.length)])) as Record<keyof RecoverySplit, number>;
  const sorted = [...splits].sort((a, b) => a.total - b.total);
  return { meanMs, medianRunMs: sorted[Math.floor((sorted.length - 1) / 2)] ?? (splits[0] as RecoverySplit), perRunMs: splits };
}

async function labFigures(): Promise<LabFigures[]> {
  const out: LabFigures[] = [];
  const kinds = KINDS.filter((x) => !ONLY || ONLY.includes(x.scenario));
  // kinds interleaved round by round, so a drift in the machine's load falls on every kind alike
  const runs = new Map<string, Run[]>(kinds.map((k) => [k.scenario, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const k of kinds) {
      const r = await runKind(k);
      runs.get(k.scenario)?.push(r);
      process.stderr.write(`${k.scenario} run ${i + 1}/${RUNS}: ${r.passed ? `rto ${String(r.rto_ms)} ms` : `FAILED ${r.error ?? ''}`} (load ${r.load1})\n`);
    }
  }
  for (const k of kinds) {
    const results = runs.get(k.scenario) ?? [];
    const ok = results.filter((r) => r.passed && r.rto_ms !== null);
    const rtos = ok.map((r) => r.rto_ms ?? 0);
    const floor = median(results.map((r) => r.floor)) ?? 0;
    const phases = ['detect', 'fence', 'map', 'probe', 'fsck', 'mount', 'composeUp', 'healthy'];
    const starting = (r: Run) => sum(Object.entries(r.takeoverSteps ?? {}).map(([step, ms]) => (step.startsWith('starting') ? ms : 0)));
    const engineAdded = ok.flatMap((r) => (r.takeoverSteps?.total !== undefined ? [r.takeoverSteps.total - starting(r)] : []));
    const overhead = ok.flatMap((r) =>
      r.servingAtMs !== undefined && r.oldMasterRelease?.['stopping-harbor'] !== undefined
        ? [r.servingAtMs - r.oldMasterRelease['stopping-harbor'] - starting(r)]
        : [],
    );
    out.push({
      scenario: k.scenario,
      runs: results.length,
      passed: ok.length,
      rtoMinMs: rtos.length ? Math.min(...rtos) : null,
      rtoMedianMs: median(rtos),
      rtoMaxMs: rtos.length ? Math.max(...rtos) : null,
      load1PerRun: results.map((r) => r.load1),
      keptStackStarts: ok.filter((r) => r.measured?.keptStack === true).length,
      unexpectedMasterEntries: results.reduce(
        (n, r) => n + (typeof r.measured?.unexpectedMasterEntries === 'number' ? r.measured.unexpectedMasterEntries : 0),
        0,
      ),
      startMasterRaces: results.reduce((n, r) => n + (typeof r.measured?.startMasterRaces === 'number' ? r.measured.startMasterRaces : 0), 0),
      floorMs: floor,
      floorBasis: k.floorBasis,
      ratioMedian: floor > 0 ? Math.round((median(ok.map((r) => (r.rto_ms ?? 0) / r.floor)) ?? 0) * 10) / 10 : null,
      phaseMediansMs: Object.fromEntries(phases.map((p) => [p, median(ok.flatMap((r) => (r.phases[p] !== undefined ? [r.phases[p] ?? 0] : [])))])),
      engineAddedMedianMs: median(engineAdded),
      healthLagMedianMs: median(ok.flatMap((r) => (r.healthLagMs !== null ? [r.healthLagMs] : []))),
      overheadMedianMs: median(overhead),
      composeUpMedianMs: median(ok.flatMap((r) => r.compose?.up ?? [])),
      composeDownMedianMs: median(ok.flatMap((r) => r.compose?.down ?? [])),
      phaseTable: phaseTable(ok.flatMap((r) => (r.split ? [r.split] : []))),
      engineShareMs: stats(ok.flatMap((r) => (r.split ? [r.split.engine] : []))),
      prepareAndFlushMs: stats(ok.flatMap((r) => (typeof r.measured?.prepareAndFlushMs === 'number' ? [r.measured.prepareAndFlushMs] : []))),
      lost: results.reduce((a, r) => a + r.lost, 0),
    });
  }
  return out;
}

/** A process's memory from /proc: RSS and PSS (its share of pages it shares with others), MiB. */
function memoryOf(pid: number): { rss: number; pss: number } {
  const kB = (text: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  const mib = (k: number) => Math.round((k / 1024) * 10) / 10;
  const rollup = readFileSync(`/proc/${String(pid)}/smaps_rollup`, 'utf8');
  return { rss: mib(kB(rollup, 'Rss')), pss: mib(kB(rollup, 'Pss')) };
}

/** The engine's Ceph session helper (a child running ceph-session.py): its own process, measured apart. */
function helperPid(enginePid: number): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (new RegExp(`^PPid:\\s+${String(enginePid)}$`, 'm').test(status) && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('ceph-session.py'))
        return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

interface MemorySample {
  minute: number;
  node: 'a' | 'b';
  state: string;
  rssMiB: number;
  pssMiB: number;
  helperPssMiB: number;
}

/** A switchover every this many minutes of the soak: takeovers and releases on both services. */
const SOAK_SWITCHOVER_EVERY_MIN = 3;

/**
 * Both services' memory over `minutes`, sampled every minute, while a push a minute keeps Harbor
 * busy and a switchover every few minutes makes each service take over and release in turn.
 * The figures are the highest seen on either node; the samples are all there.
 */
async function serviceMemory(minutes: number): Promise<{
  rssMiB: number;
  pssMiB: number;
  helperPssMiB: number;
  servicePlusHelperPssMiB: number;
  minutes: number;
  takeovers: number;
  samples: MemorySample[];
}> {
  const lab = new Lab({ advertInt: ADVERT_S });
  const samples: MemorySample[] = [];
  let takeovers = 0;
  try {
    await lab.up();
    let serving = await lab.waitOneServing(150_000);
    const sample = async (minute: number) => {
      for (const n of ['a', 'b'] as const) {
        const pid = lab.enginePid(n);
        if (pid === null) throw new Error(`${n}: no engine pid`);
        const helper = helperPid(pid);
        const m = memoryOf(pid);
        samples.push({
          minute,
          node: n,
          state: (await lab.status(n)).state,
          rssMiB: m.rss,
          pssMiB: m.pss,
          helperPssMiB: helper === null ? 0 : memoryOf(helper).pss,
        });
      }
    };
    await sample(0);
    for (let m = 1; m <= minutes; m++) {
      await new Promise((r) => setTimeout(r, 60_000));
      lab.push();
      if (m % SOAK_SWITCHOVER_EVERY_MIN === 0) {
        const next = await switchover(lab, serving);
        await waitServing(lab, next, 120_000);
        await lab.waitFor(`${serving} fit again`, async () => (await lab.status(serving).catch(() => null))?.fitness.fit === true, 60_000);
        serving = next;
        takeovers++;
      }
      if (!(await lab.status(serving)).state.startsWith('active.serving')) throw new Error(`${serving} left serving during the soak`);
      await sample(m);
      const last = samples.slice(-2);
      process.stderr.write(
        `memory soak ${String(m)}/${String(minutes)} min (${String(takeovers)} takeovers): ${last.map((x) => `${x.node} rss ${String(x.rssMiB)} pss ${String(x.pssMiB)} helper pss ${String(x.helperPssMiB)} MiB`).join('; ')}\n`,
      );
    }
  } finally {
    await lab.down();
  }
  const max = (f: (x: MemorySample) => number) => Math.max(...samples.map(f));
  return {
    rssMiB: max((x) => x.rssMiB),
    pssMiB: max((x) => x.pssMiB),
    helperPssMiB: max((x) => x.helperPssMiB),
    servicePlusHelperPssMiB: Math.round(max((x) => x.pssMiB + x.helperPssMiB) * 10) / 10,
    minutes,
    takeovers,
    samples,
  };
}

/** `script` in `runs` fresh `node` processes with `flags`: the JSON line each printed last (a run without one is reported and left out). */
function childFigures<T>(what: string, flags: readonly string[], script: string, runs: number, env: NodeJS.ProcessEnv = process.env): T[] {
  const docs: T[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, [...flags, '--expose-gc', '--import', 'tsx', script], { encoding: 'utf8', env, timeout: 120_000 });
    try {
      docs.push(JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as T);
    } catch {
      process.stderr.write(`${what} (${flags.join(' ')}): no figures (exit ${String(r.status)}): ${r.stderr.slice(-400)}\n`);
    }
  }
  return docs;
}

/** The first engine cycle in a fresh `node` with `flags`, `runs` times (median, µs): the service's first takeover is on cold code. */
function coldCycle(
  flags: readonly string[],
  runs: number,
): { flags: readonly string[]; firstCycleMedianUs: number | null; observedFirstCycleMedianUs: number | null } {
  const docs = childFigures<{ bareFirstCycleUs: number; observedFirstCycleUs: number }>('cold cycle', flags, 'bench/engine-only.ts', runs, {
    ...process.env,
    BENCH_CYCLES: '20',
  });
  return {
    flags,
    firstCycleMedianUs: median(docs.map((d) => d.bareFirstCycleUs)),
    observedFirstCycleMedianUs: median(docs.map((d) => d.observedFirstCycleUs)),
  };
}

/** The viewer's chart laid out in a fresh `node` with `flags`, `runs` times: layout time and the longest event-loop block (medians). */
function chartLayout(flags: readonly string[], runs: number): { flags: readonly string[]; layoutMedianMs: number | null; maxLoopBlockMedianMs: number | null } {
  const docs = childFigures<{ layoutMs: number; maxLoopBlockMs: number }>('chart layout', flags, 'bench/chart-layout.ts', runs);
  return { flags, layoutMedianMs: median(docs.map((d) => d.layoutMs)), maxLoopBlockMedianMs: median(docs.map((d) => d.maxLoopBlockMs)) };
}

/** A 200 MiB push through the VIP with the filesystem mounted `mountOptions`: MB/s (median of `runs`), then the lost-push check after a crash. */
interface PushFigures {
  mountOptions: string[];
  mbPerSecond: number | null;
  samples: number[];
  /** Null when Harbor did not come back after the crash (then `recoveryError` says why). */
  lostAfterCrash: number | null;
  recoveryError?: string;
}

interface PushSet {
  sync: PushFigures;
  nosync: PushFigures;
  /** Absent in a report from before it was measured (kept by BENCH_SKIP_PUSH). */
  dirsync?: PushFigures;
}

/** The mount options each push figure is measured with, whatever the default is. */
/** Mount options of each push variant; `nosync` also without the synchronous directories (Redis's). */
const PUSH_VARIANTS = {
  sync: ['noatime', 'sync', 'dirsync'],
  nosync: ['noatime'],
  dirsync: ['noatime', 'dirsync'],
} as const satisfies Record<keyof PushSet, readonly string[]>;
const NO_SYNCHRONOUS_DIRS: ReadonlySet<readonly string[]> = new Set([PUSH_VARIANTS.nosync]);

const sameOptions = (a: readonly string[], b: readonly string[]) => [...a].sort().join(',') === [...b].sort().join(',');

async function pushThroughput(variant: readonly string[], runs: number): Promise<PushFigures> {
  const mountOptions = [...variant];
  const samples: number[] = [];
  const r = await runScenario(
    `push 200 MiB (${mountOptions.join(',')})`,
    async (lab, serving) => {
      for (let i = 0; i < runs; i++) {
        const p = lab.pushLarge(PUSH_MIB);
        if (p) samples.push(p.mbPerSecond);
      }
      lab.crashNode(serving);
      return other(serving);
    },
    { lab: { mountOptions, ...(NO_SYNCHRONOUS_DIRS.has(variant) ? { synchronousDirs: [] } : {}) } },
  );

  if (samples.length === 0) throw new Error(`push throughput (${mountOptions.join(',')}): no push went through: ${r.error ?? ''}`);
  // a variant whose data does not survive the crash is a result, not a reason to lose the rest of the bench
  if (!r.passed) return { mountOptions, mbPerSecond: median(samples), samples, lostAfterCrash: null, recoveryError: r.error ?? 'failed' };
  return { mountOptions, mbPerSecond: median(samples), samples, lostAfterCrash: r.lost };
}

/** The observed cycles, then bare ones for the ratio. */
async function measureObserved(cycles: number) {
  const { figures, journalBytesPerCycle } = await measureObservedEngine(cycles);
  const bare = await measureEngine(cycles);
  return { figures, bareMedianUs: bare.cycleMedianUs, ratio: Math.round((figures.cycleMedianUs / bare.cycleMedianUs) * 100) / 100, journalBytesPerCycle };
}

/**
 * The same cycles in a child `node` with the service's V8 flags (SERVICE_NODE_FLAGS: no optimizing
 * compiler): what the engine costs in the service as it runs, beside the figures above (this
 * process, V8's defaults).
 */
function measureWithServiceFlags(cycles: number): { flags: readonly string[]; bareMedianUs: number; observedMedianUs: number; ratio: number } | null {
  const r = spawnSync(process.execPath, [...SERVICE_NODE_FLAGS, '--expose-gc', '--import', 'tsx', 'bench/engine-only.ts'], {
    encoding: 'utf8',
    env: { ...process.env, BENCH_CYCLES: String(cycles) },
    timeout: 600_000,
  });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    const doc = JSON.parse(line) as { bareMedianUs: number; observedMedianUs: number; ratio: number };
    return { flags: SERVICE_NODE_FLAGS, bareMedianUs: doc.bareMedianUs, observedMedianUs: doc.observedMedianUs, ratio: doc.ratio };
  } catch {
    process.stderr.write(`engine with the service's flags: no figures (exit ${String(r.status)}): ${r.stderr.slice(-400)}\n`);
    return null;
  }
}

async function main(): Promise<void> {
  const engine = await measureEngine(CYCLES);
  process.stderr.write(`engine: ${JSON.stringify(engine)}\n`);
  const observed = await measureObserved(CYCLES);
  process.stderr.write(`engine with journal + metrics: ${JSON.stringify(observed)}\n`);
  const engineServiceFlags = measureWithServiceFlags(CYCLES);
  process.stderr.write(`engine under the service's flags: ${JSON.stringify(engineServiceFlags)}\n`);
  const loadBefore = loadavg().map((x) => Math.round(x * 100) / 100);
  const skipLab = Boolean(process.env.BENCH_SKIP_LAB);
  const defaultMount = fileSchema.filesystem.mountOptions.default;
  let lab: LabFigures[] = [];
  let push: PushSet | null = null;
  /** When the push figures were measured: BENCH_SKIP_PUSH keeps the previous report's, dated. */
  let pushMeasuredAt: string | null = null;
  if (process.env.BENCH_SKIP_PUSH) {
    // the newest push figures on record: the last full bench's or a BENCH_PUSH_ONLY run's
    for (const path of ['reports/bench.json', 'reports/bench-push-only.json']) {
      if (!existsSync(path)) continue;
      const previous = JSON.parse(readFileSync(path, 'utf8')) as { date?: string; pushMeasuredAt?: string | null; push?: PushSet | null };
      const at = previous.push ? (previous.pushMeasuredAt ?? previous.date ?? null) : null;
      if (previous.push && at !== null && (pushMeasuredAt === null || at > pushMeasuredAt)) {
        push = previous.push;
        pushMeasuredAt = at;
      }
    }
  }
  type MemoryFigures = Awaited<ReturnType<typeof serviceMemory>>;
  let memory: MemoryFigures | null = null;
  /** When the memory soak ran: BENCH_SOAK_MIN=0 keeps the previous report's figures, dated, like the push's. */
  let serviceMemoryMeasuredAt: string | null = null;
  if (SOAK_MIN === 0 && existsSync('reports/bench.json')) {
    const previous = JSON.parse(readFileSync('reports/bench.json', 'utf8')) as {
      date?: string;
      serviceMemoryMeasuredAt?: string | null;
      serviceMemory?: MemoryFigures | null;
    };
    if (previous.serviceMemory) {
      memory = previous.serviceMemory;
      serviceMemoryMeasuredAt = previous.serviceMemoryMeasuredAt ?? previous.date ?? null;
    }
  }
  const chart = { serviceFlags: chartLayout(SERVICE_NODE_FLAGS, 5), defaultFlags: chartLayout([], 5) };
  const coldTakeover = { serviceFlags: coldCycle(SERVICE_NODE_FLAGS, 5), defaultFlags: coldCycle([], 5) };
  process.stderr.write(`cold takeover + release: ${JSON.stringify(coldTakeover)}\n`);
  process.stderr.write(`chart layout: ${JSON.stringify(chart)}\n`);
  const by = (name: string) => lab.find((l) => l.scenario === name);
  const buildReport = () => ({
    /** The commit the bench ran (its figures are this code's), with `+dirty` when the tree had changes. */
    commit: COMMIT,
    machine: `${String(cpus().length)} cores, ${String(Math.round(totalmem() / 2 ** 30))} GiB (this workplace kind "node")`,
    date: new Date().toISOString(),
    /** 1/5/15-minute load averages before and after: the figures mean little on a busy machine. */
    load: { before: loadBefore, after: loadavg().map((x) => Math.round(x * 100) / 100) },
    advertIntS: ADVERT_S,
    /** Busy loops beside each lab run (BENCH_LOAD); 0: an otherwise idle machine. */
    backgroundLoadProcesses: BACKGROUND_LOAD,
    probe: PROBE,
    engineAddedMs: by('master crash')?.engineAddedMedianMs ?? null,
    healthLagMs: by('master crash')?.healthLagMedianMs ?? null,
    switchoverOverheadMs: by('switchover')?.overheadMedianMs ?? null,
    crashFreshMasterMs: by('fresh master crash')?.rtoMedianMs ?? null,
    crashSteadyMs: by('master crash')?.rtoMedianMs ?? null,
    /** Both hosts have served before (the standby keeps Harbor's containers): production's usual case. */
    crashBothServedMs: by('master crash (both served)')?.rtoMedianMs ?? null,
    switchoverBothServedMs: by('switchover (both served)')?.rtoMedianMs ?? null,
    /** The goals' figures: production's usual case (both hosts have served), min/median/max over the runs. */
    crashRecoveryMs: figuresOf(by(CRASH_BOTH_SERVED)),
    switchoverMs: figuresOf(by(SWITCHOVER_BOTH_SERVED)),
    crashRecoveryShippedDefaultsMs: figuresOf(by(CRASH_SHIPPED_TIMING)),
    shippedAdvertIntS: SHIPPED_ADVERT_S,
    /** What the engine itself spent (release + takeover), per run: neither VRRP, nor Docker, nor Harbor's readiness, nor the measurement. */
    engineShareMs: { crash: by(CRASH_BOTH_SERVED)?.engineShareMs ?? null, switchover: by(SWITCHOVER_BOTH_SERVED)?.engineShareMs ?? null },
    /** Highest over both services during the soak (a switchover every few minutes, a push a minute). */
    serviceMemoryMeasuredAt,
    serviceMemory: memory,
    /** The viewer's chart laid out in a fresh process under the service's V8 flags and V8's defaults. */
    chartLayout: chart,
    /** The first takeover + release cycle of a fresh process (bare engine, instant actions) under each flag set: what --no-opt costs a cold takeover. */
    coldTakeoverUs: coldTakeover,
    // the engine's default mount options are what ships: `chosen` is their figure
    pushMeasuredAt,
    pushMBps: push
      ? {
          sync: push.sync.mbPerSecond,
          nosync: push.nosync.mbPerSecond,
          dirsync: push.dirsync?.mbPerSecond ?? null,
          chosen: [push.sync, push.nosync, push.dirsync].find((v) => v !== undefined && sameOptions(v.mountOptions, defaultMount))?.mbPerSecond ?? null,
          chosenMountOptions: defaultMount,
        }
      : null,
    push,
    engine,
    observed,
    engineServiceFlags,
    lab,
  });
  mkdirSync('reports', { recursive: true });
  // an engine-only run must not replace the committed report with one that has no lab figures
  const pushOnly = Boolean(process.env.BENCH_PUSH_ONLY);
  const reportPath = process.env.BENCH_SKIP_LAB
    ? 'reports/bench-engine-only.json'
    : pushOnly
      ? 'reports/bench-push-only.json'
      : BACKGROUND_LOAD > 0
        ? 'reports/bench-load.json'
        : 'reports/bench.json';
  // written after every phase: a phase that fails late must not throw away the half hour before it
  const writeReport = () => writeFileSync(reportPath, `${JSON.stringify(buildReport(), null, 2)}\n`);
  // the push figures first: two short labs, and a broken push shows within minutes
  if (!skipLab && !process.env.BENCH_SKIP_PUSH) {
    push = {
      sync: await pushThroughput(PUSH_VARIANTS.sync, PUSH_RUNS),
      nosync: await pushThroughput(PUSH_VARIANTS.nosync, PUSH_RUNS),
      // the registry fsyncs every file it commits (distribution 2.7-2.8 fileWriter.Commit) but
      // renames and creates directories without syncing them: dirsync alone is enough (the default)
      dirsync: await pushThroughput(PUSH_VARIANTS.dirsync, PUSH_RUNS),
    };
    pushMeasuredAt = new Date().toISOString();
    process.stderr.write(`push: ${JSON.stringify({ sync: push.sync.samples, nosync: push.nosync.samples, dirsync: push.dirsync?.samples })} MB/s\n`);
    writeReport();
  }
  // BENCH_PUSH_ONLY: the three push figures alone (about 15 minutes), in their own report
  if (pushOnly) return;
  if (!skipLab) {
    lab = await labFigures();
    writeReport();
  }
  if (!skipLab && SOAK_MIN > 0) {
    memory = await serviceMemory(SOAK_MIN);
    serviceMemoryMeasuredAt = new Date().toISOString();
  }
  const report = buildReport();
  writeReport();
  const lines = [
    'lab recovery (fault → the new master serving and a pull through the VIP):',
    'scenario                          runs  min ms  median ms  max ms  floor ms  ratio  detect  fence  map  probe  fsck  mount     up  healthy  engine  lag  overhead  lost',
    ...lab.map((l) => {
      const p = (k: string) => String(l.phaseMediansMs[k] ?? '-').padStart(5);
      const f = (x: number | null, w: number) => String(x ?? '-').padStart(w);
      return `${l.scenario.padEnd(33)} ${String(l.passed).padStart(2)}/${l.runs} ${f(l.rtoMinMs, 7)} ${f(l.rtoMedianMs, 9)} ${f(l.rtoMaxMs, 7)} ${String(l.floorMs).padStart(9)} ${f(l.ratioMedian, 6)} ${p('detect')} ${p('fence')} ${p('map')} ${p('probe')} ${p('fsck')} ${p('mount')} ${p('composeUp')} ${p('healthy')} ${f(l.engineAddedMedianMs, 7)} ${f(l.healthLagMedianMs, 4)} ${f(l.overheadMedianMs, 9)} ${String(l.lost).padStart(5)}`;
    }),
    '',
    'recovery by part (mean ms over the passed runs: the parts add up to the total), and the engine share per run:',
    'scenario                                          total   vrrp  eng.release  docker.stop  eng.takeover  docker.start  harbor.ready  measurement   engine min/median/max',
    ...lab.map((l) => {
      const t = l.phaseTable?.meanMs;
      const c = (x: number | undefined, w: number) => String(x ?? '-').padStart(w);
      const e = l.engineShareMs;
      return `${l.scenario.padEnd(48)} ${c(t?.total, 6)} ${c(t?.vrrp, 6)} ${c(t?.engineRelease, 12)} ${c(t?.dockerStop, 12)} ${c(t?.engineTakeover, 13)} ${c(t?.dockerStart, 13)} ${c(t?.harborReady, 13)} ${c(t?.measurement, 12)}   ${String(e.min ?? '-')}/${String(e.median ?? '-')}/${String(e.max ?? '-')}`;
    }),
    '',
    `goals (min/median/max ms): crash ${JSON.stringify(report.crashRecoveryMs)} (median ≤ 2000), switchover ${JSON.stringify(report.switchoverMs)} (≤ 3000), engine share ${JSON.stringify(report.engineShareMs)} (≤ 300); crash at the shipped advert_int ${String(SHIPPED_ADVERT_S)} s ${JSON.stringify(report.crashRecoveryShippedDefaultsMs)}`,
    `keepalived entering MASTER beyond the expected hand-overs (false failovers; both MASTER at the cold start), per kind: ${lab.map((l) => `${l.scenario} ${String(l.unexpectedMasterEntries)} (${String(l.startMasterRaces)})`).join(', ')}`,
    `chart layout (median of 5 fresh processes): ${JSON.stringify(report.chartLayout)}`,
    `first takeover + release of a fresh process (median of 5): ${JSON.stringify(report.coldTakeoverUs)}`,
    `goals: engineAddedMs ${String(report.engineAddedMs)} (≤ 300), healthLagMs ${String(report.healthLagMs)} (≤ 100), switchoverOverheadMs ${String(report.switchoverOverheadMs)} (≤ 1000), crashFreshMasterMs ${String(report.crashFreshMasterMs)} vs crashSteadyMs ${String(report.crashSteadyMs)}`,
    `push ${PUSH_MIB} MiB through the VIP: ${JSON.stringify(report.pushMBps)} MB/s; service memory ${JSON.stringify(report.serviceMemory && { rssMiB: report.serviceMemory.rssMiB, pssMiB: report.serviceMemory.pssMiB, helperPssMiB: report.serviceMemory.helperPssMiB, minutes: report.serviceMemory.minutes, takeovers: report.serviceMemory.takeovers })}; load ${JSON.stringify(report.load)}`,
    '',
    `engine (instant actions, ${engine.cycles} takeover + release cycles): median ${engine.cycleMedianUs} µs per cycle, p99 ${engine.cycleP99Us} µs, ${engine.eventsPerSecond} events/s`,
    `with the journal + metrics on every transition: median ${observed.figures.cycleMedianUs} µs per cycle (×${observed.ratio} the bare engine), ${observed.journalBytesPerCycle} journal bytes per cycle`,
    engineServiceFlags
      ? `under the service's flags (${engineServiceFlags.flags.join(' ')}): median ${String(engineServiceFlags.bareMedianUs)} µs bare, ${String(engineServiceFlags.observedMedianUs)} µs with the journal + metrics`
      : "under the service's flags: not measured",
    `memory: RSS ${engine.rssStartMiB} MiB after start → ${engine.rssAfterMiB} MiB after ${engine.cycles} cycles; heap ${engine.heapStartMiB} → ${engine.heapAfterMiB} MiB`,
  ];
  console.log(lines.join('\n'));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
