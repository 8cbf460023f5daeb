import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Timing } from '../machine/timing.js';
import { loadEnv, parseEnvFile, type EnvConfig } from './env.js';
import { ConfigError } from './errors.js';
import { parseFileConfig, type FileConfig } from './file.js';

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

/** Read the YAML file and the env file (when they exist) and build the configuration. */
export function loadConfig(options: { configPath?: string; envFile?: string; env?: Record<string, string | undefined> }): Config {
  const configPath = options.configPath ?? DEFAULT_CONFIG_PATH;
  const envFile = options.envFile ?? DEFAULT_ENV_PATH;
  const fromFile = existsSync(envFile) ? parseEnvFile(readFileSync(envFile, 'utf8')) : {};
  const env = { ...fromFile, ...(options.env ?? process.env) };
  if (options.configPath !== undefined && !existsSync(configPath)) {
    throw new ConfigError([`${configPath}: configuration file not found`]);
  }
  const yaml = existsSync(configPath) ? { text: readFileSync(configPath, 'utf8'), source: configPath } : undefined;
  return buildConfig(yaml ? { env, yaml } : { env });
}
