import type { Holder, ImageLock } from '../../domain/types.js';
import type { Runner } from '../exec.js';
import { blocklistAddCommand, monOutput, parseBlocklist, type BlocklistEntry, type BlocklistVerb } from './blocklist.js';
import { clientAround, OPERATION_NAMES, type CephClient, type ImageClaim, type ImageClaimAnswer, type ImageLook, type ImageRelinquish } from './client.js';
import { CliCephClient } from './cli-client.js';
import { imageSpec, type CephConnection } from './connection.js';
import { classifyCephFailure } from './failures.js';
import { locksFrom } from './ownership.js';
import { isRecord } from '../json.js';
import { holdersFrom, imageInfoFrom, imageMetaFrom, type ImageInfo } from './rbd.js';
import { SessionUnavailable, type CephSession, type SessionCall } from './session.js';

/** Ceph through the long-lived librados helper: one connection for every call of the service. */
export class SessionCephClient implements CephClient {
  constructor(
    private readonly session: CephSession,
    private readonly conn: CephConnection,
    private readonly timeoutMs: number,
  ) {}

  private call(
    what: string,
    op: SessionCall['op'],
    mutates: boolean,
    signal: AbortSignal | undefined,
    args?: SessionCall['args'],
    detail = '',
  ): Promise<unknown> {
    const describe = `${op === 'mon' ? 'mon' : `${op} ${imageSpec(this.conn)}`}${detail === '' ? '' : ` ${detail}`}`;
    return this.session.call({ what, op, ...(args ? { args } : {}), describe, timeoutMs: this.timeoutMs, signal, mutates }).catch((error: unknown) => {
      throw classifyCephFailure(error, this.conn);
    });
  }

  async watchers(signal?: AbortSignal): Promise<Holder[]> {
    return holdersFrom(await this.call('rbd status', 'watchers', false, signal));
  }

  async info(signal?: AbortSignal): Promise<ImageInfo> {
    return imageInfoFrom(await this.call('rbd info', 'info', false, signal));
  }

  async metaList(signal?: AbortSignal): Promise<Record<string, string>> {
    return imageMetaFrom(await this.call('rbd image-meta list', 'meta_list', false, signal));
  }

  async metaSet(key: string, value: string, signal?: AbortSignal): Promise<void> {
    await this.call('rbd image-meta set', 'meta_set', true, signal, { key, value }, key);
  }

  async metaRemove(key: string, signal?: AbortSignal): Promise<void> {
    await this.call('rbd image-meta remove', 'meta_remove', true, signal, { key }, key);
  }

  async locks(signal?: AbortSignal): Promise<ImageLock[]> {
    return locksFrom(await this.call('rbd lock ls', 'lockers', false, signal));
  }

  async lockAdd(id: string, signal?: AbortSignal): Promise<void> {
    await this.call('rbd lock add', 'lock_add', true, signal, { cookie: id }, id);
  }

  async lockRemove(id: string, locker: string, signal?: AbortSignal): Promise<void> {
    await this.call('rbd lock rm', 'lock_rm', true, signal, { cookie: id, locker }, `${id} ${locker}`);
  }

  async blocklistAdd(verb: BlocklistVerb, addr: string, expirySeconds: number, signal?: AbortSignal): Promise<void> {
    const cmd = blocklistAddCommand(verb, addr, expirySeconds);
    await this.call(`ceph osd ${verb} add`, 'mon', true, signal, { cmd }, `osd ${verb} add ${addr} ${expirySeconds}`);
  }

  async blocklistList(verb: BlocklistVerb, signal?: AbortSignal): Promise<BlocklistEntry[]> {
    const cmd = { prefix: `osd ${verb} ls`, format: 'json' };
    return parseBlocklist(monOutput(await this.call(`ceph osd ${verb} ls`, 'mon', false, signal, { cmd }, `osd ${verb} ls`)));
  }

  async look(signal?: AbortSignal): Promise<ImageLook> {
    const doc = answerOf(OPERATION_NAMES.look, await this.call(OPERATION_NAMES.look, 'look', false, signal));
    return { watchers: holdersFrom(doc.watchers), locks: locksFrom(doc.lockers), meta: imageMetaFrom(doc.meta) };
  }

  async claim(claim: ImageClaim, signal?: AbortSignal): Promise<ImageClaimAnswer> {
    const args = {
      cookie: claim.id,
      break: claim.breakLock === null ? null : { cookie: claim.breakLock.id, locker: claim.breakLock.locker },
      meta: claim.meta.map(([key, value]) => [key, value]),
    };
    const detail = `${claim.id}${claim.breakLock === null ? '' : ` (breaking ${claim.breakLock.id} ${claim.breakLock.locker})`}`;
    const doc = answerOf(OPERATION_NAMES.claim, await this.call(OPERATION_NAMES.claim, 'claim', true, signal, args, detail));
    if (doc.taken === true) return { taken: true };
    if (doc.taken === false) return { taken: false, locks: locksFrom(doc.lockers) };
    throw new Error(`${OPERATION_NAMES.claim}: the session answered neither taken nor refused`);
  }

  async relinquish(give: ImageRelinquish, signal?: AbortSignal): Promise<void> {
    const args = { metaKey: give.metaKey, lock: give.lock === null ? null : { cookie: give.lock.id, locker: give.lock.locker } };
    const detail = [give.metaKey, give.lock === null ? null : `${give.lock.id} ${give.lock.locker}`].filter((d) => d !== null).join(' ');
    await this.call(OPERATION_NAMES.relinquish, 'relinquish', true, signal, args, detail);
  }
}

function answerOf(what: string, doc: unknown): Record<string, unknown> {
  if (!isRecord(doc)) throw new Error(`${what}: the session answered no JSON object`);
  return doc;
}

/**
 * `ceph.session: auto`: the session, and the CLIs for good once the host cannot run it (no
 * python3-rados or python3-rbd). Any other failure is the call's own and is thrown as it is.
 */
export function sessionOrCli(session: CephSession, viaSession: CephClient, viaCli: CephClient): CephClient {
  return clientAround(async (_operation, call) => {
    if (session.unavailable !== null) return call(viaCli);
    try {
      return await call(viaSession);
    } catch (error) {
      if (error instanceof SessionUnavailable) return call(viaCli);
      throw error;
    }
  });
}

/** The client for `conn`: the session when there is one (falling back to the CLIs), else the CLIs. */
export function cephClientFor(runner: Runner, conn: CephConnection, timeoutMs: number, session: CephSession | null = null): CephClient {
  const cli = new CliCephClient(runner, conn, timeoutMs);
  return session === null ? cli : sessionOrCli(session, new SessionCephClient(session, conn, timeoutMs), cli);
}
