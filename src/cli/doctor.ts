import { existsSync, readFileSync, statSync } from 'node:fs';
import { release } from 'node:os';
import type { Config } from '../config/index.js';
import { isLoopback, parseListen } from '../config/fields.js';
import { SESSION_PYTHON } from '../actions/ceph/session.js';
import { createRunner, CommandError, type Runner } from '../actions/exec.js';
import { describeMount, explainFsckFailure, isSameDevice, type Filesystem, type MountedFilesystem } from '../actions/host/filesystem.js';
import type { Mapper } from '../actions/ceph/mappers/mapper.js';
import { scriptSecurityProblems, validateKeepalivedConf } from '../actions/keepalived/conf.js';
import { silentLogger } from '../log/logger.js';
import { composeCommandOf, createWorld } from '../runtime/world.js';
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

/**
 * Doctor gives every outside command at most this long (the service's own timeouts are longer): a
 * report that takes half a minute because a monitor does not answer is not one operators wait for.
 */
export const DOCTOR_COMMAND_TIMEOUT_MS = 5_000;

/**
 * Doctor's view of the runner: every command capped at `capMs`, and `rbd`/`ceph` told to give up
 * hunting for a monitor a second or two before that (`client_mount_timeout`), so that an unreachable
 * monitor is reported by the tool itself ("monclient(hunting): authenticate timed out") rather than
 * by a kill — a kill then means the monitors answered and something behind them did not.
 */
export function doctorRunner(inner: Runner, capMs: number, mountTimeoutS: number): Runner {
  const run: Runner['run'] = (spec) => {
    const ceph = spec.argv[0] === 'rbd' || spec.argv[0] === 'ceph';
    const cephArgs = [process.env.CEPH_ARGS ?? '', spec.env?.CEPH_ARGS ?? '', `--client_mount_timeout=${mountTimeoutS}`].filter((a) => a !== '').join(' ');
    return inner.run({
      ...spec,
      timeoutMs: Math.min(spec.timeoutMs, capMs),
      ...(ceph ? { env: { ...spec.env, CEPH_ARGS: cephArgs } } : {}),
    });
  };
  // everything else (settled, inFlight, abandoned, …) is the inner runner's, whatever the interface grows
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'run') return run;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** What a command printed, whatever its exit code (`--version` output); a missing program throws. */
async function output(runner: Runner, argv: string[]): Promise<string> {
  try {
    const r = await runner.run({ what: argv.join(' '), argv, timeoutMs: DOCTOR_COMMAND_TIMEOUT_MS });
    return `${r.stdout}\n${r.stderr}`;
  } catch (e) {
    // the runner goes through a shell: 127/126 are "command not found"/"not executable", not the tool's answer
    if (e instanceof CommandError && e.failure === 'exit' && e.exitCode !== 127 && e.exitCode !== 126) return `${e.stdout}\n${e.stderr}`;
    throw e;
  }
}

/** `10.0.0.1:6789, 10.0.0.2 (ports 3300 and 6789)`: what ceph.conf's `mon host` makes the client dial. */
export function describeMonitors(monHosts: readonly string[]): string {
  return monHosts.map((h) => (/^(\[[^\]]+\]|[^:]+):\d+$/.test(h) ? h : `${h} (ports 3300 and 6789)`)).join(', ');
}

export const CEPH_UNREACHABLE_FIX =
  'check the network path and firewall from this host to every monitor: TCP 3300 (msgr2) and 6789 (msgr1) must be open; is CEPH_MON_HOST right?';
export const CEPH_AUTH_FIX =
  'authentication failed: check CEPH_USER/CEPH_USER_KEY (`ceph auth get-key client.USER` on the cluster; a user without any mon caps is refused the same way)';

/**
 * What a Ceph tool said, without the log prefix (`2026-11-26T13:27:36.215+0000 7f78d6895380  0 `):
 * its last line, after the monitor client's own complaint when there is one.
 */
