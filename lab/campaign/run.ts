import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createProjectArgv, createProjectCommitted, LAB, Lab, type NodeName } from '../lab.js';
import { makeOciImage } from '../oci.js';
import { inspectImageAfterRelease, other, pushSome, waitVipOnlyOn, waitWatcherKnown, type PullAttempt, type ScenarioResult } from '../scenarios.js';
import { describeSchedule, scheduleFor, type Fault, type FaultKind, type Role, type Schedule } from './schedule.js';

/** What happened to one scheduled fault at run time. */
export interface FaultRecord {
  kind: FaultKind;
  target: Role;
  /** The node the role named when the fault started (null: the run stopped before it). */
  node: NodeName | null;
  /** Epoch ms: the fault's action began, and its undo finished. */
  startedAt: number;
  endedAt: number;
  /** Why part of it did not happen (a refused switchover, a registry not running there, a step that timed out). */
  notes: string[];
}

/** How long clients could not pull after one fault (see `faultUnavailability`). */
export interface FaultOutage {
  kind: FaultKind;
  target: Role;
  node: NodeName | null;
  ms: number;
  failedPulls: number;
  /** No pull worked again before the loop stopped: `ms` runs to the last attempt. */
  open: boolean;
}

export interface CampaignResult {
  seed: number;
  schedule: string;
  passed: boolean;
  /** Acknowledged images missing or changed at the end (null: not checked, see `error`). */
  lost: number | null;
  /** Acknowledged project rows missing at the end. */
  lostRows: number | null;
  /** Writer lines stamped after the peer of the writer's node mapped the image. */
  lateWrites: number | null;
  /** `e2fsck -n -f` exit code after the serving node released (0 = clean). */
  fsck: number | null;
  /** The one node serving, with the VIP only there, after the faults; null when that never came. */
  servingAtEnd: NodeName | null;
  fences: number;
  unavailability: FaultOutage[];
  faults: FaultRecord[];
  pushes: { attempted: number; acknowledged: number };
  rows: { attempted: number; acknowledged: number };
  pulls: { attempts: number; failed: number };
  /** What the repair after the faults had to do because an undo could not (normally empty). */
  repairs: string[];
  durationMs: number;
  error?: string;
}

export interface CampaignOptions {
  log?: (line: string) => void;
  /** Stops the run early (Ctrl-C): no new fault starts, running ones are undone, the lab goes down. */
  signal?: AbortSignal;
}

