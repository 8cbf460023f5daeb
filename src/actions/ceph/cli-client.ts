import type { Holder, ImageLock } from '../../domain/types.js';
import type { Runner } from '../exec.js';
import { blocklistAddArgv, blocklistLsArgv, parseBlocklist, type BlocklistEntry, type BlocklistVerb } from './blocklist.js';
import type { CephClient, ImageClaim, ImageClaimAnswer, ImageLook, ImageRelinquish } from './client.js';
import type { CephConnection } from './connection.js';
import { classifyCephFailure } from './failures.js';
import { imageMetaRemoveArgv, isBusy, isMissing, lockAddArgv, lockListArgv, lockRmArgv, parseLockList } from './ownership.js';
import { imageMetaListArgv, imageMetaSetArgv, parseImageMeta, parseRbdInfo, parseRbdStatus, rbdInfoArgv, rbdStatusArgv, type ImageInfo } from './rbd.js';

/** Ceph through the `rbd` and `ceph` CLIs: one process per call, the key by file (never argv). */
export class CliCephClient implements CephClient {
  constructor(
    private readonly runner: Runner,
    private readonly conn: CephConnection,
    private readonly timeoutMs: number,
  ) {}

  private async stdout(what: string, argv: string[], signal?: AbortSignal): Promise<string> {
    try {
      return (await this.runner.run({ what, argv, timeoutMs: this.timeoutMs, signal })).stdout;
    } catch (error) {
      throw classifyCephFailure(error, this.conn);
    }
  }

  async watchers(signal?: AbortSignal): Promise<Holder[]> {
    return parseRbdStatus(await this.stdout('rbd status', rbdStatusArgv(this.conn), signal));
  }

  async info(signal?: AbortSignal): Promise<ImageInfo> {
    return parseRbdInfo(await this.stdout('rbd info', rbdInfoArgv(this.conn), signal));
  }

  async metaList(signal?: AbortSignal): Promise<Record<string, string>> {
    return parseImageMeta(await this.stdout('rbd image-meta list', imageMetaListArgv(this.conn), signal));
  }

  async metaSet(key: string, value: string, signal?: AbortSignal): Promise<void> {
    await this.stdout('rbd image-meta set', imageMetaSetArgv(this.conn, key, value), signal);
  }

  async metaRemove(key: string, signal?: AbortSignal): Promise<void> {
    await this.stdout('rbd image-meta remove', imageMetaRemoveArgv(this.conn, key), signal);
  }

  async locks(signal?: AbortSignal): Promise<ImageLock[]> {
    return parseLockList(await this.stdout('rbd lock ls', lockListArgv(this.conn), signal));
  }

  async lockAdd(id: string, signal?: AbortSignal): Promise<void> {
    await this.stdout('rbd lock add', lockAddArgv(this.conn, id), signal);
  }

  async lockRemove(id: string, locker: string, signal?: AbortSignal): Promise<void> {
    await this.stdout('rbd lock rm', lockRmArgv(this.conn, id, locker), signal);
  }

  async blocklistAdd(verb: BlocklistVerb, addr: string, expirySeconds: number, signal?: AbortSignal): Promise<void> {
    await this.stdout(`ceph osd ${verb} add`, blocklistAddArgv(this.conn, verb, addr, expirySeconds), signal);
  }

  async blocklistList(verb: BlocklistVerb, signal?: AbortSignal): Promise<BlocklistEntry[]> {
    return parseBlocklist(await this.stdout(`ceph osd ${verb} ls`, blocklistLsArgv(this.conn, verb), signal));
  }

  async look(signal?: AbortSignal): Promise<ImageLook> {
    const [watchers, locks, meta] = await Promise.all([this.watchers(signal), this.locks(signal), this.metaList(signal)]);
    return { watchers, locks, meta };
  }

  async claim(claim: ImageClaim, signal?: AbortSignal): Promise<ImageClaimAnswer> {
    if (claim.breakLock !== null) await this.lockRemove(claim.breakLock.id, claim.breakLock.locker, signal).catch(alreadyGone);
    try {
      await this.lockAdd(claim.id, signal);
    } catch (error) {
      if (!isBusy(error)) throw error;
      return { taken: false, locks: await this.locks(signal) };
    }
    await Promise.all(claim.meta.map(([key, value]) => this.metaSet(key, value, signal)));
    return { taken: true };
  }

  async relinquish(give: ImageRelinquish, signal?: AbortSignal): Promise<void> {
    if (give.metaKey !== null) await this.metaRemove(give.metaKey, signal).catch(alreadyGone);
    if (give.lock !== null) await this.lockRemove(give.lock.id, give.lock.locker, signal).catch(alreadyGone);
  }
}

/** A lock or key someone else removed first: the goal is reached. */
function alreadyGone(error: unknown): void {
  if (!isMissing(error)) throw error;
}