function cephSaid(e: CommandError): string {
  const lines = `${e.stderr}\n${e.stdout}`
    .split('\n')
    .map((l) => l.replace(/^\d{4}-\d\d-\d\dT\S+ [0-9a-f]+ +-?\d+ /, '').trim())
    .filter((l) => l !== '');
  const monclient = lines.find((l) => l.startsWith('monclient'));
  const last = lines.at(-1) ?? '';
  return monclient !== undefined && monclient !== last ? `${monclient}; ${last}` : last;
}

/**
 * Why a `rbd`/`ceph` command against the cluster failed, as a finding's detail and fix: the monitors
 * cannot be reached, the key is refused, the caps are missing — each needs a different fix.
 * Measured on 16.2.15: no monitor answering → `monclient(hunting): authenticate timed out after N` then
 * `rbd: couldn't connect to the cluster!` (exit 110) / `[errno 110] RADOS timed out (error connecting
 * to the cluster)` (a refused port looks the same: the client keeps hunting); wrong key or unknown user →
 * `rbd: couldn't connect to the cluster!` / `[errno 13] RADOS permission denied (error connecting to the
 * cluster)`, exit 13; a command outside the caps → `Error EACCES: access denied`, exit 13.
 */
export function explainCephFailure(
  e: unknown,
  cluster: { user: string; monHosts: readonly string[] },
  capsFix: string,
  otherFix: string,
): { detail: string; fix: string } {
  if (!(e instanceof CommandError)) return { detail: firstLine(e), fix: otherFix };
  const text = `${e.stderr}\n${e.stdout}`;
  const mons = describeMonitors(cluster.monHosts);
  if (e.failure === 'spawn' || e.exitCode === 127 || e.exitCode === 126) return { detail: firstLine(e), fix: 'apt-get install ceph-common' };
  if (e.failure === 'aborted') return { detail: firstLine(e), fix: otherFix };
  const connecting = /error connecting to the cluster|couldn't connect to the cluster/i.test(text);
  if (
    /handle_auth_bad_method|authentication error|auth(?:entication)? failed/i.test(text) ||
    (connecting && (e.exitCode === 13 || /permission denied|EACCES/i.test(text)))
  ) {
    return { detail: `${e.what}: the monitors refused the key of client.${cluster.user} (${cephSaid(e)})`, fix: CEPH_AUTH_FIX };
  }
  if (
    /authenticate timed out|RADOS timed out|monclient\(hunting\)|connection refused|ECONNREFUSED|no route to host|network is unreachable/i.test(text) ||
    connecting ||
    e.exitCode === 110
  ) {
    return { detail: `${e.what}: the monitors cannot be reached: ${mons} (${cephSaid(e) || firstLine(e)})`, fix: CEPH_UNREACHABLE_FIX };
  }
  if (e.failure === 'timeout') {
    return {
      detail: `${e.what}: no answer within ${Math.round(e.durationMs / 1000)} s; the monitors (${mons}) accepted the client but the command did not finish`,
      fix: 'are the OSDs up and the placement groups of the pool active (`ceph -s` on the cluster)? a monitor that is slow to answer?',
    };
  }
  if (/EACCES|access denied|permission denied|operation not permitted|EPERM/i.test(text) || e.exitCode === 13) {
    return { detail: `${e.what}: not allowed (${cephSaid(e)})`, fix: capsFix };
  }
  return { detail: firstLine(e), fix: otherFix };
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
      : {
          check,
          verdict: 'warn' as const,
          detail: `${listen}: reachable from the network without authentication`,
          fix: 'allow only your Prometheus/management hosts in the firewall, or listen on 127.0.0.1 and tunnel',
        };
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
    return {
      check,
      verdict: 'warn',
      detail: `${mountPoint}: cannot read what is mounted there: ${firstLine(e)}`,
      fix: 'is /proc mounted? (what is mounted is read from /proc/self/mountinfo)',
    };
  }
  if (mounted === null) return { check, verdict: 'ok', detail: `nothing mounted at ${mountPoint}`, fix: '' };
  let ours: string | null;
  try {
    ours = await mapper.current();
  } catch (e) {
    return {
      check,
      verdict: 'warn',
      detail: `${describeMount(mounted)} is mounted at ${mountPoint}; cannot tell whether it is this node's image: ${firstLine(e)}`,
      fix: FOREIGN_MOUNT_FIX,
    };
  }
  if (isSameDevice(mounted.source, ours)) return { check, verdict: 'ok', detail: `${mountPoint}: this node's image (${describeMount(mounted)})`, fix: '' };
  return {
    check,
    verdict: 'FAIL',
    detail: `${describeMount(mounted)} is mounted at ${mountPoint}, not this node's mapped image (${ours ?? 'none mapped'})`,
    fix: FOREIGN_MOUNT_FIX,
  };
}