/** After its undo, a fault may still cause an outage this long (a hand-over it set off). */
const ATTRIBUTION_GRACE_MS = 15_000;
/** From the last fault's end to one node serving: a fenced or yielding node cools down for 60 s first. */
const SETTLE_TIMEOUT_MS = 180_000;
/** Any one run, whatever happens inside: the lab goes down after this. */
const RUN_DEADLINE_MS = 30 * 60_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Resolves at `at` (epoch ms) or as soon as `signal` aborts, whichever is first. */
function sleepUntil(at: number, signal: AbortSignal): Promise<void> {
  const ms = at - Date.now();
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * For each fault: from the first failed pull at or after its start to the end of the first pull
 * that worked after that one. Only a failure that began before the fault's end plus a grace
 * counts: a later outage belongs to a later fault. Overlapping faults may share one outage; each
 * then reports it. An outage still open when the loop stopped runs to the last attempt's end.
 */
export function faultUnavailability(
  attempts: readonly PullAttempt[],
  faults: ReadonlyArray<Pick<FaultRecord, 'kind' | 'target' | 'node' | 'startedAt' | 'endedAt'>>,
  graceMs = ATTRIBUTION_GRACE_MS,
): FaultOutage[] {
  const sorted = [...attempts].sort((x, y) => x.start - y.start);
  return faults.map((f) => {
    const base = { kind: f.kind, target: f.target, node: f.node };
    // a pull in flight when the fault started and failed is the fault's first victim
    const first = sorted.findIndex((a) => !a.ok && a.end >= f.startedAt && a.start <= f.endedAt + graceMs);
    const failed = sorted[first];
    if (!failed) return { ...base, ms: 0, failedPulls: 0, open: false };
    const from = Math.max(failed.start, f.startedAt);
    const rest = sorted.slice(first);
    const good = rest.findIndex((a) => a.ok);
    const recovered = rest[good];
    if (!recovered) {
      const last = rest.at(-1) ?? failed;
      return { ...base, ms: last.end - from, failedPulls: rest.length, open: true };
    }
    return { ...base, ms: recovered.end - from, failedPulls: good, open: false };
  });
}

/** One per-kind distribution of unavailability (ms). */
export interface Distribution {
  count: number;
  min: number;
  median: number;
  max: number;
}

export interface CampaignSummary {
  totals: { runs: number; passed: number; failed: number; lost: number; lostRows: number; lateWrites: number; fsckFailures: number; fences: number };
  unavailabilityByKind: Partial<Record<FaultKind, Distribution>>;
  failedSeeds: number[];
}

function distribution(values: number[]): Distribution {
  const v = [...values].sort((x, y) => x - y);
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 === 1 ? (v[mid] ?? 0) : Math.round(((v[mid - 1] ?? 0) + (v[mid] ?? 0)) / 2);
  return { count: v.length, min: v[0] ?? 0, median, max: v.at(-1) ?? 0 };
}

/** Totals over the runs and, per fault kind, the distribution of unavailability. */
export function summarize(results: readonly CampaignResult[]): CampaignSummary {
  const byKind = new Map<FaultKind, number[]>();
  for (const r of results) for (const u of r.unavailability) byKind.set(u.kind, [...(byKind.get(u.kind) ?? []), u.ms]);
  const sum = (pick: (r: CampaignResult) => number | null) => results.reduce((s, r) => s + (pick(r) ?? 0), 0);
  return {
    totals: {
      runs: results.length,
      passed: results.filter((r) => r.passed).length,
      failed: results.filter((r) => !r.passed).length,
      lost: sum((r) => r.lost),
      lostRows: sum((r) => r.lostRows),
      lateWrites: sum((r) => r.lateWrites),
      // a check that never ran (null) is no failure of e2fsck: the run failed for its own error
      fsckFailures: results.filter((r) => r.fsck !== null && r.fsck !== 0).length,
      fences: sum((r) => r.fences),
    },
    unavailabilityByKind: Object.fromEntries([...byKind].sort(([x], [y]) => x.localeCompare(y)).map(([k, v]) => [k, distribution(v)])),
    failedSeeds: results.filter((r) => !r.passed).map((r) => r.seed),
  };
}

/** Which node a role names now: an active node is the serving one; between two, the VIP decides; else the last one seen. */
export function resolveServing(states: Record<NodeName, string | null>, vip: Record<NodeName, boolean>, last: NodeName): NodeName {
  const nodes = ['a', 'b'] as const;
  const serving = nodes.filter((n) => states[n]?.startsWith('active.serving'));
  const active = nodes.filter((n) => states[n]?.startsWith('active'));
  const candidates = serving.length > 0 ? serving : active;
  if (candidates.length === 1) return candidates[0] ?? last;
  const pool = candidates.length > 0 ? candidates : [...nodes];
  const holders = pool.filter((n) => vip[n]);
  if (holders.length === 1) return holders[0] ?? last;
  return pool.includes(last) ? last : (pool[0] ?? last);
}

// --- client traffic that must not stop the fault timers --------------------------------------
// Lab.push and Lab.createProject are synchronous (spawnSync): one that waits on an unreachable VIP
// would freeze every timer of the run for up to 30 s. These run the same commands asynchronously.

function runAsync(argv: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  const [cmd = '', ...args] = argv;
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL', cwd: REPO });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', (e) => resolve({ code: null, out: `${out}${e.message}` }));
    child.on('close', (code) => resolve({ code, out }));
  });
}

const inClient = (argv: string[]) => ['nsenter', `--net=/run/netns/${LAB.prefix}-client`, '--', ...argv];

/** A fresh image pushed through the VIP; counted in `lab.pushed` (what `lostImages` checks) only when acknowledged. */
async function pushAsync(lab: Lab, tag: string): Promise<boolean> {
  const dir = join(LAB.root, 'images', tag);
  const { digest } = makeOciImage(dir, tag);
  const ref = `${LAB.vip}:80/lab/campaign:${tag}`;
  const r = await runAsync(
    inClient([
      'skopeo',
      '--policy',
      join(LAB.root, 'policy.json'),
      'copy',
      '--retry-times',
      '0',
      '--dest-tls-verify=false',
      `oci:${dir}:${tag}`,
      `docker://${ref}`,
    ]),
    30_000,
  );
  if (r.code === 0) lab.pushed.push({ ref, digest });
  return r.code === 0;
}

