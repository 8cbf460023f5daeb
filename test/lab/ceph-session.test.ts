import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CephBlocklist } from '../../src/actions/ceph/blocklist.js';
import { keyringText, type CephConnection } from '../../src/actions/ceph/connection.js';
import { CephSession, SESSION_PYTHON, SESSION_SCRIPT } from '../../src/actions/ceph/session.js';
import { CommandError, createRunner, type CommandRecord, type Runner } from '../../src/actions/exec.js';
import { isBlocklisted, isMissing, Ownership } from '../../src/actions/ceph/ownership.js';
import { Rbd } from '../../src/actions/ceph/rbd.js';
import { isRunning } from '../../src/actions/processes.js';
import { silentLogger } from '../../src/log/logger.js';
import { CEPH_IP, LAB, Lab } from '../../lab/lab.js';
import { cephClientFor } from '../../src/actions/ceph/session-client.js';

// The long-lived Ceph client against the lab's real cluster: it must read and write exactly what the
// rbd and ceph CLIs do, fail with the same codes, and keep the deadline and kill of a CLI command.

let conn: CephConnection;
let ns: string;
let key: string;
const records: CommandRecord[] = [];

/** The CLI path, run inside node a's namespace (only there is Ceph reachable). */
function nsRunner(): Runner {
  const runner = createRunner(silentLogger(), [key]);
  return { ...runner, run: (spec) => runner.run({ ...spec, argv: ['nsenter', `--net=${ns}`, '--', ...spec.argv] }) };
}

function session(options: { command?: string[]; opTimeoutSeconds?: number; connection?: CephConnection } = {}): CephSession {
  return new CephSession(options.connection ?? conn, silentLogger(), (r) => records.push(r), {
    command: options.command ?? ['nsenter', `--net=${ns}`, '--', SESSION_PYTHON, SESSION_SCRIPT],
    opTimeoutSeconds: options.opTimeoutSeconds ?? 10,
  });
}

before(async () => {
  const lab = await Lab.cephOnly();
  ns = lab.nodeNamespace;
  key = readFileSync(lab.keyFile, 'utf8').trim();
  const keyringPath = join(LAB.root, 'ceph', 'node-a.keyring');
  writeFileSync(keyringPath, keyringText(LAB.user, key), { mode: 0o600 });
  const confPath = join(LAB.root, 'ceph', 'node-a.conf');
  writeFileSync(confPath, `[global]\n\tmon host = ${CEPH_IP}\n\n[client]\n\trbd cache = false\n\tlog file = /dev/null\n`);
  conn = { user: LAB.user, keyringPath, confPath, pool: LAB.pool, image: LAB.image };
});

after(async () => {
  await Lab.cleanLeftovers();
});

test('the session reads and writes the same owner record, locks and metadata as the rbd CLI', async () => {
  const s = session();
  try {
    const cli = nsRunner();
    const viaSession = new Ownership(cephClientFor(cli, conn, 10_000, s));
    const viaCli = new Ownership(cephClientFor(cli, conn, 10_000));
    assert.deepEqual(await viaSession.locks(), []);

    // lock through the session, seen by the CLI; a second claim is refused on both paths
    assert.deepEqual(await viaSession.tryLock('harbor-assistant/a/1'), { taken: true });
    const seen = await viaCli.locks();
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.id, 'harbor-assistant/a/1');
    assert.deepEqual(await viaSession.locks(), seen, 'the session lists the lock exactly as `rbd lock ls`');
    const refusedCli = await viaCli.tryLock('harbor-assistant/b/2');
    assert.equal(refusedCli.taken, false);
    const refusedSession = await viaSession.tryLock('harbor-assistant/b/2');
    assert.deepEqual(refusedSession, refusedCli);

    // the owner record, written by the session, read by the CLI (and the other way round)
    const record = { node: 'a', generation: 1, hosts: ['10.213.77.11'], clients: ['10.213.77.11:0/42'], at: '2026-11-27T01:00:00.000Z' };
    await viaSession.writeRecord(record);
    assert.deepEqual((await viaCli.read()).record, record);
    assert.deepEqual(await viaSession.read(), await viaCli.read());
    assert.equal((await viaSession.read()).lastGeneration, 1);

    // release: record and lock gone, and doing it twice is not an error (already gone = done)
    await viaSession.removeRecord();
    await viaSession.removeRecord();
    await viaSession.unlock('harbor-assistant/a/1');
    const lock = seen[0];
    assert.ok(lock);
    await viaSession.breakLock(lock);
    assert.deepEqual(await viaCli.locks(), []);
    const after = await viaCli.read();
    assert.equal(after.record, null);
    assert.equal(after.lastGeneration, 1, 'the generation key outlives the record');

    // the formatted mark and the image info
    const rbdSession = new Rbd(cephClientFor(cli, conn, 10_000, s));
    const rbdCli = new Rbd(cephClientFor(cli, conn, 10_000));
    assert.equal(await rbdSession.wasFormatted(), false);
    await rbdSession.recordFormatted(new Date('2026-11-27T01:00:00Z'));
    assert.equal(await rbdCli.wasFormatted(), true);
    assert.deepEqual(await rbdSession.info(), await rbdCli.info());
    assert.deepEqual(await rbdSession.meta(), await rbdCli.meta());
    assert.ok(
      records.some((r) => r.command.startsWith('ceph-session lock_add') && r.ok),
      'each session call is a command record',
    );
  } finally {
    s.close();
  }
});