const finding = (check: string, verdict: Verdict, detail: string, fix = ''): Finding => ({ check, verdict, detail, fix });

/** Whether the service's Ceph calls can go through one long-lived librados client (a warning only: the CLIs work too). */
export async function sessionFinding(runner: Runner, setting: 'auto' | 'off'): Promise<Finding> {
  const check = 'ceph session (python3-rados, python3-rbd)';
  if (setting === 'off') return finding(check, 'ok', 'ceph.session: off, the rbd and ceph CLIs do every Ceph call');
  try {
    await runner.run({ what: 'python3 import rados, rbd', argv: [SESSION_PYTHON, '-c', 'import rados, rbd'], timeoutMs: DOCTOR_COMMAND_TIMEOUT_MS });
    return finding(check, 'ok', `${SESSION_PYTHON} imports rados and rbd: one long-lived client for blocklist, lock, owner record and watchers`);
  } catch (e) {
    return finding(
      check,
      'warn',
      `not usable, the CLIs are used instead (each Ceph call of a takeover is then a process start): ${firstLine(e)}`,
      'apt-get install python3-rados python3-rbd',
    );
  }
}

/** `docker --version` says the client is there; only the daemon answering `docker info` can start Harbor. */
export async function dockerFinding(runner: Runner): Promise<Finding> {
  let client: string;
  try {
    client = (await output(runner, ['docker', '--version'])).trim().split('\n')[0] ?? '';
  } catch (e) {
    return finding('docker', 'FAIL', `docker missing: ${firstLine(e)}`, 'install Docker Engine');
  }
  try {
    const r = await runner.run({ what: 'docker info', argv: ['docker', 'info', '--format', '{{json .ServerVersion}}'], timeoutMs: DOCTOR_COMMAND_TIMEOUT_MS });
    const server = r.stdout.trim().replace(/^"|"$/g, '');
    return finding('docker', 'ok', `${client}; daemon ${server || 'answers'}`);
  } catch (e) {
    const said =
      e instanceof CommandError
        ? e.failure === 'timeout'
          ? `no answer within ${Math.round(e.durationMs / 1000)} s`
          : (e.stderr.trim().split('\n').at(-1) ?? '')
        : '';
    return finding(
      'docker',
      'FAIL',
      `docker client present but the daemon does not answer (is dockerd running? socket permissions?): ${said || firstLine(e)}`,
      'start it (`systemctl enable --now docker`); check DOCKER_HOST and that root can open /var/run/docker.sock',
    );
  }
}

/** Which compose command answers `version` (both candidates at once when it is `auto`), and the finding. */
async function composeFinding(runner: Runner, config: Config): Promise<Finding> {
  const check = 'compose command';
  const fix = 'install the docker compose plugin, or docker-compose >= 1.18, or set harbor.composeCommand';
  const configured = config.file.harbor.composeCommand;
  const candidates = configured === 'auto' ? [['docker', 'compose'], ['docker-compose']] : [[...configured]];
  const tried = await Promise.allSettled(
    candidates.map((argv) => runner.run({ what: 'compose version', argv: [...argv, 'version'], timeoutMs: DOCTOR_COMMAND_TIMEOUT_MS })),
  );
  const works = tried.findIndex((t) => t.status === 'fulfilled');
  if (works >= 0) return finding(check, 'ok', (candidates[works] ?? []).join(' '));
  const first = tried[0];
  return finding(check, 'FAIL', `${(candidates[0] ?? []).join(' ')}: ${first?.status === 'rejected' ? firstLine(first.reason) : ''}`, fix);
}

