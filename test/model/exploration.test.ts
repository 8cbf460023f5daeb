import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundedRun } from '../explore/bounds.js';
import { formatCounterexample } from '../explore/counterexample.js';
import { explore, summaryLine } from '../explore/explorer.js';

// Two real node machines, one shared world, every interleaving and up to 2 faults per path (docs/architecture.md).
test('two-node safety exploration: G1–G4 in every state, liveness from every state', { timeout: 10 * 60_000 }, () => {
  const o = boundedRun();
  const r = explore(o);
  console.log(summaryLine(r));
  const shown = r.violations.slice(0, 3).map((v) => formatCounterexample(o, v.path, v.message));
  assert.equal(r.violations.length, 0, shown.join('\n\n'));
  assert.ok(r.complete, `the exploration ran out of time at depth ${r.depth}`);
});
