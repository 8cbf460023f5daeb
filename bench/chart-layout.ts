import { monitorEventLoopDelay } from 'node:perf_hooks';
import { chartOf, chartSvg, layoutChart } from '../src/chart/index.js';
import { nodeMachine } from '../src/machine/index.js';

/**
 * The viewer's chart laid out once, as the service does on the first request, in a fresh process:
 * how long it takes and the longest stretch the event loop (which also runs the I/O watchdog and
 * the heartbeat keepalived reads) was blocked meanwhile. Run under each set of V8 flags by
 * bench/run.ts; prints one JSON line.
 */
async function main(): Promise<void> {
  const chart = chartOf(nodeMachine);
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const started = performance.now();
  const svg = chartSvg(await layoutChart(chart));
  const layoutMs = Math.round(performance.now() - started);
  delay.disable();
  console.log(JSON.stringify({ layoutMs, maxLoopBlockMs: Math.round(delay.max / 1e6), svgBytes: svg.length }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
