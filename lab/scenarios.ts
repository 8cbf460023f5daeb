import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB, Lab, type LabOptions, type NodeName } from './lab.js';

/** A failed scenario's logs and journals, kept before the lab is torn down (reports/lab-failures/<name>/). */
function keepEvidence(name: string): void {
  const dest = join('reports', 'lab-failures', name.replace(/[^a-z0-9]+/gi, '-'));
  mkdirSync(dest, { recursive: true });
  for (const n of ['a', 'b'] as const) {
    for (const f of ['engine.log', 'keepalived.log', 'state/journal.jsonl', 'state/rbd-fuse.log']) {
      const src = join(LAB.root, n, f);
      if (existsSync(src)) cpSync(src, join(dest, `${n}-${f.replace('/', '-')}`));
    }
    // why a container did not come up is in its own log, on the node's daemon
    const socket = join(LAB.root, n, 'docker', 'sock', 'docker.sock');
    if (!existsSync(socket)) continue;
    for (const c of ['redis', 'harbor-db', 'harbor-core', 'registry', 'nginx']) {
      const r = spawnSync('docker', ['-H', `unix://${socket}`, 'logs', '--tail', '200', c], { encoding: 'utf8', timeout: 20_000 });
      writeFileSync(join(dest, `${n}-container-${c}.log`), `${r.stdout}${r.stderr}`);
    }
  }
}

export interface ScenarioResult {
  name: string;
  passed: boolean;
  rto_ms: number | null;
  phases: Record<string, number>;
  pushed: number;
  lost: number;
  fences: number;
  /** From the new master's journal: its takeover by step (ms), retries and grace included. */
  takeoverSteps?: Record<string, number>;
  /** Fault → the lab seeing the new master serving over its control socket (before the pulls). */
  servingSeenMs?: number;
  /** Fault → the new master's own transition into serving (from its log). */
  servingAtMs?: number;
  /** Each pull attempt after the new master served, until one worked (ms, and why it failed). */
  pullAttempts?: Array<{ ms: number; ok: boolean; out: string }>;
  /** From the old master's journal: its release after the fault, by phase (ms); absent when it did not release (crash). */
  oldMasterRelease?: Record<string, number>;
  /** Writer lines in the image newer than the new master's map: writes from two hosts (must be 0). */
  lateWrites?: number;
  /** `e2fsck -n -f` exit code of the image after everything was released (0 = clean). */
  fsck?: number;
  /** Every `compose up` and `compose down` the engines ran in the scenario (ms each, both nodes, from their journals). */
  compose?: { up: number[]; down: number[] };
  /** Scenario-specific measurements (ms, counts). */
  measured?: Record<string, number | string | boolean>;
  error?: string;
}

export interface ScenarioOptions {
  extraYaml?: string[];
  after?: (lab: Lab, serving: NodeName, result: ScenarioResult) => Promise<void>;
  /** Lab set-up hooks (foreign mount, VRRP cut at start). */
  lab?: Pick<LabOptions, 'beforeEngines' | 'vrrpCutAtStart' | 'mountOptions' | 'startingProbeMs'> & Partial<Pick<LabOptions, 'advertInt'>>;
  /** The fault comes before the standby has settled into polling the image (e.g. it is not idle at all). */
  noSteadyState?: boolean;
  /**
   * Production's steady state once both hosts have served: a switchover there and back before the
   * fault, so the standby keeps Harbor's containers from its own tenure (harbor.keepContainers).
   */
  bothServedBefore?: boolean;
  /**
   * Runs as soon as the first node serves, before any client push: for faults present from the
   * start (VRRP cut) that must be checked and healed while the other node is still cooling down.
   */
  whenFirstServing?: (lab: Lab, serving: NodeName, result: ScenarioResult) => Promise<void>;
}

export const other = (n: NodeName): NodeName => (n === 'a' ? 'b' : 'a');

/** The most common fault: SIGKILL the master's engine and keepalived; the other node must serve. */
export const crashMaster = (lab: Lab, serving: NodeName): Promise<NodeName> => {
  lab.crashNode(serving);
  return Promise.resolve(other(serving));
};

/** Harbor unhealthy on the master: its registry stopped; the other node must serve. */
export const harborUnhealthy = (lab: Lab, serving: NodeName): Promise<NodeName> => {
  lab.stopRegistry(serving);
  return Promise.resolve(other(serving));
};

/**
 * Until the node's engine says it serves (its control socket: active.serving). After a fault the
 * recovery figure waits on this before its pull, so it asks every 20 ms: the poll's own lag is the
 * measurement's, not the recovery's (a status answer is an in-memory snapshot for the engine).
 */
