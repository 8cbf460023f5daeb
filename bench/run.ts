import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario, other, type ScenarioResult } from '../lab/scenarios.js';
import { buildConfig } from '../src/config/index.js';
import { silentLogger } from '../src/log/logger.js';
import { Observability } from '../src/observe/observability.js';
import { measureEngine } from './engine.js';

/**
 * `npm run bench`: lab recovery times against their VRRP floor, engine overhead per takeover +
 * release cycle with instant actions, and memory after 10,000 cycles. Writes reports/bench.json.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 10_000);
const ADVERT_S = 0.1;
const PROBE = { intervalMs: 500, fall: 3 };
const PRIORITY = { a: 150, b: 100 } as const;

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
  rtoMedianMs: number | null;
  rtoMaxMs: number | null;
  floorMs: number;
  floorBasis: string;
  ratioMedian: number | null;
  phaseMediansMs: Record<string, number | null>;
  lost: number;
}

async function labFigures(): Promise<LabFigures[]> {
  const kinds = [
    {
      scenario: 'master crash',
      floorBasis: '3 × advert_int + skew of the standby ((256 − priority)/256 × advert_int)',
      fault: (lab: Parameters<Parameters<typeof runScenario>[1]>[0], serving: 'a' | 'b') => {
        lab.crashNode(serving);
        return Promise.resolve(other(serving));
      },
      floor: (standby: 'a' | 'b') => Math.round((3 * ADVERT_S + ((256 - PRIORITY[standby]) / 256) * ADVERT_S) * 1000),
    },
    {
      scenario: 'harbor unhealthy',
      floorBasis: 'health fall × probe interval (detection alone)',
      fault: async (lab: Parameters<Parameters<typeof runScenario>[1]>[0], serving: 'a' | 'b') => {
        await lab.stopRegistry(serving);
        return other(serving);
      },
      floor: () => PROBE.fall * PROBE.intervalMs,
    },
    {
      scenario: 'switchover',
      floorBasis: '0 (planned)',
      fault: async (lab: Parameters<Parameters<typeof runScenario>[1]>[0], serving: 'a' | 'b') => {
        await lab.request(serving, { cmd: 'switchover' });
        return other(serving);
      },
      floor: () => 0,
    },
  ];
  const out: LabFigures[] = [];
  for (const k of kinds) {
    const results: Array<ScenarioResult & { floor: number }> = [];
    for (let i = 0; i < RUNS; i++) {
      let standby: 'a' | 'b' = 'a';
      const r = await runScenario(k.scenario, async (lab, serving) => {
        standby = other(serving);
        return k.fault(lab, serving);
      });
      results.push({ ...r, floor: k.floor(standby) });
      process.stderr.write(`${k.scenario} run ${i + 1}/${RUNS}: ${r.passed ? `rto ${String(r.rto_ms)} ms` : `FAILED ${r.error ?? ''}`}\n`);
    }
    const ok = results.filter((r) => r.passed && r.rto_ms !== null);
    const rtos = ok.map((r) => r.rto_ms ?? 0);
    const floor = median(results.map((r) => r.floor)) ?? 0;
    const phases = ['detect', 'fence', 'map', 'probe', 'fsck', 'mount', 'composeUp', 'healthy'];
    out.push({
      scenario: k.scenario,
      runs: results.length,
      passed: ok.length,
      rtoMedianMs: median(rtos),
      rtoMaxMs: rtos.length ? Math.max(...rtos) : null,
      floorMs: floor,
      floorBasis: k.floorBasis,
      ratioMedian: floor > 0 ? Math.round((median(ok.map((r) => (r.rto_ms ?? 0) / r.floor)) ?? 0) * 10) / 10 : null,
      phaseMediansMs: Object.fromEntries(phases.map((p) => [p, median(ok.flatMap((r) => (r.phases[p] !== undefined ? [r.phases[p] ?? 0] : [])))])),
      lost: results.reduce((a, r) => a + r.lost, 0),
    });
  }
  return out;
}

/** The same cycles with the service's observability attached (journal in a temporary directory, no servers). */
async function measureObserved(cycles: number) {
  const dir = mkdtempSync(join(tmpdir(), 'ha-bench-'));
  try {
    const config = buildConfig({
      env: {
        HARBOR_VERSION: 'v2.11.0',
        HARBOR_VIP: '10.0.0.100',
        CEPH_MON_HOST: '10.0.0.10',
        CEPH_USER: 'harbor',
        CEPH_USER_KEY: 'AQBsSHhjAAAAABAAiXWqnJHl7oKJ3aFfzVVlnw==',
        CEPH_POOL_NAME: 'rbd',
        CEPH_IMAGE_NAME: 'harbor',
        KEEPALIVED_ROLE: 'master',
        INTERFACE: 'eth0',
      },
      yaml: {
        text: `node: { stateDir: ${dir}/state, runDir: ${dir}/run }\nmetrics: { listen: "" }\nviewer: { listen: "" }\njournal: { maxBytes: 1073741824 }\n`,
        source: 'bench',
      },
    });
    const observe = new Observability(config, silentLogger());
    await observe.start({ inspect: false });
    const figures = await measureEngine(cycles, observe);
    await observe.close();
    const bare = await measureEngine(cycles);
    return {
      figures,
      bareMedianUs: bare.cycleMedianUs,
      ratio: Math.round((figures.cycleMedianUs / bare.cycleMedianUs) * 100) / 100,
      journalBytesPerCycle: Math.round(statSync(config.paths.journal).size / cycles),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const engine = await measureEngine(CYCLES);
  process.stderr.write(`engine: ${JSON.stringify(engine)}\n`);
  const observed = await measureObserved(CYCLES);
  process.stderr.write(`engine with journal + metrics: ${JSON.stringify(observed)}\n`);
  const lab = process.env.BENCH_SKIP_LAB ? [] : await labFigures();
  const report = {
    machine: '2 cores, 24 GiB (this workplace kind "node")',
    date: new Date().toISOString(),
    advertIntS: ADVERT_S,
    probe: PROBE,
    engine,
    observed,
    lab,
  };
  mkdirSync('reports', { recursive: true });
  // an engine-only run must not replace the committed report with one that has no lab figures
  const reportPath = process.env.BENCH_SKIP_LAB ? 'reports/bench-engine-only.json' : 'reports/bench.json';
  writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  const lines = [
    'lab recovery (fault → the new master serving and a pull through the VIP):',
    'scenario           runs  median ms  max ms  floor ms  ratio  detect  fence  map  probe  fsck  mount  up  healthy  lost',
    ...lab.map((l) => {
      const p = (k: string) => String(l.phaseMediansMs[k] ?? '-').padStart(5);
      return `${l.scenario.padEnd(18)} ${String(l.passed).padStart(2)}/${l.runs} ${String(l.rtoMedianMs ?? '-').padStart(9)} ${String(l.rtoMaxMs ?? '-').padStart(7)} ${String(l.floorMs).padStart(9)} ${String(l.ratioMedian ?? '-').padStart(6)} ${p('detect')} ${p('fence')} ${p('map')} ${p('probe')} ${p('fsck')} ${p('mount')} ${p('composeUp')} ${p('healthy')} ${String(l.lost).padStart(5)}`;
    }),
    '',
    `engine (instant actions, ${engine.cycles} takeover + release cycles): median ${engine.cycleMedianUs} µs per cycle, p99 ${engine.cycleP99Us} µs, ${engine.eventsPerSecond} events/s`,
    `with the journal + metrics on every transition: median ${observed.figures.cycleMedianUs} µs per cycle (×${observed.ratio} the bare engine), ${observed.journalBytesPerCycle} journal bytes per cycle`,
    `memory: RSS ${engine.rssStartMiB} MiB after start → ${engine.rssAfterMiB} MiB after ${engine.cycles} cycles; heap ${engine.heapStartMiB} → ${engine.heapAfterMiB} MiB`,
  ];
  console.log(lines.join('\n'));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
