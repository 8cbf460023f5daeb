import { isIP } from 'node:net';
import { cleanEnv, EnvError, makeValidator } from 'envalid';
import { ConfigError } from './errors.js';
import { Secret } from './secret.js';

/** Ceph pool/image/user names: no spaces, no shell or path characters. */
const CEPH_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

const cephName = makeValidator<string>((input) => {
  if (!CEPH_NAME.test(input)) {
    throw new EnvError(`must be letters, digits, '_', '.', '-' (starting with a letter or digit, at most 128), got ${JSON.stringify(input)}`);
  }
  return input;
});

const ipAddress = makeValidator<string>((input) => {
  if (isIP(input) === 0) throw new EnvError(`must be an IPv4 or IPv6 address, got ${JSON.stringify(input)}`);
  return input;
});

/** Comma separated `host[:port]` (IPs or DNS names), as ceph's `mon host` takes them. */
const monHosts = makeValidator<string[]>((input) => {
  const hosts = input.split(',').map((h) => h.trim()).filter((h) => h.length > 0);
  if (hosts.length === 0) throw new EnvError('must list at least one monitor: host[:port],host[:port]');
  for (const h of hosts) {
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.exec(h);
    if (!m) throw new EnvError(`${JSON.stringify(h)} is not host[:port] (comma separated list expected)`);
  }
  return hosts;
});

const cephKey = makeValidator<Secret>((input) => {
  // a cephx key is base64 of 28 bytes (40 characters); never echo it
  if (!/^[A-Za-z0-9+/]{38,}={0,2}$/.test(input)) throw new EnvError('must be a cephx key (base64, as `ceph auth get-key` prints it); value not shown');
  return new Secret(input);
});

const harborVersion = makeValidator<string>((input) => {
  if (!/^v?2\.\d{1,2}\.\d{1,3}$/.test(input)) throw new EnvError(`must be a Harbor 2.x release such as v2.6.2, got ${JSON.stringify(input)}`);
  return input.startsWith('v') ? input : `v${input}`;
});

const role = makeValidator<'master' | 'backup'>((input) => {
  if (input !== 'master' && input !== 'backup') throw new EnvError(`must be master or backup, got ${JSON.stringify(input)}`);
  return input;
});

const interfaceName = makeValidator<string>((input) => {
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(input)) throw new EnvError(`must be a network interface name (1-15 of letters, digits, _ . : @ -), got ${JSON.stringify(input)}`);
  return input;
});

/** The environment variables of the original harbor-assistant, validated. */
export const envSpec = {
  HARBOR_VERSION: harborVersion({ desc: 'Harbor release, v2.x.y' }),
  HARBOR_VIP: ipAddress({ desc: 'the virtual IP keepalived moves' }),
  CEPH_MON_HOST: monHosts({ desc: 'comma separated monitor addresses' }),
  CEPH_USER: cephName({ desc: 'cephx user without the client. prefix' }),
  CEPH_USER_KEY: cephKey({ desc: 'cephx key of CEPH_USER' }),
  CEPH_POOL_NAME: cephName({ desc: 'RBD pool' }),
  CEPH_IMAGE_NAME: cephName({ desc: 'RBD image holding Harbor data' }),
  KEEPALIVED_ROLE: role({ desc: 'master or backup' }),
  INTERFACE: interfaceName({ desc: 'interface carrying the VIP' }),
};

export interface EnvConfig {
  harborVersion: string;
  vip: string;
  monHosts: string[];
  cephUser: string;
  cephKey: Secret;
  pool: string;
  image: string;
  role: 'master' | 'backup';
  interface: string;
}

export function loadEnv(source: Record<string, string | undefined>): EnvConfig {
  const problems: string[] = [];
  const env = cleanEnv(source, envSpec, {
    reporter: ({ errors }) => {
      for (const [key, error] of Object.entries(errors)) {
        if (!error) continue;
        const missing = error instanceof ReferenceError || /Missing/.test(error.message);
        const spec = envSpec[key as keyof typeof envSpec];
        problems.push(missing ? `${key}: required (${spec.desc ?? ''}) but not set` : `${key}: ${error.message}`);
      }
    },
  });
  if (problems.length > 0) throw new ConfigError(problems.sort());
  return {
    harborVersion: env.HARBOR_VERSION,
    vip: env.HARBOR_VIP,
    monHosts: env.CEPH_MON_HOST,
    cephUser: env.CEPH_USER,
    cephKey: env.CEPH_USER_KEY,
    pool: env.CEPH_POOL_NAME,
    image: env.CEPH_IMAGE_NAME,
    role: env.KEEPALIVED_ROLE,
    interface: env.INTERFACE,
  };
}

/** A systemd-style EnvironmentFile: KEY=value lines, optional quotes, # comments. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m?.[1]) continue;
    let value = m[2] ?? '';
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) value = value.slice(1, -1);
    out[m[1]] = value;
  }
  return out;
}
