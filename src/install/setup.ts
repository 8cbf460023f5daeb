import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CommandError, createRunner, type Runner } from '../actions/exec.js';
import { renderKeepalivedConf, scriptSecurityProblems, validateKeepalivedConf } from '../actions/keepalived/conf.js';
import type { Finding } from '../cli/doctor.js';
import { keepalivedSettings } from '../cli/keepalived.js';
import { DEFAULT_CONFIG_PATH, DEFAULT_ENV_PATH, type Config } from '../config/index.js';
import { silentLogger } from '../log/logger.js';
import { writeFileAtomic } from '../actions/host/atomic-file.js';
import type { SetupFlags } from './answers.js';
import { ensureDirectory, placeLink, readOrNull, writeIfDifferent, type Step } from './files.js';
import { installLayout, type InstallLayout } from './layout.js';
import { planSetup, type Plan } from './plan.js';
import { runnerSystemctl, saysNoSystemd, systemdAbsence, UNITS, type Systemctl, type SystemctlResult } from './systemd.js';

export type { Step } from './files.js';

/** Where setup writes and what it runs; tests point every one of them elsewhere. */
export interface SetupOptions {
  /** The configuration directory, kept at 0700. */
  etcDir: string;
  envPath: string;
  configPath: string;
  /** Where a tarball install's units are copied. */
  unitsDir: string;
  /** Where a tarball install links its programs. */
  binDir: string;
  /** The rendered keepalived configuration; null: the YAML's keepalived.confPath. */
  keepalivedConf: string | null;
  layout: InstallLayout;
  /** Outside commands (keepalived); null: the project's runner, with the key redacted from what it records. */
  runner: Runner | null;
  /** null: systemctl through the runner. */
  systemctl: Systemctl | null;
  /** Doctor's checks, in-process. */
  doctor: (config: Config) => Promise<Finding[]>;
  /** What `--ceph-key-file -` reads. */
  readStdin: () => string;
  /** Relative paths in flags are read from here. */
  cwd: string;
}

export const DEFAULT_ETC_DIR = dirname(DEFAULT_ENV_PATH);

export function defaultSetupOptions(): SetupOptions {
  return {
    etcDir: DEFAULT_ETC_DIR,
    envPath: DEFAULT_ENV_PATH,
    configPath: DEFAULT_CONFIG_PATH,
    unitsDir: '/etc/systemd/system',
    binDir: '/usr/local/bin',
    keepalivedConf: null,
    layout: installLayout(),
    runner: null,
    systemctl: null,
    // loaded only when it runs: doctor brings the whole world (xstate, zx, the Ceph session)
    doctor: async (config) => (await import('../cli/doctor.js')).runDoctor(config),
    readStdin: () => readFileSync(0, 'utf8'),
    cwd: process.cwd(),
  };
}

export type SetupOutcome =
  | { status: 'refused'; problems: string[] }
  | {
      status: 'ready' | 'blocked';
      /** Setup's own blockers first, then doctor's FAILs; each with its fix. */
      blockers: Finding[];
      warnings: Finding[];
      /** How many checks doctor ran (0 when it could not run). */
      checks: number;
      /** Why systemctl was not used, and what the operator must run instead; null when it was. */
      systemd: { absent: string; commands: string[] } | null;
    };

