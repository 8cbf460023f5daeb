import type { Holder } from '../../../domain/types.js';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, type Runner } from '../../exec.js';
import { cephClientArgs, imageSpec, type CephConnection } from '../connection.js';
import { asArray, isRecord, parseJson } from '../../json.js';
import type { CephClient } from '../client.js';
import { CliCephClient } from '../cli-client.js';
import { explainMapFailure, ownWatcherAddresses, type Mapper, type MapperKind, type UnmapOptions } from './mapper.js';

/** Where the kernel lists krbd devices: `<dir>/<id>/` belongs to `/dev/rbd<id>`. */
export const KRBD_SYSFS_DIR = '/sys/bus/rbd/devices';

type DeviceType = 'krbd' | 'nbd';

export function mapArgv(c: CephConnection, type: DeviceType, exclusive: boolean): string[] {
  return ['rbd', 'device', 'map', '-t', type, imageSpec(c), ...cephClientArgs(c), ...(exclusive ? ['-o', 'exclusive'] : [])];
}

export function deviceListArgv(type: DeviceType): string[] {
  return ['rbd', 'device', 'list', '-t', type, '--format', 'json'];
}

export function unmapArgv(type: DeviceType, device: string, force: boolean): string[] {
  return ['rbd', 'device', 'unmap', '-t', type, ...(force ? ['-o', 'force'] : []), device];
}

/**
 * `rbd device list --format json` → `[{"id":"0","pool":"rbd","namespace":"","name":"harbor","snap":"-","device":"/dev/rbd0"}]`
 * (rbd-nbd names the image `image` instead of `name`). The device of `pool/image`, or null.
 */
export function parseDeviceList(text: string, c: CephConnection): string | null {
  if (text.trim() === '') return null;
  for (const e of asArray('rbd device list', parseJson('rbd device list', text))) {
    if (!isRecord(e)) continue;
    const name = e.name ?? e.image;
    const snap = e.snap ?? '-';
    if (e.pool === c.pool && name === c.image && snap === '-' && typeof e.device === 'string') return e.device;
  }
  return null;
}

/**
 * `/sys/bus/rbd/devices/<id>/client_addr` → the kernel client instance, `10.0.0.1:0/1234567`
 * (the kernel prints `%pISpc/%u`: IPv6 comes bracketed, `[fd00::1]:0/1234567`).
 */
export function parseKrbdClientAddr(text: string): string {
  const addr = text.trim();
  if (!/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d+\/\d+$/.test(addr)) {
    throw new Error(`krbd client_addr: expected ip:port/nonce, got ${JSON.stringify(addr.slice(0, 100))}`);
  }
  return addr;
}

/** The krbd device id of `/dev/rbd<id>` (symlinks such as `/dev/rbd/POOL/IMG` resolved), or null. */
export function krbdDeviceId(device: string): string | null {
  let path = device;
  try {
    path = realpathSync(device);
  } catch {
    // not present here: judge the name as given
  }
  return /^\/dev\/rbd(\d+)$/.exec(path)?.[1] ?? null;
}

/** `krbd` (kernel client, production) and `rbd-nbd` (userspace, no rbd module needed). */
export class RbdDeviceMapper implements Mapper {
  readonly kind: MapperKind;
  private readonly type: DeviceType;

  constructor(
    kind: 'krbd' | 'rbd-nbd',
    private readonly runner: Runner,
    private readonly conn: CephConnection,
    private readonly timeoutMs: number,
    /** Decides `-o exclusive` at map time (krbd, image has exclusive-lock). */
    private readonly wantExclusive: (signal?: AbortSignal) => Promise<boolean>,
    private readonly sysfsDir: string = KRBD_SYSFS_DIR,
    /** The node's Ceph client for the watcher list (default: the rbd CLI). */
    private readonly ceph: CephClient = new CliCephClient(runner, conn, timeoutMs),
  ) {
    this.kind = kind;
    this.type = kind === 'krbd' ? 'krbd' : 'nbd';
  }

  async map(signal?: AbortSignal): Promise<string> {
    const exclusive = this.type === 'krbd' && (await this.wantExclusive(signal));
    try {
      const r = await this.runner.run({
        what: `rbd device map (${this.kind})`,
        argv: mapArgv(this.conn, this.type, exclusive),
        timeoutMs: this.timeoutMs,
        signal,
      });
      const device = r.stdout.trim().split('\n').pop() ?? '';
      if (!device.startsWith('/dev/')) throw new Error(`rbd device map printed no device: ${r.stdout.trim()}`);
      return device;
    } catch (error) {
      if (error instanceof CommandError) {
        const hint = explainMapFailure(error.stderr);
        throw error.explain(hint?.text ?? null, hint?.failureClass ?? null);
      }
      throw error;
    }
  }

  /**
   * krbd: a blocklisted client's I/O already fails (ESHUTDOWN within ~30 ms of the fence), and a
   * mounted device cannot be force-unmapped; rbd-nbd's daemon is not aborted here yet. Nothing to do.
   */
  abortDataPath(): Promise<boolean> {
    return Promise.resolve(false);
  }

  async unmap(device: string, options: UnmapOptions, signal?: AbortSignal): Promise<void> {
    await this.runner.run({ what: `rbd device unmap (${this.kind})`, argv: unmapArgv(this.type, device, options.force), timeoutMs: this.timeoutMs, signal });
  }

  async current(signal?: AbortSignal): Promise<string | null> {
    const r = await this.runner.run({ what: 'rbd device list', argv: deviceListArgv(this.type), timeoutMs: this.timeoutMs, signal });
    return parseDeviceList(r.stdout, this.conn);
  }

  /**
   * krbd: the kernel names the device's own client instance, whatever IP it picked, so no IP
   * filter is needed. rbd-nbd (and a kernel without client_addr, < 4.19) only shows as a watch.
   */
  async clients(device: string, ownIps: readonly string[], signal?: AbortSignal, watchers?: readonly Holder[]): Promise<string[]> {
    if (this.type === 'krbd') {
      const fromSysfs = this.krbdClient(device);
      if (fromSysfs !== null) return [fromSysfs];
    }
    return ownWatcherAddresses(watchers ?? (await this.ceph.watchers(signal)), ownIps);
  }

  private krbdClient(device: string): string | null {
    const id = krbdDeviceId(device);
    if (id === null) return null;
    const dir = join(this.sysfsDir, id);
    const file = join(dir, 'client_addr');
    if (!existsSync(file)) return null;
    // a stale device path must not hand us another image's client to record
    const read = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8').trim() : null);
    const pool = read('pool');
    const name = read('name');
    if ((pool !== null && pool !== this.conn.pool) || (name !== null && name !== this.conn.image)) {
      throw new Error(`${device} maps ${pool ?? '?'}/${name ?? '?'}, not ${imageSpec(this.conn)}`);
    }
    return parseKrbdClientAddr(readFileSync(file, 'utf8'));
  }
}
