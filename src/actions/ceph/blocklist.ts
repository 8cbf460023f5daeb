import { CommandError } from '../exec.js';
import type { CephClient } from './client.js';
import { cephClientArgs, type CephConnection } from './connection.js';
import { asArray, isRecord, parseFirstJson } from '../json.js';

/** Pacific renamed `blacklist` to `blocklist`; Nautilus only knows the old word. */
export type BlocklistVerb = 'blocklist' | 'blacklist';

export interface BlocklistEntry {
  addr: string;
  until: string;
}

export function blocklistAddArgv(c: CephConnection, verb: BlocklistVerb, addr: string, expirySeconds: number): string[] {
  return ['ceph', ...cephClientArgs(c), 'osd', verb, 'add', addr, String(expirySeconds)];
}

/** The monitor command `ceph osd blocklist add <addr> <expiry>` sends (MonCommands.h: blocklistop, addr, expire). */
export function blocklistAddCommand(verb: BlocklistVerb, addr: string, expirySeconds: number): Record<string, string | number> {
  return { prefix: `osd ${verb}`, [`${verb}op`]: 'add', addr, expire: expirySeconds };
}

/** What a monitor command printed (the session's `{out, status}`). */
export function monOutput(result: unknown): string {
  if (!isRecord(result) || typeof result.out !== 'string') throw new Error('ceph session: a monitor command answered without output');
  return result.out;
}

export function blocklistLsArgv(c: CephConnection, verb: BlocklistVerb): string[] {
  return ['ceph', ...cephClientArgs(c), 'osd', verb, 'ls', '--format', 'json'];
}

/**
 * `ceph osd blocklist ls -f json` → `[{"addr":"10.0.0.1:0/3710147553","until":"2026-11-25T13:04:05.123+0000"}]`;
 * 16.2.15 appends the ranges array right after it (`[…][]`): the entries are the first value.
 */
export function parseBlocklist(text: string): BlocklistEntry[] {
  if (text.trim() === '') return [];
  return asArray('ceph osd blocklist ls', parseFirstJson('ceph osd blocklist ls', text)).flatMap((e) =>
    isRecord(e) && typeof e.addr === 'string' ? [{ addr: e.addr, until: typeof e.until === 'string' ? e.until : '' }] : [],
  );
}

/**
 * The monitor rejects an unknown command with EINVAL (exit 22, "no valid command found"):
 * that is how a Nautilus cluster answers `blocklist`.
 */
export function isUnknownCommand(error: unknown): boolean {
  return error instanceof CommandError && (error.exitCode === 22 || /EINVAL|no valid command found|unrecognized command/i.test(error.stderr));
}

/** Fencing: the cluster's blocklist, in whichever word the cluster speaks. */
export class CephBlocklist {
  private verb: BlocklistVerb | null = null;

  constructor(private readonly ceph: CephClient) {}

  /** Which word this cluster speaks, once known. */
  get spokenVerb(): BlocklistVerb | null {
    return this.verb;
  }

  private async withVerb<T>(op: (verb: BlocklistVerb) => Promise<T>): Promise<T> {
    if (this.verb !== null) return op(this.verb);
    try {
      const out = await op('blocklist');
      this.verb = 'blocklist';
      return out;
    } catch (error) {
      if (!isUnknownCommand(error)) throw error;
      const out = await op('blacklist');
      this.verb = 'blacklist';
      return out;
    }
  }

  /** Fence one client instance (`ip:0/nonce`) for `expirySeconds`; the entry expires by itself (S6). */
  add(addr: string, expirySeconds: number, signal?: AbortSignal): Promise<void> {
    return this.withVerb((verb) => this.ceph.blocklistAdd(verb, addr, expirySeconds, signal));
  }

  ls(signal?: AbortSignal): Promise<BlocklistEntry[]> {
    return this.withVerb((verb) => this.ceph.blocklistList(verb, signal));
  }
}
