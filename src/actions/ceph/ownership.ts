import type { Holder, ImageLock, OwnerRecord, OwnershipView } from '../../domain/types.js';
import { CommandError } from '../exec.js';
import { cephClientArgs, imageSpec, type CephConnection } from './connection.js';
import { isRecord, parseJson } from '../json.js';
import type { CephClient } from './client.js';
import { imageMetaListArgv, imageMetaSetArgv, parseImageMeta } from './rbd.js';

export { imageMetaListArgv, imageMetaSetArgv, parseImageMeta };

/** Image metadata key holding the owner record (JSON). */
export const OWNER_META_KEY = 'harbor-assistant.owner';
/** Image metadata key holding the last generation ever used; it outlives the record. */
export const GENERATION_META_KEY = 'harbor-assistant.generation';

const LOCK_ID_PREFIX = 'harbor-assistant';
const LOCK_ID = /^harbor-assistant\/([^/\s]+)\/([1-9][0-9]*)$/;

/** rbd's option parser takes a leading `-` as an option and `--` swallows our identity options too. */
function assertPositional(what: string, value: string): void {
  if (value === '' || value.startsWith('-')) throw new Error(`${what} ${JSON.stringify(value)} cannot be passed to rbd as an argument`);
}

export function lockIdFor(node: string, generation: number): string {
  if (node === '' || /[/\s]/.test(node)) throw new Error(`lock id: node name ${JSON.stringify(node)} must be non-empty without "/" or spaces`);
  if (!Number.isSafeInteger(generation) || generation < 1) throw new Error(`lock id: generation must be a positive integer, got ${generation}`);
  return `${LOCK_ID_PREFIX}/${node}/${generation}`;
}

/** Ours → node and generation; anything else (another tool's lock) → null. */
export function parseLockId(id: string): { node: string; generation: number } | null {
  const m = LOCK_ID.exec(id);
  if (!m) return null;
  const generation = Number(m[2]);
  return Number.isSafeInteger(generation) ? { node: m[1] as string, generation } : null;
}

export function lockListArgv(c: CephConnection): string[] {
  return ['rbd', 'lock', 'ls', imageSpec(c), '--format', 'json', ...cephClientArgs(c)];
}

export function lockAddArgv(c: CephConnection, id: string): string[] {
  assertPositional('lock id', id);
  return ['rbd', 'lock', 'add', imageSpec(c), id, ...cephClientArgs(c)];
}

/**
 * Blocklisting on break is switched off: the recorded locker is the short-lived CLI instance that
 * ran `lock add` (gone ~0.1 s later), so librbd's default would fence nobody and leave a 1 h
 * blocklist entry per break. Holders are fenced from the owner record instead.
 */
export function lockRmArgv(c: CephConnection, id: string, locker: string): string[] {
  assertPositional('lock id', id);
  assertPositional('locker', locker);
  return ['rbd', 'lock', 'rm', imageSpec(c), id, locker, ...cephClientArgs(c), '--rbd_blocklist_on_break_lock=false'];
}

export function imageMetaRemoveArgv(c: CephConnection, key: string): string[] {
  return ['rbd', 'image-meta', 'remove', imageSpec(c), key, ...cephClientArgs(c)];
}

function lockFrom(id: string, v: unknown): ImageLock {
  if (!isRecord(v) || typeof v.locker !== 'string' || typeof v.address !== 'string') {
    throw new Error(`rbd lock ls: lock ${JSON.stringify(id)} without a locker and an address`);
  }
  return { id, locker: v.locker, address: v.address };
}

/**
 * `rbd lock ls --format json`. Pacific prints an array, `[]` when unlocked:
 * `[{"id":"harbor-assistant/a/7","locker":"client.4130","address":"10.213.77.11:0/2371432285"}]`.
 * Older rbd printed an object keyed by lock id: `{"ID":{"locker":…,"address":…}}`.
 */
export function parseLockList(text: string): ImageLock[] {
  if (text.trim() === '') return [];
  return locksFrom(parseJson('rbd lock ls', text));
}

/** The lock list, from `rbd lock ls` or the session (Pacific's array shape). */
export function locksFrom(doc: unknown): ImageLock[] {
  if (Array.isArray(doc)) {
    return doc.map((e) => {
      if (!isRecord(e) || typeof e.id !== 'string') throw new Error('rbd lock ls: a lock without an id');
      return lockFrom(e.id, e);
    });
  }
  if (isRecord(doc)) return Object.entries(doc).map(([id, v]) => lockFrom(id, v));
  throw new Error('rbd lock ls: expected a JSON array');
}

function malformed(key: string, what: string): Error {
  return new Error(`image metadata ${key} is malformed: ${what}`);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string' && s !== '');
}

