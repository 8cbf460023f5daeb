import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Compose } from '../../src/actions/harbor/compose.js';
import { silentLogger } from '../../src/log/logger.js';
import type { Observability } from '../../src/observe/observability.js';
import type { OperationSummary } from '../../src/observe/phases.js';
import { journalStartupLogs } from '../../src/runtime/startup-logs.js';

const takeover: OperationSummary = {
  operation: 'takeover',
  outcome: 'serving',
  ok: true,
  startedAt: 1,
  cause: { event: 'vrrp', reason: 'x' },
  totalMs: 5,
  phases: [],
  steps: [],
};

/** A compose whose `logs` answers only when told to, or when its signal aborts. */
function slowCompose(): { compose: Compose; signals: AbortSignal[]; answer: () => void } {
  const signals: AbortSignal[] = [];
  let answer: () => void = () => undefined;
  const compose = {
    logsSince: (_s: string, _since: number, _max: number, signal?: AbortSignal) =>
      new Promise<string[]>((resolve, reject) => {
        if (signal) signals.push(signal);
        answer = () => resolve(['redo done']);
        signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      }),
  } as unknown as Compose;
  return { compose, signals, answer: () => answer() };
}

function fakeObserve(): { observe: Observability; emit: (s: OperationSummary) => void; logged: string[][] } {
  const listeners: Array<(s: OperationSummary) => void> = [];
  const logged: string[][] = [];
  const observe = {
    onOperation: (l: (s: OperationSummary) => void) => listeners.push(l),
    startupLog: (_service: string, lines: string[]) => logged.push(lines),
  } as unknown as Observability;
  return { observe, emit: (s) => listeners.forEach((l) => l(s)), logged };
}

test('start-up logs: read after a takeover that serves; given up (killed) as soon as the node leaves serving', async () => {
  const { compose, signals, answer } = slowCompose();
  const { observe, emit, logged } = fakeObserve();
  let leave: () => void = () => undefined;
  let watching = 0;
  const whileServing = (onLeave: () => void) => {
    watching++;
    leave = onLeave;
    return () => {
      watching--;
    };
  };
  journalStartupLogs(compose, observe, silentLogger(), { services: ['postgresql'], maxLines: 10 }, new AbortController().signal, whileServing);
  emit(takeover);
  await new Promise((r) => setImmediate(r));
  assert.equal(signals.length, 1);
  answer();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(logged, [['redo done']]);
  assert.equal(watching, 0, 'done: no longer watching');

  emit(takeover);
  await new Promise((r) => setImmediate(r));
  assert.equal(signals[1]?.aborted, false);
  leave();
  assert.equal(signals.at(1)?.aborted, true, 'a release does not wait for compose logs');
  await new Promise((r) => setImmediate(r));
  assert.equal(logged.length, 1);
  assert.equal(watching, 0);
  emit({ ...takeover, ok: false });
  assert.equal(signals.length, 2, 'a takeover that did not serve reads nothing');
});
