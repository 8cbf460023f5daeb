import assert from 'node:assert/strict';
import { test } from 'node:test';
import { together } from '../../src/actions/together.js';
import { sleep } from '../../src/actions/sleep.js';

test('independent pieces run at once', async () => {
  const started = Date.now();
  await together(
    undefined,
    () => sleep(100),
    () => sleep(100),
  );
  assert.ok(Date.now() - started < 180, 'both in about the time of one');
});

test('one failing aborts the others, and the failure comes after all have ended', async () => {
  const ended: string[] = [];
  const slow = async (signal: AbortSignal) => {
    await sleep(5_000, signal);
    ended.push(signal.aborted ? 'slow aborted' : 'slow finished');
  };
  const failing = async () => {
    await sleep(20);
    ended.push('failing');
    throw new Error('prepare failed');
  };
  const started = Date.now();
  await assert.rejects(together(undefined, slow, failing), /prepare failed/);
  assert.deepEqual(ended, ['failing', 'slow aborted']);
  assert.ok(Date.now() - started < 1_000);
});

test("the step's own abort reaches every piece", async () => {
  const outer = new AbortController();
  const seen: boolean[] = [];
  const piece = async (signal: AbortSignal) => {
    await sleep(5_000, signal);
    seen.push(signal.aborted);
  };
  setTimeout(() => outer.abort(new Error('deadline')), 20);
  await together(outer.signal, piece, piece);
  assert.deepEqual(seen, [true, true]);
});
