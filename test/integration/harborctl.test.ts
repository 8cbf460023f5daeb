import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { harborCommand } from '../../src/cli/harbor.js';
import { configFor, io, removeServiceDirs } from '../support/service-harness.js';

// Real parts: somebody else's ext4 on a loop device, mounted where Harbor's data would be.
const dir = mkdtempSync(join(tmpdir(), 'ha-ctl-'));
const mountPoint = join(dir, 'mnt');
let device = '';

after(() => {
  try {
    execFileSync('umount', [mountPoint], { stdio: 'ignore' });
  } catch {
    // not mounted
  }
  if (device) execFileSync('losetup', ['-d', device]);
  rmSync(dir, { recursive: true, force: true });
  removeServiceDirs();
});

test("harborctl start refuses to start Harbor on a filesystem that is not this node's image, and writes nothing there", async () => {
  const image = join(dir, 'foreign.img');
  execFileSync('truncate', ['-s', '32M', image]);
  execFileSync('mkfs.ext4', ['-q', '-F', image]);
  device = execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8' }).trim();
  mkdirSync(mountPoint, { recursive: true });
  execFileSync('mount', [device, mountPoint]);
  const config = configFor('http://127.0.0.1:9/api/v2.0/health', [
    'ceph:',
    '  mapper: fuse',
    `  fuseDir: ${join(dir, 'fuse')}`,
    'filesystem:',
    `  mountPoint: ${mountPoint}`,
  ]);
  const before = readdirSync(mountPoint).sort();
  const out = io();
  assert.equal(await harborCommand('start', config, out.io), 1);
  assert.match(out.out.join(''), new RegExp(`refusing to start Harbor: ${device} is mounted on ${mountPoint}, not this node's mapped image \\(none mapped\\)`));
  assert.deepEqual(readdirSync(mountPoint).sort(), before, 'nothing was installed onto the foreign filesystem');
});
