import { createHash } from 'node:crypto';
import type { AnyEventObject } from 'xstate';
import { fitnessOf } from '../../src/guards/fitness.js';
import type { NodeTag } from '../../src/domain/tags.js';
import type { Timing } from '../../src/machine/timing.js';
import { stepViolation } from './invariants.js';
import { delayName, Engine, engineKey, invokesOf, rebase, type EngineState, type Machine, type Stepped } from './node.js';
import {
  cloneWorld,
  DEFAULT_WORLD_OPTIONS,
  HANGS,
  hostBlocklisted,
  initialWorld,
  IP,
  isBlocklisted,
  mapClient,
  NODES,
  NOW,
  ownershipView,
  holders,
  peerOf,
  PRIORITY,
  reconnect,
  runStep,
  silenceWatch,
  unmapClient,
  type KeepalivedState,
  type LateStep,
  type NodeId,
  type World,
  type WorldOptions,
} from './world.js';

/*
 * The composed state (both engines and the world) and every step that can follow it: command
 * completions and failures, timers in deadline order, the system's own reactions (keepalived,
 * watchdog, health prober, standby poll, late command effects) and the faults.
 */

export interface State {
  engines: Record<NodeId, EngineState | null>;
  world: World;
}

export interface Step {
  label: string;
  /** This step is a fault (counted against the bound). */
  fault: boolean;
  next: State;
  /** A step invariant (G3 cool-down, G4) this step breaks. */
  violation?: string;
}

export interface ModelOptions {
  machine: Machine;
  timing: Timing;
  world: WorldOptions;
  maxFaults: number;
  /** The configured cool-down G3 holds every node to (the real one, also when a mutant shortens it). */
  cooldownMs: number;
  /** The VIP reconciler promotes an engine whose keepalived runs (false: only after keepalived spoke to it). */
  trustRunningKeepalived: boolean;
  /** Only faults whose label matches (a hunt for one named scenario); all faults when unset. */
  onlyFaults?: RegExp;
  /**
   * The holder watch keeps running through a release (the service's rule). false: it stops when
   * the release begins, as it once did, so a hand-over on a dead path waits out its steps' timeouts.
   */
  watchdogInRelease: boolean;
}

const LATE: ReadonlySet<string> = new Set<LateStep>(['map', 'unmount', 'unmap']);
const CEPH_STEPS: ReadonlySet<string> = new Set([
  'readHolders',
  'fence',
  'verifyFence',
  'claim',
  'map',
  'record',
  'probeFilesystem',
  'fsck',
  'mount',
  'disown',
]);

export class Model {
  readonly engine: Engine;
  readonly cap: number;

  constructor(readonly o: ModelOptions) {
    this.engine = new Engine(o.machine, o.timing);
    // ages beyond both the holder grace and the cool-down behave alike
    this.cap = Math.max(o.timing.holderGraceMs, o.timing.fencedCooldownMs);
  }

  initial(): State {
    const world = initialWorld();
    const a = this.engine.start('a');
    const b = this.engine.start('b');
    return { engines: { a: a.engine, b: b.engine }, world };
  }

  key(s: State): string {
    return createHash('sha1')
      .update(engineKey(s.engines.a))
      .update('|')
      .update(engineKey(s.engines.b))
      .update('|')
      .update(JSON.stringify(s.world))
      .digest('base64');
  }

  private clone(s: State): State {
    return { engines: { ...s.engines }, world: cloneWorld(s.world) };
  }

  /** Apply a transition's result to the state: engine, markers, and the prober's memory. */
  private put(s: State, n: NodeId, r: Stepped): void {
    s.engines[n] = r.engine;
    const h = s.world.hosts[n];
    for (const m of r.markers) {
      if (m === 'persistFailed') h.failedMarker = true;
      else if (m === 'clearFailed') h.failedMarker = false;
      else if (m === 'persistMaintenance') h.maintenanceMarker = true;
      else h.maintenanceMarker = false;
    }
    if (!r.engine.snap.hasTag('probes-health')) h.healthTold = null;
  }

