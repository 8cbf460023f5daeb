import { measureEngine, measureObservedEngine } from './engine.js';

/**
 * The engine figures alone, without the lab (issue 15): bare and observed (journal + metrics,
 * built as bench/run.ts builds them) median µs per takeover + release cycle, and the journal
 * bytes per cycle. `node --expose-gc --import tsx bench/engine-only.ts`; BENCH_CYCLES (10,000).
 */
const CYCLES = Number(process.env.BENCH_CYCLES ?? 10_000);
/** BENCH_MODE=bare or observed: only that figure (a CPU profile of one of them). */
const MODE = process.env.BENCH_MODE ?? 'both';

async function main(): Promise<void> {
  const bare = MODE === 'observed' ? null : await measureEngine(CYCLES);
  const obs = MODE === 'bare' ? null : await measureObservedEngine(CYCLES);
  const result = {
    cycles: CYCLES,
    bareMedianUs: bare?.cycleMedianUs ?? null,
    bareP99Us: bare?.cycleP99Us ?? null,
    bareFirstCycleUs: bare?.firstCycleUs ?? null,
    bareCpuUs: bare?.cpuPerCycleUs ?? null,
    observedMedianUs: obs?.figures.cycleMedianUs ?? null,
    observedP99Us: obs?.figures.cycleP99Us ?? null,
    observedFirstCycleUs: obs?.figures.firstCycleUs ?? null,
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