/** As `Lab.createProject`, without blocking the fault timers: true only when the row is committed. */
async function createProjectAsync(name: string): Promise<boolean> {
  const r = await runAsync(createProjectArgv(name), 10_000);
  return createProjectCommitted(r.code, r.out);
}

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const LAB_MODULE = pathToFileURL(fileURLToPath(new URL('../lab.ts', import.meta.url))).href;

/** Lab methods that run for seconds synchronously (dockerd stop and start, docker stop) and keep no state in the Lab object. */
type ChildCall = 'stopRegistry' | 'hostRebootsStorageAndDocker' | 'startDockerd';
const CHILD_SCRIPT = `const [method, node, modulePath] = process.argv.slice(1);
const { Lab } = await import(modulePath);
const lab = new Lab({ advertInt: 0.1 });
if (method === 'stopRegistry') lab.stopRegistry(node);
else if (method === 'hostRebootsStorageAndDocker') await lab.hostRebootsStorageAndDocker(node);
else if (method === 'startDockerd') lab.startDockerd(node);
else throw new Error('no such lab call: ' + method);`;

/** Run one of those in a child process, so the fault timers of this one keep running meanwhile. */
async function labInChild(method: ChildCall, n: NodeName, timeoutMs: number): Promise<void> {
  const r = await runAsync([process.execPath, '--import', 'tsx', '--input-type=module', '-e', CHILD_SCRIPT, method, n, LAB_MODULE], timeoutMs);
  if (r.code !== 0) throw new Error(`${method}(${n}): ${r.code === null ? `killed after ${timeoutMs} ms` : `exit ${r.code}`}: ${r.out.trim().slice(-300)}`);
}

// --- the writer on the first serving node -----------------------------------------------------

/**
 * The writer runs on the node that served when the window opened. Its lines count as late once
 * the other node mapped the image; it is stopped as soon as that is seen, because a later
 * legitimate takeover by its own node would make its lines rightful again.
 */
class WriterWatch {
  peerMappedAt: number | null = null;
  private stopping: Promise<boolean> | null = null;

  constructor(
    private readonly lab: Lab,
    readonly node: NodeName,
    private readonly since: number,
  ) {}

  poll(): void {
    if (this.peerMappedAt !== null) return;
    this.peerMappedAt = this.lab.mappedAt(other(this.node), this.since);
    if (this.peerMappedAt !== null) void this.stop();
  }

  /** Idempotent; resolves false when the writer is still stuck in I/O (stopWriter's own bound). */
  stop(): Promise<boolean> {
    this.stopping ??= this.lab.stopWriter(this.node).catch(() => false);
    return this.stopping;
  }
}

// --- faults ---------------------------------------------------------------------------------

/** Per node, how many running faults hold each kind of harm: overlapping faults nest, the last one out undoes it. */
class NodeHarm {
  paused = 0;
  pausedPids: number[] = [];
  /** Faults that keep the engine down (crash, host reboot, service restart). */
  down = 0;
  /** keepalived was killed with the engine and comes back with it. */
  keepalivedDown = false;
  dockerDown = 0;
  vrrpCut = 0;
  cephCut = 0;
  maintenance = 0;
  maintenanceOn = false;
  /** The last start of the engine by a fault's undo failed: the repair may start it again. */
  startFailed = false;
}

class FaultDriver {
  private readonly harm: Record<NodeName, NodeHarm> = { a: new NodeHarm(), b: new NodeHarm() };

  constructor(
    private readonly lab: Lab,
    private lastServing: NodeName,
    private readonly writer: WriterWatch,
    private readonly log: (line: string) => void,
  ) {}

  async resolve(role: Role): Promise<NodeName> {
    // a frozen node would keep its control socket silent for the request's whole timeout
    const state = async (n: NodeName) => (this.harm[n].paused > 0 ? null : ((await this.lab.status(n).catch(() => null))?.state ?? null));
    const [a, b] = await Promise.all([state('a'), state('b')]);
    const serving = resolveServing({ a, b }, { a: this.lab.vipOn('a'), b: this.lab.vipOn('b') }, this.lastServing);
    this.lastServing = serving;
    return role === 'serving' ? serving : other(serving);
  }

