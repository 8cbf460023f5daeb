import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import type { CephConnection } from '../../src/actions/ceph/connection.js';
import { CommandError, createRunner, type CommandRecord, type CommandResult, type CommandSpec } from '../../src/actions/exec.js';
import { FUSE_ONLY_PREFIX, FuseMapper, RBD_FUSE_SETTLE_MS, loopBackedBy, parseLoopAttach, rbdFuseEnv } from '../../src/actions/ceph/mappers/fuse.js';
import { silentLogger } from '../../src/log/logger.js';
import { ScriptedRunner, type Reply } from '../support/fake-runner.js';
import { memoryLogger } from '../support/memory-logger.js';

const conn: CephConnection = {
  user: 'harbor',
  keyringPath: '/etc/harbor-assistant/keyring',
  confPath: '/etc/harbor-assistant/ceph.conf',
  pool: 'harbor',
  image: 'harbor_data',
};

/** A ScriptedRunner that also keeps every CommandSpec (okExitCodes included). */
class SpecRunner extends ScriptedRunner {
  readonly specs: CommandSpec[] = [];
  override run(spec: CommandSpec): Promise<CommandResult> {
    this.specs.push(spec);
    return super.run(spec);
  }
}

/** Fresh fuse and state directories; the image file already there, as a running rbd-fuse would show it. */
function dirs(withImage = true): { fuseDir: string; stateDir: string } {
  const root = mkdtempSync(join(tmpdir(), 'ha-fuse-'));
  const fuseDir = join(root, 'fuse');
  const stateDir = join(root, 'state');
  if (withImage) {
    mkdirSync(fuseDir);
    writeFileSync(join(fuseDir, conn.image), '');
  }
  return { fuseDir, stateDir };
}

/** Replies for a map: no loop device yet, then `attach` for `losetup -f --show`. */
function mapReplies(attach: Reply, pid: number): (argv: readonly string[]) => Reply {
  return (argv) => {
    if (argv[0] === 'losetup' && argv[1] === '-f') return attach;
    if (argv[0] === 'rbd-fuse') return { pid };
    throw new Error(`unexpected command ${argv.join(' ')}`);
  };
}

test('fuse mapper: rbd-fuse is started through the runner as a daemon, its pid recorded', async () => {
  const d = dirs();
  const runner = new ScriptedRunner(mapReplies({ stdout: '/dev/loop7\n' }, process.pid));
  const fuse = new FuseMapper(runner, conn, { ...d, timeoutMs: 5000 }, silentLogger());
  assert.equal(await fuse.map(), '/dev/loop7');
  assert.equal(runner.daemons.length, 1);
  const [daemon] = runner.daemons;
  assert.equal(daemon?.what, 'rbd-fuse start');
  assert.deepEqual(daemon.argv, ['rbd-fuse', '-c', conn.confPath, '-p', 'harbor', '-r', 'harbor_data', '-f', d.fuseDir]);
  assert.deepEqual(daemon.env, { CEPH_ARGS: `--id harbor --keyring ${conn.keyringPath} --no-mon-config` });
  assert.equal(daemon.logFile, join(d.stateDir, 'rbd-fuse.log'));
  assert.equal(readFileSync(join(d.stateDir, 'rbd-fuse.pid'), 'utf8'), `${process.pid}\n`);
  assert.deepEqual(
    runner.calls.map((c) => c.slice(0, 2).join(' ')),
    ['rbd-fuse -c', 'losetup -f'],
  );
});

test('fuse mapper: rbd-fuse skips the central configuration unless ceph.fuseMonConfig asks for it', () => {
  assert.match(rbdFuseEnv(conn).CEPH_ARGS ?? '', / --no-mon-config$/);
  assert.doesNotMatch(rbdFuseEnv(conn, true).CEPH_ARGS ?? '', /no-mon-config/);
  assert.match(rbdFuseEnv(conn, true).CEPH_ARGS ?? '', /^--id harbor --keyring \/etc\/harbor-assistant\/keyring$/);
});

test("fuse mapper: rbd-fuse that cannot start is the runner's spawn error, and no pid file is left", async () => {
  const d = dirs();
  const runner = new ScriptedRunner((argv) => (argv[0] === 'rbd-fuse' ? { fail: { exitCode: 1, stderr: 'fuse: bad mount point' } } : { stdout: '' }));
  const fuse = new FuseMapper(runner, conn, { ...d, timeoutMs: 5000 }, silentLogger());
  await assert.rejects(fuse.map(), (e: unknown) => e instanceof CommandError && e.failure === 'spawn' && /bad mount point/.test(e.message));
  assert.equal(existsSync(join(d.stateDir, 'rbd-fuse.pid')), false);
});

