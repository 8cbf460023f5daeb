import { createHash } from 'node:crypto';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { EngineContainer, RestartPolicy } from './docker-engine.js';

export interface ComposeService {
  name: string;
  dependsOn: string[];
  /** What the compose file asks of the daemon (`restart:`); `no` when it says nothing. */
  restart: RestartPolicy;
}

function restartPolicyOf(value: unknown): RestartPolicy {
  if (value === undefined || value === null || value === false || value === 'no') return 'no';
  if (value === 'always' || value === 'unless-stopped') return value;
  if (typeof value === 'string' && /^on-failure(:\d+)?$/.test(value)) return 'on-failure';
  throw new Error(`compose file: restart ${JSON.stringify(value)} is not a restart policy`);
}

/** The services of a compose file, with their dependencies (list or condition map) and restart policy. */
export function composeServices(text: string): ComposeService[] {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`compose file: ${doc.errors[0]?.message ?? 'not YAML'}`);
  const services = isMap(doc.contents) ? doc.contents.get('services', true) : null;
  if (!isMap(services)) throw new Error('compose file: no services mapping');
  return services.items.map((item) => {
    const name = isScalar(item.key) ? String(item.key.value) : '';
    if (name === '' || !isMap(item.value)) throw new Error(`compose file: service ${JSON.stringify(name)} is not a mapping`);
    const depends = item.value.get('depends_on', true);
    const dependsOn = isSeq(depends)
      ? depends.items.map((d) => (isScalar(d) ? String(d.value) : ''))
      : isMap(depends)
        ? depends.items.map((d) => (isScalar(d.key) ? String(d.key.value) : ''))
        : [];
    const restart: unknown = item.value.get('restart');
    return { name, dependsOn, restart: restartPolicyOf(restart) };
  });
}

/** Start order: each level depends only on the levels before it (started together, as compose does). */
export function startLevels(services: readonly ComposeService[]): string[][] {
  const names = new Set(services.map((s) => s.name));
  for (const s of services) {
    const unknown = s.dependsOn.filter((d) => !names.has(d));
    if (unknown.length > 0) throw new Error(`compose file: ${s.name} depends on ${unknown.join(', ')}, which is not a service`);
  }
  const levels: string[][] = [];
  const placed = new Set<string>();
  while (placed.size < services.length) {
    const level = services.filter((s) => !placed.has(s.name) && s.dependsOn.every((d) => placed.has(d))).map((s) => s.name);
    if (level.length === 0) throw new Error('compose file: the services depend on each other in a cycle');
    level.forEach((n) => placed.add(n));
    levels.push(level);
  }
  return levels;
}

/** What the containers on this host were created from: the compose file, the compose program and the project. */
export function composeFingerprint(composeFile: string, command: readonly string[], project: string): string {
  return createHash('sha256')
    .update(JSON.stringify([command, project, composeFile]))
    .digest('hex');
}

/**
 * The stack kept from this host's last tenure, service by service, or why it cannot be started as
 * it is (then compose up creates what is missing or changed). One container per service, made by
 * compose from the same compose file (the fingerprint recorded at that compose up).
 */
export function keptStack(
  services: readonly ComposeService[],
  containers: readonly EngineContainer[],
  fingerprint: string,
  recorded: string | null,
): { containers: Map<string, EngineContainer> } | { why: string } {
  if (recorded === null) return { why: 'no compose up recorded on this host' };
  if (recorded !== fingerprint) return { why: 'the compose file changed since its containers were created' };
  const stack = containers.filter((c) => !c.oneoff && c.service !== null);
  const byService = new Map<string, EngineContainer>();
  for (const s of services) {
    const mine = stack.filter((c) => c.service === s.name);
    if (mine.length !== 1) return { why: `${mine.length === 0 ? 'no container' : `${mine.length} containers`} for service ${s.name}` };
    byService.set(s.name, mine[0] as EngineContainer);
  }
  const strangers = stack.filter((c) => !services.some((s) => s.name === c.service));
  if (strangers.length > 0) return { why: `containers of services the compose file no longer has: ${strangers.map((c) => c.name).join(', ')}` };
  return { containers: byService };
}

/** One path is the other or lies inside it (`/d/data` and `/d/data/redis` overlap; `/d/data2` does not). */
export function pathsOverlap(a: string, b: string): boolean {
  const [x, y] = [a.replace(/\/+$/, '') || '/', b.replace(/\/+$/, '') || '/'];
  const inside = (p: string, dir: string) => p === dir || p.startsWith(dir === '/' ? '/' : `${dir}/`);
  return inside(x, y) || inside(y, x);
}

/** A container that binds one of `paths`, a directory inside one, or one holding one. */
export function bindsAny(c: { binds: readonly string[] }, paths: readonly string[]): boolean {
  return c.binds.some((b) => paths.some((p) => pathsOverlap(b, p)));
}