  /**
   * Nothing runs inside a paused VM: steps that need the node's own processes (its dockerd, its
   * control socket, its service's stop or start) wait for the resume. Pauses end by themselves.
   */
  private async whenRunning(n: NodeName): Promise<void> {
    const end = Date.now() + 150_000;
    while (this.harm[n].paused > 0) {
      if (Date.now() > end) throw new Error(`node ${n} still paused after 150 s`);
      await sleep(100);
    }
  }

  private engineRunning(n: NodeName): boolean {
    const pid = this.lab.enginePid(n);
    return pid !== null && this.lab.isRunning(pid);
  }

  /** The last fault holding the engine down brings it back: engine first, then keepalived (as restartNode). */
  private async releaseDown(n: NodeName): Promise<void> {
    const h = this.harm[n];
    h.down = Math.max(0, h.down - 1);
    if (h.down > 0) return;
    await this.whenRunning(n);
    try {
      if (!this.engineRunning(n)) await this.lab.startEngine(n);
      h.startFailed = false;
    } catch (e) {
      h.startFailed = true;
      throw e;
    } finally {
      // another fault may have taken the node down again while this engine booted; a node paused
      // meanwhile gets its keepalived at the resume (one started now would advertise for a frozen node)
      if (h.down === 0 && h.keepalivedDown && h.paused === 0) {
        this.lab.startKeepalived(n);
        h.keepalivedDown = false;
      }
    }
  }

  private crash(n: NodeName): void {
    const h = this.harm[n];
    h.down += 1;
    h.keepalivedDown = true;
    this.lab.crashNode(n);
  }

  private async maintenanceOff(n: NodeName): Promise<void> {
    const h = this.harm[n];
    // the engine may be restarting under another fault: keep asking for a while
    const end = Date.now() + 60_000;
    for (;;) {
      await this.whenRunning(n);
      const r = await this.lab.request(n, { cmd: 'maintenance', on: false }).catch((e: unknown) => ({ ok: false as const, error: message(e) }));
      if (r.ok) {
        h.maintenanceOn = false;
        return;
      }
      if (Date.now() > end) throw new Error(`maintenance off on ${n}: ${r.error}`);
      await sleep(1_000);
    }
  }

  /** Start fault `f` on `n`. Counters go up before anything can throw, so `end` always balances them. */
  async begin(f: Fault, n: NodeName): Promise<string[]> {
    const h = this.harm[n];
    switch (f.kind) {
      case 'crash':
        this.crash(n);
        return [];
      case 'pause':
        h.paused += 1;
        if (h.paused === 1) h.pausedPids = this.lab.pauseNode(n);
        return [];
      case 'ceph-cut-short':
      case 'ceph-cut-long':
        h.cephCut += 1;
        if (h.cephCut === 1) this.lab.cutCeph(n);
        return [];
      case 'vrrp-cut':
        h.vrrpCut += 1;
        if (h.vrrpCut === 1) this.lab.cutVrrp(n);
        return [];
      case 'harbor-down':
        await this.whenRunning(n);
        if (h.dockerDown > 0) return ['not applied: dockerd is down there'];
        await labInChild('stopRegistry', n, 45_000);
        return [];
      case 'dockerd-restart':
        // scenario 16's order: the service and keepalived die with the host, then its storage and Docker
        this.crash(n);
        // decided now: another reboot of the node may begin while this one waits for a resume
        if (++h.dockerDown > 1) return [];
        // a reboot ends every process of the host, the writer too; its lines so far are rightful
        if (n === this.writer.node) void this.writer.stop();
        await this.whenRunning(n);
        await labInChild('hostRebootsStorageAndDocker', n, 200_000);
        return [];
      case 'service-restart':
        h.down += 1;
        await this.whenRunning(n);
        if (this.engineRunning(n)) await this.lab.stopEngine(n, false);
        return [];
      case 'switchover': {
        await this.whenRunning(n);
        if (h.down > 0) return ['not applied: the service is down there'];
        const r = await this.lab.request(n, { cmd: 'switchover' });
        return r.ok ? [] : [`refused: ${r.error}`];
      }
      case 'maintenance': {
        h.maintenance += 1;
        if (h.maintenance > 1) return [];
        await this.whenRunning(n);
        const r = await this.lab.request(n, { cmd: 'maintenance', on: true });
        if (r.ok) h.maintenanceOn = true;
        return r.ok ? [] : [`refused: ${r.error}`];
      }
    }
  }

