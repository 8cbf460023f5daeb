import assert from 'node:assert/strict';
import { test } from 'node:test';
import { every } from '../../src/runtime/loop.js';

test('every: an interval given as a function is asked again before each wait (fast probing while starting)', async () => {
  const at: number[] = [];
  let fast = false;
  const loop = every(
    () => (fast ? 5 : 200),
    async () => {
      at.push(Date.now());
      fast = true;
    },
    (e) => assert.fail(String(e)),
  );
  await new Promise((r) => setTimeout(r, 100));
  loop.stop();
  // the first tick switched to 5 ms: many ticks in 100 ms, not one
  assert.ok(at.length >= 5, `${at.length} ticks`);
});