  send(s: State, n: NodeId, event: AnyEventObject): void {
    const e = s.engines[n];
    if (e === null || e.snap.status !== 'active') return;
    this.put(s, n, this.engine.send(e, event));
  }

  /** Can the engine act right now (running, not frozen)? */
  live(s: State, n: NodeId): EngineState | null {
    const e = s.engines[n];
    return e !== null && !s.world.hosts[n].paused && e.snap.status === 'active' ? e : null;
  }

  fit(s: State, n: NodeId): boolean {
    const e = this.live(s, n);
    if (e === null) return false;
    const w = s.world;
    const ready = !w.hosts[n].cut && !hostBlocklisted(w, n);
    return fitnessOf(
      {
        tags: [...e.snap.tags] as NodeTag[],
        state: '',
        reason: e.snap.context.reason,
        exitTo: e.snap.context.exitTo,
        releaseStalled: e.snap.context.releaseStalled,
        deadPath: e.snap.context.deadPath,
      },
      { ok: ready, checkedAt: NOW, error: ready ? null : 'Ceph unreachable' },
      NOW,
      1,
    ).fit;
  }

  /** Where keepalived on n goes next (track script weight 0: unfit → FAULT; nopreempt; higher priority wins a tie). */
  desiredVrrp(s: State, n: NodeId): KeepalivedState | null {
    const w = s.world;
    const h = w.hosts[n];
    if (!h.keepalived || h.paused) return null;
    if (!this.fit(s, n)) return 'FAULT';
    const p = w.hosts[peerOf(n)];
    const peerHeard = w.vrrpLink && p.keepalived && !p.paused;
    if (!peerHeard) return 'MASTER';
    if (p.vrrp === 'MASTER') return h.vrrp === 'MASTER' && PRIORITY[n] > PRIORITY[peerOf(n)] ? 'MASTER' : 'BACKUP';
    if (h.vrrp === 'MASTER' || p.vrrp === 'FAULT') return 'MASTER';
    return PRIORITY[n] > PRIORITY[peerOf(n)] ? 'MASTER' : 'BACKUP';
  }

  private setVrrp(s: State, n: NodeId, v: KeepalivedState): void {
    const h = s.world.hosts[n];
    h.vrrp = v;
    h.vip = v === 'MASTER';
    this.send(s, n, { type: 'vrrp', state: v });
  }