  /** Undo fault `f` on `n` (the last of its kind there undoes the harm itself). */
  async end(f: Fault, n: NodeName): Promise<void> {
    const h = this.harm[n];
    switch (f.kind) {
      case 'crash':
      case 'service-restart':
        await this.releaseDown(n);
        return;
      case 'pause':
        h.paused = Math.max(0, h.paused - 1);
        if (h.paused === 0) {
          this.lab.resumeNode(n, h.pausedPids);
          h.pausedPids = [];
          if (h.down === 0 && h.keepalivedDown) {
            this.lab.startKeepalived(n);
            h.keepalivedDown = false;
          }
        }
        return;
      case 'ceph-cut-short':
      case 'ceph-cut-long':
        h.cephCut = Math.max(0, h.cephCut - 1);
        if (h.cephCut === 0) this.lab.healCeph(n);
        return;
      case 'vrrp-cut':
        h.vrrpCut = Math.max(0, h.vrrpCut - 1);
        if (h.vrrpCut === 0) this.lab.healVrrp(n);
        return;
      case 'harbor-down':
      case 'switchover':
        return;
      case 'dockerd-restart':
        h.dockerDown = Math.max(0, h.dockerDown - 1);
        try {
          // as at boot: the daemon first (restart: always tries Harbor's containers), then the service
          if (h.dockerDown === 0) {
            await this.whenRunning(n);
            await labInChild('startDockerd', n, 90_000);
          }
        } finally {
          await this.releaseDown(n);
        }
        return;
      case 'maintenance':
        h.maintenance = Math.max(0, h.maintenance - 1);
        if (h.maintenance === 0 && h.maintenanceOn) await this.maintenanceOff(n);
        return;
    }
  }

  /**
   * After every fault ran its own undo, nothing should be left; this only repairs what an undo
   * could not do (a step that timed out), so the checks see the pair as the faults left it.
   */
  async healAll(): Promise<{ notes: string[]; problems: string[] }> {
    const notes: string[] = [];
    const problems: string[] = [];
    const attempt = async (what: string, fn: () => unknown) => {
      try {
        await fn();
        notes.push(what);
      } catch (e) {
        notes.push(`${what} failed: ${message(e)}`);
      }
    };
    for (const n of ['a', 'b'] as const) {
      const h = this.harm[n];
      if (h.paused > 0) {
        h.paused = 0;
        await attempt(`resumed ${n}`, () => this.lab.resumeNode(n, h.pausedPids));
      }
      if (h.cephCut > 0) {
        h.cephCut = 0;
        await attempt(`healed Ceph on ${n}`, () => this.lab.healCeph(n));
      }
      if (h.vrrpCut > 0) {
        h.vrrpCut = 0;
        await attempt(`healed VRRP on ${n}`, () => this.lab.healVrrp(n));
      }
      if (h.dockerDown > 0) {
        h.dockerDown = 0;
        await attempt(`started dockerd on ${n}`, () => labInChild('startDockerd', n, 90_000));
      }
      if (!this.engineRunning(n)) {
        // an engine no fault stopped, or whose restart did not fail, ended by itself: that is a finding
        if (h.down === 0 && !h.startFailed) problems.push(`the engine on ${n} was not running after the faults, and no fault had stopped it`);
        h.down = 0;
        await attempt(`started the engine on ${n}`, () => this.lab.startEngine(n));
      }
      h.down = 0;
      h.startFailed = false;
      if (h.keepalivedDown) {
        h.keepalivedDown = false;
        await attempt(`started keepalived on ${n}`, () => this.lab.startKeepalived(n));
      }
      if (h.maintenanceOn) {
        h.maintenance = 0;
        await attempt(`maintenance off on ${n}`, () => this.maintenanceOff(n));
      }
    }
    if (notes.length > 0) this.log(`repaired after the faults: ${notes.join('; ')}`);
    return { notes, problems };
  }
}

