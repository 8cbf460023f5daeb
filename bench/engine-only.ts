import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig } from '../src/config/index.js';
import { silentLogger } from '../src/log/logger.js';
import { Observability } from '../src/observe/observability.js';
import { measureEngine } from './engine.js';

/**
 * The engine figures alone, without the lab (issue 15): bare and observed (journal + metrics,
 * built as bench/run.ts builds them) median µs per takeover + release cycle, and the journal
 * bytes per cycle. `node --expose-gc --import tsx bench/engine-only.ts`; BENCH_CYCLES (10,000).
 */
const CYCLES = Number(process.env.BENCH_CYCLES ?? 10_000);
/** BENCH_MODE=bare or observed: only that figure (a CPU profile of one of them). */
const MODE = process.env.BENCH_MODE ?? 'both';

async function observed(cycles: number) {
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
    return { figures, journalBytesPerCycle: Math.round(statSync(config.paths.journal).size / cycles) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const bare = MODE === 'observed' ? null : await measureEngine(CYCLES);
  const obs = MODE === 'bare' ? null : await observed(CYCLES);
  const result = {
    cycles: CYCLES,
    bareMedianUs: bare?.cycleMedianUs ?? null,
    bareP99Us: bare?.cycleP99Us ?? null,
    bareCpuUs: bare?.cpuPerCycleUs ?? null,
    observedMedianUs: obs?.figures.cycleMedianUs ?? null,
    observedP99Us: obs?.figures.cycleP99Us ?? null,
    observedCpuUs: obs?.figures.cpuPerCycleUs ?? null,
    ratio: bare && obs ? Math.round((obs.figures.cycleMedianUs / bare.cycleMedianUs) * 100) / 100 : null,
    journalBytesPerCycle: obs?.journalBytesPerCycle ?? null,
    heapAfterMiB: { bare: bare?.heapAfterMiB ?? null, observed: obs?.figures.heapAfterMiB ?? null },
  };
  console.log(JSON.stringify(result));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