test('fuse mapper: rbd-fuse that exits while the image file is awaited fails the map with what it printed since this start', async () => {
  const d = dirs(false);
  mkdirSync(d.stateDir, { recursive: true });
  const log = join(d.stateDir, 'rbd-fuse.log');
  writeFileSync(log, 'an earlier run said this\n');
  const gone = spawnSync('true').pid;
  const runner = new ScriptedRunner((argv) => {
    if (argv[0] !== 'rbd-fuse') throw new Error(`unexpected command ${argv.join(' ')}`);
    appendFileSync(log, 'rbd-fuse: error opening pool harbor: (2) No such file or directory\n');
    return { pid: gone };
  });
  const fuse = new FuseMapper(runner, conn, { ...d, timeoutMs: 5000 }, silentLogger());
  await assert.rejects(fuse.map(), (e: unknown) => {
    const text = e instanceof Error ? e.message : '';
    return /exited before/.test(text) && /error opening pool harbor/.test(text) && !/an earlier run/.test(text);
  });
  // the short settle: the wait for the image file is what watches rbd-fuse start
  assert.equal(runner.daemons[0]?.settleMs, RBD_FUSE_SETTLE_MS);
});

test('fuse mapper: whatever losetup -f --show prints besides /dev/loopN never reaches blkid or mount', async () => {
  for (const printed of [
    'losetup: cannot find an unused loop device',
    '/dev/sda',
    '/dev/loop3p1',
    '/dev/loop3; rm -rf /',
    '/dev/loop',
    '',
    '/dev/loop1\n/dev/loop2',
  ]) {
    const d = dirs();
    const runner = new ScriptedRunner(mapReplies({ stdout: printed }, process.pid));
    const fuse = new FuseMapper(runner, conn, { ...d, timeoutMs: 5000 }, silentLogger());
    await assert.rejects(fuse.map(), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.equal(e.message, `losetup attach printed no loop device: ${JSON.stringify(printed.trim())}`);
      return true;
    });
  }
  assert.equal(parseLoopAttach(' /dev/loop12\n'), '/dev/loop12');
});

test('fuse mapper: the loop device backed by our image is read from sysfs, deleted files included, free devices skipped', () => {
  const sys = mkdtempSync(join(tmpdir(), 'ha-sysblock-'));
  const loop = (name: string, backing: string | null) => {
    mkdirSync(join(sys, name, 'loop'), { recursive: true });
    if (backing !== null) writeFileSync(join(sys, name, 'loop', 'backing_file'), `${backing}\n`);
  };
  loop('loop0', '/var/lib/x.img');
  loop('loop1', null);
  mkdirSync(join(sys, 'sda'));
  assert.equal(loopBackedBy('/run/ha/fuse/harbor_data', sys), null);
  loop('loop12', '/run/ha/fuse/harbor_data (deleted)');
  assert.equal(loopBackedBy('/run/ha/fuse/harbor_data', sys), '/dev/loop12');
  assert.equal(loopBackedBy('/run/ha/fuse/harbor_dat', sys), null, 'the whole path, not a prefix');
  const d = dirs();
  const fuse = new FuseMapper(new ScriptedRunner(() => ({ stdout: '' })), conn, { ...d, timeoutMs: 5000, sysBlockDir: sys }, silentLogger());
  loop('loop4', join(d.fuseDir, conn.image));
  return fuse.current().then((device) => assert.equal(device, '/dev/loop4'));
});

test('fuse mapper: a fenced release asks umount -l to accept exit 32 (not mounted)', async () => {
  const d = dirs();
  const runner = new SpecRunner(() => ({ stdout: '' }));
  const fuse = new FuseMapper(runner, conn, { ...d, timeoutMs: 5000 }, silentLogger());
  await fuse.unmap('/dev/loop3', { force: false, fenced: true });
  assert.deepEqual(runner.calls, [
    ['losetup', '-d', '/dev/loop3'],
    ['umount', '-l', d.fuseDir],
  ]);
  assert.deepEqual(runner.specs[1]?.okExitCodes, [32]);
  assert.equal(runner.specs[0]?.okExitCodes, undefined, 'losetup -d must not accept anything but 0');
});

/** A real runner whose `umount` is a script in a directory put first on PATH. */
function fakeUmount(): { setUmount(exitCode: number, stderr: string): void; restore(): void } {
  const bin = mkdtempSync(join(tmpdir(), 'ha-fuse-bin-'));
  const saved = process.env.PATH;
  process.env.PATH = `${bin}${delimiter}${saved ?? ''}`;
  return {
    setUmount(exitCode, stderr) {
      writeFileSync(join(bin, 'umount'), `#!/bin/sh\nprintf '%s\\n' ${JSON.stringify(stderr)} >&2\nexit ${exitCode}\n`);
      chmodSync(join(bin, 'umount'), 0o755);
    },
    restore() {
      process.env.PATH = saved;
    },
  };
}

