import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createRunner, type CommandRecord } from '../../src/actions/exec.js';
import { Filesystem } from '../../src/actions/host/filesystem.js';
import { isRunning } from '../../src/actions/processes.js';
import { silentLogger } from '../../src/log/logger.js';

// Real parts: a loop device over a sparse file stands in for the mapped image.
const dir = mkdtempSync(join(tmpdir(), 'ha-fs-'));
const image = join(dir, 'image.raw');
const mountPoint = join(dir, 'mnt');
let device = '';
const runner = createRunner(silentLogger());
const fsFor = (fsck: 'auto' | 'force' | 'never', unmount = 5_000) =>
  new Filesystem(
    runner,
    { mountPoint, fsck, mountOptions: ['noatime'], mkfsOptions: [], timeouts: { probe: 10_000, format: 60_000, fsck: 60_000, mount: 10_000, unmount } },
    silentLogger(),
  );

before(() => {
  execFileSync('truncate', ['-s', '64M', image]);
  device = execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8' }).trim();
});

after(() => {
  try {
    execFileSync('umount', [mountPoint], { stdio: 'ignore' });
  } catch {
    // not mounted
  }
  // the guard test leaves the bare mount point immutable
  spawnSync('chattr', ['-i', mountPoint], { stdio: 'ignore' });
  if (device) execFileSync('losetup', ['-d', device]);
  rmSync(dir, { recursive: true, force: true });
});

test('blkid finds nothing on a blank device, mkfs once, then ext4', async () => {
  const fs = fsFor('auto');
  assert.equal(await fs.probe(device), null);
  await fs.format(device);
  assert.equal(await fs.probe(device), 'ext4');
});

test('fsck by policy: auto and force pass on a clean filesystem', async () => {
  await fsFor('auto').check(device);
  await fsFor('force').check(device);
  await fsFor('never').check(device);
});

test('mount is idempotent and reported by findmnt', async () => {
  const fs = fsFor('auto');
  await fs.mount(device);
  await fs.mount(device);
  assert.equal(await fs.mountedSource(), device);
  assert.deepEqual(await fs.mountedAt(), { source: device, fstype: 'ext4' });
  // how unmount recognises its own mount: the files' device number is the device node's rdev
  assert.equal(statSync(mountPoint).dev, statSync(device).rdev);
});

