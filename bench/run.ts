import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { Lab } from '../lab/lab.js';
import { crashMaster, harborUnhealthy, runScenario, other, type ScenarioOptions, type ScenarioResult } from '../lab/scenarios.js';
import { SERVICE_NODE_FLAGS } from '../src/cli/node-flags.js';
import { fileSchema } from '../src/config/schema.js';
import { measureEngine, measureObservedEngine } from './engine.js';

/**
 * `npm run bench`: lab recovery times against their VRRP floor, engine overhead per takeover +
 * release cycle with instant actions, and memory after 10,000 cycles. Writes reports/bench.json.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 10_000);
const ADVERT_S = 0.1;
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

async function switchover(lab: Lab, serving: 'a' | 'b'): Promise<'a' | 'b'> {
  await lab.request(serving, { cmd: 'switchover' });
  return other(serving);
}

const vrrpFloor = (standby: 'a' | 'b') => Math.round((3 * ADVERT_S + ((256 - PRIORITY[standby]) / 256) * ADVERT_S) * 1000);
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
    scenario: 'master crash (both served)',
    floorBasis: 'as master crash',
    fault: crashMaster,
    floor: vrrpFloor,
    options: { bothServedBefore: true },
  },
  {
    scenario: 'switchover (both served)',
    floorBasis: '0 (planned)',
    fault: switchover,
    floor: () => 0,
    options: { bothServedBefore: true },
  },
];

interface Run extends ScenarioResult {
  floor: number;
  healthLagMs: number | null;
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
        return Promise.resolve();
      },
    },
  );
  const firstHealthy = await healthy;
  const servedAt = r.servingAtMs !== undefined ? faultAt + r.servingAtMs : null;
  return {
    ...r,
    floor: k.floor(standby),
    healthLagMs: firstHealthy !== null && servedAt !== null ? servedAt - firstHealthy : null,
    load1: Math.round((loadavg()[0] ?? 0) * 10) / 10,
  };
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
      floorMs: floor,
      floorBasis: k.floorBasis,
      ratioMedian: floor > 0 ? Math.round((median(ok.map((r) => (r.rto_ms ?? 0) / r.floor)) ?? 0) * 10) / 10 : null,
      phaseMediansMs: Object.fromEntries(phases.map((p) => [p, median(ok.flatMap((r) => (r.phases[p] !== undefined ? [r.phases[p] ?? 0] : [])))])),
      engineAddedMedianMs: median(engineAdded),
      healthLagMedianMs: median(ok.flatMap((r) => (r.healthLagMs !== null ? [r.healthLagMs] : []))),
      overheadMedianMs: median(overhead),
      composeUpMedianMs: median(ok.flatMap((r) => r.compose?.up ?? [])),
      composeDownMedianMs: median(ok.flatMap((r) => r.compose?.down ?? [])),
      lost: results.reduce((a, r) => a + r.lost, 0),
    });
  }
  return out;
}

/** The serving engine's resident memory, sampled every minute for `minutes` while a push a minute keeps Harbor busy. */
async function serviceRss(
  minutes: number,
): Promise<{ startMiB: number; endMiB: number; maxMiB: number; minutes: number; samplesMiB: number[]; sessionHelperMiB: number[] }> {
  /** The engine's Ceph session helper (a child running ceph-session.py): its own process, reported apart. */
  const helperRss = (enginePid: number): number => {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const status = readFileSync(`/proc/${entry}/status`, 'utf8');
        if (new RegExp(`^PPid:\\s+${String(enginePid)}$`, 'm').test(status) && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('ceph-session.py')) {
          return rssMiB(Number(entry));
        }
      } catch {
        // gone meanwhile
      }
    }
    return 0;
  };
  const rssMiB = (pid: number) => {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Math.round((Number(m?.[1] ?? 0) / 1024) * 10) / 10;
  };
  const lab = new Lab({ advertInt: ADVERT_S });
  try {
    await lab.up();
    const serving = await lab.waitOneServing(90_000);
    const pid = lab.enginePid(serving);
    if (pid === null) throw new Error('no engine pid');
    const samples = [rssMiB(pid)];
    const helper = [helperRss(pid)];
    for (let m = 1; m <= minutes; m++) {
      await new Promise((r) => setTimeout(r, 60_000));
      lab.push();
      const state = (await lab.status(serving)).state;
      if (!state.startsWith('active.serving')) throw new Error(`${serving} left serving during the soak: ${state}`);
      samples.push(rssMiB(pid));
      helper.push(helperRss(pid));
      process.stderr.write(`rss soak ${m}/${minutes} min: ${String(samples.at(-1))} MiB, session helper ${String(helper.at(-1))} MiB\n`);
    }
    return { startMiB: samples[0] ?? 0, endMiB: samples.at(-1) ?? 0, maxMiB: Math.max(...samples), minutes, samplesMiB: samples, sessionHelperMiB: helper };
  } finally {
    await lab.down();
  }
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
  let rss: Awaited<ReturnType<typeof serviceRss>> | null = null;
  type RssFigures = { start: number; after30min: number; max: number; minutes: number; samples: number[]; sessionHelper: number[] };
  /** When the RSS soak ran: BENCH_SOAK_MIN=0 keeps the previous report's figures, dated, like the push's. */
  let serviceRssMeasuredAt: string | null = null;
  let previousRss: RssFigures | null = null;
  if (SOAK_MIN === 0 && existsSync('reports/bench.json')) {
    const previous = JSON.parse(readFileSync('reports/bench.json', 'utf8')) as {
      date?: string;
      serviceRssMeasuredAt?: string | null;
      serviceRssMiB?: RssFigures | null;
    };
    if (previous.serviceRssMiB) {
      previousRss = previous.serviceRssMiB;
      serviceRssMeasuredAt = previous.serviceRssMeasuredAt ?? previous.date ?? null;
    }
  }
  const by = (name: string) => lab.find((l) => l.scenario === name);
  const buildReport = () => ({
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
    serviceRssMeasuredAt,
    serviceRssMiB: rss
      ? { start: rss.startMiB, after30min: rss.endMiB, max: rss.maxMiB, minutes: rss.minutes, samples: rss.samplesMiB, sessionHelper: rss.sessionHelperMiB }
      : previousRss,
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
  rss = skipLab || SOAK_MIN === 0 ? null : await serviceRss(SOAK_MIN);
  if (rss) serviceRssMeasuredAt = new Date().toISOString();
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
    `goals: engineAddedMs ${String(report.engineAddedMs)} (≤ 300), healthLagMs ${String(report.healthLagMs)} (≤ 100), switchoverOverheadMs ${String(report.switchoverOverheadMs)} (≤ 1000), crashFreshMasterMs ${String(report.crashFreshMasterMs)} vs crashSteadyMs ${String(report.crashSteadyMs)}`,
    `push ${PUSH_MIB} MiB through the VIP: ${JSON.stringify(report.pushMBps)} MB/s; service RSS ${JSON.stringify(report.serviceRssMiB && { start: report.serviceRssMiB.start, end: report.serviceRssMiB.after30min, max: report.serviceRssMiB.max, minutes: report.serviceRssMiB.minutes })} MiB; load ${JSON.stringify(report.load)}`,
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
