import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import winston from 'winston';
import { CommandError, createRunner, describeArgv, programProblem, redact, type CommandRecord } from '../../src/actions/exec.js';
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
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- winston types its transports as interfaces extending TransportStream; at run time they are real subclasses
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
    const outcome = await Promise.race([
      run.then(
        () => 'resolved' as const,
        (e: unknown) => e,
      ),
      sleep(GIVE_UP_BOUND_MS),
    ]);
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
    assert.match(entry.command, /^sh -c /);
    assert.equal(typeof entry.pid, 'number');
    assert.ok(entry.since >= started && entry.since <= Date.now());

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
    const outcome = await Promise.race([
      run.then(
        () => 'resolved' as const,
        (e: unknown) => e,
      ),
      sleep(GIVE_UP_BOUND_MS),
    ]);
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

test('a first word that bash would read as a shell word is refused before anything runs', async () => {
  const { runner: watched, records } = watchedRunner();
  const marker = join(mkdtempSync(join(tmpdir(), 'ha-exec-')), 'ran');
  // through `bash -c`, `HA_X=1 touch marker` would set a variable and run touch
  await assert.rejects(watched.run({ what: 'env', argv: ['HA_X=1', 'touch', marker], timeoutMs: 5000 }), (e: unknown) => {
    assert.ok(e instanceof CommandError);
    assert.equal(e.failure, 'spawn');
    assert.match(e.message, /^env \(HA_X=1 touch .*\) could not be started: refused: the first word "HA_X=1" is not a program name or path/);
    return true;
  });
  await assert.rejects(watched.spawnDaemon({ what: 'daemon', argv: ['HA_X=1', 'touch', marker], logFile: `${marker}.log` }), /"HA_X=1" is not a program name/);
  assert.equal(existsSync(marker), false, 'the command ran');
  assert.equal(existsSync(`${marker}.log`), false, 'the daemon was started');
  assert.deepEqual(
    records.map((r) => [r.what, r.ok, r.result, r.failure]),
    [
      ['env', false, 'refused', 'spawn'],
      ['daemon', false, 'refused', 'spawn'],
    ],
  );
});

test('only plain program names and safe paths pass as the first word', async () => {
  for (const bad of [['HA_X=1 env'], ['FOO=1'], ['a;b'], ['$(x)'], ['`x`'], [''], ['a b'], ['~/x'], ['/bin/sh;x'], ['x|y'], []]) {
    assert.notEqual(programProblem(bad), null, JSON.stringify(bad));
    await assert.rejects(
      runner.run({ what: 'bad', argv: bad, timeoutMs: 5000 }),
      (e: unknown) => e instanceof CommandError && e.failure === 'spawn' && /refused/.test(e.message),
    );
  }
  assert.match(programProblem([]) ?? '', /empty argv/);
  for (const good of ['rbd', 'rbd-fuse', 'e2fsck', 'mkfs.ext4', 'g++', '/usr/bin/rbd', './x', '../bin/x', '/opt/harbor_x/install.sh']) {
    assert.equal(programProblem([good, 'a b', '$(not a shell word)']), null, good);
  }
});

/** The process group of `pid`, from /proc/pid/stat. */
function pgrpOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone
  }
}

test('a daemon starts detached in its own process group, its output in the log file, one record', { timeout: 10_000 }, async () => {
  const { runner: watched, lines, records } = watchedRunner();
  const logFile = join(mkdtempSync(join(tmpdir(), 'ha-exec-')), 'daemon.log');
  let pid: number | undefined;
  try {
    const started = watched.spawnDaemon({
      what: 'fake daemon',
      argv: ['sh', '-c', 'echo "up with $CEPH_ARGS"; exec sleep 30'],
      env: { CEPH_ARGS: '--id harbor --keyring /etc/ha/secret-keyring-path' },
      logFile,
    });
    assert.equal(watched.inFlight, 1, 'a daemon is in flight while it settles');
    ({ pid } = await started);
    assert.equal(watched.inFlight, 0);
    assert.equal(isRunning(pid), true);
    assert.equal(pgrpOf(pid), pid, 'not in its own process group');
    assert.ok(pgrpOf(pid) !== pgrpOf(process.pid));
    assert.equal(readFileSync(logFile, 'utf8'), 'up with --id harbor --keyring /etc/ha/secret-keyring-path\n');
    assert.deepEqual(
      records.map((r) => [r.what, r.ok, r.result, r.failure]),
      [['fake daemon', true, `started pid ${pid}`, null]],
    );
    assert.deepEqual(
      lines.map((l) => [l.message, l.what, l.result]),
      [['command', 'fake daemon', `started pid ${pid}`]],
    );
    assert.match(String(lines[0]?.command), /^sh -c /);
    assert.ok(!JSON.stringify(lines).includes('secret-keyring-path'), 'an env value was logged');
  } finally {
    killGroup(pid);
  }
  assert.equal(await waitGone(pid, 3000), true);
});

