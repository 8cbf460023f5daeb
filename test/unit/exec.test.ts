import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import winston from 'winston';
import { CommandError, createRunner, describeArgv, redact, type CommandRecord } from '../../src/actions/exec.js';
import { silentLogger } from '../../src/log/logger.js';
import { isRunning } from '../../src/actions/processes.js';

const runner = createRunner(silentLogger(), ['AQBsecretkey==']);

async function waitGone(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    if (!isRunning(pid)) return true;
  }
  return !isRunning(pid);
}

test('a command runs with its arguments passed literally, never through a shell string', async () => {
  const r = await runner.run({ what: 'echo', argv: ['printf', '%s|', 'a b', '$(id)', "it's;rm -rf /"], timeoutMs: 5000 });
  assert.equal(r.stdout, "a b|$(id)|it's;rm -rf /|");
  assert.equal(r.exitCode, 0);
});

test('a failing command raises an error naming the command, its exit code and what it printed', async () => {
  await assert.rejects(
    runner.run({ what: 'rbd device map', argv: ['sh', '-c', 'echo "rbd: map failed: (2) No such file or directory" >&2; exit 2'], timeoutMs: 5000 }),
    (e: unknown) => {
      assert.ok(e instanceof CommandError);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /^rbd device map \(sh -c .*\) exited with code 2: rbd: map failed: \(2\) No such file or directory$/);
      return true;
    },
  );
});

test('extra exit codes can count as success (e2fsck 1: errors corrected)', async () => {
  const r = await runner.run({ what: 'e2fsck', argv: ['sh', '-c', 'exit 1'], timeoutMs: 5000, okExitCodes: [1] });
  assert.equal(r.exitCode, 1);
});

test('a timeout kills the whole process tree, grandchildren included', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ha-exec-'));
  const pidFile = join(dir, 'grandchild.pid');
  const started = Date.now();
  await assert.rejects(
    runner.run({ what: 'slow', argv: ['sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`], timeoutMs: 300 }),
    (e: unknown) => e instanceof CommandError && e.failure === 'timeout' && /timed out/.test(e.message),
  );
  assert.ok(Date.now() - started < 5000);
  assert.ok(existsSync(pidFile));
  const grandchild = Number(readFileSync(pidFile, 'utf8').trim());
  assert.equal(await waitGone(grandchild, 3000), true, `grandchild ${grandchild} survived the timeout`);
});

test('an abort kills the tree and the runner reports when nothing is in flight any more', async () => {
  const ac = new AbortController();
  const p = runner.run({ what: 'slow', argv: ['sh', '-c', 'sleep 30 & wait'], timeoutMs: 60_000, signal: ac.signal });
  assert.equal(runner.inFlight, 1);
  setTimeout(() => ac.abort(), 100);
  await assert.rejects(p, (e: unknown) => e instanceof CommandError && e.failure === 'aborted');
  await runner.settled();
  assert.equal(runner.inFlight, 0);
});

test('secrets are redacted from errors and command lines', async () => {
  await assert.rejects(
    runner.run({ what: 'leak', argv: ['sh', '-c', 'echo key=AQBsecretkey== >&2; exit 1'], timeoutMs: 5000 }),
    (e: unknown) => e instanceof CommandError && !e.message.includes('AQBsecretkey==') && e.message.includes('***'),
  );
  assert.equal(redact('a AQBsecretkey== b', ['AQBsecretkey==']), 'a *** b');
  assert.equal(describeArgv(['ceph', '--key', 'AQBsecretkey==', 'a b'], ['AQBsecretkey==']), "ceph --key *** 'a b'");
});

test('a missing program is a clear error, not a hang', async () => {
  await assert.rejects(
    runner.run({ what: 'missing', argv: ['/nonexistent/rbd', 'status'], timeoutMs: 5000 }),
    (e: unknown) => e instanceof CommandError && /missing \(\/nonexistent\/rbd status\)/.test(e.message),
  );
});

/** A runner whose log lines (as JSON objects) and observer records the test can read. */
function watchedRunner(): { runner: ReturnType<typeof createRunner>; lines: Array<Record<string, unknown>>; records: CommandRecord[] } {
  const lines: Array<Record<string, unknown>> = [];
  const records: CommandRecord[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  return { runner: createRunner(logger, [], (r) => records.push(r)), lines, records };
}

const sleep = (ms: number) => new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms));

/**
 * A command zx cannot finish after the kill: its shell prints, then leaves behind a sleep that
 * escaped both the process group (setsid) and the kill tree (its parent subshell exits, so it is
 * reparented), and that still holds the stdout/stderr pipes. zx settles on the child's 'close',
 * which waits for every holder of the pipes: without a real deadline run() hangs until the sleep ends.
 */
function escapingCommand(pidFile: string): string[] {
  return ['sh', '-c', `(setsid sh -c 'echo $$ > ${pidFile}; exec sleep 30' &); echo started; echo trouble >&2; sleep 30`];
}

/** Kill the escaped sleep by the pid it wrote (nothing the test spawns may outlive it). */
function killEscaped(pidFile: string): number | null {
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  return pid;
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 25))) if (check()) return true;
  return check();
}

