import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Timing } from '../machine/timing.js';
import { loadEnv, parseEnvFile, type EnvConfig } from './env.js';
import { ConfigError } from './errors.js';
import { parseFileConfig, type FileConfig } from './file.js';
import { firstInvalidUtf8 } from './text.js';

export { ConfigError } from './errors.js';
export { Secret } from './secret.js';
export { exampleYaml, type FileConfig } from './file.js';
export type { EnvConfig } from './env.js';

export const DEFAULT_CONFIG_PATH = '/etc/harbor-assistant/harbor-assistant.yaml';
export const DEFAULT_ENV_PATH = '/etc/harbor-assistant/.env';

/** Where the service keeps its files (derived, not configured one by one). */
export interface Paths {
  keyring: string;
  cephConf: string;
  failedMarker: string;
  maintenanceMarker: string;
  statusFile: string;
  controlSocket: string;
  /** JSON lines: transitions, outside commands, takeover/release summaries (rotated by size). */
  journal: string;
}

/** The one typed, frozen configuration object everything else receives. */
export interface Config {
  readonly env: EnvConfig;
  readonly file: FileConfig;
  readonly nodeName: string;
  readonly paths: Paths;
  readonly timing: Timing;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

export function timingOf(file: FileConfig): Timing {
  return {
    timeouts: { ...file.timeouts },
    retry: { ...file.retry },
    failureBudget: file.failureBudget,
    holderGraceMs: file.fencing.holderGraceMs,
    fencedCooldownMs: file.fencing.cooldownMs,
    standDownMs: file.standDownMs,
    vipLossGraceMs: file.keepalived.vipLossGraceMs,
  };
}

export interface ConfigSources {
  /** Environment variables (process.env, merged over the env file when one is given). */
  env: Record<string, string | undefined>;
  /** YAML text and where it came from; absent file = all defaults. */
  yaml?: { text: string; source: string };
}

/** Validate everything before anything runs; throws ConfigError listing every problem. */
export function buildConfig(sources: ConfigSources): Config {
  const problems: string[] = [];
  let env: EnvConfig | null = null;
  try {
    env = loadEnv(sources.env);
  } catch (error) {
    if (error instanceof ConfigError) problems.push(...error.problems);
    else throw error;
  }
  const file = parseFileConfig(sources.yaml?.text ?? '', sources.yaml?.source ?? 'defaults', problems);
  if (problems.length > 0 || env === null) throw new ConfigError(problems);
  const stateDir = file.node.stateDir;
  const runDir = file.node.runDir;
  return deepFreeze({
    env,
    file,
    nodeName: file.node.name || hostname(),
    paths: {
      keyring: join(stateDir, `ceph.client.${env.cephUser}.keyring`),
      cephConf: join(stateDir, 'ceph.conf'),
      failedMarker: join(stateDir, 'failed'),
      maintenanceMarker: join(stateDir, 'maintenance'),
      statusFile: join(runDir, 'status.json'),
      controlSocket: join(runDir, 'control.sock'),
      journal: join(stateDir, 'journal.jsonl'),
    },
    timing: timingOf(file),
  });
}

/** Largest YAML configuration file read (the example with every field is about 8 KiB). */
export const CONFIG_FILE_LIMIT = 1024 * 1024;
/** Largest environment file read (nine variables). */
export const ENV_FILE_LIMIT = 64 * 1024;

type FileText = { text: string } | { missing: true; problem: string } | { missing: false; problem: string };

/**
 * Read a configuration file as bytes, refusing what is not one before anything is parsed: a file
 * above `limit` bytes (judged from its size, before reading; a device or pipe without a size is
 * read to one byte past the limit at most), a directory, and bytes that are not UTF-8 (never
 * replaced by U+FFFD). `label` names the file in every problem (`--env /etc/.../.env`).
 */
export function readConfigFile(path: string, label: string, limit: number, kind: string): FileText {
  const what = kind === 'configuration' ? 'a configuration file' : `an ${kind} file`;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { missing: true, problem: `${label}: ${kind} file not found` };
    return { missing: false, problem: `${label}: cannot be read (${code ?? (error as Error).message})` };
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) return { missing: false, problem: `${label}: is a directory, not a file` };
    if (stat.size > limit) return { missing: false, problem: `${label}: ${stat.size} bytes, more than the limit of ${limit} bytes for ${what}` };
    // one byte past the limit: a file that grew since fstat, or a device, is refused all the same
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > limit) return { missing: false, problem: `${label}: more than the limit of ${limit} bytes for ${what}` };
    }
    const bytes = buffer.subarray(0, length);
    try {
      return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
    } catch {
      const at = firstInvalidUtf8(bytes);
      const line = bytes.subarray(0, at).filter((b) => b === 0x0a).length + 1;
      return { missing: false, problem: `${label}: not valid UTF-8 at byte offset ${at} (line ${line}); save it as UTF-8` };
    }
  } catch (error) {
    return { missing: false, problem: `${label}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  } finally {
    closeSync(fd);
  }
}

/**
 * Read the env file and the YAML file and build the configuration. A file given with --env or
 * --config must exist; the default ones may be absent (variables from the environment, all
 * defaults). A file that cannot be used is named, and nothing else is judged: its keys would only
 * show up as "not set".
 */
export function loadConfig(options: { configPath?: string; envFile?: string; env?: Record<string, string | undefined> }): Config {
  const problems: string[] = [];
  const read = (given: string | undefined, fallback: string, flag: string, limit: number, kind: string): string | null => {
    const path = given ?? fallback;
    const got = readConfigFile(path, given === undefined ? path : `${flag} ${path}`, limit, kind);
    if ('text' in got) return got.text;
    if (!got.missing || given !== undefined) problems.push(got.problem);
    return null;
  };
  const envText = read(options.envFile, DEFAULT_ENV_PATH, '--env', ENV_FILE_LIMIT, 'environment');
  const configPath = options.configPath ?? DEFAULT_CONFIG_PATH;
  const yamlText = read(options.configPath, DEFAULT_CONFIG_PATH, '--config', CONFIG_FILE_LIMIT, 'configuration');
  if (problems.length > 0) throw new ConfigError(problems);
  const env = { ...(envText === null ? {} : parseEnvFile(envText)), ...(options.env ?? process.env) };
  return buildConfig(yamlText === null ? { env } : { env, yaml: { text: yamlText, source: configPath } });
}