export const waitServing = (lab: Lab, n: NodeName, timeoutMs: number, intervalMs = 100): Promise<number> =>
  lab.waitFor(`${n} serving`, async () => (await lab.status(n).catch(() => null))?.state.startsWith('active.serving') ?? false, timeoutMs, intervalMs);

/** How often the recovery figure asks whether the new master serves. */
const RECOVERY_POLL_MS = 20;

/** Until the VIP is on the node and not on the other: clients reach only it. */
export const waitVipOnlyOn = (lab: Lab, n: NodeName): Promise<number> =>
  lab.waitFor(`the VIP only on ${n}`, () => lab.vipOn(n) && !lab.vipOn(other(n)), 60_000);

/**
 * Steady state before a fault: the standby has known the master's watcher for longer than the
 * holder grace (2 s in the lab). A master that crashes sooner after its own takeover is given the
 * grace first (measured: +2.0 s in acquiring-rbd.settling); that is by design.
 */
export const waitWatcherKnown = (lab: Lab, master: NodeName): Promise<number> =>
  lab.waitFor(
    `${other(master)} to know ${master}'s watcher`,
    async () => {
      const holders = (await lab.status(other(master)).catch(() => null))?.imageHolders ?? [];
      return holders.some((h) => Date.now() - Date.parse(h.firstSeenAt) > 3_000);
    },
    30_000,
  );

/** Push `count` images through the VIP; every push must be acknowledged. */
export function pushSome(lab: Lab, count: number): void {
  for (let i = 0; i < count; i++) {
    const r = lab.push();
    if (!r.ok) throw new Error(`push ${r.ref} failed: ${r.out.slice(-400)}`);
  }
}

/**
 * The common shape: a fresh lab, one node serving, images pushed; `fault` injects the fault and
 * names the node that must serve afterwards; then recovery time (fault → that node serving and a
 * pull through the VIP working), more pushes, every acknowledged image pulled back and compared.
 */
export async function runScenario(
  name: string,
  fault: (lab: Lab, serving: NodeName, result: ScenarioResult) => Promise<NodeName>,
  options: ScenarioOptions = {},
): Promise<ScenarioResult> {
  const lab = new Lab({ advertInt: 0.1, ...(options.extraYaml ? { extraYaml: options.extraYaml } : {}), ...options.lab });
  const result: ScenarioResult = { name, passed: false, rto_ms: null, phases: {}, pushed: 0, lost: 0, fences: 0, measured: {} };
  const startedAt = Date.now();
  try {
    await lab.up();
    // a cold start formats the image and initializes PostgreSQL: ~30 s alone, more on a loaded machine
    const first = await lab.waitOneServing(150_000);
    await options.whenFirstServing?.(lab, first, result);
    // clients reach the VIP only on the serving node (after a start with both MASTER, the other drops it)
    await waitVipOnlyOn(lab, first);
    pushSome(lab, 3);
    if (options.bothServedBefore) {
      for (const n of [other(first), first]) {
        // a hand-over only to a fit standby: after its own release (readiness), and after a start
        // where both came up MASTER and the first to serve fenced the other (its fenced cool-down)
        await lab.waitFor(`${n} fit`, async () => (await lab.status(n).catch(() => null))?.fitness.fit === true, 120_000);
        const ack = await lab.request(other(n), { cmd: 'switchover' });
        if (!ack.ok) throw new Error(`switchover to ${n} refused: ${JSON.stringify(ack)}`);
        await waitServing(lab, n, 120_000);
        await waitVipOnlyOn(lab, n);
      }
    }
    // steady state before the fault (unless the scenario's fault comes before it)
    if (!options.noSteadyState) await waitWatcherKnown(lab, first);
    const faultAt = Date.now();
    const next = await fault(lab, first, result);
    await waitServing(lab, next, 120_000, RECOVERY_POLL_MS);
    result.servingSeenMs = Date.now() - faultAt;
    await lab.waitPullable(60_000);
    result.rto_ms = Date.now() - faultAt;
    result.pullAttempts = lab.pullAttempts;
    result.phases = lab.phases(next, faultAt);
    const servedAt = lab.transitions(next, faultAt).find((t) => t.to.startsWith('active.serving'))?.at;
    if (servedAt !== undefined) result.servingAtMs = servedAt - faultAt;
    const takeover = lab
      .journal(next)
      .filter((e) => e.kind === 'summary' && e.operation === 'takeover' && Date.parse(e.at) >= faultAt)
      .at(0);
    if (takeover?.kind === 'summary')
      result.takeoverSteps = { total: takeover.totalMs, ...Object.fromEntries(takeover.steps.map((p) => [p.phase, p.durationMs])) };
    const release = lab
      .journal(first)
      .filter((e) => e.kind === 'summary' && e.operation === 'release' && Date.parse(e.at) >= faultAt)
      .at(0);
    if (release?.kind === 'summary')
      result.oldMasterRelease = { total: release.totalMs, ...Object.fromEntries(release.phases.map((p) => [p.phase, p.durationMs])) };
    pushSome(lab, 2);
    await options.after?.(lab, next, result);
    const states = await lab.states();
    const serving = (['a', 'b'] as const).filter((n) => states[n].startsWith('active'));
    if (serving.length !== 1) throw new Error(`expected exactly one node active, got ${JSON.stringify(states)}`);
    result.pushed = lab.pushed.length;
    const lost = lab.lostImages();
    result.lost = lost.length;
    result.fences = lab.fenceCount('a') + lab.fenceCount('b');
    if (lost.length > 0) throw new Error(`lost acknowledged images: ${lost.join(', ')}`);
    result.passed = true;
    // journals of a passing run too, for timing work (HALAB_KEEP_EVIDENCE=1)
    if (process.env.HALAB_KEEP_EVIDENCE === '1') keepEvidence(name);
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    result.pushed = lab.pushed.length;
    keepEvidence(name);
  } finally {
    try {
      result.compose = lab.composeTimes(startedAt);
    } catch {
      // a lab that never came up has no journals
    }
    await lab.down();
  }
  return result;
}