test('fuse mapper: a fenced release records "not mounted" from umount -l as ok, other failures as failed', async () => {
  const umount = fakeUmount();
  try {
    const d = dirs();
    const cases: Array<{ exit: number; stderr: string; ok: boolean; result: string; warning: boolean }> = [
      { exit: 32, stderr: `umount: ${d.fuseDir}: not mounted.`, ok: true, result: 'exit 32', warning: false },
      { exit: 32, stderr: `umount: ${d.fuseDir}: must be superuser to unmount.`, ok: true, result: 'exit 32', warning: true },
      { exit: 1, stderr: 'umount: something else went wrong', ok: false, result: 'exit 1', warning: false },
    ];
    for (const c of cases) {
      umount.setUmount(c.exit, c.stderr);
      const { logger, lines } = memoryLogger();
      const records: CommandRecord[] = [];
      const fuse = new FuseMapper(
        createRunner(logger, [], (r) => records.push(r)),
        conn,
        { ...d, timeoutMs: 5000 },
        logger,
      );
      // rbd-fuse without a loop device, and no pid file: only the lazy umount runs
      await fuse.unmap(`${FUSE_ONLY_PREFIX}${d.fuseDir}`, { force: false, fenced: true });
      assert.deepEqual(
        records.map((r) => [r.what, r.ok, r.result, r.failure]),
        [['umount -l fuse dir', c.ok, c.result, c.ok ? null : 'exit']],
        c.stderr,
      );
      const warnings = lines.filter((l) => l.level === 'warn');
      if (c.ok) {
        assert.deepEqual(
          warnings.map((l) => l.message),
          c.warning ? ['umount -l of the fuse dir failed'] : [],
          c.stderr,
        );
      } else {
        assert.deepEqual(
          warnings.map((l) => [l.message, l.result]),
          [['command', c.result]],
        );
      }
    }
  } finally {
    umount.restore();
  }
});

test('fuse mapper: a dead data path kills our rbd-fuse (pending FUSE requests then fail); nothing else is touched', async () => {
  const { spawn } = await import('node:child_process');
  const { isRunning } = await import('../../src/actions/processes.js');
  const d = dirs();
  mkdirSync(d.stateDir, { recursive: true });
  const fuse = new FuseMapper(new ScriptedRunner(() => ({ stdout: '' })), conn, { ...d, timeoutMs: 5000 }, silentLogger());
  assert.equal(await fuse.abortDataPath(), false, 'no rbd-fuse recorded: nothing to abort');
  // a stand-in whose command line is rbd-fuse's on our directory
  const bin = mkdtempSync(join(tmpdir(), 'ha-fuse-daemon-'));
  writeFileSync(join(bin, 'rbd-fuse'), '#!/bin/sh\nwhile :; do sleep 1; done\n');
  chmodSync(join(bin, 'rbd-fuse'), 0o755);
  const start = (argv: string[]) => {
    const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: 'ignore', detached: true });
    child.unref();
    assert.ok(child.pid !== undefined);
    return child.pid;
  };
  const other = start(['sleep', '30']);
  const daemon = start([join(bin, 'rbd-fuse'), '-f', d.fuseDir]);
  try {
    // a recorded pid that is not rbd-fuse on our directory is never killed
    writeFileSync(join(d.stateDir, 'rbd-fuse.pid'), `${other}\n`);
    assert.equal(await fuse.abortDataPath(), false);
    assert.equal(isRunning(other), true);
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(join(d.stateDir, 'rbd-fuse.pid'), `${daemon}\n`);
    assert.equal(await fuse.abortDataPath(), true);
    assert.equal(isRunning(daemon), false, 'rbd-fuse is gone');
  } finally {
    for (const pid of [other, daemon]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
});

test('fuse mapper: a fenced release ends rbd-fuse before the loop detach (its rejected writes would hold the detach until the fence expires); a live one detaches first so it flushes', async () => {
  const { spawn } = await import('node:child_process');
  const { isRunning } = await import('../../src/actions/processes.js');
  const bin = mkdtempSync(join(tmpdir(), 'ha-fuse-daemon-'));
  writeFileSync(join(bin, 'rbd-fuse'), '#!/bin/sh\ntrap "" TERM\nwhile :; do sleep 1; done\n');
  chmodSync(join(bin, 'rbd-fuse'), 0o755);
  for (const fenced of [true, false]) {
    const d = dirs();
    mkdirSync(d.stateDir, { recursive: true });
    const child = spawn(join(bin, 'rbd-fuse'), ['-f', d.fuseDir], { stdio: 'ignore', detached: true });
    child.unref();
    const daemon = child.pid ?? assert.fail('no pid');
    writeFileSync(join(d.stateDir, 'rbd-fuse.pid'), `${daemon}\n`);
    await new Promise((r) => setTimeout(r, 100));
    let fuseAliveAtDetach: boolean | null = null;
    const runner = new ScriptedRunner((argv) => {
      if (argv[0] === 'losetup') fuseAliveAtDetach = isRunning(daemon);
      return { stdout: '' };
    });
    const fuse = new FuseMapper(runner, conn, { ...d, timeoutMs: 5000 }, silentLogger());
    try {
      await fuse.unmap('/dev/loop3', { force: false, fenced });
      assert.equal(fuseAliveAtDetach, !fenced, fenced ? 'fenced: rbd-fuse gone before losetup -d' : 'live: losetup -d while rbd-fuse still serves it');
      assert.equal(isRunning(daemon), false, 'rbd-fuse is gone afterwards either way');
      assert.equal(existsSync(join(d.stateDir, 'rbd-fuse.pid')), false);
    } finally {
      try {
        process.kill(daemon, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
});
