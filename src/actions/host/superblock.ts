/**
 * The ext2/3/4 superblock, read from the device by `od` (a process: a read stuck on a fenced
 * device must be a process the step's timer can give up on, not a libuv thread the service
 * loses). One short read replaces `blkid -p` (type) and decides whether `e2fsck -p` has
 * anything to do, which on a 2-core host under a takeover's load costs ~75 + ~210 ms of process
 * starts and journal replay that mount does anyway.
 */

/** The superblock starts 1024 bytes into the device and is 1024 bytes long. */
export const SUPERBLOCK_OFFSET = 1024;
export const SUPERBLOCK_SIZE = 1024;

const EXT_MAGIC = 0xef53;
const STATE_VALID = 0x1;
const STATE_ERROR = 0x2;
const COMPAT_HAS_JOURNAL = 0x4;
const INCOMPAT_RECOVER = 0x4;
/** Features only ext4 has: extents, 64bit, flex_bg. */
const INCOMPAT_EXT4 = 0x40 | 0x80 | 0x200;

export interface ExtSuperblock {
  fsType: 'ext2' | 'ext3' | 'ext4';
  /** s_state VALID: unmounted cleanly, or mounted with a journal that makes it recoverable. */
  valid: boolean;
  /** s_state ERROR or a non-zero s_error_count: the kernel recorded an error. */
  errors: boolean;
  hasJournal: boolean;
  /** The journal holds transactions to replay (a crash while mounted). */
  needsRecovery: boolean;
  mountCount: number;
  /** <= 0: no check by mount count. */
  maxMountCount: number;
  lastCheckS: number;
  /** 0: no check by time. */
  checkIntervalS: number;
}

/** argv of a 1024-byte read of the superblock, printed as hex bytes only (no offsets). */
export function superblockReadArgv(device: string): string[] {
  return ['od', '-A', 'n', '-v', '-t', 'x1', '-j', String(SUPERBLOCK_OFFSET), '-N', String(SUPERBLOCK_SIZE), device];
}

/** `od -A n -t x1` output → the bytes; anything but hex byte pairs, or a short read, is an error. */
export function parseHexBytes(text: string, expected = SUPERBLOCK_SIZE): Buffer {
  const words = text.split(/\s+/).filter((w) => w !== '');
  const bad = words.find((w) => !/^[0-9a-f]{2}$/.test(w));
  if (bad !== undefined) throw new Error(`od printed ${JSON.stringify(bad.slice(0, 40))} where a hex byte belongs`);
  if (words.length !== expected)
    throw new Error(`od read ${String(words.length)} of the superblock's ${String(expected)} bytes (a device smaller than 2 KiB?)`);
  return Buffer.from(words.map((w) => parseInt(w, 16)));
}

/** The superblock's fields that matter here, or null when the bytes are no ext2/3/4 superblock. */
export function parseExtSuperblock(sb: Buffer): ExtSuperblock | null {
  if (sb.length < SUPERBLOCK_SIZE || sb.readUInt16LE(0x38) !== EXT_MAGIC) return null;
  const state = sb.readUInt16LE(0x3a);
  const compat = sb.readUInt32LE(0x5c);
  const incompat = sb.readUInt32LE(0x60);
  const hasJournal = (compat & COMPAT_HAS_JOURNAL) !== 0;
  return {
    fsType: (incompat & INCOMPAT_EXT4) !== 0 ? 'ext4' : hasJournal ? 'ext3' : 'ext2',
    valid: (state & STATE_VALID) !== 0,
    errors: (state & STATE_ERROR) !== 0 || sb.readUInt32LE(0x194) !== 0,
    hasJournal,
    needsRecovery: (incompat & INCOMPAT_RECOVER) !== 0,
    mountCount: sb.readUInt16LE(0x34),
    maxMountCount: sb.readInt16LE(0x36),
    lastCheckS: sb.readUInt32LE(0x40),
    checkIntervalS: sb.readUInt32LE(0x44),
  };
}

/**
 * Why `e2fsck -p` would do more than replay the journal, or null when it would not: the checks
 * e2fsck's own preen mode makes before it declares a filesystem clean (errors recorded, not
 * cleanly unmounted, mount count or interval due). A journal to replay alone is no reason: the
 * kernel replays it at mount exactly as e2fsck would, and an error the replay brings to light is
 * recorded in the superblock, so the next takeover's read sees it and runs e2fsck.
 */
export function fsckReason(sb: ExtSuperblock, nowS: number): string | null {
  if (sb.errors) return 'the filesystem has errors recorded';
  if (!sb.valid) return sb.hasJournal ? 'the filesystem is marked not valid' : 'the filesystem was not cleanly unmounted and has no journal';
  if (sb.maxMountCount > 0 && sb.mountCount >= sb.maxMountCount) return `mounted ${String(sb.mountCount)} times (check every ${String(sb.maxMountCount)})`;
  if (sb.checkIntervalS > 0 && nowS >= sb.lastCheckS + sb.checkIntervalS) return 'the check interval has passed';
  return null;
}
