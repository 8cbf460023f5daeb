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
