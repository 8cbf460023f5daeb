import type { Holder } from '../../domain/types.js';
import type { CephClient } from './client.js';
import { cephClientArgs, imageSpec, type CephConnection } from './connection.js';
import { asArray, isRecord, parseJson } from '../json.js';

/** Image metadata key recording that harbor-assistant formatted the image (mkfs only once, ever). */
export const FORMATTED_META_KEY = 'harbor-assistant.formatted';

export interface ImageInfo {
  name: string;
  size: number;
  features: string[];
}

export function rbdStatusArgv(c: CephConnection): string[] {
  return ['rbd', 'status', imageSpec(c), '--format', 'json', ...cephClientArgs(c)];
}

/** `rbd status --format json` → the watchers: `{"watchers":[{"address":"10.0.0.1:0/4225036114","client":4176,"cookie":…}]}`. */
export function parseRbdStatus(text: string): Holder[] {
  const doc = parseJson('rbd status', text);
  if (!isRecord(doc)) throw new Error('rbd status: expected a JSON object');
  return holdersFrom(doc.watchers ?? []);
}

/** The watcher list, from `rbd status` or the session (same fields). */
export function holdersFrom(watchers: unknown): Holder[] {
  return asArray('rbd status watchers', watchers).map((w) => {
    if (!isRecord(w) || typeof w.address !== 'string') throw new Error('rbd status: a watcher without an address');
    const h: Holder = { address: w.address };
    if (typeof w.client === 'number') h.client = w.client;
    if (typeof w.cookie === 'number') h.cookie = w.cookie;
    return h;
  });
}

export function rbdInfoArgv(c: CephConnection): string[] {
  return ['rbd', 'info', imageSpec(c), '--format', 'json', ...cephClientArgs(c)];
}

export function parseRbdInfo(text: string): ImageInfo {
  return imageInfoFrom(parseJson('rbd info', text));
}

export function imageInfoFrom(doc: unknown): ImageInfo {
  if (!isRecord(doc) || typeof doc.name !== 'string' || typeof doc.size !== 'number') {
    throw new Error('rbd info: expected {"name":…,"size":…}');
  }
  const features = asArray('rbd info features', doc.features ?? []).filter((f): f is string => typeof f === 'string');
  return { name: doc.name, size: doc.size, features };
}

export function imageMetaListArgv(c: CephConnection): string[] {
  return ['rbd', 'image-meta', 'list', imageSpec(c), '--format', 'json', ...cephClientArgs(c)];
}

export function imageMetaSetArgv(c: CephConnection, key: string, value: string): string[] {
  return ['rbd', 'image-meta', 'set', imageSpec(c), key, value, ...cephClientArgs(c)];
}

/** `rbd image-meta list --format json` → `{"key":"value",…}` (an empty image prints `{}` or nothing). */
export function parseImageMeta(text: string): Record<string, string> {
  if (text.trim() === '') return {};
  return imageMetaFrom(parseJson('rbd image-meta list', text));
}

export function imageMetaFrom(doc: unknown): Record<string, string> {
  if (!isRecord(doc)) throw new Error('rbd image-meta list: expected a JSON object');
  return Object.fromEntries(Object.entries(doc).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** The image's watchers, info and metadata, and the formatted mark. */
export class Rbd {
  constructor(private readonly ceph: CephClient) {}

  status(signal?: AbortSignal): Promise<Holder[]> {
    return this.ceph.watchers(signal);
  }

  info(signal?: AbortSignal): Promise<ImageInfo> {
    return this.ceph.info(signal);
  }

  /** Every image metadata key (the owner record, the generation, the formatted mark). */
  meta(signal?: AbortSignal): Promise<Record<string, string>> {
    return this.ceph.metaList(signal);
  }

  setMeta(key: string, value: string, signal?: AbortSignal): Promise<void> {
    return this.ceph.metaSet(key, value, signal);
  }

  async wasFormatted(signal?: AbortSignal): Promise<boolean> {
    return (await this.meta(signal))[FORMATTED_META_KEY] !== undefined;
  }

  async recordFormatted(at: Date, signal?: AbortSignal): Promise<void> {
    await this.setMeta(FORMATTED_META_KEY, at.toISOString(), signal);
  }
}