  /** Every step from s; with `faults` false only the system's own steps and heals (liveness). */
  successors(s: State, faults = true): Step[] {
    const out: Step[] = [];
    const w = s.world;
    const canFault = faults && w.faults < this.o.maxFaults;
    const add = (label: string, fault: boolean, f: (t: State) => void, violation?: string | null) => {
      if (fault && !canFault) return;
      if (fault && this.o.onlyFaults && !this.o.onlyFaults.test(label)) return;
      const t = this.clone(s);
      if (fault) t.world.faults += 1;
      f(t);
      t.world.fences = Math.min(t.world.fences, 2 * this.o.maxFaults + 2);
      out.push(violation ? { label, fault, next: t, violation } : { label, fault, next: t });
    };

    for (const n of NODES) {
      const h = w.hosts[n];
      const e = this.live(s, n);
      if (e !== null) {
        // commands: complete now (as the world says), or fail now (a fault); hanging is their timeout
        for (const id of invokesOf(e.snap)) {
          const probe = cloneWorld(w);
          const result = runStep(probe, n, id, e.inputs[id], this.o.world);
          if (result !== HANGS) {
            const label = result.ok ? `${n}: ${id} done ${brief(result.output)}` : `${n}: ${id} fails (${result.error})`;
            add(
              label,
              false,
              (t) => {
                runStep(t.world, n, id, t.engines[n]?.inputs[id], this.o.world);
                this.send(
                  t,
                  n,
                  result.ok ? { type: `xstate.done.actor.${id}`, output: result.output } : { type: `xstate.error.actor.${id}`, error: new Error(result.error) },
                );
              },
              stepViolation(w, n, id, e.inputs[id], this.o.cooldownMs),
            );
          }
          if (result === HANGS || result.ok) {
            add(`${n}: ${id} fails (fault)`, true, (t) => this.send(t, n, { type: `xstate.error.actor.${id}`, error: new Error(`${id} failed (injected)`) }));
          }
        }
        const snap = e.snap;
        const c = snap.context;
        // the holder watch reports once per hold (the runtime's `reported`): an event that would
        // change nothing (a release already escalated to the same end) is not offered again
        const watchdog = (label: string, event: AnyEventObject) => {
          const r = this.engine.send(e, event);
          if (engineKey(r.engine) !== engineKey(e)) add(`${n}: watchdog ${label}`, false, (t) => this.put(t, n, r));
        };
        const dataPath = snap.hasTag('watchdog') && c.holdings.mounted && h.mounted;
        // on the record alone while a release unmounts or unmaps: no probe writes, so no EIO
        const recordOnly = snap.hasTag('ceph-watch');
        const watching = this.o.watchdogInRelease || !snap.hasTag('release');
        if (watching && (dataPath || recordOnly) && c.generation !== null && h.client !== null) {
          if (!h.cut) {
            const r = w.image.record;
            const blocked = dataPath && isBlocklisted(w, h.client.addr);
            if (blocked || r === null || r.node !== n || r.generation !== c.generation) {
              watchdog(`io.fenced${blocked ? ' (EIO)' : ' (record names another)'}`, { type: 'io.fenced', detail: 'model' });
            }
          } else {
            watchdog('ceph.lost', { type: 'ceph.lost', detail: 'model' });
          }
        }
        // the health prober (only changes of verdict)
        if (snap.hasTag('probes-health') && h.harbor) {
          const verdict = h.harborSick ? 'down' : 'healthy';
          if (h.healthTold !== verdict) {
            add(`${n}: health.${verdict}`, false, (t) => {
              t.world.hosts[n].healthTold = verdict;
              this.send(t, n, { type: `health.${verdict}` });
            });
          }
        }
        // the standby poll, when it would teach the engine something new
        if (snap.hasTag('standby-poll') && !h.cut && !hostBlocklisted(w, n)) {
          const ev = { type: 'image.holders', holders: holders(w), ownership: ownershipView(w), observedAt: NOW };
          const r = this.engine.send(e, ev);
          if (engineKey(r.engine) !== engineKey(e)) add(`${n}: standby poll`, false, (t) => this.put(t, n, r));
        }
        // operator actions (faults)
        if (snap.matches({ active: 'serving' })) add(`${n}: operator switchover`, true, (t) => this.send(t, n, { type: 'switchover' }));
        if (snap.matches('idle') || snap.matches({ active: 'serving' }))
          add(`${n}: operator maintenance.on`, true, (t) => this.send(t, n, { type: 'maintenance.on' }));
        if (snap.matches('maintenance')) add(`${n}: operator maintenance.off`, false, (t) => this.send(t, n, { type: 'maintenance.off' }));
        if (snap.matches('failed')) add(`${n}: operator resume`, true, (t) => this.send(t, n, { type: 'resume' }));
      }
      // keepalived
      const want = this.desiredVrrp(s, n);
      if (want !== null && want !== h.vrrp) add(`${n}: keepalived ${h.vrrp} → ${want}`, false, (t) => this.setVrrp(t, n, want));
      // commands that finish after their caller gave up
      if (!h.paused) {
        for (const step of new Set(h.late)) {
          if (step === 'map' && h.cut) continue;
          add(`${n}: late ${step} completes`, false, (t) => {
            const th = t.world.hosts[n];
            th.late = th.late.filter((x) => x !== step);
            if (step === 'map') mapClient(t.world, n);
            else if (step === 'unmount') th.mounted = false;
            else if (!th.mounted) unmapClient(t.world, n);
          });
        }
      }
      this.faultSteps(s, n, add);
    }
    if (w.vrrpLink) add('VRRP link cut', true, (t) => (t.world.vrrpLink = false));
    else add('VRRP link heals', false, (t) => (t.world.vrrpLink = true));
    this.timeSteps(s, add);
    return out;
  }