// deadline + KILL_GRACE_MS (2000) + the runner's margin (500), plus slack for a loaded machine
const GIVE_UP_BOUND_MS = 300 + 2_000 + 500 + 700;

test('a timed-out command that cannot be reaped is abandoned at the deadline, not waited for', { timeout: 10_000 }, async (t) => {
  const { runner: watched, lines, records } = watchedRunner();
  const pidFile = join(mkdtempSync(join(tmpdir(), 'ha-exec-')), 'escaped.pid');
  try {
    const started = Date.now();
    const run = watched.run({ what: 'stuck', argv: escapingCommand(pidFile), timeoutMs: 300 });
    const outcome = await Promise.race([run.then(() => 'resolved' as const, (e: unknown) => e), sleep(GIVE_UP_BOUND_MS)]);
    const elapsed = Date.now() - started;
    assert.notEqual(outcome, 'hung', `run() still waiting after ${elapsed} ms`);
    assert.ok(outcome instanceof CommandError, `expected a CommandError, got ${String(outcome)}`);
    assert.equal(outcome.failure, 'timeout');
    assert.ok(outcome.abandoned !== null);
    assert.match(outcome.message, /^stuck \(sh -c .*\) timed out after \d+ ms; pid \d+ exited but a descendant .* holds its output open: abandoned: trouble$/);
    assert.equal(outcome.stdout.trim(), 'started');
    assert.ok(elapsed >= 300 + 2_000, `gave up after ${elapsed} ms, before the KILL grace was over`);
    t.diagnostic(`run() rejected after ${elapsed} ms (deadline 300 ms)`);

    const escaped = Number(readFileSync(pidFile, 'utf8').trim());
    assert.equal(isRunning(escaped), true, 'the escaped sleep should still be holding the pipe');
    assert.equal(watched.inFlight, 0);
    await Promise.race([watched.settled(), sleep(100).then(() => assert.fail('settled() waits for an abandoned command'))]);
    assert.equal(watched.abandoned.length, 1);
    const [entry] = watched.abandoned;
    assert.equal(entry?.what, 'stuck');
    assert.match(entry?.command ?? '', /^sh -c /);
    assert.equal(typeof entry?.pid, 'number');
    assert.ok(entry !== undefined && entry.since >= started && entry.since <= Date.now());

    assert.deepEqual(
      records.map((r) => [r.what, r.ok, r.result, r.failure]),
      [['stuck', false, 'timeout (abandoned)', 'timeout']],
    );
    assert.deepEqual(
      lines.filter((l) => l.level === 'warn').map((l) => [l.message, l.result]),
      [['command', 'timeout (abandoned)']],
    );

    killEscaped(pidFile);
    assert.equal(await waitFor(() => watched.abandoned.length === 0, 2_000), true, 'the entry stays after the process ended');
    assert.equal(records.length, 1, 'the late end is not a second result');
    assert.equal(lines.filter((l) => l.message === 'command').length, 1, 'the late end is not logged as a second result');
    assert.ok(lines.some((l) => l.message === 'abandoned command ended'));
  } finally {
    killEscaped(pidFile);
  }
});

test('an aborted command that cannot be reaped is abandoned too and keeps its failure', { timeout: 10_000 }, async () => {
  const { runner: watched, records } = watchedRunner();
  const pidFile = join(mkdtempSync(join(tmpdir(), 'ha-exec-')), 'escaped.pid');
  try {
    const ac = new AbortController();
    const started = Date.now();
    const run = watched.run({ what: 'stuck', argv: escapingCommand(pidFile), timeoutMs: 60_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 300);
    const outcome = await Promise.race([run.then(() => 'resolved' as const, (e: unknown) => e), sleep(GIVE_UP_BOUND_MS)]);
    assert.notEqual(outcome, 'hung', `run() still waiting after ${Date.now() - started} ms`);
    assert.ok(outcome instanceof CommandError);
    assert.equal(outcome.failure, 'aborted');
    assert.match(outcome.message, /was aborted; pid \d+ .*: abandoned/);
    assert.deepEqual(
      records.map((r) => [r.result, r.failure]),
      [['aborted (abandoned)', 'aborted']],
    );
    await watched.settled();
    assert.equal(watched.abandoned.length, 1);
    killEscaped(pidFile);
    assert.equal(await waitFor(() => watched.abandoned.length === 0, 2_000), true);
  } finally {
    killEscaped(pidFile);
  }
});

test('a timed-out command that dies on TERM is a plain timeout, not abandoned', { timeout: 5_000 }, async () => {
  const { runner: watched, records } = watchedRunner();
  const started = Date.now();
  await assert.rejects(watched.run({ what: 'slow', argv: ['sh', '-c', 'echo partial; sleep 30'], timeoutMs: 300 }), (e: unknown) => {
    assert.ok(e instanceof CommandError);
    assert.equal(e.failure, 'timeout');
    assert.equal(e.abandoned, null);
    assert.match(e.message, /^slow \(sh -c .*\) timed out after \d+ ms: partial$/);
    return true;
  });
  assert.ok(Date.now() - started < 2_000, 'TERM should have been enough');
  assert.deepEqual(
    records.map((r) => [r.result, r.failure]),
    [['timeout', 'timeout']],
  );
  assert.deepEqual(watched.abandoned, []);
  assert.equal(watched.inFlight, 0);
});
