import { CommandError, type Runner } from '../exec.js';
import { cephClientArgs, imageSpec, type CephConnection } from '../ceph-connection.js';
import { asArray, isRecord, parseJson } from '../json.js';
import { explainMapFailure, type Mapper, type MapperKind, type UnmapOptions } from './mapper.js';

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
  ) {
    this.kind = kind;
    this.type = kind === 'krbd' ? 'krbd' : 'nbd';
  }

  async map(signal?: AbortSignal): Promise<string> {
    const exclusive = this.type === 'krbd' && (await this.wantExclusive(signal));
    try {
      const r = await this.runner.run({ what: `rbd device map (${this.kind})`, argv: mapArgv(this.conn, this.type, exclusive), timeoutMs: this.timeoutMs, signal });
      const device = r.stdout.trim().split('\n').pop() ?? '';
      if (!device.startsWith('/dev/')) throw new Error(`rbd device map printed no device: ${r.stdout.trim()}`);
      return device;
    } catch (error) {
      const hint = error instanceof CommandError ? explainMapFailure(error.stderr) : null;
      if (hint && error instanceof Error) error.message = `${error.message}\nhint: ${hint}`;
      throw error;
    }
  }

  async unmap(device: string, options: UnmapOptions, signal?: AbortSignal): Promise<void> {
    await this.runner.run({ what: `rbd device unmap (${this.kind})`, argv: unmapArgv(this.type, device, options.force), timeoutMs: this.timeoutMs, signal });
  }

  async current(signal?: AbortSignal): Promise<string | null> {
    const r = await this.runner.run({ what: 'rbd device list', argv: deviceListArgv(this.type), timeoutMs: this.timeoutMs, signal });
    return parseDeviceList(r.stdout, this.conn);
  }
}
