import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testTiming } from '../support/timing.js';
import { formatCounterexample, replay } from '../explore/counterexample.js';
import { explore, type RootName } from '../explore/explorer.js';
import { defaultModelOptions } from '../explore/model.js';
import { withoutAtomicLock, withoutFencedCooldown, withoutOwnershipFence, type Mutation } from '../explore/mutations.js';

// A weaker design must be caught by the same explorer, or the explorer is too weak.
function hunt(m: Mutation, roots: RootName[], maxDepth: number, onlyFaults?: RegExp): void {
  const o = {
    ...defaultModelOptions(m.machine, testTiming, 1, m.world),
    ...(onlyFaults ? { onlyFaults } : {}),
    maxDepth,
    livenessEvery: 0,
    livenessSteps: 0,
    maxViolations: 100_000,
    timeLimitMs: 120_000,
    roots,
    stopOn: m.expect,
  };
  const r = explore(o);
  const found = r.violations.find((v) => m.expect.test(v.message));
  assert.ok(found, `${m.name}: no ${String(m.expect)} within depth ${r.depth} (${r.states} states)`);
  console.log(`${m.name}: ${formatCounterexample(o, found.path, found.message)}`);
  // the counterexample replays as printed
  const again = replay(o, found.path);
  assert.match(again.violation?.message ?? '', m.expect);
}

test('ownership fence removed: the explorer finds the double writer after the owner went silent', () => hunt(withoutOwnershipFence, ['steady'], 14));

test('ownership fence removed, storage partition only: the explorer finds the double writer of the storage partition', () =>
  hunt(withoutOwnershipFence, ['steady'], 18, /storage link cut/));

test('atomic lock removed: the explorer finds the double map at a cold start where both are MASTER', () => hunt(withoutAtomicLock, ['cold'], 20));

test('fenced cool-down removed: the explorer finds a fencing war', () => hunt(withoutFencedCooldown, ['steady'], 18));
