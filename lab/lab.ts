import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { controlRequest } from '../src/cli/control-client.js';
import { DEB_PREFIX } from '../src/install/layout.js';
import type { ControlRequest, ControlResponse } from '../src/runtime/control-protocol.js';
import type { NodeStatus } from '../src/runtime/status.js';
import { isRunning } from '../src/actions/processes.js';
import { parseJournal, type JournalEntry } from '../src/observe/journal.js';
import { defaultDebPath } from '../scripts/package/build.js';
import { layoutDigest, makeOciImage } from './oci.js';

/** The two-node lab on one machine: real Ceph, real keepalived, the real registry, real skopeo. */
export const LAB = {
  root: '/run/halab',
  prefix: 'halab',
  subnet: '10.213.77',
  vip: '10.213.77.100',
  pool: 'harbor',
  image: 'harbor_data',
  user: 'harbor',
} as const;

export type NodeName = 'a' | 'b';
const NODES: Record<NodeName, { ip: string; role: 'master' | 'backup' }> = {
  a: { ip: `${LAB.subnet}.11`, role: 'master' },
  b: { ip: `${LAB.subnet}.12`, role: 'backup' },
};

const repo = resolve(new URL('..', import.meta.url).pathname);
const labDir = join(repo, 'lab');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LabOptions {
  advertInt: number;
  /** Engine timing overrides (YAML lines). */
  extraYaml?: string[];
  /** filesystem.mountOptions of both engines (default: the engine's own, noatime and dirsync). */
  mountOptions?: string[];
  /** filesystem.synchronousDirs of both engines (default: the engine's own, data/redis). */
  synchronousDirs?: string[];
  log?: (line: string) => void;
  /** Runs after Ceph and the node directories exist, before any engine starts. */
  beforeEngines?: (lab: Lab) => void;
  /** Drop VRRP on this node before keepalived starts: both nodes become MASTER at once. */
  vrrpCutAtStart?: NodeName;
  /** The .deb both nodes run (default: HALAB_DEB, else this tree's `npm run package` output, built when missing). */
  deb?: string;
}

/**
 * Harbor in the lab: one dockerd per node in its namespace running the Harbor-shaped compose stack
 * of lab/docker (registry, PostgreSQL, Redis, core, nginx), driven by the engine's real compose path.
 */
const dockerDir = join(labDir, 'docker');
/** harbor.projectName in the engines' configuration (its default): compose labels containers with it. */
const HARBOR_PROJECT = 'harbor';
const dockerState = (n: NodeName) => join(LAB.root, n, 'docker');
const dockerSocket = (n: NodeName) => join(dockerState(n), 'sock', 'docker.sock');
/** Where clients push and pull: nginx on the VIP's port 80, as with Harbor. */
const REGISTRY_AT = `${LAB.vip}:80`;

/** The package the lab installs on its nodes: HALAB_DEB, else this tree's, built when missing. */
export function labDeb(): string {
  const given = process.env.HALAB_DEB;
  if (given) {
    if (!existsSync(given)) throw new Error(`HALAB_DEB=${given}: no such file`);
    return given;
  }
  const deb = defaultDebPath();
  if (!existsSync(deb)) run([process.execPath, '--import', 'tsx', join(repo, 'scripts', 'package.ts')], { timeoutMs: 600_000 });
  return deb;
}

/** A client's POST of a Harbor project through the VIP, from the client namespace (curl prints the HTTP code). */
export function createProjectArgv(name: string): string[] {
  return [
    'nsenter',
    `--net=/run/netns/${LAB.prefix}-client`,
    '--',
    'curl',
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '--max-time',
    '5',
    '-H',
    'Content-Type: application/json',
    '--data-binary',
    JSON.stringify({ project_name: name }),
    `http://${LAB.vip}/api/v2.0/projects`,
  ];
}

/** The row is committed only when Harbor answered 201. */
export const createProjectCommitted = (exitCode: number | null, stdout: string): boolean => exitCode === 0 && stdout.trim() === '201';

/** Where Ceph's mon and OSD listen (one address): what a storage partition cuts. */
export const CEPH_IP = `${LAB.subnet}.10`;