async function runFault(driver: FaultDriver, f: Fault, windowStart: number, signal: AbortSignal, log: (line: string) => void): Promise<FaultRecord> {
  await sleepUntil(windowStart + f.atMs, signal);
  const record: FaultRecord = { kind: f.kind, target: f.target, node: null, startedAt: Date.now(), endedAt: Date.now(), notes: [] };
  if (signal.aborted) {
    record.notes.push('not started: the run was stopped');
    return record;
  }
  let node: NodeName;
  try {
    node = await driver.resolve(f.target);
  } catch (e) {
    record.notes.push(`not started: ${message(e)}`);
    return record;
  }
  record.node = node;
  record.startedAt = Date.now();
  log(`+${((record.startedAt - windowStart) / 1000).toFixed(1)}s ${f.kind}(${f.target}) on ${node}`);
  try {
    record.notes.push(...(await driver.begin(f, node)));
  } catch (e) {
    record.notes.push(`start: ${message(e)}`);
  } finally {
    // every fault ends by itself, also when its start failed halfway or the run is being stopped
    await sleepUntil(record.startedAt + f.durationMs, signal);
    try {
      await driver.end(f, node);
    } catch (e) {
      record.notes.push(`undo: ${message(e)}`);
    }
    record.endedAt = Date.now();
  }
  return record;
}

/** Faults that began (a stopped run leaves some unstarted): only they can be blamed for an outage. */
const started = (faults: FaultRecord[]) => faults.filter((f) => f.node !== null);

/** A failed run's logs and journals, before the lab goes down (reports/campaign-failures/seed-<n>/). */
function keepEvidence(seed: number): void {
  const dest = join('reports', 'campaign-failures', `seed-${seed}`);
  mkdirSync(dest, { recursive: true });
  for (const n of ['a', 'b'] as const) {
    for (const f of ['engine.log', 'keepalived.log', 'state/journal.jsonl', 'state/rbd-fuse.log', 'docker/dockerd.log']) {
      const src = join(LAB.root, n, f);
      if (existsSync(src)) cpSync(src, join(dest, `${n}-${f.replace('/', '-')}`));
    }
  }
}

/**
 * One seed of the campaign on a fresh lab: one node serving with images pushed; a writer on its
 * mount; clients pulling back to back, pushing and committing project rows through the VIP all
 * through the fault window; the schedule's faults at their offsets, each undone by itself; then
 * the checks: one node serving with the VIP, no acknowledged image or row lost, no write from two
 * hosts, a clean filesystem. The lab always goes down.
 */
