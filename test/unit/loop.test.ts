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

test('every: poke runs the next tick now instead of after the wait, and right after a tick in flight', async () => {
  let ticks = 0;
  let release: () => void = () => undefined;
  let slow = false;
  const loop = every(
    10_000,
    () => {
      ticks++;
      return slow ? new Promise<void>((r) => (release = r)) : Promise.resolve();
    },
    (e) => assert.fail(String(e)),
  );
  try {
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(ticks, 1, 'the first tick runs at once, the next one waits 10 s');
    slow = true;
    loop.poke();
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(ticks, 2, 'poked while waiting: ran now');
    slow = false;
    loop.poke();
    loop.poke();
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(ticks, 2, 'never overlapping: a poke during a tick waits for it');
    release();
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(ticks, 3, 'and runs right after it, once');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(ticks, 3, 'then the interval again');
  } finally {
    loop.stop();
  }
});

test('every: poke after stop does nothing', async () => {
  let ticks = 0;
  const loop = every(
    10_000,
    () => {
      ticks++;
      return Promise.resolve();
    },
    (e) => assert.fail(String(e)),
  );
  await new Promise((r) => setTimeout(r, 20));
  loop.stop();
  loop.poke();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(ticks, 1);
});
