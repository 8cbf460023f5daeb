import { mkdirSync, writeFileSync } from 'node:fs';
import { deepRun } from './bounds.js';
import { formatCounterexample } from './counterexample.js';
import { explore, summaryLine } from './explorer.js';

/*
 * `npm run explore`: the deeper bound. Prints the summary line (and any counterexample) and
 * writes reports/exploration.json. Options: --depth N, --faults N.
 */

const args = process.argv.slice(2);
const arg = (name: string): number | undefined => {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : NaN;
  return Number.isFinite(v) ? v : undefined;
};
const base = deepRun();
const o = { ...base, maxDepth: arg('depth') ?? base.maxDepth, maxFaults: arg('faults') ?? base.maxFaults };
const r = explore(o);
console.log(summaryLine(r));
for (const v of r.violations.slice(0, 3)) console.log(formatCounterexample(o, v.path, v.message));
mkdirSync('reports', { recursive: true });
writeFileSync(
  'reports/exploration.json',
  `${JSON.stringify(
    {
      states: r.states,
      transitions: r.transitions,
      depth: r.depth,
      faultsPerPath: r.faultsPerPath,
      violations: r.violations.length,
      runMs: r.runMs,
      complete: r.complete,
      livenessChecked: r.livenessChecked,
      roots: o.roots,
      machineTransitions: r.machineTransitions,
      memoizedTransitions: r.memoHits,
      counterexamples: r.violations.slice(0, 3).map((v) => ({ message: v.message, path: v.path })),
    },
    null,
    2,
  )}\n`,
);
process.exitCode = r.violations.length === 0 && r.complete ? 0 : 1;