test('the compound claim, look and relinquish: one session call each, the same outcome as the CLI steps', async () => {
  const s = session();
  try {
    const cli = nsRunner();
    const viaSession = new Ownership(cephClientFor(cli, conn, 10_000, s));
    const viaCli = new Ownership(cephClientFor(cli, conn, 10_000));
    const recordOf = (node: string, generation: number) => ({ node, generation, hosts: ['10.213.77.11'], clients: [], at: '2026-12-08T03:00:00.000Z' });

    // the peer's claim on the CLIs; ours through the session is refused and writes nothing
    assert.deepEqual(await viaCli.claim('harbor-assistant/b/8', null, recordOf('b', 8)), { taken: true });
    const theirs = (await viaCli.locks())[0] ?? assert.fail('the CLI claim took the lock');
    const calls = records.length;
    assert.deepEqual(await viaSession.claim('harbor-assistant/a/9', null, recordOf('a', 9)), { taken: false, holder: theirs });
    assert.deepEqual((await viaCli.read()).record, recordOf('b', 8), 'a refused claim leaves the record alone');
    assert.deepEqual(
      records.slice(calls).map((r) => r.command.split(' ')[1]),
      ['claim'],
      'the claim is one session call (the refusal reads the locks inside it)',
    );

    // breaking the (fenced) holder's lock inside the claim: ours, with record and generation
    assert.deepEqual(await viaSession.claim('harbor-assistant/a/9', theirs, recordOf('a', 9)), { taken: true });
    const view = await viaCli.read();
    assert.equal(view.lock?.id, 'harbor-assistant/a/9');
    assert.deepEqual(view.record, recordOf('a', 9));
    assert.equal(view.lastGeneration, 9);
    // again with the same id (a retry after a cut-short attempt): still ours
    assert.deepEqual(await viaSession.claim('harbor-assistant/a/9', theirs, recordOf('a', 9)), { taken: true });

    // one look reads what the three reads read
    const look = await viaSession.observe();
    assert.deepEqual(look.view, await viaCli.read());
    assert.deepEqual(look.holders, await new Rbd(cephClientFor(cli, conn, 10_000)).status());

    // the give-back: record and lock in one call; again is fine; the generation key stays
    const ours = view.lock;
    assert.ok(ours);
    await viaSession.relinquish(true, ours);
    await viaSession.relinquish(true, ours);
    assert.deepEqual(await viaCli.read(), { record: null, lock: null, lastGeneration: 9 });
  } finally {
    s.close();
  }
});

