import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { canonicalMountPoint, mountedAtPath, parseMountinfo, unescapeMountinfo } from '../../src/actions/host/mountinfo.js';

const MOUNTINFO = [
  '22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw',
  '98 29 7:0 / /run/halab/a/mnt rw,noatime shared:50 - ext4 /dev/loop0 rw,dirsync',
  '99 29 0:52 / /run/halab/a/fuse rw,nosuid,nodev,relatime shared:51 - fuse rbd-fuse rw,user_id=0,group_id=0',
  '120 98 7:3 / /run/halab/a/mnt rw,relatime shared:60 master:3 - ext4 /dev/loop3 rw',
  '130 29 7:4 / /data/my\\040harbor rw,relatime - ext4 /dev/odd\\134name rw',
  '',
].join('\n');

test('mountinfo: the topmost mount at the path, its source and type; stacked mounts, optional fields, escapes', () => {
  assert.deepEqual(parseMountinfo(MOUNTINFO, '/run/halab/a/mnt'), { source: '/dev/loop3', fstype: 'ext4' });
  assert.deepEqual(parseMountinfo(MOUNTINFO, '/run/halab/a/fuse'), { source: 'rbd-fuse', fstype: 'fuse' });
  assert.deepEqual(parseMountinfo(MOUNTINFO, '/data/my harbor'), { source: '/dev/odd\\name', fstype: 'ext4' });
  assert.equal(parseMountinfo(MOUNTINFO, '/run/halab/a'), null, 'the whole path, not a prefix');
  assert.equal(parseMountinfo(MOUNTINFO, '/run/halab/a/mnt/'), null);
  assert.equal(parseMountinfo('garbage line\n', '/x'), null);
  assert.equal(unescapeMountinfo('a\\011b\\012c'), 'a\tb\nc');
});

test('mountinfo: the live file answers for / and a path with nothing mounted; the parent is canonical, the last component untouched', async () => {
  assert.notEqual(await mountedAtPath('/', 5_000), null);
  const dir = mkdtempSync(join(tmpdir(), 'ha-mi-'));
  mkdirSync(join(dir, 'real'));
  symlinkSync(join(dir, 'real'), join(dir, 'link'));
  assert.equal(await mountedAtPath(join(dir, 'link', 'mnt'), 5_000), null);
  assert.equal(canonicalMountPoint(join(dir, 'link', 'mnt')), join(dir, 'real', 'mnt'));
  assert.equal(canonicalMountPoint('/no/such/dir/mnt'), '/no/such/dir/mnt');
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(mountedAtPath('/', 5_000, aborted.signal), /aborted/);
});
