/** A node seen from outside right now: its VIP, its mount point, its containers, its loopback HTTP. */

import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { docker } from './docker-stack.js';
import { run } from './exec.js';
import { HARBOR_PROJECT, inNodeMounts, LAB, MOUNT_POINT, type NodeName } from './topology.js';

/** Is the VIP on the node's interface right now? */
export function vipOn(n: NodeName): boolean {
  const out = run(['ip', '-n', `${LAB.prefix}-${n}`, '-j', 'addr', 'show', 'dev', 'eth0']);
  return out.includes(`"${LAB.vip}"`);
}

/** What is mounted at the node's mount point (top of the stack), or null: as the node sees it. */
export function mountSource(n: NodeName): string | null {
  const [nsenter = 'nsenter', ...argv] = inNodeMounts(n, ['findmnt', '-J', '-M', MOUNT_POINT]);
  const r = spawnSync(nsenter, argv, { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const fs = (JSON.parse(r.stdout) as { filesystems?: Array<{ source: string }> }).filesystems ?? [];
  return fs.at(-1)?.source ?? null;
}

/**
 * The bare mount-point directory's entries (null while the node has something mounted there) and
 * its immutable flag. Seen from the host, where nothing is mounted on it: the directory itself.
 */
export function bareMountPoint(n: NodeName): { entries: string[] | null; immutable: boolean } {
  const attrs = spawnSync('lsattr', ['-d', MOUNT_POINT], { encoding: 'utf8' }).stdout.split(/\s+/)[0] ?? '';
  return { entries: mountSource(n) === null ? readdirSync(MOUNT_POINT) : null, immutable: attrs.includes('i') };
}

/** Every container of the Harbor compose project on the node: name, state, restart policy, last start error. */
export function harborContainers(n: NodeName): Array<{ name: string; state: string; restartPolicy: string; error: string }> {
  const ids = docker(n, ['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${HARBOR_PROJECT}`])
    .split('\n')
    .filter(Boolean);
  if (ids.length === 0) return [];
  const inspected = JSON.parse(docker(n, ['inspect', ...ids])) as Array<{
    Name: string;
    State: { Status: string; Error: string };
    HostConfig: { RestartPolicy: { Name: string } };
  }>;
  return inspected.map((c) => ({
    name: c.Name.replace(/^\//, ''),
    state: c.State.Status,
    restartPolicy: c.HostConfig.RestartPolicy.Name,
    error: c.State.Error,
  }));
}

/** GET a URL from inside a node's network namespace (its metrics and viewer listen on its loopback). */
export function httpGet(n: NodeName, url: string): string {
  const script =
    'fetch(process.argv[1]).then(async (r) => { process.stdout.write(await r.text()); process.exitCode = r.ok ? 0 : 1; }, (e) => { console.error(String(e)); process.exitCode = 2; })';
  const r = spawnSync('nsenter', [`--net=/run/netns/${LAB.prefix}-${n}`, '--', process.execPath, '-e', script, url], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`GET ${url} on ${n}: ${r.stderr || `status ${String(r.status)}`}`);
  return r.stdout;
}

/**
 * Poll the node's Harbor health (nginx on its loopback) every `intervalMs` from inside its
 * namespace until it answers healthy or `timeoutMs` passes: resolves to the epoch ms of the
 * first healthy answer, or null. For the health lag: that moment against the engine's serving.
 */
export function firstHealthy(n: NodeName, intervalMs: number, timeoutMs: number): Promise<number | null> {
  const script = `const end = Date.now() + ${timeoutMs};
const poll = async () => {
  for (;;) {
    if (Date.now() > end) return null;
    try {
      const r = await fetch('http://127.0.0.1:80/api/v2.0/health', { signal: AbortSignal.timeout(1000) });
      const b = await r.json();
      if (b.status === 'healthy') return Date.now();
    } catch {}
    await new Promise((res) => setTimeout(res, ${intervalMs}));
  }
};
poll().then((t) => process.stdout.write(String(t)));`;
  return new Promise((resolveFirst) => {
    const child = spawn('nsenter', [`--net=/run/netns/${LAB.prefix}-${n}`, '--', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', () => {
      const t = Number(out.trim());
      resolveFirst(Number.isFinite(t) && t > 0 ? t : null);
    });
  });
}
