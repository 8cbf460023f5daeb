import { BlockList, isIP } from 'node:net';
import { cleanEnv, EnvError, makeValidator } from 'envalid';
import { ConfigError } from './errors.js';
import { Secret } from './secret.js';
import { show } from './text.js';

/** Ceph pool/image/user names: no spaces, no shell or path characters. */
const CEPH_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

const cephName = makeValidator<string>((input) => {
  if (!CEPH_NAME.test(input)) {
    throw new EnvError(`must be letters, digits, '_', '.', '-' (starting with a letter or digit, at most 128), got ${show(input)}`);
  }
  return input;
});

function subnets(family: 'ipv4' | 'ipv6', ...cidrs: string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [net = '', prefix = ''] = cidr.split('/');
    list.addSubnet(net, Number(prefix), family);
  }
  return (address) => list.check(address, family);
}

/**
 * Addresses that can never be the service address keepalived moves and clients connect to, with
 * why. Link-local (169.254.0.0/16, fe80::/10) is refused too: routers never forward it, so only
 * clients on the same link could reach Harbor; an IPv6 one needs a zone (`%eth0`) that a registry
 * name in docker/containerd cannot carry; and VRRPv3 sends its own adverts from the interface's
 * fe80 address. Loopback (127.0.0.0/8, ::1) is still accepted: it is useless as a VIP, but the
 * in-process service tests run with HARBOR_VIP=127.0.0.1 on lo.
 */
const LINK_LOCAL = 'a link-local address (169.254.0.0/16, fe80::/10): not routed, clients beyond the link cannot reach it';
const NOT_A_VIP: ReadonlyArray<readonly [4 | 6, (address: string) => boolean, string]> = [
  // first: BlockList also matches IPv4 rules against IPv4-mapped addresses
  [6, subnets('ipv6', '::ffff:0:0/96'), 'an IPv4-mapped IPv6 address; write the IPv4 address itself'],
  [4, subnets('ipv4', '0.0.0.0/8'), 'an unspecified ("any") address'],
  [6, subnets('ipv6', '::/128'), 'an unspecified ("any") address'],
  [4, subnets('ipv4', '224.0.0.0/4'), 'a multicast address (224.0.0.0/4, ff00::/8)'],
  [6, subnets('ipv6', 'ff00::/8'), 'a multicast address (224.0.0.0/4, ff00::/8)'],
  [4, subnets('ipv4', '255.255.255.255/32'), 'the broadcast address'],
  [4, subnets('ipv4', '169.254.0.0/16'), LINK_LOCAL],
  [6, subnets('ipv6', 'fe80::/10'), LINK_LOCAL],
];

const ipAddress = makeValidator<string>((input) => {
  const family = isIP(input);
  if (family === 0) throw new EnvError(`must be an IPv4 or IPv6 address, got ${show(input)}`);
  const allowed = `must be a unicast address this host can serve on, got ${show(input)}`;
  const [address = '', zone] = input.split('%');
  for (const [f, inRange, what] of NOT_A_VIP) if (f === family && inRange(address)) throw new EnvError(`${allowed}: ${what}`);
  if (zone !== undefined) throw new EnvError(`${allowed}: a zone (%${zone}) is for link-local addresses only; write the address without it`);
  return input;
});

/** Comma separated `host[:port]` (IPs or DNS names), as ceph's `mon host` takes them. */
const monHosts = makeValidator<string[]>((input) => {
  const hosts = input
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h.length > 0);
  if (hosts.length === 0) throw new EnvError('must list at least one monitor: host[:port],host[:port]');
  for (const h of hosts) {
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(h);
    if (!m) throw new EnvError(`${show(h)} is not host[:port] (comma separated list expected)`);
    const port = m[2] === undefined ? null : Number(m[2]);
    if (port !== null && (port < 1 || port > 65535)) throw new EnvError(`monitor ${show(h)}: the port must be from 1 to 65535`);
  }
  return hosts;
});

const cephKey = makeValidator<Secret>((input) => {
  // a cephx key is base64 of 28 bytes (40 characters); never echo it
  if (!/^[A-Za-z0-9+/]{38,}={0,2}$/.test(input)) throw new EnvError('must be a cephx key (base64, as `ceph auth get-key` prints it); value not shown');
  return new Secret(input);
});

const harborVersion = makeValidator<string>((input) => {
  if (!/^v?2\.\d{1,2}\.\d{1,3}$/.test(input)) throw new EnvError(`must be a Harbor 2.x release such as v2.6.2, got ${show(input)}`);
  return input.startsWith('v') ? input : `v${input}`;
});

const role = makeValidator<'master' | 'backup'>((input) => {
  if (input !== 'master' && input !== 'backup') throw new EnvError(`must be master or backup, got ${show(input)}`);
  return input;
});

/**
 * A Linux interface name as the kernel takes it (dev_valid_name: 1-15 bytes, not `.` or `..`, no
 * `/`, `:` or whitespace), narrowed to characters that need no quoting in keepalived.conf or argv.
 * `:` is refused: `eth0:1` is an address label, never an interface keepalived or `ip` can use.
 */
const interfaceName = makeValidator<string>((input) => {
  if (!/^[A-Za-z0-9_.@-]{1,15}$/.test(input) || input === '.' || input === '..') {
    throw new EnvError(`must be a network interface name (1-15 of letters, digits, _ . @ -; not . or ..), got ${show(input)}`);
  }
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
    // defined, not assigned: a `__proto__=` line is an own key like any other, never the prototype
    Object.defineProperty(out, m[1], { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
