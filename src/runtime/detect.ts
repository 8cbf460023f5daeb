import { lookup } from 'node:dns/promises';
import type { Runner } from '../actions/exec.js';
import { asArray, isRecord, parseJson } from '../actions/json.js';

/** `host[:port]` / `[v6]:port` → host. */
export function monHostOnly(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const parts = hostPort.split(':');
  return parts.length === 2 ? (parts[0] ?? hostPort) : hostPort;
}

/** `ip -j route get IP` → the source address the kernel would use: `[{"dst":…,"dev":"eth0","prefsrc":"10.0.0.11"}]`. */
export function parseRouteSource(text: string): string | null {
  const first = asArray('ip -j route get', parseJson('ip -j route get', text))[0];
  return isRecord(first) && typeof first.prefsrc === 'string' ? first.prefsrc : null;
}

/** This node's Ceph client address: the source address towards the first monitor. */
export async function detectOwnAddresses(runner: Runner, monHosts: readonly string[], timeoutMs: number): Promise<string[]> {
  const out = new Set<string>();
  for (const mon of monHosts) {
    const { address } = await lookup(monHostOnly(mon));
    const r = await runner.run({ what: 'ip route get', argv: ['ip', '-j', 'route', 'get', address], timeoutMs });
    const src = parseRouteSource(r.stdout);
    if (src) out.add(src);
  }
  if (out.size === 0) throw new Error('cannot tell which address this node uses towards the Ceph monitors: set node.cephAddresses');
  return [...out];
}

/** `docker compose` (v2 plugin), then `docker-compose` (v1, ≥ 1.18), as Harbor's installer prefers them. */
export async function detectCompose(runner: Runner, timeoutMs: number): Promise<string[] | null> {
  for (const argv of [['docker', 'compose'], ['docker-compose']]) {
    try {
      await runner.run({ what: 'compose version', argv: [...argv, 'version'], timeoutMs });
      return argv;
    } catch {
      // try the next one
    }
  }
  return null;
}