/**
 * The owner record, strictly: a takeover fences and maps from it, so garbage must stop the
 * caller (the Error names the key and the field) instead of reading as "no owner".
 * Unknown extra fields are kept out but tolerated, so a newer writer does not block an older reader.
 */
export function parseOwnerRecord(value: string): OwnerRecord {
  const key = OWNER_META_KEY;
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch {
    throw malformed(key, `not JSON: ${value.trim().slice(0, 200) || '(empty)'}`);
  }
  if (!isRecord(doc)) throw malformed(key, 'not a JSON object');
  const { node, generation, hosts, clients, at } = doc;
  if (typeof node !== 'string' || node === '') throw malformed(key, `node must be a non-empty string, got ${JSON.stringify(node)}`);
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 1) {
    throw malformed(key, `generation must be a positive integer, got ${JSON.stringify(generation)}`);
  }
  if (!isStringArray(hosts)) throw malformed(key, `hosts must be an array of non-empty strings, got ${JSON.stringify(hosts)}`);
  if (!isStringArray(clients)) throw malformed(key, `clients must be an array of non-empty strings, got ${JSON.stringify(clients)}`);
  if (typeof at !== 'string' || at === '') throw malformed(key, `at must be a non-empty string, got ${JSON.stringify(at)}`);
  return { node, generation, hosts: [...hosts], clients: [...clients], at };
}

/** The metadata value for a record (fixed field order, so equal records compare equal as text). */
export function ownerRecordValue(record: OwnerRecord): string {
  const { node, generation, hosts, clients, at } = record;
  return JSON.stringify({ node, generation, hosts, clients, at });
}

