import type { Runner } from '../exec.js';
import { asArray, isRecord, parseJson } from '../json.js';

export function ipAddrArgv(iface: string): string[] {
  return ['ip', '-j', 'addr', 'show', 'dev', iface];
}

/** `ip -j addr show dev IF` → is `vip` among the interface's addresses (keepalived adds it as secondary). */
export function parseVipPresent(text: string, vip: string): boolean {
  const links = asArray('ip -j addr', parseJson('ip -j addr', text));
  return links.some((link) => isRecord(link) && Array.isArray(link.addr_info) && link.addr_info.some((a) => isRecord(a) && a.local === vip));
}

export class Vip {
  constructor(
    private readonly runner: Runner,
    private readonly iface: string,
    private readonly vip: string,
    private readonly timeoutMs: number,
  ) {}

  async present(signal?: AbortSignal): Promise<boolean> {
    const r = await this.runner.run({ what: 'ip addr show', argv: ipAddrArgv(this.iface), timeoutMs: this.timeoutMs, signal });
    return parseVipPresent(r.stdout, this.vip);
  }
}