/**
 * After a fault where the old master may have written after the new one mapped: release the new
 * master, read the whole image (data blocks included) for the writer's lines and fsck it, then
 * bring the engine back. Records `lateWrites` (lines newer than `mappedAt`) and `fsck`.
 */
export async function inspectImageAfterRelease(lab: Lab, serving: NodeName, mappedAt: number, result: ScenarioResult): Promise<void> {
  // the other node must not take the image over while the lab reads it
  const peer = other(serving);
  await lab.request(peer, { cmd: 'maintenance', on: true }).catch(() => undefined);
  await lab.request(serving, { cmd: 'shutdown', release: true });
  await lab.waitFor(`${serving} released`, async () => (await lab.status(serving).catch(() => null)) === null, 90_000);
  const stamps = await lab.writerStamps();
  result.lateWrites = stamps.filter((t) => t > mappedAt).length;
  if (result.measured) {
    result.measured.writerLines = stamps.length;
    const before = stamps.filter((t) => t <= mappedAt);
    if (before.length > 0) result.measured.lastWriteBeforeMapMs = mappedAt - Math.max(...before);
  }
  const fsck = await lab.fsckImage();
  result.fsck = fsck.code;
  if (fsck.code !== 0) throw new Error(`e2fsck -n after release: exit ${fsck.code}: ${fsck.out.slice(-600)}`);
  if (result.lateWrites > 0) throw new Error(`${result.lateWrites} writes from the old master landed after ${serving} mapped the image`);
  await lab.request(peer, { cmd: 'maintenance', on: false }).catch(() => undefined);
  // the scenario ends with one node serving: bring the engine back
  await lab.startEngine(serving);
  await lab.waitOneServing(90_000);
}

/** One pull of the client loop (`Lab.startPullLoop`): when it started and ended (epoch ms), and whether it worked. */
export interface PullAttempt {
  start: number;
  end: number;
  ok: boolean;
}

/**
 * What clients saw: the longest stretch from a failed pull's start to the next pull that worked
 * (its end), and how many pulls failed. A stretch still failing when the loop stopped counts to
 * the last attempt's end.
 */
export function unavailability(attempts: readonly PullAttempt[]): { longestMs: number; failed: number; outages: number } {
  const sorted = [...attempts].sort((x, y) => x.start - y.start);
  let longestMs = 0;
  let outages = 0;
  let since: number | null = null;
  for (const a of sorted) {
    if (!a.ok && since === null) {
      since = a.start;
      outages += 1;
    } else if (a.ok && since !== null) {
      longestMs = Math.max(longestMs, a.end - since);
      since = null;
    }
  }
  const last = sorted.at(-1);
  if (since !== null && last) longestMs = Math.max(longestMs, last.end - since);
  return { longestMs, failed: sorted.filter((a) => !a.ok).length, outages };
}
