import { existsSync, readFileSync, statSync } from 'node:fs';
import { release } from 'node:os';
import type { Config } from '../config/index.js';
import { isLoopback, parseListen } from '../config/fields.js';
import { createRunner, CommandError, type Runner } from '../actions/exec.js';
import { describeMount, explainFsckFailure, isSameDevice, type Filesystem, type MountedFilesystem } from '../actions/filesystem.js';
import type { Mapper } from '../actions/mappers/mapper.js';
import { scriptSecurityProblems, validateKeepalivedConf } from '../actions/keepalived-conf.js';
import { silentLogger } from '../log/logger.js';
import { composeCommandOf, createWorld } from '../runtime/world.js';
import { detectCompose } from '../runtime/detect.js';
import { prepareStateFiles } from '../runtime/state-files.js';
import type { Io } from './operator.js';

export type Verdict = 'ok' | 'warn' | 'FAIL';

export interface Finding {
  check: string;
  verdict: Verdict;
  detail: string;
  fix: string;
}

/** `4.19.0-18-amd64` → [4, 19]. */
export function kernelVersion(r: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(r);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/** `e2fsck 1.42.9 (28-Dec-2013)` → [1, 42, 9]. */
export function e2fsckVersion(text: string): number[] | null {
  const m = /e2fsck (\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

const atLeast = (v: number[], min: number[]) => {
  for (let i = 0; i < min.length; i++) {
    const a = v[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
};

async function output(runner: Runner, argv: string[]): Promise<string> {
  try {
    const r = await runner.run({ what: argv.join(' '), argv, timeoutMs: 15_000 });
    return `${r.stdout}\n${r.stderr}`;
  } catch (e) {
    if (e instanceof CommandError && e.failure === 'exit') return `${e.stdout}\n${e.stderr}`;
    throw e;
  }
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';

/** Metrics and the viewer have no authentication: say so when they listen beyond loopback. */
export function exposureFindings(config: Config): Finding[] {
  const f = config.file;
  return [
    ['metrics endpoint', f.metrics.listen],
    ['viewer endpoint', f.viewer.listen],
  ].map(([check = '', listen = '']) => {
    if (listen === '') return { check, verdict: 'ok' as const, detail: 'off', fix: '' };
    const host = parseListen(listen)?.host ?? '';
    return isLoopback(host)
      ? { check, verdict: 'ok' as const, detail: `${listen} (loopback; reach it through an SSH tunnel)`, fix: '' }
      : { check, verdict: 'warn' as const, detail: `${listen}: reachable from the network without authentication`, fix: 'allow only your Prometheus/management hosts in the firewall, or listen on 127.0.0.1 and tunnel' };
  });
}

export const FOREIGN_MOUNT_FIX = 'unmount it yourself after checking what it is; harbor-assistant never unmounts what it did not mount';

/**
 * Something mounted at filesystem.mountPoint that is not this node's mapped image blocks a
 * takeover: the service refuses to mount over it and never unmounts it.
 */
export async function mountPointFinding(fs: Pick<Filesystem, 'mountedAt'>, mapper: Pick<Mapper, 'current'>, mountPoint: string): Promise<Finding> {
  const check = 'mount point';
  let mounted: MountedFilesystem | null;
  try {
    mounted = await fs.mountedAt();
  } catch (e) {
    return { check, verdict: 'warn', detail: `${mountPoint}: cannot read what is mounted there: ${firstLine(e)}`, fix: 'is findmnt (util-linux) installed?' };
  }
  if (mounted === null) return { check, verdict: 'ok', detail: `nothing mounted at ${mountPoint}`, fix: '' };
  let ours: string | null;
  try {
    ours = await mapper.current();
  } catch (e) {
    return { check, verdict: 'warn', detail: `${describeMount(mounted)} is mounted at ${mountPoint}; cannot tell whether it is this node's image: ${firstLine(e)}`, fix: FOREIGN_MOUNT_FIX };
  }
  if (isSameDevice(mounted.source, ours)) return { check, verdict: 'ok', detail: `${mountPoint}: this node's image (${describeMount(mounted)})`, fix: '' };
  return {
    check,
    verdict: 'FAIL',
    detail: `${describeMount(mounted)} is mounted at ${mountPoint}, not this node's mapped image (${ours ?? 'none mapped'})`,
    fix: FOREIGN_MOUNT_FIX,
  };
}

/** The original README's troubleshooting list, automated: each finding with its fix. */
export async function runDoctor(config: Config): Promise<Finding[]> {
  const runner = createRunner(silentLogger(), [config.env.cephKey.reveal()]);
  const findings: Finding[] = [];
  const add = (check: string, verdict: Verdict, detail: string, fix = '') => findings.push({ check, verdict, detail, fix });
  const mapper = config.file.ceph.mapper;

  const [maj, min] = kernelVersion(release());
  add('kernel >= 4.5', maj > 4 || (maj === 4 && min >= 5) ? 'ok' : 'FAIL', release(), 'upgrade the kernel (krbd exclusive maps need >= 4.12)');

  if (mapper === 'krbd') {
    if (existsSync('/sys/module/rbd')) add('rbd kernel module', 'ok', 'loaded');
    else {
      const loadable = await runner.run({ what: 'modprobe -n rbd', argv: ['modprobe', '-n', 'rbd'], timeoutMs: 10_000 }).then(() => true, () => false);
      add('rbd kernel module', loadable ? 'ok' : 'FAIL', loadable ? 'loadable' : 'not loaded and not loadable', 'run `modprobe rbd` on the host, or set ceph.mapper: rbd-nbd or fuse');
    }
  }
  for (const [tool, argv] of [['ceph-common (rbd)', ['rbd', '--version']], ['ceph-common (ceph)', ['ceph', '--version']]] as const) {
    try {
      add(tool, 'ok', (await output(runner, [...argv])).trim().split('\n')[0] ?? '');
    } catch (e) {
      add(tool, 'FAIL', firstLine(e), 'apt-get install ceph-common');
    }
  }
  if (mapper !== 'krbd') {
    const tool = mapper === 'fuse' ? 'rbd-fuse' : 'rbd-nbd';
    try {
      await output(runner, [tool, '--version']);
      add(tool, 'ok', 'present');
    } catch (e) {
      add(tool, 'FAIL', firstLine(e), `apt-get install ${tool}`);
    }
  }

  let keyringOk = true;
  try {
    prepareStateFiles(config);
    const st = statSync(config.paths.keyring);
    keyringOk = (st.mode & 0o077) === 0 && st.uid === 0;
    add('keyring file mode', keyringOk ? 'ok' : 'FAIL', `${config.paths.keyring} mode ${(st.mode & 0o777).toString(8)} uid ${st.uid}`, 'chmod 600, chown root');
  } catch (e) {
    add('keyring file mode', 'FAIL', firstLine(e), `make ${config.file.node.stateDir} writable by root`);
  }

  const detected = config.file.harbor.composeCommand === 'auto' ? await detectCompose(runner, 10_000) : null;
  const world = createWorld(config, runner, silentLogger(), composeCommandOf(config, detected));
  try {
    const holders = await world.rbd.status();
    add(`${config.env.cephUser} can rbd status`, 'ok', `${config.env.pool}/${config.env.image}: ${holders.length} watcher(s)`);
  } catch (e) {
    add(`${config.env.cephUser} can rbd status`, 'FAIL', firstLine(e), 'check CEPH_MON_HOST, the key, and caps: mon "profile rbd", osd "profile rbd pool=POOL"; does the image exist?');
  }
  try {
    await world.blocklist.ls();
    add('osd blocklist ls', 'ok', `cluster speaks "${world.blocklist.spokenVerb ?? '?'}"`);
  } catch (e) {
    add('osd blocklist ls', 'FAIL', firstLine(e), 'caps: mon \'profile rbd, allow command "osd blocklist", allow command "osd blocklist ls"\' (Nautilus: blacklist)');
  }
  findings.push(await mountPointFinding(world.fs, world.mapper, config.file.filesystem.mountPoint));

  try {
    await output(runner, ['docker', '--version']);
    add('docker', 'ok', 'present');
  } catch (e) {
    add('docker', 'FAIL', firstLine(e), 'install Docker Engine');
  }
  const compose = composeCommandOf(config, detected);
  try {
    await runner.run({ what: 'compose version', argv: [...compose, 'version'], timeoutMs: 15_000 });
    add('compose command', 'ok', compose.join(' '));
  } catch (e) {
    add('compose command', 'FAIL', `${compose.join(' ')}: ${firstLine(e)}`, 'install the docker compose plugin, or docker-compose >= 1.18, or set harbor.composeCommand');
  }

  try {
    const text = await output(runner, ['e2fsck', '-V']);
    const v = e2fsckVersion(text);
    const ok = v !== null && atLeast(v, [1, 43]);
    add('e2fsck supports metadata_csum', ok ? 'ok' : 'FAIL', text.trim().split('\n')[0] ?? '', explainFsckFailure('Get a newer version of e2fsck') ?? '');
  } catch (e) {
    add('e2fsck supports metadata_csum', 'FAIL', firstLine(e), 'apt-get install e2fsprogs');
  }

  if (mapper === 'krbd') {
    const seccomp = /^Seccomp:\s+(\d)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    add(
      'kernel keyring reachable',
      seccomp === '2' ? 'warn' : 'ok',
      seccomp === '2' ? 'running under a seccomp filter: "rbd: failed to add secret ... to kernel" is likely' : 'no seccomp filter',
      'run on the host, or the container with --security-opt seccomp=unconfined',
    );
  }

  try {
    await output(runner, ['keepalived', '--version']);
    const k = config.file.keepalived;
    if (!existsSync(k.confPath)) add('keepalived', 'warn', `present; ${k.confPath} not written yet`, 'harbor-assistant keepalived render');
    else {
      try {
        await validateKeepalivedConf(runner, k.confPath);
        add('keepalived', 'ok', `${k.confPath} valid`);
      } catch (e) {
        add('keepalived', 'FAIL', firstLine(e), `fix ${k.confPath} (harbor-assistant keepalived render)`);
      }
    }
    const problems = scriptSecurityProblems(k.checkScript);
    add('keepalived check script', problems.length === 0 ? 'ok' : 'FAIL', problems.join('; ') || k.checkScript, 'root-owned, mode 755, in root-owned directories not writable by others');
  } catch (e) {
    add('keepalived', 'FAIL', firstLine(e), 'apt-get install keepalived');
  }
  findings.push(...exposureFindings(config));
  return findings;
}

export function formatFindings(findings: Finding[]): string {
  const w = Math.max(...findings.map((f) => f.check.length));
  return findings
    .map((f) => `${f.verdict.padEnd(4)}  ${f.check.padEnd(w)}  ${f.detail}${f.verdict !== 'ok' && f.fix ? `\n      ${' '.repeat(w)}  fix: ${f.fix}` : ''}`)
    .join('\n')
    .concat('\n');
}

export async function doctorCommand(config: Config, json: boolean, io: Io): Promise<number> {
  const findings = await runDoctor(config);
  io.out(json ? `${JSON.stringify(findings, null, 2)}\n` : formatFindings(findings));
  const blocking = findings.filter((f) => f.verdict === 'FAIL').length;
  if (!json) io.out(blocking ? `${blocking} problem(s) block a takeover on this node\n` : 'nothing blocks a takeover on this node\n');
  return blocking ? 1 : 0;
}
