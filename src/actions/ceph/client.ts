import type { Holder, ImageLock } from '../../domain/types.js';
import type { BlocklistEntry, BlocklistVerb } from './blocklist.js';
import type { ImageInfo } from './rbd.js';

/**
 * Every Ceph operation this project makes, one method each, on the configured image (or, for the
 * blocklist, the cluster). Two implementations: the long-lived librados helper
 * (session-client.ts) and the rbd/ceph CLIs (cli-client.ts). The world picks one from
 * `ceph.session`; callers never choose. A failure is a CommandError naming the operation the way
 * the CLI is named (`rbd lock add`); its exit code is the errno in both, since the CLIs exit with
 * it too, so one set of predicates (isBusy, isMissing, isBlocklisted) reads either.
 */
/** The watchers, the locks and the metadata of the image, read together. */
export interface ImageLook {
  watchers: Holder[];
  locks: ImageLock[];
  meta: Record<string, string>;
}

/** A takeover's write: break `breakLock` (already gone is fine), take lock `id`, then write `meta`. */
export interface ImageClaim {
  id: string;
  breakLock: ImageLock | null;
  meta: readonly (readonly [key: string, value: string])[];
}

/** Taken, or refused with the locks as they are after the refusal (nothing was written). */
export type ImageClaimAnswer = { taken: true } | { taken: false; locks: ImageLock[] };

/** A release's give-back: remove metadata `metaKey` and lock `lock` (each already gone is fine). */
export interface ImageRelinquish {
  metaKey: string | null;
  lock: ImageLock | null;
}

export interface CephClient {
  watchers(signal?: AbortSignal): Promise<Holder[]>;
  info(signal?: AbortSignal): Promise<ImageInfo>;
  metaList(signal?: AbortSignal): Promise<Record<string, string>>;
  metaSet(key: string, value: string, signal?: AbortSignal): Promise<void>;
  metaRemove(key: string, signal?: AbortSignal): Promise<void>;
  locks(signal?: AbortSignal): Promise<ImageLock[]>;
  lockAdd(id: string, signal?: AbortSignal): Promise<void>;
  lockRemove(id: string, locker: string, signal?: AbortSignal): Promise<void>;
  blocklistAdd(verb: BlocklistVerb, addr: string, expirySeconds: number, signal?: AbortSignal): Promise<void>;
  blocklistList(verb: BlocklistVerb, signal?: AbortSignal): Promise<BlocklistEntry[]>;
  /** Compound operations: one open of the image on the session (each open is several round trips), their parts on the CLIs. */
  look(signal?: AbortSignal): Promise<ImageLook>;
  claim(claim: ImageClaim, signal?: AbortSignal): Promise<ImageClaimAnswer>;
  relinquish(give: ImageRelinquish, signal?: AbortSignal): Promise<void>;
}

export type CephOperation = keyof CephClient;

/** Each operation's name in logs, errors and metrics: the CLI command that does it. */
export const OPERATION_NAMES: Readonly<Record<CephOperation, string>> = {
  watchers: 'rbd status',
  info: 'rbd info',
  metaList: 'rbd image-meta list',
  metaSet: 'rbd image-meta set',
  metaRemove: 'rbd image-meta remove',
  locks: 'rbd lock ls',
  lockAdd: 'rbd lock add',
  lockRemove: 'rbd lock rm',
  blocklistAdd: 'ceph osd blocklist add',
  blocklistList: 'ceph osd blocklist ls',
  look: 'rbd status + lock ls + image-meta list',
  claim: 'rbd lock rm + lock add + image-meta set',
  relinquish: 'rbd image-meta remove + lock rm',
};

const OPERATIONS = Object.keys(OPERATION_NAMES) as CephOperation[];

type AnyOperation = (...args: unknown[]) => Promise<unknown>;

/**
 * A client whose every operation goes through `around`, which runs `call` on a client of its
 * choosing (or not at all): how the session-or-CLI choice and the fail-fast guard wrap a client
 * without writing each operation again.
 */
export function clientAround(around: <T>(operation: CephOperation, call: (client: CephClient) => Promise<T>) => Promise<T>): CephClient {
  const client: Partial<Record<CephOperation, AnyOperation>> = {};
  for (const operation of OPERATIONS) {
    client[operation] = (...args: unknown[]) => around(operation, (c) => (c[operation] as AnyOperation)(...args));
  }
  return client as CephClient;
}
