import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unavailability } from '../../lab/scenarios.js';

const pull = (start: number, end: number, ok: boolean) => ({ start, end, ok });

test('the longest outage runs from the first failed pull to the end of the next good one', () => {
  const r = unavailability([pull(0, 100, true), pull(300, 400, false), pull(600, 700, false), pull(900, 1_000, true), pull(1_200, 1_300, true)]);
  assert.deepEqual(r, { longestMs: 700, failed: 2, outages: 1 });
});

test('several outages: the longest counts; out-of-order attempts are sorted; an outage still open at the end counts to the last attempt', () => {
  const r = unavailability([pull(2_000, 2_100, false), pull(0, 50, false), pull(100, 200, true), pull(2_300, 2_400, false)]);
  assert.deepEqual(r, { longestMs: 400, failed: 3, outages: 2 });
  assert.deepEqual(unavailability([pull(0, 10, true), pull(20, 30, true)]), { longestMs: 0, failed: 0, outages: 0 });
  assert.deepEqual(unavailability([]), { longestMs: 0, failed: 0, outages: 0 });
});
