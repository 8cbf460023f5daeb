import { parse, YAMLParseError } from 'yaml';
import { Problem, type Field } from './fields.js';
import { fileSchema } from './schema.js';
import { clip, showKey } from './text.js';

type Resolved<S> = S extends Field<infer T> ? T : { readonly [K in keyof S]: Resolved<S[K]> };
export type FileConfig = Resolved<typeof fileSchema>;

function isField(v: unknown): v is Field<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { check?: unknown }).check === 'function';
}

/**
 * A mapping as `yaml` builds it: a plain object. `yaml` defines a `__proto__` key as an own
 * property (never as the prototype); the prototype check is the guard should that ever change.
 */
function isMapping(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function resolve(schema: unknown, input: unknown, path: string, problems: string[]): unknown {
  if (isField(schema)) {
    if (input === undefined || input === null) return schema.default;
    const value = schema.check(input);
    if (value instanceof Problem) {
      problems.push(`${path}: ${value.text}`);
      return schema.default;
    }
    return value;
  }
  const shape = schema as Record<string, unknown>;
  let given: Record<string, unknown> = {};
  if (input !== undefined && input !== null) {
    if (isMapping(input)) given = input;
    else problems.push(`${path || '(top level)'}: must be a mapping of ${Object.keys(shape).join(', ')}`);
  }
  // own keys only: `key in shape` would take __proto__, constructor, toString... for fields
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(shape, key)) problems.push(`${path ? `${path}.` : ''}${showKey(key)}: unknown field; allowed here: ${Object.keys(shape).join(', ')}`);
  }
  return Object.fromEntries(
    Object.keys(shape).map((k) => [k, resolve(shape[k], Object.hasOwn(given, k) ? given[k] : undefined, path ? `${path}.${k}` : k, problems)]),
  );
}

/** Rules between fields; each names both. */
function crossCheck(c: FileConfig, problems: string[]): void {
  if (c.harbor.probe.timeoutMs >= c.harbor.probe.intervalMs) {
    problems.push(`harbor.probe.timeoutMs: must be less than harbor.probe.intervalMs (${c.harbor.probe.intervalMs}), got ${c.harbor.probe.timeoutMs}`);
  }
  if (c.retry.backoffBaseMs > c.retry.backoffMaxMs) {
    problems.push(`retry.backoffBaseMs: must not exceed retry.backoffMaxMs (${c.retry.backoffMaxMs}), got ${c.retry.backoffBaseMs}`);
  }
  if (c.fencing.holderGraceMs >= c.fencing.cooldownMs) {
    problems.push(`fencing.holderGraceMs: must be less than fencing.cooldownMs (${c.fencing.cooldownMs}), got ${c.fencing.holderGraceMs}`);
  }
  if (c.ceph.blocklistExpirySeconds * 1000 < c.fencing.cooldownMs) {
    problems.push(`ceph.blocklistExpirySeconds: a fence must outlast fencing.cooldownMs (${c.fencing.cooldownMs} ms), got ${c.ceph.blocklistExpirySeconds} s`);
  }
  if (c.fencing.hostExpirySeconds * 1000 < c.fencing.cooldownMs) {
    problems.push(`fencing.hostExpirySeconds: a fence must outlast fencing.cooldownMs (${c.fencing.cooldownMs} ms), got ${c.fencing.hostExpirySeconds} s`);
  }
  if (c.watchdog.intervalMs >= c.watchdog.deadlineMs) {
    problems.push(`watchdog.intervalMs: must be less than watchdog.deadlineMs (${c.watchdog.deadlineMs}), got ${c.watchdog.intervalMs}`);
  }
  // paths are stored normalized (fields.ts), so these compare one spelling; `/` and system directories are already refused
  const inside = (a: string, b: string) => a === b || a.startsWith(`${b}/`);
  const overlap = (a: string, b: string) => inside(a, b) || inside(b, a);
  if (overlap(c.ceph.fuseDir, c.filesystem.mountPoint)) {
    problems.push(`ceph.fuseDir: must not be inside filesystem.mountPoint or contain it (${c.ceph.fuseDir} vs ${c.filesystem.mountPoint})`);
  }
  for (const [name, dir] of [
    ['node.stateDir', c.node.stateDir],
    ['node.runDir', c.node.runDir],
  ] as const) {
    if (overlap(c.filesystem.mountPoint, dir)) {
      problems.push(
        `filesystem.mountPoint: must not be inside ${name} or contain it: the mount would hide it or be hidden (${c.filesystem.mountPoint} vs ${dir})`,
      );
    }
  }
  if (c.keepalived.vrrpVersion === 2 && !Number.isInteger(c.keepalived.advertInt)) {
    problems.push(`keepalived.advertInt: VRRPv2 takes whole seconds, got ${c.keepalived.advertInt} (set keepalived.vrrpVersion: 3 for fractions)`);
  }
  if ((c.keepalived.unicastSrcIp === '') !== (c.keepalived.unicastPeers.length === 0)) {
    problems.push('keepalived.unicastSrcIp: unicast VRRP needs both keepalived.unicastSrcIp and keepalived.unicastPeers (or neither)');
  }
}

/** Parse and validate the YAML text; every problem names its field. */
export function parseFileConfig(text: string, source: string, problems: string[]): FileConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` line ${error.linePos[0].line}` : '';
    problems.push(`${source}${where}: not valid YAML: ${clip((error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '', 200)}`);
    doc = {};
  }
  const before = problems.length;
  const config = resolve(fileSchema, doc, '', problems) as FileConfig;
  problems.push(...problems.splice(before).map((p) => `${source}: ${p}`));
  if (problems.length === before) crossCheck(config, problems);
  return config;
}

/** The documented example file: every field, its default and what it does. */
export function exampleYaml(): string {
  const lines = [
    '# harbor-assistant configuration. Every field is optional; the value shown is the default.',
    '# The environment (/etc/harbor-assistant/.env) holds HARBOR_VERSION, HARBOR_VIP, CEPH_MON_HOST,',
    '# CEPH_USER, CEPH_USER_KEY, CEPH_POOL_NAME, CEPH_IMAGE_NAME, KEEPALIVED_ROLE and INTERFACE.',
    '# Paths are absolute and stored normalized (/data//harbor/ is /data/harbor); none may be / or a',
    '# system directory itself (/etc, /usr, /var, ...); a directory below one, such as /var/lib/harbor, is fine.',
  ];
  const walk = (schema: Record<string, unknown>, indent: string) => {
    for (const [key, value] of Object.entries(schema)) {
      if (isField(value)) {
        lines.push(`${indent}# ${value.help}`);
        lines.push(`${indent}${key}: ${JSON.stringify(value.default)}`);
      } else {
        lines.push(`${indent}${key}:`);
        walk(value as Record<string, unknown>, `${indent}  `);
      }
    }
  };
  walk(fileSchema, '');
  return `${lines.join('\n')}\n`;
}
