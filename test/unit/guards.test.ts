import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addressIp,
  allForeignHoldersEstablished,
  exhaustsBudget,
  foreignHolders,
  freshForeignHolders,
  hasAttemptsLeft,
  isHolding,
  mergeKnownHolders,
  strongerExit,
} from '../../src/guards/index.js';
import { backoffDelay } from '../../src/machine/index.js';
import { testTiming } from '../support/timing.js';

test('client addresses parse to their IP (v4, v6, msgr v2 prefix)', () => {
  assert.equal(addressIp('10.0.0.1:0/4225036114'), '10.0.0.1');
  assert.equal(addressIp('[fd00::1]:0/77'), 'fd00::1');
  assert.equal(addressIp('v2:10.0.0.1:0/1'), '10.0.0.1');
  assert.equal(addressIp(''), null);
});

test('own watchers are never foreign; unparseable ones are (fail safe: they get fenced, not ignored)', () => {
  const holders = [{ address: '10.0.0.1:0/1' }, { address: '10.0.0.2:0/2' }, { address: 'garbage' }];
  assert.deepEqual(
    foreignHolders(holders, ['10.0.0.1']).map((h) => h.address),
    ['10.0.0.2:0/2', 'garbage'],
  );
});

test('a holder is fresh until seen for the grace, and merge keeps first-seen times', () => {
  const peer = { address: '10.0.0.2:0/2' };
  let known = mergeKnownHolders([], { holders: [peer], observedAt: 1000 });
  assert.deepEqual(freshForeignHolders({ holders: [peer], observedAt: 1200 }, known, ['10.0.0.1'], 500).length, 1);
  assert.equal(allForeignHoldersEstablished({ holders: [peer], observedAt: 1500 }, known, ['10.0.0.1'], 500), true);
  known = mergeKnownHolders(known, { holders: [peer], observedAt: 1600 });
  assert.deepEqual(known, [{ address: peer.address, firstSeenAt: 1000 }]);
  assert.deepEqual(mergeKnownHolders(known, { holders: [], observedAt: 1700 }), []);
});

test('retries, budget and backoff', () => {
  assert.equal(hasAttemptsLeft(0, 2), true);
  assert.equal(hasAttemptsLeft(1, 2), false);
  assert.equal(exhaustsBudget(1, 2), true);
  assert.equal(exhaustsBudget(0, 2), false);
  assert.deepEqual(
    [1, 2, 3, 4].map((a) => backoffDelay(testTiming, a)),
    [100, 200, 400, 400],
  );
});

test('holding and release exits', () => {
  assert.equal(isHolding({ device: null, mounted: false, composeRunning: false }), false);
  assert.equal(isHolding({ device: null, mounted: false, composeRunning: true }), true);
  assert.equal(strongerExit('idle', 'fenced'), 'fenced');
  assert.equal(strongerExit('stopped', 'fenced'), 'stopped');
  assert.equal(strongerExit('maintenance', 'standDown'), 'maintenance');
});