test("a daemon that exits non-zero at once is a spawn error with this start's log tail, redacted", async () => {
  const records: CommandRecord[] = [];
  const secretRunner = createRunner(silentLogger(), ['AQBsecretkey=='], (r) => records.push(r));
  const logFile = join(mkdtempSync(join(tmpdir(), 'ha-exec-')), 'daemon.log');
  writeFileSync(logFile, 'an older start: fine\n');
  await assert.rejects(
    secretRunner.spawnDaemon({
      what: 'rbd-fuse start',
      argv: ['sh', '-c', 'echo "auth failed for key AQBsecretkey=="; echo "fuse: bad mount point" >&2; exit 3'],
      logFile,
    }),
    (e: unknown) => {
      assert.ok(e instanceof CommandError);
      assert.equal(e.failure, 'spawn');
      assert.equal(e.exitCode, 3);
      assert.equal(
        e.message,
        'rbd-fuse start (sh -c \'echo "auth failed for key ***"; echo "fuse: bad mount point" >&2; exit 3\') could not be started (exited with code 3): auth failed for key ***\nfuse: bad mount point',
      );
      return true;
    },
  );
  assert.deepEqual(
    records.map((r) => [r.ok, r.result, r.failure]),
    [[false, 'exit 3 at start', 'spawn']],
  );
  assert.equal(secretRunner.inFlight, 0);
});

test('a daemon whose program is missing, or whose log cannot be opened, is a spawn error', async () => {
  const { runner: watched, records } = watchedRunner();
  const dir = mkdtempSync(join(tmpdir(), 'ha-exec-'));
  await assert.rejects(watched.spawnDaemon({ what: 'missing', argv: ['/nonexistent/rbd-fuse', '-f', '/x'], logFile: join(dir, 'd.log') }), (e: unknown) => {
    assert.ok(e instanceof CommandError);
    assert.equal(e.failure, 'spawn');
    assert.match(e.message, /^missing \(\/nonexistent\/rbd-fuse -f \/x\) could not be started: Error: spawn \/nonexistent\/rbd-fuse ENOENT/);
    return true;
  });
  await assert.rejects(watched.spawnDaemon({ what: 'no log', argv: ['sleep', '30'], logFile: join(dir, 'missing-dir', 'd.log') }), (e: unknown) => {
    assert.ok(e instanceof CommandError && e.failure === 'spawn');
    assert.match(e.message, /cannot open its log file/);
    return true;
  });
  assert.deepEqual(
    records.map((r) => [r.what, r.result]),
    [
      ['missing', 'spawn failed'],
      ['no log', 'spawn failed'],
    ],
  );
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(
    watched.spawnDaemon({ what: 'aborted', argv: ['sleep', '30'], logFile: join(dir, 'a.log'), signal: ac.signal }),
    (e: unknown) => e instanceof CommandError && e.failure === 'aborted',
  );
  assert.equal(existsSync(join(dir, 'a.log')), false);
});

test('the one sleep leaves no abort listener behind, however often it is called with one signal', async () => {
  const { sleep } = await import('../../src/actions/sleep.js');
  const { EventEmitter } = await import('node:events');
  const ac = new AbortController();
  for (let i = 0; i < 20; i++) await sleep(1, ac.signal);
  assert.equal(EventEmitter.getEventListeners(ac.signal, 'abort').length, 0);
  const pending = sleep(60_000, ac.signal);
  ac.abort();
  await pending; // resolves at the abort, not after a minute
  assert.equal(EventEmitter.getEventListeners(ac.signal, 'abort').length, 0);
});

test('a missing program is a permanent failure (no retry can fix it); a plain exit is not', async () => {
  const { createRunner, CommandError } = await import('../../src/actions/exec.js');
  const { silentLogger } = await import('../../src/log/logger.js');
  const runner = createRunner(silentLogger());
  await assert.rejects(
    runner.run({ what: 'missing', argv: ['harbor-assistant-no-such-program-x'], timeoutMs: 5_000 }),
    (e: unknown) => e instanceof CommandError && e.permanent && e.exitCode === 127,
  );
  await assert.rejects(
    runner.run({ what: 'false', argv: ['false'], timeoutMs: 5_000 }),
    (e: unknown) => e instanceof CommandError && !e.permanent && e.exitCode === 1,
  );
});
