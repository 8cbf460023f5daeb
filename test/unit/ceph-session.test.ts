import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CephSession, SESSION_PYTHON } from '../../src/actions/ceph/session.js';
import { SessionCephClient, sessionOrCli } from '../../src/actions/ceph/session-client.js';
import type { CephClient } from '../../src/actions/ceph/client.js';
import { CommandError, type CommandRecord } from '../../src/actions/exec.js';
import { isRunning } from '../../src/actions/processes.js';
import { silentLogger } from '../../src/log/logger.js';

// The session's own plumbing against a stand-in helper (the real one is tested against the lab's
// Ceph in test/lab/ceph-session.test.ts): which failures kill it, which leave it serving.
// Answers go out whole under a lock, as ceph-session.py's do: print() from threads writes the line
// and its newline separately, and two answers interleaved into one line were lost (a call timed out).
const FAKE_HELPER = `
import json, os, sys, threading, time
out = threading.Lock()
def reply(answer):
    line = json.dumps(answer) + "\\n"
    with out:
        sys.stdout.write(line)
        sys.stdout.flush()
sys.stdin.readline()
reply({"ready": True, "address": "127.0.0.1:0/1"})
def serve(r):
    if r.get("hang"):
        time.sleep(60)
    if r.get("crash"):
        os._exit(7)
    if r.get("errno"):
        reply({"id": r["id"], "ok": False, "errno": r["errno"], "error": "rbd: failed: (%d) x" % r["errno"]})
        return
    reply({"id": r["id"], "ok": True, "result": {"pid": os.getpid()}})
for line in sys.stdin:
    threading.Thread(target=serve, args=(json.loads(line),), daemon=True).start()
`;

const conn = { user: 'harbor', keyringPath: '/k', confPath: '/c', pool: 'rbd', image: 'harbor' };

function fakeSession(records: CommandRecord[] = []): CephSession {
  return new CephSession(conn, silentLogger(), (r) => records.push(r), { command: [SESSION_PYTHON, '-c', FAKE_HELPER], opTimeoutSeconds: 5 });
}

const call = (s: CephSession, args: Record<string, number>, opts: { mutates?: boolean; signal?: AbortSignal; timeoutMs?: number } = {}) =>
  s.call({
    what: 'rbd test',
    op: 'watchers',
    args,
    describe: 'watchers rbd/harbor',
    timeoutMs: opts.timeoutMs ?? 30_000, // a Python start on a loaded CI machine took over 5 s
    signal: opts.signal,
    mutates: opts.mutates ?? false,
  });

test('one helper answers many calls, concurrently; each call is one command record', async () => {
  const records: CommandRecord[] = [];
  const s = fakeSession(records);
  try {
    const answers = await Promise.all([call(s, {}), call(s, {}), call(s, {})]);
    assert.equal(new Set(answers.map((a) => JSON.stringify(a))).size, 1, 'the same process answered all three');
    assert.equal(records.length, 3);
    assert.ok(records.every((r) => r.ok && r.what === 'rbd test' && r.command === 'ceph-session watchers rbd/harbor'));
  } finally {
    s.close();
  }
});

test('an aborted read leaves the helper serving; an aborted write kills it so the write cannot land later', async () => {
  const s = fakeSession();
  try {
    await call(s, {});
    const pid = s.pid;
    assert.ok(pid !== null);
    const read = new AbortController();
    const pendingRead = call(s, { hang: 1 }, { signal: read.signal });
    read.abort();
    const readError = await pendingRead.catch((e: unknown) => e);
    assert.ok(readError instanceof CommandError && readError.failure === 'aborted', String(readError));
    assert.equal(s.pid, pid, 'still the same helper');

    const write = new AbortController();
    const pendingWrite = call(s, { hang: 1 }, { signal: write.signal, mutates: true });
    write.abort();
    const writeError = await pendingWrite.catch((e: unknown) => e);
    assert.ok(writeError instanceof CommandError && writeError.failure === 'aborted');
    assert.equal(s.pid, null, 'the helper was killed');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(isRunning(pid), false, `pid ${pid} is gone`);
    await call(s, {});
    const pidOf = (session: CephSession) => session.pid;
    const next = pidOf(s);
    assert.ok(next !== null && next !== pid, 'the next call started a new helper');
  } finally {
    s.close();
  }
});

