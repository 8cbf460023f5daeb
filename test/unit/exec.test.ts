import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CommandError, createRunner, describeArgv, redact } from '../../src/actions/exec.js';
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