function run(argv: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): string {
  const [cmd, ...args] = argv;
  return execFileSync(cmd ?? '', args, {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    input: opts.input,
    env: opts.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

function tryRun(argv: string[], timeoutMs = 20_000): boolean {
  const [cmd, ...args] = argv;
  return spawnSync(cmd ?? '', args, { stdio: 'ignore', timeout: timeoutMs }).status === 0;
}

const inNs = (ns: string, argv: string[]) => ['nsenter', `--net=/run/netns/${LAB.prefix}-${ns}`, '--', ...argv];

async function killPid(pid: number, graceMs = 3_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!isRunning(pid)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  for (const end = Date.now() + graceMs; Date.now() < end && isRunning(pid);) await sleep(25);
  if (isRunning(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

function readPid(file: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 1 ? pid : null;
}

export class Lab {
  private readonly pids = { engine: new Map<NodeName, number>(), keepalived: new Map<NodeName, number>() };
  private imageSeq = 0;
  readonly pushed: Array<{ ref: string; digest: string }> = [];

  constructor(private readonly options: LabOptions) {}

  private log(line: string): void {
    this.options.log?.(line);
  }

  nodeDir(n: NodeName): string {
    return join(LAB.root, n);
  }

  configPath(n: NodeName): string {
    return join(this.nodeDir(n), 'harbor-assistant.yaml');
  }

  envPath(n: NodeName): string {
    return join(this.nodeDir(n), 'env');
  }

  engineLog(n: NodeName): string {
    return join(this.nodeDir(n), 'engine.log');
  }

  /** Everything from nothing: packages are the test script's job; this builds the network, Ceph and both nodes. */
  /**
   * Only the lab's network and Ceph, for tests of the Ceph client itself (`Lab.cleanLeftovers()`
   * takes them away). A node's client runs inside `nodeNamespace`; the user's key is in `keyFile`.
   */
  static async cephOnly(): Promise<{ confPath: string; keyFile: string; adminKeyring: string; nodeNamespace: string; nodeIp: string }> {
    await Lab.cleanLeftovers();
    mkdirSync(LAB.root, { recursive: true, mode: 0o755 });
    run([join(labDir, 'net.sh'), 'up']);
    run([join(labDir, 'ceph.sh'), 'up', join(LAB.root, 'ceph'), CEPH_IP, LAB.pool, LAB.image, '64', LAB.user], { timeoutMs: 180_000 });
    const dir = join(LAB.root, 'ceph');
    return {
      confPath: join(dir, 'ceph.conf'),
      keyFile: join(dir, `client.${LAB.user}.key`),
      adminKeyring: join(dir, 'client.admin.keyring'),
      nodeNamespace: `/run/netns/${LAB.prefix}-a`,
      nodeIp: NODES.a.ip,
    };
  }

  async up(): Promise<void> {
    await Lab.cleanLeftovers();
    mkdirSync(LAB.root, { recursive: true, mode: 0o755 });
    const t0 = Date.now();
    run([join(labDir, 'net.sh'), 'up']);
    run([join(labDir, 'ceph.sh'), 'up', join(LAB.root, 'ceph'), `${LAB.subnet}.10`, LAB.pool, LAB.image, '1024', LAB.user], { timeoutMs: 180_000 });
    this.log(`ceph up in ${Date.now() - t0} ms`);
    // the lab's "offline installer": a local tgz shaped like Harbor's
    run(['tar', '-czf', join(LAB.root, 'harbor-offline-installer-lab.tgz'), '-C', join(labDir, 'installer'), 'harbor']);
    writeFileSync(join(LAB.root, 'policy.json'), '{"default":[{"type":"insecureAcceptAnything"}]}');
    // each node runs the installed package: the .deb unpacked into its own root
    const deb = this.options.deb ?? labDeb();
    for (const n of ['a', 'b'] as const) {
      this.installPackage(n, deb);
      this.writeNodeConfig(n);
    }
    this.startDockers();
    this.options.beforeEngines?.(this);
    for (const n of ['a', 'b'] as const) await this.startEngine(n);
    for (const n of ['a', 'b'] as const) this.renderKeepalived(n);
    if (this.options.vrrpCutAtStart) this.cutVrrp(this.options.vrrpCutAtStart);
    for (const n of ['a', 'b'] as const) this.startKeepalived(n);
    this.log(`lab up in ${Date.now() - t0} ms`);
  }

  /** One dockerd per node in its namespace, with the stack's images (built once per machine). */
  private startDockers(): void {
    const t0 = Date.now();
    run([join(dockerDir, 'install.sh')], { timeoutMs: 600_000 });
    run([join(dockerDir, 'build-images.sh')], { timeoutMs: 1_800_000 });
    for (const n of ['a', 'b'] as const) {
      run([join(dockerDir, 'dockerd.sh'), 'start', n, `${LAB.prefix}-${n}`, dockerState(n)], { timeoutMs: 60_000 });
      run([join(dockerDir, 'load-images.sh'), dockerSocket(n)], { timeoutMs: 600_000 });
    }
    this.log(`dockerd a and b up with images in ${Date.now() - t0} ms`);
  }

  private writeNodeConfig(n: NodeName): void {
    const d = this.nodeDir(n);
    for (const sub of ['state', 'run', 'mnt', 'fuse', 'keepalived']) mkdirSync(join(d, sub), { recursive: true });
    const key = readFileSync(join(LAB.root, 'ceph', `client.${LAB.user}.key`), 'utf8').trim();
    writeFileSync(
      this.envPath(n),
      [
        'HARBOR_VERSION=v2.11.0',
        `HARBOR_VIP=${LAB.vip}`,
        `CEPH_MON_HOST=${LAB.subnet}.10`,
        `CEPH_USER=${LAB.user}`,
        `CEPH_USER_KEY=${key}`,
        `CEPH_POOL_NAME=${LAB.pool}`,
        `CEPH_IMAGE_NAME=${LAB.image}`,
        `KEEPALIVED_ROLE=${NODES[n].role}`,
        'INTERFACE=eth0',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const yaml = [
      'node:',
      `  name: ${n}`,
      `  stateDir: ${d}/state`,
      `  runDir: ${d}/run`,
      `  cephAddresses: [${NODES[n].ip}]`,
      'ceph:',
      '  mapper: fuse',
      `  fuseDir: ${d}/fuse`,
      '  blocklistExpirySeconds: 900',
      '  commandTimeoutMs: 10000',
      'filesystem:',
      `  mountPoint: ${d}/mnt`,
      '  fsck: auto',
      ...(this.options.mountOptions ? [`  mountOptions: [${this.options.mountOptions.join(', ')}]`] : []),
      ...(this.options.synchronousDirs ? [`  synchronousDirs: [${this.options.synchronousDirs.join(', ')}]`] : []),
      'harbor:',
      // the engine's own detection (docker compose, then docker-compose) against this node's dockerd
      '  composeCommand: auto',
      `  projectDir: ${d}/mnt/installer`,
      `  harborYml: ${join(labDir, 'harbor.yml')}`,
      `  installerTgz: ${join(LAB.root, 'harbor-offline-installer-lab.tgz')}`,
      '  healthUrl: http://127.0.0.1:80/api/v2.0/health',
      '  probe: { intervalMs: 500, timeoutMs: 400, rise: 1, fall: 3 }',
      'keepalived:',
      '  vrrpVersion: 3',
      `  advertInt: ${this.options.advertInt}`,
      `  checkScript: ${this.checkScriptPath(n)}`,
      '  checkIntervalSeconds: 1',
      '  checkFall: 2',
      '  checkRise: 1',
      '  garpRefreshSeconds: 1',
      `  fitnessFile: ${d}/run/fitness`,
      `  confPath: ${d}/keepalived.conf`,
      `  fifoPath: ${d}/run/keepalived.fifo`,
      `  pidDir: ${d}/keepalived`,
      '  vipPollMs: 1000',
      'timeouts: { readWorld: 15000, readHolders: 10000, fence: 15000, verifyFence: 40000, map: 30000, composeUp: 30000, healthy: 30000, composeDown: 20000, unmount: 15000, unmap: 20000 }',
      'retry: { maxAttempts: 3, backoffBaseMs: 500, backoffMaxMs: 4000 }',
      'fencing: { holderGraceMs: 2000, cooldownMs: 60000 }',
      'standDownMs: 10000',
      ...(this.options.extraYaml ?? []),
      '',
    ].join('\n');
    writeFileSync(this.configPath(n), yaml);
  }

  /** The node's root: a link to the unpacked package it runs (swapped by an upgrade, as dpkg renames files into place). */
  packageRoot(n: NodeName): string {
    return join(this.nodeDir(n), 'root');
  }

  /**
   * Install `deb` on node `n` the way dpkg leaves it on a host: unpacked into a root of its own
   * (nodeDir/pkg/<deb>), then the node's `root` link moved onto it in one rename, so a running
   * service keeps the files it started from. Writes the node's track_script (keepalived's
   * script security: root-owned, nobody else can write it) for the installed program.
   */
  installPackage(n: NodeName, deb: string): void {
    const into = join(this.nodeDir(n), 'pkg', basename(deb, '.deb'));
    rmSync(into, { recursive: true, force: true });
    mkdirSync(into, { recursive: true, mode: 0o755 });
    run(['dpkg-deb', '-x', deb, into], { timeoutMs: 120_000 });
    const link = this.packageRoot(n);
    const next = `${link}.next`;
    rmSync(next, { force: true });
    symlinkSync(into, next);
    renameSync(next, link);
    mkdirSync(join(LAB.root, 'bin'), { recursive: true, mode: 0o755 });
    const check = this.checkScriptPath(n);
    writeFileSync(check, `#!/bin/sh\nexec ${this.installed(n, 'runtime/node')} ${this.installed(n, 'app/main.mjs')} "$@"\n`);
    chmodSync(check, 0o755);
  }

  private checkScriptPath(n: NodeName): string {
    return join(LAB.root, 'bin', `harbor-assistant-check-${n}`);
  }

  /** A path of the installed package's tree on node `n`. */
  private installed(n: NodeName, relativePath: string): string {
    return join(this.packageRoot(n), DEB_PREFIX, relativePath);
  }

  /** The version of the package node `n` has installed (its PACKAGE file). */
  installedVersion(n: NodeName): string {
    const parsed = JSON.parse(readFileSync(this.installed(n, 'PACKAGE'), 'utf8')) as { version?: unknown };
    if (typeof parsed.version !== 'string') throw new Error(`node ${n}: PACKAGE without a version`);
    return parsed.version;
  }

  /**
   * The service's command line as the installed systemd unit starts it (its ExecStart, with the
   * package's paths inside the node's root): the lab runs what operators install. Other
   * commands run the installed program on the bundled runtime.
   */
  private engineArgv(n: NodeName, ...args: string[]): string[] {
    const options = ['--config', this.configPath(n), '--env', this.envPath(n)];
    if (args[0] !== 'run') return [this.installed(n, 'runtime/node'), this.installed(n, 'app/main.mjs'), ...args, ...options];
    const unit = readFileSync(join(this.packageRoot(n), 'lib', 'systemd', 'system', 'harbor-assistant.service'), 'utf8');
    const execStart = /^ExecStart=(.+)$/m.exec(unit)?.[1];
    if (!execStart) throw new Error(`node ${n}: the installed unit has no ExecStart`);
    const argv = execStart
      .trim()
      .split(/\s+/)
      .map((word) => (word.startsWith(`${DEB_PREFIX}/`) ? join(this.packageRoot(n), word) : word));
    return [...argv, ...args.slice(1), ...options];
  }

  /**
   * Upgrade node `n` to `deb` the way the package's postinst does on a host: the new files in
   * place, then a restart of the running service (SIGTERM detaches, everything held stays held;
   * the new version reconciles). keepalived is not restarted.
   */
  async upgradeNode(n: NodeName, deb: string): Promise<void> {
    this.installPackage(n, deb);
    await this.stopEngine(n, false);
    await this.startEngine(n);
  }

  async startEngine(n: NodeName): Promise<void> {
    const out = openSync(this.engineLog(n), 'a');
    const child = spawn('nsenter', [`--net=/run/netns/${LAB.prefix}-${n}`, '--', ...this.engineArgv(n, 'run')], {
      stdio: ['ignore', out, out],
      detached: true,
      env: { ...process.env, DOCKER_HOST: `unix://${dockerSocket(n)}` },
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`engine ${n} did not start`);
    this.pids.engine.set(n, child.pid);
    writeFileSync(join(this.nodeDir(n), 'engine.pid'), `${child.pid}\n`);
    for (const end = Date.now() + 20_000; Date.now() < end; await sleep(50)) {
      const s = await this.status(n).catch(() => null);
      if (s && !s.state.startsWith('booting')) return;
      if (!isRunning(child.pid)) throw new Error(`engine ${n} exited: ${readFileSync(this.engineLog(n), 'utf8').slice(-2000)}`);
    }
    throw new Error(`engine ${n} did not finish booting`);
  }

  private renderKeepalived(n: NodeName): void {
    run(inNs(n, this.engineArgv(n, 'keepalived', 'render')));
  }

  startKeepalived(n: NodeName): void {
    const d = this.nodeDir(n);
    const out = openSync(join(d, 'keepalived.log'), 'a');
    const argv = [
      'keepalived',
      '-f',
      `${d}/keepalived.conf`,
      '-p',
      `${d}/keepalived/keepalived.pid`,
      '-r',
      `${d}/keepalived/vrrp.pid`,
      '-c',
      `${d}/keepalived/checkers.pid`,
      '-b',
      `${d}/keepalived/bfd.pid`,
      '--vrrp',
      '--dont-fork',
      '--log-console',
    ];
    const child = spawn('nsenter', [`--net=/run/netns/${LAB.prefix}-${n}`, '--', ...argv], { stdio: ['ignore', out, out], detached: true });
    child.unref();
    if (child.pid === undefined) throw new Error(`keepalived ${n} did not start`);
    this.pids.keepalived.set(n, child.pid);
    writeFileSync(join(d, 'keepalived.pid'), `${child.pid}\n`);
  }

  async request(n: NodeName, request: ControlRequest): Promise<ControlResponse> {
    return controlRequest(join(this.nodeDir(n), 'run', 'control.sock'), request, 3_000);
  }

  async status(n: NodeName): Promise<NodeStatus> {
    const r = await this.request(n, { cmd: 'status' });
    if (!r.ok || !('status' in r)) throw new Error(`status of ${n}: ${r.ok ? 'unexpected' : r.error}`);
    return r.status;
  }

  /** States of both nodes; a node whose engine is down shows as `down`. */
  async states(): Promise<Record<NodeName, string>> {
    const get = async (n: NodeName) => (await this.status(n).catch(() => null))?.state ?? 'down';
    return { a: await get('a'), b: await get('b') };
  }

  async waitFor(what: string, pred: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
    const started = Date.now();
    while (Date.now() - started < timeoutMs) {
      if (await pred()) return Date.now() - started;
      await sleep(100);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; states ${JSON.stringify(await this.states())}`);
  }

  /** Exactly one node serving, the other not holding anything active. */
  async servingNode(): Promise<NodeName | null> {
    const s = await this.states();
    const serving = (['a', 'b'] as const).filter((n) => s[n].startsWith('active.serving'));
    return serving.length === 1 ? (serving[0] ?? null) : null;
  }

  async waitOneServing(timeoutMs = 60_000): Promise<NodeName> {
    // set inside the predicate: the cast keeps TypeScript from narrowing it to null for good
    let node = null as NodeName | null;
    await this.waitFor('exactly one node serving', async () => (node = await this.servingNode()) !== null, timeoutMs);
    return node ?? 'a';
  }

  private skopeo(args: string[], timeoutMs = 30_000): { ok: boolean; out: string } {
    const r = spawnSync('nsenter', [`--net=/run/netns/${LAB.prefix}-client`, '--', 'skopeo', '--policy', join(LAB.root, 'policy.json'), ...args], {
      encoding: 'utf8',
      timeout: timeoutMs,
    });
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
  }

  /** Push a fresh image through the VIP; recorded only when the registry acknowledged it. */
  push(): { ok: boolean; ref: string; out: string } {
    const tag = `t${++this.imageSeq}`;
    const dir = join(LAB.root, 'images', tag);
    const { digest } = makeOciImage(dir, tag);
    const ref = `${REGISTRY_AT}/lab/app:${tag}`;
    const r = this.skopeo(['copy', '--retry-times', '0', '--dest-tls-verify=false', `oci:${dir}:${tag}`, `docker://${ref}`]);
    if (r.ok) this.pushed.push({ ref, digest });
    return { ok: r.ok, ref, out: r.out };
  }

  /**
   * Push one image of `mb` MiB (one incompressible layer) through the VIP: seconds and MB/s, or
   * null when the registry did not acknowledge it. The image is not added to `pushed`.
   */
  pushLarge(mb: number): { seconds: number; mbPerSecond: number } | null {
    const tag = `big${++this.imageSeq}`;
    const dir = join(LAB.root, 'images', tag);
    makeOciImage(dir, tag, mb * 1024 * 1024);
    const t0 = process.hrtime.bigint();
    const r = this.skopeo(['copy', '--retry-times', '0', '--dest-tls-verify=false', `oci:${dir}:${tag}`, `docker://${REGISTRY_AT}/lab/big:${tag}`], 600_000);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    rmSync(dir, { recursive: true, force: true });
    if (!r.ok) throw new Error(`push of ${mb} MiB failed: ${r.out.slice(-400)}`);
    return { seconds: Math.round(seconds * 100) / 100, mbPerSecond: Math.round((mb / seconds) * 10) / 10 };
  }

  /** The PID of the node's engine as the lab started it (null when stopped). */
  enginePid(n: NodeName): number | null {
    return this.pids.engine.get(n) ?? null;
  }

  /**
   * Poll the node's Harbor health (nginx on its loopback) every `intervalMs` from inside its
   * namespace until it answers healthy or `timeoutMs` passes: resolves to the epoch ms of the
   * first healthy answer, or null. For the health lag: that moment against the engine's serving.
   */
  firstHealthy(n: NodeName, intervalMs: number, timeoutMs: number): Promise<number | null> {
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

  /** Pull through the VIP; the manifest digest it got, or null. */
  private lastPullOutput = '';

  pull(ref: string): string | null {
    const tag = ref.split(':').pop() ?? 'x';
    const dir = join(LAB.root, 'pulled', `${tag}-${Date.now()}`);
    mkdirSync(join(LAB.root, 'pulled'), { recursive: true });
    const r = this.skopeo(['copy', '--retry-times', '0', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}:${tag}`]);
    this.lastPullOutput = r.out;
    const digest = r.ok ? layoutDigest(dir, tag) : null;
    rmSync(dir, { recursive: true, force: true });
    return digest;
  }

  /**
   * Clients that keep pulling through the VIP while the lab does something else: a process in the
   * client namespace pulls `ref` back to back (a fresh copy each time, 200 ms apart) and records
   * each attempt's start, end and result. `stop()` ends it and returns the attempts (epoch ms).
   */
  startPullLoop(ref: string): { stop: () => Promise<Array<{ start: number; end: number; ok: boolean }>> } {
    const dir = join(LAB.root, 'pull-loop');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const log = join(dir, 'attempts.log');
    // the ref and paths are positional parameters, never spliced into the script
    const script = [
      'while :; do',
      '  start=$(date +%s%3N)',
      '  rm -rf "$3/img"',
      '  if skopeo --policy "$2" copy --retry-times 0 --src-tls-verify=false "docker://$1" "oci:$3/img:x" >/dev/null 2>&1; then r=ok; else r=fail; fi',
      '  echo "$start $(date +%s%3N) $r" >> "$4"',
      '  sleep 0.2',
      'done',
    ].join('\n');
    const child = spawn(
      'nsenter',
      [`--net=/run/netns/${LAB.prefix}-client`, '--', 'sh', '-c', script, 'pull-loop', ref, join(LAB.root, 'policy.json'), dir, log],
      {
        stdio: 'ignore',
        detached: true,
      },
    );
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error('the pull loop did not start');
    writeFileSync(join(dir, 'pid'), `${pid}\n`);
    return {
      stop: async () => {
        // the loop's shell and the skopeo it runs: the process group the lab started
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // gone
        }
        await sleep(100);
        const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
        return text
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => {
            const [start = '0', end = '0', result = 'fail'] = l.split(' ');
            return { start: Number(start), end: Number(end), ok: result === 'ok' };
          });
      },
    };
  }

  /** Pull every acknowledged image back; the refs that are missing or changed. */
  lostImages(): string[] {
    return this.pushed.filter((p) => this.pull(p.ref) !== p.digest).map((p) => p.ref);
  }

  /** The pull attempts of the last `waitPullable`: how long each took and what it said. */
  pullAttempts: Array<{ ms: number; ok: boolean; out: string }> = [];

  /** Poll pulls of a known image until one succeeds: the recovery time seen by a client. */
  async waitPullable(timeoutMs: number): Promise<number> {
    const probe = this.pushed[0];
    if (!probe) throw new Error('nothing pushed yet');
    this.pullAttempts = [];
    return this.waitFor(
      'a pull through the VIP',
      () => {
        const t = Date.now();
        const digest = this.pull(probe.ref);
        const ok = digest === probe.digest;
        this.pullAttempts.push({ ms: Date.now() - t, ok, out: ok ? '' : this.lastPullOutput.slice(-160) });
        return ok;
      },
      timeoutMs,
    );
  }

  // --- faults -----------------------------------------------------------------------------

  /** SIGKILL the engine and keepalived (its VRRP child too): the node's Harbor keeps running. */
  crashNode(n: NodeName): void {
    const d = this.nodeDir(n);
    const pids = [this.pids.engine.get(n), readPid(`${d}/keepalived/vrrp.pid`), readPid(`${d}/keepalived/keepalived.pid`), this.pids.keepalived.get(n)];
    for (const pid of pids) {
      if (pid && isRunning(pid)) process.kill(pid, 'SIGKILL');
    }
    this.pids.engine.delete(n);
    this.pids.keepalived.delete(n);
  }

  /** Bring a crashed node back: its engine, then its keepalived (the config is already rendered). */
  async restartNode(n: NodeName): Promise<void> {
    await this.startEngine(n);
    this.startKeepalived(n);
  }

  /** A process that keeps a file open (and its cwd) on the node's mount: a busy umount. */
  holdMount(n: NodeName): number {
    const mp = join(this.nodeDir(n), 'mnt');
    const child = spawn('sh', ['-c', 'exec 3<installer/harbor.yml; exec sleep 600'], { cwd: mp, stdio: 'ignore', detached: true });
    child.unref();
    if (child.pid === undefined) throw new Error('holder did not start');
    writeFileSync(join(this.nodeDir(n), 'holder.pid'), `${child.pid}\n`);
    return child.pid;
  }

  /** Is the VIP on the node's interface right now? */
  vipOn(n: NodeName): boolean {
    const out = run(['ip', '-n', `${LAB.prefix}-${n}`, '-j', 'addr', 'show', 'dev', 'eth0']);
    return out.includes(`"${LAB.vip}"`);
  }

  isRunning(pid: number): boolean {
    return isRunning(pid);
  }

  /** Split brain: drop VRRP (IP protocol 112) in and out of one node; the link stays up. */
  cutVrrp(n: NodeName): void {
    const nft = (...args: string[]) => run(inNs(n, ['nft', ...args]));
    nft('add', 'table', 'inet', 'halab');
    nft('add', 'chain', 'inet', 'halab', 'in', '{ type filter hook input priority 0 ; }');
    nft('add', 'chain', 'inet', 'halab', 'out', '{ type filter hook output priority 0 ; }');
    nft('add', 'rule', 'inet', 'halab', 'in', 'ip', 'protocol', '112', 'drop');
    nft('add', 'rule', 'inet', 'halab', 'out', 'ip', 'protocol', '112', 'drop');
  }

  healVrrp(n: NodeName): void {
    run(inNs(n, ['nft', 'delete', 'table', 'inet', 'halab']));
  }

  /** Storage partition: drop everything to and from Ceph's address in one node; VRRP and clients untouched. */
  cutCeph(n: NodeName): void {
    const nft = (...args: string[]) => run(inNs(n, ['nft', ...args]));
    nft('add', 'table', 'inet', 'halabceph');
    nft('add', 'chain', 'inet', 'halabceph', 'in', '{ type filter hook input priority 0 ; }');
    nft('add', 'chain', 'inet', 'halabceph', 'out', '{ type filter hook output priority 0 ; }');
    nft('add', 'rule', 'inet', 'halabceph', 'in', 'ip', 'saddr', CEPH_IP, 'drop');
    nft('add', 'rule', 'inet', 'halabceph', 'out', 'ip', 'daddr', CEPH_IP, 'drop');
  }

  healCeph(n: NodeName): void {
    run(inNs(n, ['nft', 'delete', 'table', 'inet', 'halabceph']));
  }

  /** Every process in the node's network namespace: its engine, keepalived, rbd-fuse, Harbor, writer. */
  nodePids(n: NodeName): number[] {
    const ns = statSync(`/run/netns/${LAB.prefix}-${n}`).ino;
    return readdirSync('/proc').flatMap((e) => {
      const pid = Number(e);
      if (!Number.isInteger(pid) || pid === process.pid) return [];
      try {
        return statSync(`/proc/${pid}/ns/net`).ino === ns ? [pid] : [];
      } catch {
        return [];
      }
    });
  }

  /** Freeze the whole node (a paused VM): every process of its namespace gets SIGSTOP. */
  pauseNode(n: NodeName): number[] {
    const pids = this.nodePids(n);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGSTOP');
      } catch {
        // gone
      }
    }
    writeFileSync(join(this.nodeDir(n), 'paused.pids'), pids.join('\n'));
    return pids;
  }

  resumeNode(n: NodeName, pids: number[]): void {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
    }
    rmSync(join(this.nodeDir(n), 'paused.pids'), { force: true });
  }

  /**
   * A writer on the node's mount: appends `HAWRITE <ms since epoch>` every 200 ms (synchronous
   * mount: each line is on Ceph or the write is stuck). Any such line found in the image that is
   * newer than the other node's map is a write from two hosts.
   */
  startWriter(n: NodeName): number {
    const mp = join(this.nodeDir(n), 'mnt');
    const script = `while :; do echo "HAWRITE $(date +%s%3N)" >> ${mp}/lab-writer.log; sleep 0.2; done`;
    const child = spawn('nsenter', [`--net=/run/netns/${LAB.prefix}-${n}`, '--', 'sh', '-c', script], { stdio: 'ignore', detached: true });
    child.unref();
    if (child.pid === undefined) throw new Error('writer did not start');
    // nsenter execs sh: the pid is the loop's, its group holds the date/echo children
    writeFileSync(join(this.nodeDir(n), 'writer.pid'), `${child.pid}\n`);
    return child.pid;
  }

  /**
   * Somebody else's filesystem at the node's mount point (an operator's leftover, another
   * service): a 32 MiB ext4 on a loop device, with a process holding it open.
   */
  mountForeign(n: NodeName): { device: string; holderPid: number } {
    const img = join(LAB.root, `foreign-${n}.img`);
    run(['truncate', '-s', '32M', img]);
    run(['mkfs.ext4', '-q', '-F', img]);
    const device = run(['losetup', '-f', '--show', img]).trim();
    const mp = join(this.nodeDir(n), 'mnt');
    run(['mount', device, mp]);
    writeFileSync(join(mp, 'not-harbor.txt'), 'an operator put this here\n');
    const child = spawn('sh', ['-c', 'exec 3<not-harbor.txt; exec sleep 600'], { cwd: mp, stdio: 'ignore', detached: true });
    child.unref();
    if (child.pid === undefined) throw new Error('foreign holder did not start');
    writeFileSync(join(this.nodeDir(n), 'foreign-holder.pid'), `${child.pid}\n`);
    return { device, holderPid: child.pid };
  }

  /** What is mounted at the node's mount point (top of the stack), or null. */
  mountSource(n: NodeName): string | null {
    const r = spawnSync('findmnt', ['-J', '-M', join(this.nodeDir(n), 'mnt')], { encoding: 'utf8' });
    if (r.status !== 0) return null;
    const fs = (JSON.parse(r.stdout) as { filesystems?: Array<{ source: string }> }).filesystems ?? [];
    return fs.at(-1)?.source ?? null;
  }

  /**
   * Stop the writer once its node is out of the game: a later legitimate takeover by that node
   * would mount the image under it again, and its lines would then be rightful writes.
   */
  /**
   * Kill the node's writer. Resolves true when it ended; false when it is still stuck in
   * uninterruptible I/O after 150 s. Only call it for a node whose client the peer fenced before
   * it mapped: a stuck write of a blocklisted client cannot land, so the image check after it
   * (late writes) stays sound either way.
   */
  async stopWriter(n: NodeName): Promise<boolean> {
    const file = join(this.nodeDir(n), 'writer.pid');
    const pid = readPid(file);
    if (pid === null) return true;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // its group is gone
    }
    await killPid(pid, 0, 'SIGKILL');
    // a write stuck in uninterruptible I/O ends (EIO, blocklisted) only once the path is back
    // (on the Docker stack the node's containers are stuck on the same device meanwhile: give it time)
    const deadline = Date.now() + 150_000;
    while (isRunning(pid) && Date.now() < deadline) await sleep(500);
    if (isRunning(pid)) {
      // a SIGKILLed process in D state dies when its write returns; the pid file stays for cleanup
      process.stderr.write(`the writer on ${n} (pid ${String(pid)}) is still stuck in uninterruptible I/O after 150 s\n`);
      return false;
    }
    rmSync(file, { force: true });
    return true;
  }

  /** When the node's engine first entered mapping after `since` (ms epoch), from its log. */
  mappedAt(n: NodeName, since: number): number | null {
    return this.transitions(n, since).find((t) => t.to.startsWith('active.mounting.mapping'))?.at ?? null;
  }

  /** Every HAWRITE timestamp anywhere in the image (data blocks included), read through a fresh read-only map. */
  async writerStamps(): Promise<number[]> {
    return this.withImageReadOnly((loop) => {
      const r = spawnSync('grep', ['-a', '-o', 'HAWRITE [0-9]\\{13\\}', loop], { encoding: 'latin1', timeout: 300_000, maxBuffer: 256 * 1024 * 1024 });
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- @types/node says string, but stdout is null when grep could not be started
      return (r.stdout ?? '').split('\n').flatMap((l) => {
        const m = /^HAWRITE (\d{13})$/.exec(l.trim());
        return m?.[1] ? [Number(m[1])] : [];
      });
    });
  }

  /**
   * Run `fn` on a fresh read-only view of the image from node a's namespace (the lab's own
   * rbd-fuse + a read-only loop). Only when no node holds the image.
   */
  async withImageReadOnly<T>(fn: (loop: string) => T): Promise<T> {
    const d = join(LAB.root, 'fsck');
    mkdirSync(join(d, 'fuse'), { recursive: true });
    const a = this.nodeDir('a');
    const fuse = spawn(
      'nsenter',
      [`--net=/run/netns/${LAB.prefix}-a`, '--', 'rbd-fuse', '-c', `${a}/state/ceph.conf`, '-p', LAB.pool, '-r', LAB.image, '-f', join(d, 'fuse')],
      {
        stdio: 'ignore',
        detached: true,
        env: { ...process.env, CEPH_ARGS: `--id ${LAB.user} --keyring ${a}/state/ceph.client.${LAB.user}.keyring` },
      },
    );
    fuse.unref();
    writeFileSync(join(d, 'fuse.pid'), `${String(fuse.pid)}\n`);
    let loop = '';
    try {
      await this.waitFor('the read-only rbd-fuse', () => existsSync(join(d, 'fuse', LAB.image)), 20_000);
      loop = run(['losetup', '-r', '-f', '--show', join(d, 'fuse', LAB.image)]).trim();
      return fn(loop);
    } finally {
      if (loop) tryRun(['losetup', '-d', loop]);
      tryRun(['fusermount', '-u', join(d, 'fuse')]);
      if (fuse.pid) await killPid(fuse.pid, 5_000);
      tryRun(['umount', '-l', join(d, 'fuse')]);
    }
  }

  /** `e2fsck -n -f` of the image (only when no node holds it): its exit code and output. */
  async fsckImage(): Promise<{ code: number; out: string }> {
    return this.withImageReadOnly((loop) => {
      const r = spawnSync('e2fsck', ['-n', '-f', loop], { encoding: 'utf8', timeout: 120_000 });
      return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
    });
  }

  // --- the Docker stack ----------------------------------------------------------------------

  private docker(n: NodeName, args: string[], timeoutMs = 30_000): string {
    return run(['/usr/bin/docker', '-H', `unix://${dockerSocket(n)}`, ...args], { timeoutMs });
  }

  /** Every container of the Harbor compose project on the node: name, state, restart policy, last start error. */
  harborContainers(n: NodeName): Array<{ name: string; state: string; restartPolicy: string; error: string }> {
    const ids = this.docker(n, ['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${HARBOR_PROJECT}`])
      .split('\n')
      .filter(Boolean);
    if (ids.length === 0) return [];
    const inspected = JSON.parse(this.docker(n, ['inspect', ...ids])) as Array<{
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

  /**
   * The node's host goes down hard while the other serves, as far as its storage and Docker are
   * concerned: its daemon stops with its containers still defined (restart: always brings them
   * back at the next daemon start), its filesystem, loop device and rbd-fuse are gone.
   */
  async hostRebootsStorageAndDocker(n: NodeName): Promise<void> {
    const d = this.nodeDir(n);
    run([join(dockerDir, 'dockerd.sh'), 'stop', n, `${LAB.prefix}-${n}`, dockerState(n), '--keep-containers'], { timeoutMs: 120_000 });
    tryRun(['umount', '-l', join(d, 'mnt')]);
    Lab.detachLabLoops((file) => file.startsWith(`${d}/fuse/`));
    const fusePid = readPid(`${d}/state/rbd-fuse.pid`);
    if (fusePid) await killPid(fusePid, 2_000);
    tryRun(['umount', '-l', join(d, 'fuse')]);
  }

  /** Overwrite Harbor's compose file on the node's mounted image with something compose refuses. */
  damageComposeFile(n: NodeName): void {
    writeFileSync(join(this.nodeDir(n), 'mnt', 'installer', 'docker-compose.yml'), 'services: [this is not: a compose file\n');
  }

  startDockerd(n: NodeName): void {
    run([join(dockerDir, 'dockerd.sh'), 'start', n, `${LAB.prefix}-${n}`, dockerState(n)], { timeoutMs: 60_000 });
  }

  /** The bare mount-point directory's entries (null while something is mounted there) and its immutable flag. */
  bareMountPoint(n: NodeName): { entries: string[] | null; immutable: boolean } {
    const mp = join(this.nodeDir(n), 'mnt');
    const attrs = spawnSync('lsattr', ['-d', mp], { encoding: 'utf8' }).stdout.split(/\s+/)[0] ?? '';
    return { entries: this.mountSource(n) === null ? readdirSync(mp) : null, immutable: attrs.includes('i') };
  }

  /** POST a project through the VIP (nginx, core, PostgreSQL): true only when Harbor answered 201, i.e. the row is committed. */
  createProject(name: string): boolean {
    const [cmd = '', ...args] = createProjectArgv(name);
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
    return createProjectCommitted(r.status, r.stdout);
  }

  /** Every project name Harbor has, read through the VIP. */
  projectNames(): string[] {
    const r = spawnSync(
      'nsenter',
      [`--net=/run/netns/${LAB.prefix}-client`, '--', 'curl', '-sS', '-f', '--max-time', '10', `http://${LAB.vip}/api/v2.0/projects`],
      {
        encoding: 'utf8',
        timeout: 15_000,
      },
    );
    if (r.status !== 0) throw new Error(`GET /api/v2.0/projects through the VIP: ${r.stderr.trim() || `exit ${String(r.status)}`}`);
    return (JSON.parse(r.stdout) as Array<{ name: string }>).map((p) => p.name);
  }

  /** compose up and down as the engines ran them since `since` (ms epoch), from both journals: ms each. */
  composeTimes(since: number): { up: number[]; down: number[] } {
    const times = { up: [] as number[], down: [] as number[] };
    for (const n of ['a', 'b'] as const) {
      for (const e of this.journal(n)) {
        if (e.kind !== 'command' || !e.ok || Date.parse(e.at) < since) continue;
        if (e.what === 'compose up') times.up.push(e.durationMs);
        if (e.what === 'compose down') times.down.push(e.durationMs);
      }
    }
    return times;
  }

  /** Stop the registry behind the node's Harbor (Harbor unhealthy). */
  stopRegistry(n: NodeName): void {
    this.docker(n, ['stop', 'registry']);
  }

  async stopEngine(n: NodeName, release: boolean): Promise<void> {
    const pid = this.pids.engine.get(n);
    if (release) await this.request(n, { cmd: 'shutdown', release: true }).catch(() => undefined);
    else if (pid) process.kill(pid, 'SIGTERM');
    if (pid) {
      for (const end = Date.now() + 60_000; Date.now() < end && isRunning(pid);) await sleep(50);
      await killPid(pid, 0);
    }
    this.pids.engine.delete(n);
  }

  async stopKeepalived(n: NodeName): Promise<void> {
    const pid = this.pids.keepalived.get(n);
    if (pid) await killPid(pid, 5_000);
    this.pids.keepalived.delete(n);
  }

  /** What the node's keepalived has logged (its state changes, its track_script's verdicts). */
  keepalivedLog(n: NodeName): string {
    const path = join(this.nodeDir(n), 'keepalived.log');
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  /** A node's journal (transitions, commands, takeover/release summaries). */
  journal(n: NodeName): JournalEntry[] {
    const path = join(this.nodeDir(n), 'state', 'journal.jsonl');
    return existsSync(path) ? parseJournal(readFileSync(path, 'utf8')) : [];
  }

  /** GET a URL from inside a node's network namespace (its metrics and viewer listen on its loopback). */
  httpGet(n: NodeName, url: string): string {
    const script =
      'fetch(process.argv[1]).then(async (r) => { process.stdout.write(await r.text()); process.exitCode = r.ok ? 0 : 1; }, (e) => { console.error(String(e)); process.exitCode = 2; })';
    const r = spawnSync('nsenter', [`--net=/run/netns/${LAB.prefix}-${n}`, '--', process.execPath, '-e', script, url], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`GET ${url} on ${n}: ${r.stderr || `status ${String(r.status)}`}`);
    return r.stdout;
  }

  /** The fence operations a node's engine ran (from its own log). */
  fenceCount(n: NodeName): number {
    if (!existsSync(this.engineLog(n))) return 0;
    return readFileSync(this.engineLog(n), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"what":"ceph osd blocklist add"') || l.includes('"what":"ceph osd blacklist add"')).length;
  }

  /** Transitions a node's engine logged after `since` (ms epoch). */
  transitions(n: NodeName, since: number): Array<{ at: number; to: string; from: string }> {
    if (!existsSync(this.engineLog(n))) return [];
    return readFileSync(this.engineLog(n), 'utf8')
      .split('\n')
      .flatMap((l) => {
        try {
          const j = JSON.parse(l) as { message?: string; at?: string; to?: string; from?: string };
          return j.message === 'transition' && j.at && j.to ? [{ at: Date.parse(j.at), to: j.to, from: j.from ?? '' }] : [];
        } catch {
          return [];
        }
      })
      .filter((t) => t.at >= since);
  }

  /** Per-phase durations of the takeover a node logged after `since`. */
  phases(n: NodeName, since: number): Record<string, number> {
    const ts = this.transitions(n, since);
    const first = (prefix: string) => ts.find((t) => t.to.startsWith(prefix))?.at;
    const marks: Array<[string, string]> = [
      ['detect', 'active.acquiring-rbd'],
      ['fence', 'active.fencing'],
      ['map', 'active.mounting.mapping'],
      ['probe', 'active.mounting.probing'],
      ['fsck', 'active.mounting.checking'],
      ['mount', 'active.mounting.mounting-fs'],
      ['composeUp', 'active.starting.composing'],
      ['healthy', 'active.starting.waiting-healthy'],
      ['serving', 'active.serving'],
    ];
    const out: Record<string, number> = {};
    const detectAt = first('active.acquiring-rbd');
    if (detectAt !== undefined) out.detect = detectAt - since;
    for (let i = 1; i < marks.length - 1; i++) {
      const [name, prefix] = marks[i] ?? ['', ''];
      const start = first(prefix);
      const next = marks
        .slice(i + 1)
        .map(([, p]) => first(p))
        .find((t) => t !== undefined && start !== undefined && t >= start);
      if (start !== undefined && next !== undefined) out[name] = next - start;
    }
    return out;
  }

  async down(): Promise<void> {
    for (const n of ['a', 'b'] as const) await this.stopKeepalived(n);
    for (const n of ['a', 'b'] as const) {
      const pid = this.pids.engine.get(n);
      if (pid) await killPid(pid, 5_000);
    }
    await Lab.cleanLeftovers();
  }

  static detachLabLoops(ours: (backFile: string) => boolean): void {
    const loops = spawnSync('losetup', ['-J', '-l'], { encoding: 'utf8' }).stdout;
    try {
      for (const l of (JSON.parse(loops || '{"loopdevices":[]}') as { loopdevices: Array<{ name: string; 'back-file': string | null }> }).loopdevices) {
        if (l['back-file'] && ours(l['back-file'].replace(/ \(deleted\)$/, ''))) tryRun(['losetup', '-d', l.name]);
      }
    } catch {
      // no loops
    }
  }

  /** Remove everything a lab (this one or a crashed earlier run) left: processes by recorded PID, mounts, loops, namespaces. */
  static async cleanLeftovers(): Promise<void> {
    // a client pull loop left by a failed scenario: its process group
    const loopPid = readPid(join(LAB.root, 'pull-loop', 'pid'));
    if (loopPid && isRunning(loopPid)) {
      try {
        process.kill(-loopPid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const n of ['a', 'b'] as const) {
      const d = join(LAB.root, n);
      // a frozen node first: SIGCONT, or nothing below can stop it
      if (existsSync(`${d}/paused.pids`)) {
        for (const pid of readFileSync(`${d}/paused.pids`, 'utf8')
          .split('\n')
          .map(Number)
          .filter((p) => Number.isInteger(p) && p > 1)) {
          try {
            process.kill(pid, 'SIGCONT');
          } catch {
            // gone
          }
        }
      }
      for (const f of [
        `${d}/keepalived.pid`,
        `${d}/keepalived/keepalived.pid`,
        `${d}/keepalived/vrrp.pid`,
        `${d}/engine.pid`,
        `${d}/holder.pid`,
        `${d}/writer.pid`,
        `${d}/foreign-holder.pid`,
      ]) {
        const pid = readPid(f);
        if (pid) await killPid(pid, 2_000);
      }
      // containers bind-mount the image's filesystem: they and their daemon go before any umount
      if (existsSync(join(d, 'docker'))) tryRun([join(dockerDir, 'dockerd.sh'), 'stop', n, `${LAB.prefix}-${n}`, join(d, 'docker')], 120_000);
      // stacked mounts (a foreign filesystem over ours): unmount until nothing is left
      for (let i = 0; i < 3 && existsSync(`${d}/mnt`); i++) {
        if (!tryRun(['umount', `${d}/mnt`]) && !tryRun(['umount', '-l', `${d}/mnt`])) break;
      }
      Lab.detachLabLoops((file) => file.startsWith(`${d}/fuse/`));
      const fusePid = readPid(`${d}/state/rbd-fuse.pid`) ?? readPid(`${LAB.root}/fsck/fuse.pid`);
      if (fusePid) await killPid(fusePid, 2_000);
      if (existsSync(`${d}/fuse`)) tryRun(['umount', '-l', `${d}/fuse`]);
    }
    // a loop whose fuse dir was detached lazily shows its file as `/harbor_data`: sweep those too
    Lab.detachLabLoops((file) => file === `/${LAB.image}` || file.startsWith(`${LAB.root}/`));
    if (existsSync(join(LAB.root, 'ceph'))) tryRun([join(labDir, 'ceph.sh'), 'down', join(LAB.root, 'ceph')], 30_000);
    tryRun([join(labDir, 'net.sh'), 'down']);
    // the engine keeps a bare mount point immutable (its restart-always guard; tmpfs has the flag too)
    for (const n of ['a', 'b'] as const) if (existsSync(join(LAB.root, n, 'mnt'))) tryRun(['chattr', '-i', join(LAB.root, n, 'mnt')]);
    rmSync(LAB.root, { recursive: true, force: true });
  }
}