  private faultSteps(s: State, n: NodeId, add: (label: string, fault: boolean, f: (t: State) => void) => void): void {
    const h = s.world.hosts[n];
    const up = s.engines[n] !== null;
    if (h.paused) {
      add(`${n}: host resumes`, false, (t) => {
        t.world.hosts[n].paused = false;
        reconnect(t.world, n);
      });
      return;
    }
    const crash = (t: State) => {
      t.engines[n] = null;
      t.world.hosts[n].healthTold = null;
    };
    if (up) add(`${n}: engine crashes`, true, crash);
    if (h.keepalived) add(`${n}: keepalived crashes`, true, (t) => (t.world.hosts[n].keepalived = false));
    if (up && h.keepalived) {
      add(`${n}: engine and keepalived crash`, true, (t) => {
        crash(t);
        t.world.hosts[n].keepalived = false;
      });
    }
    if (up) add(`${n}: service restart`, true, (t) => this.restartEngine(t, n));
    if (!up || !h.keepalived) {
      add(`${n}: restart ${!up && !h.keepalived ? 'engine and keepalived' : !up ? 'engine' : 'keepalived'}`, false, (t) => {
        const th = t.world.hosts[n];
        if (!th.keepalived) {
          th.keepalived = true;
          th.vrrp = 'BACKUP';
          th.vip = false;
          this.send(t, n, { type: 'vrrp', state: 'BACKUP' });
        }
        if (t.engines[n] === null) this.restartEngine(t, n);
      });
    }
    add(`${n}: host pauses`, true, (t) => {
      const th = t.world.hosts[n];
      th.paused = true;
      if (th.client) silenceWatch(t.world, th.client.addr, this.o.world);
    });
    if (!h.cut) {
      add(`${n}: storage link cut`, true, (t) => {
        const th = t.world.hosts[n];
        th.cut = true;
        if (th.client) silenceWatch(t.world, th.client.addr, this.o.world);
      });
    } else {
      add(`${n}: storage link heals`, false, (t) => {
        t.world.hosts[n].cut = false;
        reconnect(t.world, n);
      });
    }
    if (h.harbor && !h.harborSick) add(`${n}: Harbor unhealthy`, true, (t) => (t.world.hosts[n].harborSick = true));
    if (h.harborSick) add(`${n}: Harbor healthy again`, false, (t) => (t.world.hosts[n].harborSick = false));
  }

  /**
   * The service's VIP reconciler (src/runtime/pollers.ts). keepalived only notifies changes, so an
   * engine restarted under a MASTER keepalived is not told again: a VIP on the interface promotes
   * an engine whose keepalived runs (a dead keepalived's leftover VIP promotes nobody), and a VIP
   * gone demotes. `trustRunningKeepalived: false` is the reconciler as it was before the explorer
   * found that gap: it promoted only an engine keepalived had spoken to since its start.
   */
  reconcile(s: State): Step[] {
    const out: Step[] = [];
    for (const n of NODES) {
      const e = this.live(s, n);
      const h = s.world.hosts[n];
      if (e === null) continue;
      const believesMaster = e.snap.context.vrrp === 'MASTER';
      const mayPromote = e.snap.hasTag('acting-master') || (this.o.trustRunningKeepalived && h.keepalived);
      const told = !believesMaster && h.vip && mayPromote ? 'MASTER' : believesMaster && !h.vip ? 'BACKUP' : null;
      if (told === null) continue;
      const t = this.clone(s);
      this.send(t, n, { type: 'vrrp', state: told });
      out.push({ label: `${n}: VIP reconciler says ${told} (VIP ${h.vip ? 'here' : 'gone'})`, fault: false, next: t });
    }
    return out;
  }