/**
 * The original README's troubleshooting list, automated: each finding with its fix. The checks do
 * not depend on each other (except on the keyring and ceph.conf written first), so they run at once,
 * each command capped at DOCTOR_COMMAND_TIMEOUT_MS: the report takes as long as its slowest check,
 * not their sum. The findings keep their order.
 */
export async function runDoctor(config: Config, outside?: Runner): Promise<Finding[]> {
  const cephCap = Math.min(config.file.ceph.commandTimeoutMs, DOCTOR_COMMAND_TIMEOUT_MS);
  // the tools give up hunting for a monitor before doctor would kill them (whole seconds, at least 1;
  // the ceph CLI is Python: it needs about a second to start and another to exit after giving up)
  const mountTimeoutS = Math.max(1, Math.floor((cephCap - 2_500) / 1000));
  const runner = doctorRunner(outside ?? createRunner(silentLogger(), [config.env.cephKey.reveal()]), DOCTOR_COMMAND_TIMEOUT_MS, mountTimeoutS);
  const mapper = config.file.ceph.mapper;
  const cluster = { user: config.env.cephUser, monHosts: config.env.monHosts };

  // first, and synchronously: the Ceph checks read the keyring and ceph.conf it writes
  let keyring: Finding;
  try {
    prepareStateFiles(config);
    const st = statSync(config.paths.keyring);
    const ok = (st.mode & 0o077) === 0 && st.uid === 0;
    keyring = finding(
      'keyring file mode',
      ok ? 'ok' : 'FAIL',
      `${config.paths.keyring} mode ${(st.mode & 0o777).toString(8)} uid ${st.uid}`,
      'chmod 600, chown root',
    );
  } catch (e) {
    keyring = finding('keyring file mode', 'FAIL', firstLine(e), `make ${config.file.node.stateDir} writable by root`);
  }
  // doctor's world never runs compose (the compose check below finds the command itself); its rbd
  // and ceph commands keep ceph.commandTimeoutMs when that is below doctor's cap
  const world = createWorld(config, runner, silentLogger(), composeCommandOf(config, null));

  const [maj, min] = kernelVersion(release());
  const checks: Array<Promise<Finding | Finding[]>> = [
    Promise.resolve(
      finding('kernel >= 4.5', maj > 4 || (maj === 4 && min >= 5) ? 'ok' : 'FAIL', release(), 'upgrade the kernel (krbd exclusive maps need >= 4.12)'),
    ),
  ];
  if (mapper === 'krbd') {
    checks.push(
      (async () => {
        const loaded = existsSync('/sys/module/rbd');
        const loadable =
          loaded ||
          (await runner.run({ what: 'modprobe -n rbd', argv: ['modprobe', '-n', 'rbd'], timeoutMs: DOCTOR_COMMAND_TIMEOUT_MS }).then(
            () => true,
            () => false,
          ));
        return finding(
          'rbd kernel module',
          loadable ? 'ok' : 'FAIL',
          loaded ? 'loaded' : loadable ? 'loadable' : 'not loaded and not loadable',
          'run `modprobe rbd` on the host, or set ceph.mapper: rbd-nbd or fuse',
        );
      })(),
    );
  }
  for (const [tool, argv] of [
    ['ceph-common (rbd)', ['rbd', '--version']],
    ['ceph-common (ceph)', ['ceph', '--version']],
  ] as const) {
    checks.push(
      output(runner, [...argv]).then(
        (text) => finding(tool, 'ok', text.trim().split('\n')[0] ?? ''),
        (e: unknown) => finding(tool, 'FAIL', firstLine(e), 'apt-get install ceph-common'),
      ),
    );
  }
  if (mapper !== 'krbd') {
    const tool = mapper === 'fuse' ? 'rbd-fuse' : 'rbd-nbd';
    checks.push(
      output(runner, [tool, '--version']).then(
        () => finding(tool, 'ok', 'present'),
        (e: unknown) => finding(tool, 'FAIL', firstLine(e), `apt-get install ${tool}`),
      ),
    );
  }
  checks.push(Promise.resolve(keyring));
  checks.push(sessionFinding(runner, config.file.ceph.session));

  const statusCheck = `${config.env.cephUser} can rbd status`;
  checks.push(
    world.rbd.status().then(
      (holders) => finding(statusCheck, 'ok', `${config.env.pool}/${config.env.image}: ${holders.length} watcher(s)`),
      (e: unknown) => {
        const { detail, fix } = explainCephFailure(
          e,
          cluster,
          'caps: mon "profile rbd", osd "profile rbd pool=POOL"',
          'check CEPH_MON_HOST, the key, and caps: mon "profile rbd", osd "profile rbd pool=POOL"; does the image exist?',
        );
        return finding(statusCheck, 'FAIL', detail, fix);
      },
    ),
  );
  const blocklistCaps = 'caps: mon \'profile rbd, allow command "osd blocklist", allow command "osd blocklist ls"\' (Nautilus: blacklist)';
  checks.push(
    world.blocklist.ls().then(
      (entries) =>
        finding('osd blocklist ls', 'ok', `cluster speaks "${world.blocklist.spokenVerb ?? '?'}"; ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}`),
      (e: unknown) => {
        const { detail, fix } = explainCephFailure(e, cluster, blocklistCaps, blocklistCaps);
        return finding('osd blocklist ls', 'FAIL', detail, fix);
      },
    ),
  );
  checks.push(mountPointFinding(world.fs, world.mapper, config.file.filesystem.mountPoint));
  checks.push(dockerFinding(runner));
  checks.push(composeFinding(runner, config));

  checks.push(
    output(runner, ['e2fsck', '-V']).then(
      (text) => {
        const v = e2fsckVersion(text);
        const ok = v !== null && atLeast(v, [1, 43]);
        return finding(
          'e2fsck supports metadata_csum',
          ok ? 'ok' : 'FAIL',
          text.trim().split('\n')[0] ?? '',
          explainFsckFailure('Get a newer version of e2fsck') ?? '',
        );
      },
      (e: unknown) => finding('e2fsck supports metadata_csum', 'FAIL', firstLine(e), 'apt-get install e2fsprogs'),
    ),
  );

  if (mapper === 'krbd') {
    const seccomp = /^Seccomp:\s+(\d)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    checks.push(
      Promise.resolve(
        finding(
          'kernel keyring reachable',
          seccomp === '2' ? 'warn' : 'ok',
          seccomp === '2' ? 'running under a seccomp filter: "rbd: failed to add secret ... to kernel" is likely' : 'no seccomp filter',
          'run on the host, or the container with --security-opt seccomp=unconfined',
        ),
      ),
    );
  }

  checks.push(keepalivedFindings(runner, config));
  checks.push(Promise.resolve(exposureFindings(config)));
  return (await Promise.all(checks)).flat();
}

async function keepalivedFindings(runner: Runner, config: Config): Promise<Finding[]> {
  const k = config.file.keepalived;
  try {
    await output(runner, ['keepalived', '--version']);
  } catch (e) {
    return [finding('keepalived', 'FAIL', firstLine(e), 'apt-get install keepalived')];
  }
  const out: Finding[] = [];
  if (!existsSync(k.confPath)) out.push(finding('keepalived', 'warn', `present; ${k.confPath} not written yet`, 'harbor-assistant keepalived render'));
  else {
    try {
      await validateKeepalivedConf(runner, k.confPath);
      out.push(finding('keepalived', 'ok', `${k.confPath} valid`));
    } catch (e) {
      out.push(finding('keepalived', 'FAIL', firstLine(e), `fix ${k.confPath} (harbor-assistant keepalived render)`));
    }
  }
  const problems = scriptSecurityProblems(k.checkScript);
  out.push(
    finding(
      'keepalived check script',
      problems.length === 0 ? 'ok' : 'FAIL',
      problems.join('; ') || k.checkScript,
      'root-owned, mode 755, in root-owned directories not writable by others',
    ),
  );
  return out;
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
