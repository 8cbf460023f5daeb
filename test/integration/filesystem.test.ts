import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createRunner } from '../../src/actions/exec.js';
import { Filesystem } from '../../src/actions/filesystem.js';
import { isRunning } from '../../src/actions/processes.js';
import { silentLogger } from '../../src/log/logger.js';

// Real parts: a loop device over a sparse file stands in for the mapped image.
const dir = mkdtempSync(join(tmpdir(), 'ha-fs-'));
const image = join(dir, 'image.raw');
const mountPoint = join(dir, 'mnt');
let device = '';
const runner = createRunner(silentLogger());
const fsFor = (fsck: 'auto' | 'force' | 'never', unmount = 5_000) =>
  new Filesystem(runner, { mountPoint, fsck, mountOptions: ['noatime'], mkfsOptions: [], timeouts: { probe: 10_000, format: 60_000, fsck: 60_000, mount: 10_000, unmount } }, silentLogger());

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
});

test('a busy umount kills the holders (TERM, then KILL if ignored) within the timeout and completes', async () => {
  const fs = fsFor('auto', 6_000);
  writeFileSync(join(mountPoint, 'held'), 'x');
  // one holder that exits on TERM, one that ignores it, both with cwd and a file open on the mount
  const polite = spawn('sh', ['-c', 'exec 3<held; sleep 300'], { cwd: mountPoint, stdio: 'ignore' });
  const stubborn = spawn('sh', ['-c', "trap '' TERM; exec 3<held; while :; do sleep 1; done"], { cwd: mountPoint, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  const started = Date.now();
  await fs.unmount({ fenced: false });
  const took = Date.now() - started;
  assert.equal(await fs.mountedSource(), null);
  assert.ok(took < 6_000, `took ${took} ms`);
  assert.equal(isRunning(polite.pid ?? 0), false);
  assert.equal(isRunning(stubborn.pid ?? 0), false);
  await fs.unmount({ fenced: false });
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
  const { probeImageWrite, looksFenced } = await import('../../src/actions/io-watchdog.js');
  const fs = fsFor('auto');
  await fs.mount(device);
  assert.equal(await probeImageWrite(runner, mountPoint, 5_000), null);
  assert.equal(looksFenced("dd: error writing '/mnt/.harbor-assistant-watchdog': Input/output error"), true);
  assert.equal(looksFenced('dd: failed to open: No space left on device'), false);
  await fs.unmount({ fenced: false });
});
