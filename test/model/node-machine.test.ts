import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeMachine } from '../../src/machine/index.js';
import { actorPlaceholders } from '../../src/machine/actors.js';
import { allStateIds, allTransitionKeys } from './coverage.js';
import { drivePath } from './drive.js';
import { extendForCoverage } from './extend.js';
import { createNodeTestModel, type ModelPath } from './node-model.js';

test('every failover path of the node machine keeps S1–S6, and the paths cover every state and transition', async () => {
  const model = createNodeTestModel();
  const shortest = model.getShortestPaths() as unknown as ModelPath[];
  assert.ok(shortest.length > 100, `expected a rich model, got ${shortest.length} paths`);

  const coveredTransitions = new Set<string>();
  const coveredStates = new Set<string>();
  const failures: string[] = [];
  const allTransitions = allTransitionKeys(nodeMachine);

  const runAll = async (paths: ModelPath[]) => {
    for (const path of paths) {
      const run = await drivePath(path);
      run.transitions.forEach((t) => coveredTransitions.add(t));
      run.stateIds.forEach((s) => coveredStates.add(s));
      if (run.violations.length > 0 && failures.length < 20) failures.push(`${run.description}\n    ${run.violations.join('\n    ')}`);
    }
  };
  await runAll(shortest);
  const extended = await extendForCoverage(shortest, new Set(coveredTransitions), allTransitions);
  await runAll(extended);

  const states = allStateIds(nodeMachine);
  const missingStates = states.filter((s) => !coveredStates.has(s));
  const missingTransitions = allTransitions.filter((t) => !coveredTransitions.has(t));
  console.log(
    `model coverage: states ${states.length - missingStates.length}/${states.length}, transitions ${allTransitions.length - missingTransitions.length}/${allTransitions.length}`,
  );
  assert.deepEqual(failures, [], 'invariant violations on model paths');
  assert.deepEqual(missingStates, [], 'states no path reached');
  assert.deepEqual(missingTransitions, [], 'transitions no path took');
});

test('S6: the machine has no way to remove a blocklist entry', () => {
  const names = Object.keys(actorPlaceholders);
  assert.ok(names.includes('fence'));
  assert.equal(names.filter((n) => /unfence|unblock|blocklistRemove|blacklistRemove/i.test(n)).length, 0, names.join(','));
});