test('a busy umount kills the holders (TERM, then KILL if ignored) within the timeout and completes', async () => {
  const fs = fsFor('auto', 6_000);
  writeFileSync(join(mountPoint, 'held'), 'x');
  // one holder that exits on TERM, one that ignores it, both with cwd and a file open on the mount
  const polite = spawn('sh', ['-c', 'exec 3<held; sleep 300'], { cwd: mountPoint, stdio: 'ignore' });
  const stubborn = spawn('sh', ['-c', "trap '' TERM; exec 3<held; while :; do sleep 1; done"], { cwd: mountPoint, stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await fs.unmount({ fenced: false, device });
    const took = Date.now() - started;
    assert.equal(await fs.mountedSource(), null);
    assert.ok(took < 6_000, `took ${took} ms`);
    assert.equal(isRunning(polite.pid ?? 0), false);
    assert.equal(isRunning(stubborn.pid ?? 0), false);
    await fs.unmount({ fenced: false, device });
  } finally {
    // a failed assertion must not leave the test run waiting for them
    for (const p of [polite, stubborn]) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
});

/** A second loop device with its own ext4: something this node did not mount. */
function foreignDevice(name: string): { loop: string; detach: () => void } {
  const file = join(dir, `${name}.raw`);
  execFileSync('truncate', ['-s', '32M', file]);
  const loop = execFileSync('losetup', ['-f', '--show', file], { encoding: 'utf8' }).trim();
  execFileSync('mkfs.ext4', ['-q', loop]);
  return { loop, detach: () => execFileSync('losetup', ['-d', loop]) };
}

function umountQuietly(target: string): void {
  try {
    execFileSync('umount', [target], { stdio: 'ignore' });
  } catch {
    // not mounted
  }
}

for (const fenced of [false, true]) {
  test(`a foreign filesystem at the mount point is never unmounted and its holders live (fenced: ${fenced})`, async () => {
    const fs = fsFor('auto', 2_000);
    assert.equal(await fs.mountedAt(), null);
    const foreign = foreignDevice(`foreign-${fenced}`);
    mkdirSync(mountPoint, { recursive: true });
    execFileSync('mount', [foreign.loop, mountPoint]);
    writeFileSync(join(mountPoint, 'theirs'), 'x');
    // its own process group: sh and its sleep both hold the mount, and both are ended afterwards
    const holder = spawn('sh', ['-c', 'exec 3<theirs; sleep 300'], { cwd: mountPoint, stdio: 'ignore', detached: true });
    try {
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(await fs.mountedAt(), { source: foreign.loop, fstype: 'ext4' });
      for (const ours of [device, null]) {
        await assert.rejects(fs.unmount({ fenced, device: ours }), (e: Error) => {
          assert.ok(e.message.startsWith(`refusing to unmount ${mountPoint}: ${foreign.loop} (ext4) is mounted there, `), e.message);
          assert.ok(e.message.includes(ours === null ? 'this node has no device mapped' : `not our device ${device}`), e.message);
          assert.ok(e.message.includes('nothing was unmounted and no process was killed'), e.message);
          return true;
        });
        assert.equal(await fs.mountedSource(), foreign.loop);
        assert.equal(isRunning(holder.pid ?? 0), true);
      }
      // mount() refuses it too
      await assert.rejects(fs.mount(device), (e: Error) => e.message === `${mountPoint} already has ${foreign.loop} (ext4) mounted, not ${device}`);
    } finally {
      const exited = new Promise((r) => holder.once('exit', r));
      process.kill(-(holder.pid ?? 0), 'SIGKILL');
      await exited;
      await new Promise((r) => setTimeout(r, 100));
      umountQuietly(mountPoint);
      foreign.detach();
    }
  });
}

test('a foreign filesystem stacked on ours hides it: refused, both stay mounted', async () => {
  const fs = fsFor('auto', 2_000);
  await fs.mount(device);
  const foreign = foreignDevice('stacked');
  execFileSync('mount', [foreign.loop, mountPoint]);
  try {
    assert.equal(await fs.mountedSource(), foreign.loop, 'the topmost mount is what findmnt reports');
    await assert.rejects(fs.unmount({ fenced: true, device }), /refusing to unmount .* is mounted there, not our device/);
    assert.equal(await fs.mountedSource(), foreign.loop);
  } finally {
    umountQuietly(mountPoint);
    foreign.detach();
  }
  assert.equal(await fs.mountedSource(), device);
  await fs.unmount({ fenced: false, device });
  assert.equal(await fs.mountedAt(), null);
});

test('e2fsck failures (exit ≥ 4) are errors naming the command and device', async () => {
  const junk = join(dir, 'junk.raw');
  execFileSync('truncate', ['-s', '8M', junk]);
  const loop = execFileSync('losetup', ['-f', '--show', junk], { encoding: 'utf8' }).trim();
  try {
    await assert.rejects(fsFor('force').check(loop), (e: Error) => /e2fsck \(e2fsck -f -y \/dev\/loop\d+\) exited with code (8|4|12)/.test(e.message));
  } finally {
    execFileSync('losetup', ['-d', loop]);
  }
});

test('the I/O watchdog writes through a live mount; EIO texts count as fenced', async () => {
  const { probeImageWrite, looksFenced } = await import('../../src/actions/host/io-watchdog.js');
  const fs = fsFor('auto');
  await fs.mount(device);
  assert.deepEqual(await probeImageWrite(runner, mountPoint, 5_000), { kind: 'ok' });
  assert.equal(looksFenced("dd: error writing '/mnt/.harbor-assistant-watchdog': Input/output error"), true);
  assert.equal(looksFenced('dd: failed to open: No space left on device'), false);
  await fs.unmount({ fenced: false, device });
});

test('restart-always guard: the bare mount point is immutable (no container can create its data there), a mount over it works as usual', async () => {
  const fs = fsFor('auto');
  assert.equal(await fs.guardMountPoint(), 'guarded');
  assert.throws(() => mkdirSync(join(mountPoint, 'redis')), /EPERM|operation not permitted/i, 'a restarted container cannot create its bind source');
  await fs.mount(device);
  writeFileSync(join(mountPoint, 'on-the-image'), 'x');
  assert.equal(await fs.guardMountPoint(), 'mounted', 'a mounted image is left alone');
  await fs.unmount({ fenced: false, device });
  await fs.guardBareMountPoint();
  assert.throws(() => writeFileSync(join(mountPoint, 'beside-the-image'), 'x'), /EPERM|operation not permitted/i);
});

/** A filesystem over its own runner that records what it ran. */
function recordingFs(fsck: 'auto' | 'force' | 'never'): { fs: Filesystem; ran: string[] } {
  const ran: string[] = [];
  const fs = new Filesystem(
    createRunner(silentLogger(), [], (r: CommandRecord) => ran.push(r.what)),
    { mountPoint, fsck, mountOptions: ['noatime'], mkfsOptions: [], timeouts: { probe: 10_000, format: 60_000, fsck: 60_000, mount: 10_000, unmount: 5_000 } },
    silentLogger(),
  );
  return { fs, ran };
}

test('a crash image (journal to replay): auto skips e2fsck, mount replays the journal, the data is there', async () => {
  const { fs: ours } = recordingFs('auto');
  await ours.mount(device);
  writeFileSync(join(mountPoint, 'before-crash'), 'acknowledged');
  execFileSync('sync', ['-f', join(mountPoint, 'before-crash')]);
  // the image as a crash leaves it: copied while mounted, the journal flagged for recovery
  const crashed = join(dir, 'crashed.raw');
  execFileSync('cp', ['--sparse=always', image, crashed]);
  await ours.unmount({ fenced: false, device });
  const loop = execFileSync('losetup', ['-f', '--show', crashed], { encoding: 'utf8' }).trim();
  const otherMount = join(dir, 'crashed-mnt');
  mkdirSync(otherMount, { recursive: true });
  try {
    const { fs, ran } = recordingFs('auto');
    const sb = await fs.readSuperblock(loop);
    assert.ok(sb !== null);
    assert.equal(sb.needsRecovery, true, 'a filesystem copied while mounted has its journal flagged');
    assert.equal(sb.errors, false);
    assert.equal(await fs.probe(loop), 'ext4');
    await fs.check(loop);
    assert.deepEqual(ran, ['read superblock', 'read superblock'], "no blkid, no e2fsck; the check uses the probe's read");
    execFileSync('mount', ['-t', 'ext4', loop, otherMount]);
    assert.equal(execFileSync('cat', [join(otherMount, 'before-crash')], { encoding: 'utf8' }), 'acknowledged');
    execFileSync('umount', [otherMount]);
    assert.equal((await fs.readSuperblock(loop))?.needsRecovery, false, 'mount replayed the journal');
    assert.equal(spawnSync('e2fsck', ['-n', '-f', loop]).status, 0, 'and the filesystem is clean');
  } finally {
    umountQuietly(otherMount);
    execFileSync('losetup', ['-d', loop]);
  }
});

test('errors recorded in the superblock: auto runs e2fsck -p, which clears them', async () => {
  execFileSync('tune2fs', ['-E', 'force_fsck', device], { stdio: 'ignore' });
  const { fs, ran } = recordingFs('auto');
  assert.equal((await fs.readSuperblock(device))?.errors, true);
  ran.length = 0;
  await fs.check(device);
  assert.deepEqual(ran, ['read superblock', 'e2fsck']);
  assert.equal((await fs.readSuperblock(device))?.errors, false);
});

test('a mount count due: auto runs e2fsck -p; force always runs it; never never does', async () => {
  execFileSync('tune2fs', ['-c', '1', device], { stdio: 'ignore' });
  const { fs: ours } = recordingFs('auto');
  await ours.mount(device);
  await ours.unmount({ fenced: false, device });
  try {
    const auto = recordingFs('auto');
    assert.equal((await auto.fs.readSuperblock(device))?.mountCount, 1);
    auto.ran.length = 0;
    await auto.fs.check(device);
    assert.deepEqual(auto.ran, ['read superblock', 'e2fsck']);
    const force = recordingFs('force');
    await force.fs.check(device);
    assert.deepEqual(force.ran, ['e2fsck']);
    const never = recordingFs('never');
    await never.fs.check(device);
    assert.deepEqual(never.ran, []);
  } finally {
    execFileSync('tune2fs', ['-c', '-1', device], { stdio: 'ignore' });
  }
});

test('a device with no ext superblock is probed by blkid (another filesystem is never taken for blank)', async () => {
  const file = join(dir, 'vfat.raw');
  execFileSync('truncate', ['-s', '8M', file]);
  const loop = execFileSync('losetup', ['-f', '--show', file], { encoding: 'utf8' }).trim();
  try {
    const { fs, ran } = recordingFs('auto');
    assert.equal(await fs.probe(loop), null);
    assert.deepEqual(ran, ['read superblock', 'blkid']);
    execFileSync('mkswap', [loop], { stdio: 'ignore' });
    assert.equal(await fs.probe(loop), 'swap');
  } finally {
    execFileSync('losetup', ['-d', loop]);
  }
});

test('synchronous dirs: created if missing, +S on the dir and what is in it (inherited by new files), a flagged tree only read; a link out of the image is refused', async () => {
  const ran: string[] = [];
  const fs = new Filesystem(
    createRunner(silentLogger(), [], (r: CommandRecord) => ran.push(r.what)),
    {
      mountPoint,
      fsck: 'auto',
      mountOptions: ['noatime', 'dirsync'],
      mkfsOptions: [],
      synchronousDirs: ['data/redis'],
      timeouts: { probe: 10_000, format: 60_000, fsck: 60_000, mount: 10_000, unmount: 5_000 },
    },
    silentLogger(),
  );
  await fs.mount(device);
  try {
    mkdirSync(join(mountPoint, 'data', 'redis', 'appendonlydir'), { recursive: true });
    writeFileSync(join(mountPoint, 'data', 'redis', 'appendonlydir', 'appendonly.aof.1.incr.aof'), '*1\r\n');
    const flags = (path: string, dirOnly = false) =>
      (
        execFileSync('lsattr', [...(dirOnly ? ['-d'] : []), path], { encoding: 'utf8' })
          .trim()
          .split(/\s+/)[0] ?? ''
      ).replace(/-/g, '');
    assert.doesNotMatch(flags(join(mountPoint, 'data', 'redis'), true), /S/);
    await fs.markSynchronous();
    assert.match(flags(join(mountPoint, 'data', 'redis'), true), /S/);
    assert.match(flags(join(mountPoint, 'data', 'redis', 'appendonlydir'), true), /S/);
    assert.match(flags(join(mountPoint, 'data', 'redis', 'appendonlydir', 'appendonly.aof.1.incr.aof')), /S/, 'files already there');
    writeFileSync(join(mountPoint, 'data', 'redis', 'appendonlydir', 'new.aof'), 'x');
    assert.match(flags(join(mountPoint, 'data', 'redis', 'appendonlydir', 'new.aof')), /S/, 'a file created afterwards inherits it');
    assert.doesNotMatch(flags(join(mountPoint, 'data'), true), /S/, 'nothing above it');

    // flagged already: read, never rewritten (chattr would rewrite every inode, each a synchronous commit)
    const aof = join(mountPoint, 'data', 'redis', 'appendonlydir', 'appendonly.aof.1.incr.aof');
    const ctimeBefore = statSync(aof, { bigint: true }).ctimeNs;
    ran.length = 0;
    await new Promise((r) => setTimeout(r, 20));
    await fs.markSynchronous();
    assert.deepEqual([...ran].sort(), ['lsattr (synchronous dir)', 'realpath'], 'read together, nothing written');
    assert.equal(statSync(aof, { bigint: true }).ctimeNs, ctimeBefore, 'the file was not rewritten');

    // one entry without the flag (moved in from elsewhere on the image keeps its own flags): all flagged again
    writeFileSync(join(mountPoint, 'data', 'moved-in.aof'), 'x');
    execFileSync('mv', [join(mountPoint, 'data', 'moved-in.aof'), join(mountPoint, 'data', 'redis', 'appendonlydir')]);
    assert.doesNotMatch(flags(join(mountPoint, 'data', 'redis', 'appendonlydir', 'moved-in.aof')), /S/);
    ran.length = 0;
    await fs.markSynchronous();
    assert.deepEqual([...ran.slice(0, 2)].sort(), ['lsattr (synchronous dir)', 'realpath']);
    assert.deepEqual(ran.slice(2), ['mkdir (synchronous dir)', 'chattr +S']);
    assert.match(flags(join(mountPoint, 'data', 'redis', 'appendonlydir', 'moved-in.aof')), /S/);

    // a directory that does not exist yet is created (before compose up creates it as root, unflagged)
    rmSync(join(mountPoint, 'data', 'redis'), { recursive: true });
    await fs.markSynchronous();
    assert.match(flags(join(mountPoint, 'data', 'redis'), true), /S/);

    // the mount point configured through a link above it (/data -> /srv/data): still inside
    const viaLink = join(dir, 'via-link');
    execFileSync('ln', ['-sfn', dir, viaLink]);
    const linked = new Filesystem(
      runner,
      {
        mountPoint: join(viaLink, 'mnt'),
        fsck: 'auto',
        mountOptions: [],
        mkfsOptions: [],
        synchronousDirs: ['data/job_logs'],
        timeouts: { probe: 10_000, format: 60_000, fsck: 60_000, mount: 10_000, unmount: 5_000 },
      },
      silentLogger(),
    );
    await linked.markSynchronous();
    assert.match(flags(join(mountPoint, 'data', 'job_logs'), true), /S/);
    // a container's bind source may name it either way: both gate its start
    assert.deepEqual(linked.synchronousPaths(), [join(viaLink, 'mnt', 'data', 'job_logs'), join(mountPoint, 'data', 'job_logs')]);
    assert.deepEqual(fs.synchronousPaths(), [join(mountPoint, 'data', 'redis')]);

    // a link that leads out of the mounted image: refused, nothing outside touched
    const outside = join(dir, 'outside');
    mkdirSync(outside, { recursive: true });
    rmSync(join(mountPoint, 'data', 'redis'), { recursive: true });
    execFileSync('ln', ['-s', outside, join(mountPoint, 'data', 'redis')]);
    await assert.rejects(fs.markSynchronous(), /synchronousDirs: data\/redis resolves to .*outside, outside .*refusing/);
    rmSync(join(mountPoint, 'data'), { recursive: true });
  } finally {
    await fs.unmount({ fenced: false, device });
  }
});