const blocker = (check: string, detail: string, fix: string): Finding => ({ check, verdict: 'FAIL', detail, fix });
const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
const said = (r: SystemctlResult) => (r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? `exit ${r.exitCode}`;

/**
 * keepalived.conf as `keepalived render` writes it, checked with `keepalived -t` before it
 * replaces the one in place; an equal file is only checked again. A missing keepalived or a
 * refused configuration is a blocker with its fix, never a crash.
 */
async function keepalivedStep(config: Config, confPath: string, runner: Runner, layout: InstallLayout): Promise<{ step: Step } | { blocker: Finding }> {
  const settings = keepalivedSettings(config);
  const insecure = scriptSecurityProblems(settings.checkScript);
  if (insecure.length > 0) {
    const where = layout.checkScript ?? 'an installed copy of config/harbor-assistant-check';
    return {
      blocker: blocker(
        'keepalived check script',
        `keepalived would silently disable ${settings.checkScript} (enable_script_security): ${insecure.join('; ')}`,
        `keepalived.checkScript must be root-owned, mode 755, in root-owned directories not writable by others (${where})`,
      ),
    };
  }
  try {
    await runner.run({ what: 'keepalived --version', argv: ['keepalived', '--version'], timeoutMs: 15_000 });
  } catch (error) {
    const missing = error instanceof CommandError && (error.failure === 'spawn' || error.exitCode === 127 || error.exitCode === 126);
    // the same check and fix as doctor's, so the report lists it once
    if (missing)
      return {
        blocker: blocker(
          'keepalived',
          'not installed, so its configuration was not written: run setup again after installing it',
          'apt-get install keepalived',
        ),
      };
    // keepalived 2.2 prints its version on stderr with exit 0; anything else is for -t to say
  }
  const text = renderKeepalivedConf(settings);
  const same = readOrNull(confPath)?.equals(Buffer.from(text)) ?? false;
  const checked = same ? confPath : `${confPath}.new`;
  if (!same) writeFileAtomic(checked, text, 0o644);
  try {
    await validateKeepalivedConf(runner, checked);
  } catch (error) {
    return {
      blocker: blocker(
        'keepalived',
        `keepalived -t rejects ${checked}: ${error instanceof CommandError ? error.stderr.trim().split('\n').slice(-3).join(' / ') || firstLine(error) : firstLine(error)}`,
        same ? `fix ${confPath} (harbor-assistant keepalived render rewrites it)` : `see ${checked} (left for reading); the one in use is unchanged`,
      ),
    };
  }
  if (!same) renameSync(checked, confPath);
  return { step: { verb: same ? 'unchanged' : 'wrote', what: confPath, note: 'keepalived -t: ok' } };
}

function yamlNote(plan: Plan): string | undefined {
  if (plan.yamlFromExample) return plan.yamlChanged.length > 0 ? `the documented example; set ${plan.yamlChanged.join(', ')}` : 'the documented example';
  return plan.yamlChanged.length > 0 ? `set ${plan.yamlChanged.join(', ')}` : undefined;
}

function enableFix(layout: InstallLayout): string {
  if (layout.kind === 'checkout') return 'a checkout installs no units: install the .deb or the tarball';
  if (layout.kind === 'deb') return 'reinstall the package (its units are in /lib/systemd/system); `systemctl status` says more';
  return 'setup copied the units from the tarball; `systemctl status` says more';
}

/**
 * Configure this host from the answers: validate everything in memory (any problem: nothing is
 * written), then write what differs, check keepalived's configuration, enable and start the
 * units through systemd, and ask doctor whether this host can take over. Steps are reported as
 * they happen; a second run with the same answers changes nothing and starts nothing.
 */
export async function runSetup(flags: SetupFlags, given: Partial<SetupOptions> = {}, onStep: (step: Step) => void = () => undefined): Promise<SetupOutcome> {
  const defaults = defaultSetupOptions();
  const etcDir = given.etcDir ?? defaults.etcDir;
  const o: SetupOptions = {
    ...defaults,
    envPath: join(etcDir, '.env'),
    configPath: join(etcDir, 'harbor-assistant.yaml'),
    ...given,
  };
  const planned = planSetup(flags, o);
  if ('problems' in planned) return { status: 'refused', problems: planned.problems };
  const { plan } = planned;
  const { config } = plan;
  const runner = o.runner ?? createRunner(silentLogger(), [plan.key]);
  const systemctl = o.systemctl ?? runnerSystemctl(runner);
  const step = (s: Step) => onStep(s);
  const blockers: Finding[] = [];
  // a problem setup found and doctor found again is listed once, with setup's words
  const addBlocker = (f: Finding) => {
    if (!blockers.some((b) => b.check === f.check && b.fix === f.fix)) blockers.push(f);
  };

  // the configuration directory is kept private; a directory elsewhere (--env /root/x.env) is only created
  for (const dir of new Set([dirname(o.envPath), dirname(o.configPath)])) {
    if (dir === o.etcDir) step(ensureDirectory(dir, 0o700));
    else if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      step({ verb: 'created', what: dir, note: 'directory, mode 0700' });
    }
  }
  const envStep = writeIfDifferent(o.envPath, plan.envText, 0o600);
  step(envStep);
  const yamlStep = writeIfDifferent(o.configPath, plan.yamlText, plan.yamlMode, yamlNote(plan));
  step(yamlStep);
  let unitsChanged = false;
  for (const unit of plan.units) {
    const s = writeIfDifferent(unit.path, unit.text, 0o644);
    unitsChanged ||= s.verb === 'wrote';
    step(s);
  }
  for (const link of plan.links) step(placeLink(link.path, link.target));

  const confPath = o.keepalivedConf ?? config.file.keepalived.confPath;
  const keepalived = await keepalivedStep(config, confPath, runner, o.layout);
  if ('step' in keepalived) step(keepalived.step);
  else addBlocker(keepalived.blocker);
  const configChanged = envStep.verb === 'wrote' || yamlStep.verb === 'wrote';
  const keepalivedChanged = 'step' in keepalived && keepalived.step.verb === 'wrote';

  let absent = await systemdAbsence(systemctl);
  const call = async (args: string[]): Promise<SystemctlResult | null> => {
    if (absent !== null) return null;
    let r: SystemctlResult;
    try {
      r = await systemctl(args);
    } catch (error) {
      addBlocker(blocker(`systemctl ${args[0] ?? ''}`, firstLine(error), 'is systemd answering? `systemctl status` says more'));
      return null;
    }
    if (saysNoSystemd(r)) {
      absent = said(r);
      return null;
    }
    return r;
  };

  // without a running systemd (a chroot, an image being built) systemctl still enables units:
  // it only places the [Install] links, which is all a boot needs
  const offlineEnable = absent !== null && !absent.startsWith('no systemctl') && !absent.startsWith('systemctl could not be run');
  let enabledOffline = false;
  const callForEnable = async (args: string[]): Promise<SystemctlResult | null> => {
    if (absent === null) return call(args);
    if (!offlineEnable) return null;
    try {
      const r = await systemctl(args);
      return saysNoSystemd(r) ? null : r;
    } catch {
      return null;
    }
  };

  if (unitsChanged) {
    const r = await call(['daemon-reload']);
    if (r !== null && r.exitCode === 0) step({ verb: 'reloaded', what: 'systemd', note: 'units changed' });
    else if (r !== null) addBlocker(blocker('systemctl daemon-reload', said(r), '`systemctl daemon-reload` by hand; `journalctl -e` says why it failed'));
  }
  const toEnable: string[] = [];
  for (const unit of UNITS) {
    const r = await callForEnable(['is-enabled', unit]);
    if (r === null) continue;
    const state = r.stdout.trim();
    if (state === 'enabled') step({ verb: 'already', what: unit, note: 'enabled' });
    else if (state === 'masked') addBlocker(blocker(unit, 'masked: systemd will not start it', `systemctl unmask ${unit}, then run setup again`));
    else toEnable.push(unit);
  }
  if (toEnable.length > 0) {
    const r = await callForEnable(['enable', ...toEnable]);
    if (r !== null && r.exitCode === 0) {
      for (const unit of toEnable) step({ verb: 'enabled', what: unit });
      enabledOffline = absent !== null;
    } else if (r !== null) addBlocker(blocker(`systemctl enable ${toEnable.join(' ')}`, said(r), enableFix(o.layout)));
  }

  let findings: Finding[];
  try {
    findings = await o.doctor(config);
  } catch (error) {
    findings = [];
    addBlocker(blocker('doctor', `could not run: ${firstLine(error)}`, 'run `harbor-assistant doctor` and read what it says'));
  }
  for (const f of findings) if (f.verdict === 'FAIL') addBlocker(f);
  const warnings = findings.filter((f) => f.verdict === 'warn');

  const noStart = flags['no-start'] === true;
  if (noStart) step({ verb: 'not started', what: UNITS.join(', '), note: '--no-start' });
  else if (blockers.length > 0) step({ verb: 'not started', what: UNITS.join(', '), note: 'a takeover is blocked, see below; fix it, then run setup again' });
  else {
    const toStart: string[] = [];
    for (const unit of UNITS) {
      const r = await call(['is-active', unit]);
      if (r === null) continue;
      const state = r.stdout.trim();
      if (state !== 'active' && state !== 'activating' && state !== 'reloading') {
        toStart.push(unit);
        continue;
      }
      step({ verb: 'already', what: unit, note: state });
      // running processes keep what they read at start; restarting the engine is safe (SIGTERM detaches), but it is the operator's call
      if (unit === 'harbor-assistant.service' && configChanged) {
        step({ verb: 'note', what: unit, note: 'runs with the configuration it started with: `systemctl restart harbor-assistant` applies the new one' });
      }
      if (unit === 'harbor-assistant-keepalived.service' && keepalivedChanged) {
        step({ verb: 'note', what: unit, note: 'runs the previous keepalived.conf: `systemctl reload harbor-assistant-keepalived` applies the new one' });
      }
    }
    if (toStart.length > 0) {
      const r = await call(['start', ...toStart]);
      if (r !== null && r.exitCode === 0) for (const unit of toStart) step({ verb: 'started', what: unit });
      else if (r !== null) addBlocker(blocker(`systemctl start ${toStart.join(' ')}`, said(r), `journalctl -u ${toStart[0] ?? ''} -e says why`));
    }
  }

  let systemd: { absent: string; commands: string[] } | null = null;
  if (absent !== null) {
    const commands = [
      ...(unitsChanged ? ['systemctl daemon-reload'] : []),
      ...(enabledOffline ? [] : [`systemctl enable ${UNITS.join(' ')}`]),
      ...(noStart || blockers.length > 0 ? [] : [`systemctl start ${UNITS.join(' ')}`]),
    ];
    systemd = { absent, commands };
  }
  return { status: blockers.length > 0 ? 'blocked' : 'ready', blockers, warnings, checks: findings.length, systemd };
}