test('a timeout kills the helper at the deadline; a helper that dies fails its calls with the command named', async () => {
  const s = fakeSession();
  try {
    await call(s, {});
    const pid = s.pid;
    const started = Date.now();
    const timedOut = await call(s, { hang: 1 }, { timeoutMs: 300 }).catch((e: unknown) => e);
    assert.ok(timedOut instanceof CommandError && timedOut.failure === 'timeout', String(timedOut));
    assert.ok(Date.now() - started < 2_000);
    assert.match(timedOut.message, /^rbd test \(ceph-session watchers rbd\/harbor\) timed out after \d+ ms/);
    assert.equal(s.pid, null);
    assert.ok(pid !== null);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(isRunning(pid), false);

    const crashed = await call(s, { crash: 1 }).catch((e: unknown) => e);
    assert.ok(crashed instanceof CommandError, String(crashed));
    assert.equal(crashed.exitCode, 7);
    assert.match(crashed.message, /^rbd test \(ceph-session watchers rbd\/harbor\) exited with code 7/);

    const refused = await call(s, { errno: 16 }).catch((e: unknown) => e);
    assert.ok(refused instanceof CommandError && refused.failure === 'exit');
    assert.equal(refused.exitCode, 16, 'the errno is the exit code, as the CLI exits with it');
  } finally {
    s.close();
  }
});

test('a helper that cannot run here sends every call to the CLI, for good', async () => {
  const s = new CephSession(conn, silentLogger(), () => undefined, { command: ['/nonexistent/python3'], opTimeoutSeconds: 5 });
  let cliCalls = 0;
  const viaCli = {
    info: () => Promise.resolve({ name: 'cli', size: 1, features: [] }),
    watchers: () => Promise.reject(new Error('CLI refused')),
  } as unknown as CephClient;
  const ceph = sessionOrCli(s, new SessionCephClient(s, conn, 30_000), {
    ...viaCli,
    info: () => {
      cliCalls++;
      return viaCli.info();
    },
  });
  assert.equal((await ceph.info()).name, 'cli');
  assert.match(s.unavailable ?? '', /cannot be started/);
  assert.equal((await ceph.info()).name, 'cli');
  assert.equal(cliCalls, 2);
  // the CLI's own failure is the call's: not retried anywhere else
  await assert.rejects(ceph.watchers(), /CLI refused/);
});

test('a session failure that is not "unavailable" is the call\'s own: thrown, never retried on the CLI', async () => {
  const s = fakeSession();
  try {
    let cliCalls = 0;
    const cli = { watchers: () => (cliCalls++, Promise.resolve([])) } as unknown as CephClient;
    // the stand-in helper answers errno 16 for any call carrying it: a session client asking for watchers gets a result
    const ceph = sessionOrCli(s, new SessionCephClient(s, conn, 30_000), cli);
    const holders = await ceph.watchers().catch((e: unknown) => e);
    assert.ok(holders instanceof Error, 'the stand-in answers {pid}, not a watcher list: a parse error of the session path');
    assert.equal(cliCalls, 0);
  } finally {
    s.close();
  }
});

test('doctor says whether the session can be used: ok, a warning with the package to install, or off by choice', async () => {
  const { sessionFinding } = await import('../../src/cli/doctor.js');
  const { ScriptedRunner } = await import('../support/fake-runner.js');
  const present = new ScriptedRunner(() => ({ stdout: '' }));
  const ok = await sessionFinding(present, 'auto');
  assert.equal(ok.verdict, 'ok');
  assert.deepEqual(present.calls, [[SESSION_PYTHON, '-c', 'import rados, rbd']]);
  const missing = await sessionFinding(new ScriptedRunner(() => ({ fail: { exitCode: 1, stderr: "ModuleNotFoundError: No module named 'rados'" } })), 'auto');
  assert.equal(missing.verdict, 'warn', 'the CLIs still work: not a blocker');
  assert.match(missing.detail, /CLIs are used instead/);
  assert.equal(missing.fix, 'apt-get install python3-rados python3-rbd');
  const never = new ScriptedRunner(() => ({ stdout: '' }));
  assert.equal((await sessionFinding(never, 'off')).verdict, 'ok');
  assert.deepEqual(never.calls, [], 'off: nothing to try');
});