test('a watcher seen through the session is fenced through the session: the blocklist entry lands and its watch goes', async () => {
  const s = session();
  const watcher = spawn(
    'nsenter',
    [`--net=${ns}`, '--', 'rbd', 'watch', `${LAB.pool}/${LAB.image}`, '--id', LAB.user, '--keyring', conn.keyringPath, '-c', conn.confPath],
    {
      // it watches until its stdin ends ("press enter to exit")
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    },
  );
  try {
    const cli = nsRunner();
    const rbdSession = new Rbd(cephClientFor(cli, conn, 10_000, s));
    const rbdCli = new Rbd(cephClientFor(cli, conn, 10_000));
    let holders = await rbdSession.status();
    for (let i = 0; i < 50 && holders.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      holders = await rbdSession.status();
    }
    assert.equal(holders.length, 1, 'rbd watch shows as one watcher');
    assert.deepEqual(holders, await rbdCli.status(), 'the session lists watchers exactly as `rbd status`');
    const address = holders[0]?.address ?? '';
    assert.match(address, /^10\.213\.77\.11:0\/\d+$/);

    const blocklist = new CephBlocklist(cephClientFor(cli, conn, 10_000, s));
    await blocklist.add(address, 900);
    assert.equal(blocklist.spokenVerb, 'blocklist');
    assert.ok(
      (await new CephBlocklist(cephClientFor(cli, conn, 10_000)).ls()).some((e) => e.addr === address),
      '`ceph osd blocklist ls` shows the entry the session added',
    );
    assert.ok((await blocklist.ls()).some((e) => e.addr === address));
    let remaining = await rbdSession.status();
    for (let i = 0; i < 150 && remaining.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      remaining = await rbdSession.status();
    }
    assert.deepEqual(remaining, [], 'the fenced watch is gone');
  } finally {
    try {
      if (watcher.pid !== undefined) process.kill(-watcher.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    s.close();
  }
});

test('session errors carry the CLI codes: a missing image is not "already gone", a blocklisted session is replaced', async () => {
  const s = session();
  const other = session({ connection: { ...conn, image: 'no_such_image' } });
  try {
    const cli = nsRunner();
    const missing = await new Rbd(cephClientFor(cli, { ...conn, image: 'no_such_image' }, 10_000, other)).info().catch((e: unknown) => e);
    assert.ok(missing instanceof CommandError, String(missing));
    assert.equal(missing.exitCode, 2);
    assert.match(missing.message, /rbd info \(ceph-session info .*\) exited with code 2: rbd: error opening image harbor\/no_such_image/);
    assert.equal(isMissing(missing), false, 'a missing image must not read as an already released lock');

    // fence the session's own client instance: its next call fails as blocklisted (108), the one after works again
    const rbdSession = new Rbd(cephClientFor(cli, conn, 10_000, s));
    await rbdSession.info();
    const own = s.address;
    assert.match(own ?? '', /^10\.213\.77\.11:0\/\d+$/);
    const pidBefore = s.pid;
    await new CephBlocklist(cephClientFor(cli, conn, 10_000)).add(own ?? '', 600);
    let fenced: unknown = null;
    for (let i = 0; i < 50 && fenced === null; i++) {
      fenced = await rbdSession.info().then(
        () => null,
        (e: unknown) => e,
      );
      if (fenced === null) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(isBlocklisted(fenced), `expected ESHUTDOWN, got ${String(fenced)}`);
    assert.deepEqual((await rbdSession.info()).name, LAB.image, 'a new client instance works again');
    assert.notEqual(s.pid, pidBefore);
    assert.notEqual(s.address, own);
  } finally {
    s.close();
    other.close();
  }
});

test('a session call that hangs times out, and its helper is killed (it does not wait for librados)', async () => {
  // a monitor that never answers: the helper hangs in connect
  const confPath = join(LAB.root, 'ceph', 'nowhere.conf');
  writeFileSync(confPath, '[global]\n\tmon host = 10.213.77.99\n');
  const s = session({ connection: { ...conn, confPath }, opTimeoutSeconds: 60 });
  const started = Date.now();
  const error = await new Rbd(cephClientFor(nsRunner(), conn, 1_500, s)).status().catch((e: unknown) => e);
  const tookMs = Date.now() - started;
  assert.ok(error instanceof CommandError, String(error));
  assert.equal(error.failure, 'timeout');
  assert.ok(tookMs < 5_000, `gave up after ${tookMs} ms`);
  assert.equal(s.pid, null, 'no helper left');
  const helpers = records.filter((r) => r.result === 'timeout' && r.command.startsWith('ceph-session watchers'));
  assert.equal(helpers.length, 1);
  s.close();
});

test('without python3-rados the CLI does everything, and the key is never on a command line', async () => {
  const noBindings = session({ command: [SESSION_PYTHON, '-c', 'import sys; print(\'{"ready": false, "error": "no rados"}\', flush=True); sys.exit(3)'] });
  const cli = nsRunner();
  const rbd = new Rbd(cephClientFor(cli, conn, 10_000, noBindings));
  assert.equal((await rbd.info()).name, LAB.image, 'answered by `rbd info`');
  assert.match(noBindings.unavailable ?? '', /no rados/);
  const s = session();
  try {
    await new Rbd(cephClientFor(cli, conn, 10_000, s)).info();
    const pid = s.pid;
    assert.ok(pid !== null && isRunning(pid));
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    assert.ok(!argv.includes(key), 'the key is not in the helper argv');
    assert.ok(!records.some((r) => r.command.includes(key)), 'nor in a command record');
  } finally {
    s.close();
  }
});
