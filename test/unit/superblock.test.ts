import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fsckReason, parseExtSuperblock, parseHexBytes, superblockReadArgv, type ExtSuperblock } from '../../src/actions/host/superblock.js';

function superblock(fields: {
  state?: number;
  compat?: number;
  incompat?: number;
  errorCount?: number;
  mnt?: number;
  maxMnt?: number;
  lastCheck?: number;
  interval?: number;
}): Buffer {
  const b = Buffer.alloc(1024);
  b.writeUInt16LE(0xef53, 0x38);
  b.writeUInt16LE(fields.state ?? 1, 0x3a);
  b.writeUInt32LE(fields.compat ?? 0x4, 0x5c);
  b.writeUInt32LE(fields.incompat ?? 0x2c2, 0x60);
  b.writeUInt32LE(fields.errorCount ?? 0, 0x194);
  b.writeUInt16LE(fields.mnt ?? 3, 0x34);
  b.writeInt16LE(fields.maxMnt ?? -1, 0x36);
  b.writeUInt32LE(fields.lastCheck ?? 1_000, 0x40);
  b.writeUInt32LE(fields.interval ?? 0, 0x44);
  return b;
}

const parsed = (f: Parameters<typeof superblock>[0]): ExtSuperblock => {
  const sb = parseExtSuperblock(superblock(f));
  assert.ok(sb !== null);
  return sb;
};

test('the read is od over bytes 1024–2047, hex only, as argv', () => {
  assert.deepEqual(superblockReadArgv('/dev/loop3'), ['od', '-A', 'n', '-v', '-t', 'x1', '-j', '1024', '-N', '1024', '/dev/loop3']);
});

test('od output parses to bytes; other text or a short read is an error saying what it saw', () => {
  const bytes = superblock({});
  const text =
    Array.from({ length: 64 }, (_, i) => ' ' + [...bytes.subarray(i * 16, i * 16 + 16)].map((x) => x.toString(16).padStart(2, '0')).join(' ')).join('\n') +
    '\n';
  assert.deepEqual(parseHexBytes(text), bytes);
  assert.throws(() => parseHexBytes(' ef 53\n'), /od read 2 of the superblock's 1024 bytes/);
  assert.throws(() => parseHexBytes(' ef 53 zz\n'), /od printed "zz" where a hex byte belongs/);
});

test('no magic, no superblock; the type follows the features', () => {
  assert.equal(parseExtSuperblock(Buffer.alloc(1024)), null);
  assert.equal(parseExtSuperblock(Buffer.alloc(10)), null);
  assert.equal(parsed({}).fsType, 'ext4');
  assert.equal(parsed({ incompat: 0x2 }).fsType, 'ext3');
  assert.equal(parsed({ incompat: 0x2, compat: 0 }).fsType, 'ext2');
});

test('fsck is needed for recorded errors, an invalid state, a mount count or interval due; not for a journal to replay', () => {
  const now = 10_000;
  assert.equal(fsckReason(parsed({}), now), null);
  assert.equal(fsckReason(parsed({ incompat: 0x2c2 | 0x4 }), now), null, 'a crash leaves only a journal to replay: mount does it');
  assert.equal(parsed({ incompat: 0x2c2 | 0x4 }).needsRecovery, true);
  assert.match(fsckReason(parsed({ state: 3 }), now) ?? '', /errors recorded/);
  assert.match(fsckReason(parsed({ errorCount: 2 }), now) ?? '', /errors recorded/);
  assert.match(fsckReason(parsed({ state: 0 }), now) ?? '', /marked not valid/);
  assert.match(fsckReason(parsed({ state: 0, compat: 0, incompat: 0 }), now) ?? '', /not cleanly unmounted and has no journal/);
  assert.match(fsckReason(parsed({ mnt: 20, maxMnt: 20 }), now) ?? '', /mounted 20 times/);
  assert.equal(fsckReason(parsed({ mnt: 19, maxMnt: 20 }), now), null);
  assert.equal(fsckReason(parsed({ mnt: 500, maxMnt: -1 }), now), null, 'a negative maximum disables the count');
  assert.match(fsckReason(parsed({ lastCheck: 1_000, interval: 9_000 }), now) ?? '', /interval has passed/);
  assert.equal(fsckReason(parsed({ lastCheck: 1_000, interval: 9_001 }), now), null);
});