export async function runCampaignSeed(seed: number, options: CampaignOptions = {}): Promise<CampaignResult> {
  const schedule: Schedule = scheduleFor(seed);
  const log = (line: string) => options.log?.(`[seed ${seed}] ${line}`);
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const deadline = setTimeout(() => controller.abort(new Error(`run deadline of ${RUN_DEADLINE_MS} ms`)), RUN_DEADLINE_MS);
  const startedAt = Date.now();
  const result: CampaignResult = {
    seed,
    schedule: describeSchedule(schedule),
    passed: false,
    lost: null,
    lostRows: null,
    lateWrites: null,
    fsck: null,
    servingAtEnd: null,
    fences: 0,
    unavailability: [],
    faults: [],
    pushes: { attempted: 0, acknowledged: 0 },
    rows: { attempted: 0, acknowledged: 0 },
    pulls: { attempts: 0, failed: 0 },
    repairs: [],
    durationMs: 0,
  };
  const problems: string[] = [];
  const lab = new Lab({ advertInt: 0.1, log });
  let loop: ReturnType<Lab['startPullLoop']> | null = null;
  let writer: WriterWatch | null = null;
  const rows: string[] = [];
  try {
    log(result.schedule);
    await lab.up();
    // a cold start formats the image and initializes PostgreSQL
    const first = await lab.waitOneServing(150_000);
    await waitVipOnlyOn(lab, first);
    pushSome(lab, 3);
    // steady state, as the scenarios: the standby has known the master's watcher for longer than the holder grace
    await waitWatcherKnown(lab, first);
    const probe = lab.pushed[0];
    if (!probe) throw new Error('nothing pushed before the faults');
    const writerSince = Date.now();
    lab.startWriter(first);
    writer = new WriterWatch(lab, first, writerSince);
    await sleep(1_000);
    loop = lab.startPullLoop(probe.ref);

    const windowStart = Date.now();
    const driver = new FaultDriver(lab, first, writer, log);
    // read inside the loops below: an object, so the flag is not narrowed to its first value
    const traffic = { open: true };
    const w = writer;
    const watchWriter = (async () => {
      while (traffic.open && !signal.aborted) {
        w.poll();
        await sleep(1_000);
      }
    })();
    const pushes = (async () => {
      for (let i = 1; traffic.open && !signal.aborted; i++) {
        result.pushes.attempted += 1;
        if (await pushAsync(lab, `s${seed}-${i}`)) result.pushes.acknowledged += 1;
        await sleepUntil(Date.now() + 3_000, signal);
      }
    })();
    const commits = (async () => {
      for (let i = 1; traffic.open && !signal.aborted; i++) {
        const name = `campaign-${seed}-${i}`;
        result.rows.attempted += 1;
        if (await createProjectAsync(name)) rows.push(name);
        await sleepUntil(Date.now() + 1_000, signal);
      }
    })();
    result.faults = await Promise.all(schedule.faults.map((f) => runFault(driver, f, windowStart, signal, log)));
    const repaired = await driver.healAll();
    result.repairs = repaired.notes;
    problems.push(...repaired.problems);
    traffic.open = false;
    await Promise.all([watchWriter, pushes, commits]);
    result.rows.acknowledged = rows.length;
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('stopped');

    // the pair settles by itself: exactly one node serves and holds the VIP
    const serving = await lab.waitOneServing(SETTLE_TIMEOUT_MS);
    await waitVipOnlyOn(lab, serving);
    result.servingAtEnd = serving;
    log(`settled: ${serving} serves`);
    // a few more pulls, so an outage that ended at the settle is closed by a good one
    await sleep(5_000);
    const attempts = await loop.stop();
    loop = null;
    result.pulls = { attempts: attempts.length, failed: attempts.filter((a) => !a.ok).length };
    result.unavailability = faultUnavailability(attempts, started(result.faults));

    const lost = lab.lostImages();
    result.lost = lost.length;
    if (lost.length > 0) problems.push(`lost acknowledged images: ${lost.join(', ')}`);
    // a registry that cannot list its projects is a finding of its own; the image check still runs
    try {
      const present = new Set(lab.projectNames());
      const lostRows = rows.filter((r) => !present.has(r));
      result.lostRows = lostRows.length;
      if (lostRows.length > 0) problems.push(`lost acknowledged rows: ${lostRows.join(', ')}`);
    } catch (e) {
      problems.push(message(e));
    }
    result.fences = lab.fenceCount('a') + lab.fenceCount('b');

    // late writes and fsck: the writer stopped, the serving node released, the image read as a whole
    writer.poll();
    if (!(await writer.stop())) problems.push(`the writer on ${writer.node} is still stuck in I/O`);
    const inspected: ScenarioResult = { name: `campaign seed ${seed}`, passed: false, rto_ms: null, phases: {}, pushed: 0, lost: 0, fences: 0, measured: {} };
    try {
      // nobody else mapped: every line the writer left is its node's rightful write
      await inspectImageAfterRelease(lab, serving, writer.peerMappedAt ?? Number.MAX_SAFE_INTEGER, inspected);
      // it brought the engine back and waited for one node serving; the other must not be active
      const states = await lab.states();
      if ((['a', 'b'] as const).filter((n) => states[n].startsWith('active')).length !== 1)
        problems.push(`not exactly one node active after the image check: ${JSON.stringify(states)}`);
    } catch (e) {
      problems.push(message(e));
    }
    result.lateWrites = inspected.lateWrites ?? null;
    result.fsck = inspected.fsck ?? null;
  } catch (e) {
    problems.push(message(e));
  } finally {
    clearTimeout(deadline);
    result.rows.acknowledged = rows.length;
    if (loop) {
      const attempts = await loop.stop().catch(() => []);
      result.pulls = { attempts: attempts.length, failed: attempts.filter((a) => !a.ok).length };
      if (result.faults.length > 0) result.unavailability = faultUnavailability(attempts, started(result.faults));
    }
    if (problems.length > 0) result.error = problems.join('; ');
    result.passed =
      problems.length === 0 && result.lost === 0 && result.lostRows === 0 && result.lateWrites === 0 && result.fsck === 0 && result.servingAtEnd !== null;
    // a passing seed's journals too with HALAB_KEEP_EVIDENCE=1 (timing work, slow recoveries)
    if (!result.passed || process.env.HALAB_KEEP_EVIDENCE === '1') {
      try {
        keepEvidence(seed);
      } catch {
        // a lab that never came up has nothing to keep
      }
    }
    await lab.down();
    result.durationMs = Date.now() - startedAt;
  }
  return result;
}