  restartEngine(t: State, n: NodeId): void {
    const r = this.engine.start(n);
    t.engines[n] = null;
    this.put(t, n, r);
  }

  /** The earliest deadlines (engine timers of running hosts, watch expiries); ties in every order. */
  private timeSteps(s: State, add: (label: string, fault: boolean, f: (t: State) => void) => void): void {
    const w = s.world;
    let min = Infinity;
    for (const n of NODES) {
      const e = this.live(s, n);
      if (e) for (const t of e.timers) min = Math.min(min, t.remaining);
    }
    for (const x of w.image.watchers) if (x.expiresIn !== null) min = Math.min(min, x.expiresIn);
    if (min === Infinity) return;
    const d = Math.max(0, min);
    for (const n of NODES) {
      const e = this.live(s, n);
      if (!e) continue;
      for (const timer of e.timers) {
        if (timer.remaining !== min) continue;
        const delay = delayName(timer.id);
        const step = delay.endsWith('Timeout') ? delay.slice(0, -'Timeout'.length) : null;
        // a step that could have finished but did not is a hung command: a fault
        const hung = step !== null && step !== 'healthy' && e.inputs[step] !== undefined && !(CEPH_STEPS.has(step) && w.hosts[n].cut);
        const slowHarbor = step === 'healthy' && w.hosts[n].harbor && !w.hosts[n].harborSick;
        add(`${n}: +${d} ms ${delay}`, hung || slowHarbor, (t) => {
          this.advance(t, d);
          if (step !== null && LATE.has(step) && e.inputs[step] !== undefined) t.world.hosts[n].late.push(step as LateStep);
          this.send(t, n, { type: timer.id });
        });
      }
    }
    for (const x of w.image.watchers) {
      if (x.expiresIn !== min) continue;
      add(`+${d} ms watch of ${x.node} (${x.addr}) expires`, false, (t) => {
        this.advance(t, d);
        t.world.image.watchers = t.world.image.watchers.filter((y) => y.addr !== x.addr);
      });
    }
  }

  /** d ms pass: timers of running engines and watch expiries run down; remembered times move back. */
  advance(t: State, d: number): void {
    if (d === 0) return;
    const w = t.world;
    for (const n of NODES) {
      const e = t.engines[n];
      if (e) t.engines[n] = rebase(e, d, this.cap, w.hosts[n].paused);
      const h = w.hosts[n];
      if (h.fencedAgo !== null) h.fencedAgo = Math.min(h.fencedAgo + d, this.cap);
    }
    for (const x of w.image.watchers) if (x.expiresIn !== null) x.expiresIn -= d;
    const r = w.image.record;
    if (r) w.image.record = { ...r, at: new Date(Math.max(Date.parse(r.at) - d, NOW - this.cap)).toISOString() };
  }
}

/** A short, stable text for a step's output in labels. */
function brief(output: unknown): string {
  if (output === undefined) return '';
  const o = output as Record<string, unknown>;
  if ('claimed' in o) return o.claimed ? '(claimed)' : '(lock busy)';
  if ('fenced' in o) return `(fenced ${JSON.stringify(o.fenced)})`;
  if ('holders' in o) return `(watchers ${JSON.stringify((o.holders as Array<{ address: string }>).map((h) => h.address))})`;
  if ('ownership' in o && 'vipHere' in o)
    return `(${String(o.ownership)}${o.device ? ', mapped' : ''}${o.mounted ? ', mounted' : ''}${o.composeRunning ? ', harbor' : ''}${o.vipHere ? ', VIP' : ''})`;
  return '';
}

export const defaultModelOptions = (machine: Machine, timing: Timing, maxFaults: number, world: Partial<WorldOptions> = {}): ModelOptions => ({
  machine,
  timing,
  maxFaults,
  cooldownMs: timing.fencedCooldownMs,
  trustRunningKeepalived: true,
  watchdogInRelease: true,
  world: { ...DEFAULT_WORLD_OPTIONS, ...world },
});

export { IP };