function parseGeneration(value: string): number {
  const n = /^[0-9]+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n)) throw malformed(GENERATION_META_KEY, `expected a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * Ownership from the image metadata and the locks. The generation key, the record and our own
 * lock ids may disagree after a crash between two writes; the highest wins so a generation is
 * never reused. Any lock counts as held, ours or not; ours is preferred when several are listed.
 */
/** The lock that counts: ours or a peer's (ids this tool makes) before any other tool's, or null. */
function holdingLock(locks: readonly ImageLock[]): ImageLock | null {
  return locks.find((l) => parseLockId(l.id) !== null) ?? locks[0] ?? null;
}

export function ownershipFromMeta(meta: Record<string, string>, locks: readonly ImageLock[]): OwnershipView {
  const recordValue = meta[OWNER_META_KEY];
  const record = recordValue === undefined ? null : parseOwnerRecord(recordValue);
  const generationValue = meta[GENERATION_META_KEY];
  const lockGenerations = locks.map((l) => parseLockId(l.id)?.generation ?? 0);
  const lastGeneration = Math.max(0, generationValue === undefined ? 0 : parseGeneration(generationValue), record?.generation ?? 0, ...lockGenerations);
  const lock = holdingLock(locks);
  return { record, lock: lock ? { ...lock } : null, lastGeneration };
}

/**
 * `rbd lock add` while any lock is held: exit 16 (EBUSY), "rbd: lock is already held by someone
 * else" — also for our own id again, since each CLI run is a new client. rbd maps EEXIST (17) to
 * the same text.
 */
export function isBusy(error: unknown): boolean {
  return (
    error instanceof CommandError &&
    error.failure === 'exit' &&
    (error.exitCode === 16 || error.exitCode === 17 || /lock is already held by someone else/.test(error.stderr))
  );
}

/**
 * ENOENT (exit 2) for the lock or the key itself: "rbd: releasing lock failed: (2) …",
 * "rbd: removing metadata failed: (2) …". A missing image/pool also exits 2 but says
 * "rbd: error opening image …": that is not "already gone" and must not pass as success.
 */
export function isMissing(error: unknown): boolean {
  return error instanceof CommandError && error.failure === 'exit' && error.exitCode === 2 && !/error opening image|error opening pool/.test(error.stderr);
}

/**
 * This client is blocklisted: every rbd command exits 108 (ESHUTDOWN), "Cannot send after
 * transport endpoint shutdown". The node has been fenced and must stay out.
 */
export function isBlocklisted(error: unknown): boolean {
  return (
    error instanceof CommandError &&
    error.failure === 'exit' &&
    (error.exitCode === 108 || /\(108\) Cannot send after transport endpoint shutdown/.test(error.stderr))
  );
}

export type TryLockResult = { taken: true } | { taken: false; holder: ImageLock | null };

/** The ownership evidence in Ceph: the advisory lock and the owner record in the image metadata. */
export class Ownership {
  constructor(private readonly ceph: CephClient) {}

  locks(signal?: AbortSignal): Promise<ImageLock[]> {
    return this.ceph.locks(signal);
  }

  meta(signal?: AbortSignal): Promise<Record<string, string>> {
    return this.ceph.metaList(signal);
  }

  async read(signal?: AbortSignal): Promise<OwnershipView> {
    const [locks, meta] = await Promise.all([this.locks(signal), this.meta(signal)]);
    return ownershipFromMeta(meta, locks);
  }

  /** The atomic step of a takeover: the OSD grants one exclusive lock, whoever asks second is refused. */
  async tryLock(id: string, signal?: AbortSignal): Promise<TryLockResult> {
    try {
      assertPositional('lock id', id);
      await this.ceph.lockAdd(id, signal);
      return { taken: true };
    } catch (error) {
      if (!isBusy(error)) throw error;
    }
    // the holder may have released in between: null then, and the caller simply tries again
    const locks = await this.locks(signal);
    // our own lock of this very id: an earlier attempt took it and was cut short (a timeout after
    // `rbd lock add` went through); lock ids name the node and generation, so nobody else made it
    if (locks.some((l) => l.id === id)) return { taken: true };
    return { taken: false, holder: holdingLock(locks) };
  }

  /**
   * The takeover's write as one operation (one open of the image on the session): break the
   * fenced holder's lock (`breakLock`: only after its holder is fenced), take ours atomically, and
   * only once it is taken write the owner record with the generation key. Refused: the holder.
   */
  async claim(id: string, breakLock: ImageLock | null, record: OwnerRecord, signal?: AbortSignal): Promise<TryLockResult> {
    assertPositional('lock id', id);
    const value = ownerRecordValue(record);
    parseOwnerRecord(value);
    const meta = [
      [GENERATION_META_KEY, String(record.generation)],
      [OWNER_META_KEY, value],
    ] as const;
    const answer = await this.ceph.claim({ id, breakLock, meta }, signal);
    if (answer.taken) return { taken: true };
    // as tryLock: our own lock of this very id is an earlier attempt of this generation that got
    // through before it was cut short; nobody else makes that id. Then only the record is missing
    if (answer.locks.some((l) => l.id === id)) {
      await this.writeRecord(record, signal);
      return { taken: true };
    }
    return { taken: false, holder: holdingLock(answer.locks) };
  }

  /** Watchers and ownership evidence in one look (one open of the image on the session). */
  async observe(signal?: AbortSignal): Promise<{ holders: Holder[]; view: OwnershipView }> {
    const look = await this.ceph.look(signal);
    return { holders: look.watchers, view: ownershipFromMeta(look.meta, look.locks) };
  }

  /**
   * A release's give-back in one operation: the owner record if `record`, the lock if given
   * (the caller read both and passes only what is still ours); each already gone is fine.
   */
  async relinquish(record: boolean, lock: ImageLock | null, signal?: AbortSignal): Promise<void> {
    if (!record && lock === null) return;
    await this.ceph.relinquish({ metaKey: record ? OWNER_META_KEY : null, lock }, signal);
  }

  /** Only after its holder is fenced (the lock itself stops nobody from writing). */
  async breakLock(lock: ImageLock, signal?: AbortSignal): Promise<void> {
    try {
      await this.ceph.lockRemove(lock.id, lock.locker, signal);
    } catch (error) {
      // someone else broke or released it first: the goal is reached
      if (!isMissing(error)) throw error;
    }
  }

  /**
   * The owner record, and the generation key with it unless told it is already there (the record
   * step after the map only adds clients). Both at once: `read()` takes the highest generation
   * of the key, the record and the lock, so either landing first is safe. Validated before
   * writing, so this node never leaves a record it would itself refuse to read.
   */
  async writeRecord(record: OwnerRecord, signal?: AbortSignal, options: { generationKey: boolean } = { generationKey: true }): Promise<void> {
    const value = ownerRecordValue(record);
    parseOwnerRecord(value);
    await Promise.all([
      options.generationKey ? this.ceph.metaSet(GENERATION_META_KEY, String(record.generation), signal) : Promise.resolve(),
      this.ceph.metaSet(OWNER_META_KEY, value, signal),
    ]);
  }

  /** The generation key stays behind on purpose: generations are never reused. */
  async removeRecord(signal?: AbortSignal): Promise<void> {
    try {
      await this.ceph.metaRemove(OWNER_META_KEY, signal);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }

  /** `rbd lock rm` needs the locker, which only `lock ls` knows; a lock that is not ours is left alone. */
  async unlock(id: string, signal?: AbortSignal): Promise<void> {
    const ours = (await this.locks(signal)).find((l) => l.id === id);
    if (ours) await this.breakLock(ours, signal);
  }
}
