/**
 * The answers `harbor-assistant setup` takes and where each one may come from. This module loads
 * nothing heavy: the CLI imports its flag table for every command.
 */

/** setup's flags, for node:util's parseArgs. */
export const SETUP_FLAGS = {
  from: { type: 'string' },
  vip: { type: 'string' },
  'mon-host': { type: 'string' },
  'ceph-user': { type: 'string' },
  'ceph-key-file': { type: 'string' },
  // parsed only to refuse it by name (with why) instead of a generic "unknown option"
  'ceph-key': { type: 'string' },
  pool: { type: 'string' },
  image: { type: 'string' },
  role: { type: 'string' },
  interface: { type: 'string' },
  'harbor-version': { type: 'string' },
  'harbor-installer': { type: 'string' },
  'harbor-yml': { type: 'string' },
  'no-start': { type: 'boolean' },
} as const;

/** The flags that take a value. */
export type StringFlag = { [K in keyof typeof SETUP_FLAGS]: (typeof SETUP_FLAGS)[K]['type'] extends 'string' ? K : never }[keyof typeof SETUP_FLAGS];

export type SetupFlags = { [K in keyof typeof SETUP_FLAGS]?: (typeof SETUP_FLAGS)[K]['type'] extends 'boolean' ? boolean : string };

type Variable =
  'HARBOR_VERSION' | 'HARBOR_VIP' | 'CEPH_MON_HOST' | 'CEPH_USER' | 'CEPH_USER_KEY' | 'CEPH_POOL_NAME' | 'CEPH_IMAGE_NAME' | 'KEEPALIVED_ROLE' | 'INTERFACE';

/**
 * The service's environment, in the order and with the comments of config/.env.example. The key
 * has no value flag: argv is readable by every user through ps and lands in shell history.
 */
export const ENV_VARIABLES: ReadonlyArray<{ variable: Variable; flag: StringFlag; comment: string | null }> = [
  { variable: 'HARBOR_VERSION', flag: 'harbor-version', comment: 'Harbor release (any 2.x).' },
  { variable: 'HARBOR_VIP', flag: 'vip', comment: 'The virtual IP keepalived moves between the two hosts.' },
  { variable: 'CEPH_MON_HOST', flag: 'mon-host', comment: 'Ceph monitors, comma separated host[:port].' },
  { variable: 'CEPH_USER', flag: 'ceph-user', comment: 'cephx user (without "client.") and its key (`ceph auth get-key client.harbor`).' },
  { variable: 'CEPH_USER_KEY', flag: 'ceph-key-file', comment: null },
  { variable: 'CEPH_POOL_NAME', flag: 'pool', comment: "The RBD pool and the image that holds Harbor's data." },
  { variable: 'CEPH_IMAGE_NAME', flag: 'image', comment: null },
  { variable: 'KEEPALIVED_ROLE', flag: 'role', comment: 'master on the preferred host, backup on the other.' },
  { variable: 'INTERFACE', flag: 'interface', comment: 'The interface that carries the VIP.' },
];

/** Variables a --from file may hold besides the environment's: paths that go into the YAML file. */
export const PATH_VARIABLES = { HARBOR_INSTALLER: 'harbor-installer', HARBOR_YML: 'harbor-yml' } as const;

export const CEPH_KEY_ON_COMMAND_LINE =
  '--ceph-key: refused: a key on the command line is visible to every user of this host (ps, /proc/PID/cmdline) and stays in shell history; ' +
  'give --ceph-key-file PATH (the bare key, or the keyring `ceph auth get client.NAME` prints), --ceph-key-file - (read from stdin), ' +
  'or CEPH_USER_KEY in the --from file';

/**
 * The key in what `--ceph-key-file` read: a bare key (`ceph auth get-key`), or a keyring as `ceph
 * auth get client.NAME` prints it. In a keyring with sections, the one for client.`user` is taken
 * when the user is known: another user's key would only fail later, at the monitors. Problems name
 * `label` and never show the file's content.
 */
export function cephKeyFromText(text: string, user: string | undefined, label: string): { key: string } | { problem: string } {
  const keys: Array<{ section: string | null; key: string }> = [];
  let section: string | null = null;
  let sawSection = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = (header[1] ?? '').trim();
      sawSection = true;
      continue;
    }
    const m = /^key\s*=\s*(\S+)$/.exec(line);
    if (m?.[1] !== undefined) keys.push({ section, key: m[1] });
  }
  if (keys.length === 0) {
    if (sawSection) return { problem: `${label}: a keyring without a "key = " line` };
    const bare = text.trim();
    if (bare === '') return { problem: `${label}: empty; it must hold the key (\`ceph auth get-key client.NAME\`) or a keyring` };
    if (/\s/.test(bare)) return { problem: `${label}: neither a bare key nor a keyring with a "key = " line (content not shown)` };
    return { key: bare };
  }
  if (user !== undefined && sawSection) {
    const wanted = `client.${user}`;
    const mine = keys.find((k) => k.section === wanted);
    if (mine) return { key: mine.key };
    const has = [...new Set(keys.map((k) => k.section ?? '(no section)'))].join(', ');
    return { problem: `${label}: a keyring for ${has}, not for ${wanted} (CEPH_USER is ${user}); give the keyring or key of ${wanted}` };
  }
  const first = keys[0];
  if (keys.length > 1 || first === undefined) return { problem: `${label}: a keyring with ${keys.length} keys; set CEPH_USER (--ceph-user) to pick one` };
  return { key: first.key };
}

/** The .env text setup writes: the header and comments of config/.env.example, one line per variable. */
export function renderEnvFile(envPath: string, values: Readonly<Record<Variable, string>>, kept: readonly string[]): string {
  const lines = [
    `# ${envPath}: the service's environment (mode 0600: it holds the Ceph key; the service writes its`,
    '# 0600 keyring from it). Written by `harbor-assistant setup`: run it again with the answers to change',
    '# (answers not given keep their value here), or edit by hand and run `harbor-assistant validate-config`.',
  ];
  for (const { variable, comment } of ENV_VARIABLES) {
    if (comment !== null) lines.push(`# ${comment}`);
    lines.push(`${variable}=${values[variable]}`);
  }
  if (kept.length > 0) lines.push('# Not harbor-assistant variables; setup keeps them as they were.', ...kept);
  return `${lines.join('\n')}\n`;
}

export type { Variable };
