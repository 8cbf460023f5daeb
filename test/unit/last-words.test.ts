import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeTimestampedLogs, suspectContainers } from '../../src/actions/harbor/container-logs.js';
import type { HealthReport } from '../../src/actions/harbor/compose.js';
import type { Logger } from '../../src/log/logger.js';
import { HarborLastWords } from '../../src/runtime/last-words.js';
import { ScriptedRunner } from '../support/fake-runner.js';

const redisDown: HealthReport = {
  verdict: 'down',
  status: 'unhealthy',
  components: [
    { name: 'core', status: 'healthy' },
    { name: 'redis', status: 'unhealthy', error: 'connection refused' },
    { name: 'database', status: 'unhealthy' },
  ],
  detail: 'redis: unhealthy (connection refused); database: unhealthy',
};
const unreachable: HealthReport = { verdict: 'down', status: 'unreachable', components: [], detail: 'ECONNREFUSED' };
const healthy: HealthReport = { verdict: 'healthy', status: 'healthy', components: [{ name: 'redis', status: 'healthy' }], detail: '' };

function recordingLogger(): { logger: Logger; lines: Array<{ message: string; meta: Record<string, unknown> }> } {
  const lines: Array<{ message: string; meta: Record<string, unknown> }> = [];
  const logger = { warn: (message: string, meta: Record<string, unknown>) => lines.push({ message, meta }) } as unknown as Logger;
  return { logger, lines };
}

test('the containers read are those of the failing components, or the health path when nothing answered', () => {
  assert.deepEqual(suspectContainers(redisDown), ['redis', 'harbor-db']);
  assert.deepEqual(suspectContainers(unreachable), ['nginx', 'harbor-core']);
  assert.deepEqual(suspectContainers({ ...redisDown, components: [{ name: 'notary', status: 'unhealthy' }] }), ['notary']);
});

test("docker logs' two streams come back as one list in time order, the last N", () => {
  const stdout = '2026-11-27T07:00:00.5Z out one\n2026-11-27T07:00:02Z out three\n';
  const stderr = '2026-11-27T07:00:01.000000001Z err two\ncontinued\n2026-11-27T07:00:03.25Z err four\n';
  assert.deepEqual(mergeTimestampedLogs(stdout, stderr, 10), [
    '2026-11-27T07:00:00.5Z out one',
    '2026-11-27T07:00:01.000000001Z err two',
    'continued',
    '2026-11-27T07:00:02Z out three',
    '2026-11-27T07:00:03.25Z err four',
  ]);
  assert.deepEqual(mergeTimestampedLogs(stdout, stderr, 2), ['2026-11-27T07:00:02Z out three', '2026-11-27T07:00:03.25Z err four']);
});

test('a Harbor that was not healthy when probing ended: its failing containers are journaled before compose down', async () => {
  const runner = new ScriptedRunner((argv) =>
    argv.at(-1) === 'redis'
      ? { stdout: '2026-11-27T07:00:00Z # Bad file format reading the append only file\n' }
      : { fail: { exitCode: 1, stderr: 'Error: No such container: harbor-db' } },
  );
  const { logger, lines } = recordingLogger();
  const journaled: Array<[string, string[], string]> = [];
  const words = new HarborLastWords(runner, logger, { maxLines: 50, timeoutMs: 5000 }, (...e) => journaled.push(e));
  words.leftProbing('down', redisDown);
  await words.journal();
  assert.deepEqual(journaled, [['redis', ['2026-11-27T07:00:00Z # Bad file format reading the append only file'], redisDown.detail]]);
  assert.deepEqual(runner.calls, [
    ['docker', 'logs', '--timestamps', '--tail', '50', '--', 'redis'],
    ['docker', 'logs', '--timestamps', '--tail', '50', '--', 'harbor-db'],
  ]);
  const redis = lines.find((l) => l.meta.container === 'redis');
  assert.deepEqual(redis?.meta.lines, ['2026-11-27T07:00:00Z # Bad file format reading the append only file']);
  assert.equal(redis.meta.health, redisDown.detail);
  const db = lines.find((l) => l.meta.container === 'harbor-db');
  assert.match(String(db?.meta.error), /No such container/);
  // told once: the next release (nothing probed since) reads nothing
  await words.journal();
  assert.equal(runner.calls.length, 2);
});

test('a healthy hand-over, a new takeover, or lines set to 0 read nothing', async () => {
  const runner = new ScriptedRunner(() => ({ stdout: '' }));
  const { logger } = recordingLogger();
  const words = new HarborLastWords(runner, logger, { maxLines: 50, timeoutMs: 5000 });
  words.leftProbing('healthy', healthy);
  await words.journal();
  // a single failed probe below `fall` while serving healthy: still a healthy hand-over
  words.leftProbing('healthy', unreachable);
  await words.journal();
  words.leftProbing('down', redisDown);
  words.forget();
  await words.journal();
  words.leftProbing('unknown', null);
  await words.journal();
  const off = new HarborLastWords(runner, logger, { maxLines: 0, timeoutMs: 5000 });
  off.leftProbing('down', redisDown);
  await off.journal();
  assert.deepEqual(runner.calls, []);
});

test('the reads give up at the timeout: a stuck docker does not hold the release', async () => {
  const stuck = new ScriptedRunner(() => ({ stdout: '' }));
  stuck.run = (spec) =>
    new Promise((_resolve, reject) => {
      spec.signal?.addEventListener('abort', () => reject(new Error(`${spec.what} aborted`)), { once: true });
    });
  const { logger, lines } = recordingLogger();
  const words = new HarborLastWords(stuck, logger, { maxLines: 50, timeoutMs: 50 });
  words.leftProbing('down', unreachable);
  const t = Date.now();
  await words.journal();
  assert.ok(Date.now() - t < 2000, 'journal returned after the timeout');
  assert.deepEqual(
    lines.map((l) => l.meta.container),
    ['nginx', 'harbor-core'],
  );
  assert.ok(lines.every((l) => /aborted/.test(String(l.meta.error))));
});
