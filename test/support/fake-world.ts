import { fromPromise, type AnyActorRef } from 'xstate';
import type { ActorName, NodeActors, Holder, WorldSnapshot } from '../../src/machine/index.js';
import { foreignHolders } from '../../src/guards/index.js';

/** One entry of what happened, in order: outside calls, their results, states entered, events sent. */
export type TraceEntry =
  | { kind: 'call'; actor: ActorName; id: string; input: unknown; at: number }
  | { kind: 'resolved'; actor: ActorName; id: string; output: unknown; at: number }
  | { kind: 'rejected'; actor: ActorName; id: string; at: number }
  | { kind: 'aborted'; actor: ActorName; id: string; at: number }
  | { kind: 'state'; value: string; at: number }
  | { kind: 'event'; type: string; at: number };

interface Pending {
  actor: ActorName;
  resolve: (output: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Fake outside world for the real actor. Each invoked step records its call, waits for the test
 * to settle it, and applies its effect to a small world model; every call is checked against the
 * safety invariants S1–S6 at the moment it is made, and violations are collected (never thrown:
 * a throw would turn into an error event and change the path under test).
 */
export class FakeWorld {
  readonly trace: TraceEntry[] = [];
  readonly violations: string[] = [];
  readonly world = { device: null as string | null, mounted: false, composeRunning: false };
  private readonly pending = new Map<string, Pending>();
  private lastObservation: Holder[] | null = null;
  private readonly fenced = new Set<string>();
  private readonly firstObserved = new Map<string, number>();
  private lastObservedAt = 0;
  private fencedSince: number | null = null;
  private releaseFailedSince: number | null = null;

  constructor(
    private readonly now: () => number,
    private readonly ownAddresses: string[],
    private readonly graceMs: number,
    private readonly cooldownMs: number,
  ) {}

  actors(): Partial<NodeActors> {
    const names: ActorName[] = [
      'readWorld', 'readHolders', 'fenceHolders', 'verifyFenced', 'mapImage', 'probeFilesystem',
      'formatFilesystem', 'checkFilesystem', 'mountFilesystem', 'composeUp', 'composeDown',
      'unmountFilesystem', 'unmapImage',
    ];
    return Object.fromEntries(names.map((name) => [name, this.fakeActor(name)])) as Partial<NodeActors>;
  }

  private fakeActor(name: ActorName) {
    return fromPromise<unknown, unknown>(({ input, signal, self }: { input: unknown; signal: AbortSignal; self: AnyActorRef }) => {
      const id = self.id;
      this.trace.push({ kind: 'call', actor: name, id, input, at: this.now() });
      this.checkCall(name, input);
      return new Promise((resolve, reject) => {
        this.pending.set(id, { actor: name, resolve, reject });
        signal.addEventListener('abort', () => {
          if (this.pending.get(id)?.actor === name) this.pending.delete(id);
          this.trace.push({ kind: 'aborted', actor: name, id, at: this.now() });
        });
      });
    });
  }

  has(id: string): boolean {
    return this.pending.has(id);
  }

  settle(id: string, outcome: { output: unknown } | { error: unknown }): void {
    const p = this.pending.get(id);
    if (!p) throw new Error(`no pending call for invoke "${id}"`);
    this.pending.delete(id);
    if ('error' in outcome) {
      this.trace.push({ kind: 'rejected', actor: p.actor, id, at: this.now() });
      p.reject(outcome.error);
      return;
    }
    this.trace.push({ kind: 'resolved', actor: p.actor, id, output: outcome.output, at: this.now() });
    this.applyEffect(p.actor, outcome.output);
    p.resolve(outcome.output);
  }

  /** Record a state the actor entered (flattened value). */
  enteredState(value: string, releaseFailed: boolean): void {
    const previous = this.lastState;
    this.lastState = value;
    this.trace.push({ kind: 'state', value, at: this.now() });
    const top = value.split('.')[0];
    // a new takeover must look at the holders again: an older look justifies nothing
    if (top === 'active' && previous.split('.')[0] !== 'active') this.lastObservation = null;
    if (top === 'fenced' && this.fencedSince === null) this.fencedSince = this.now();
    if (top === 'failed' && releaseFailed && this.releaseFailedSince === null) this.releaseFailedSince = this.now();
  }

  private lastState = '';

  sentEvent(type: string, holders?: Holder[], observedAt?: number): void {
    this.trace.push({ kind: 'event', type, at: this.now() });
    if (type === 'resume') {
      this.fencedSince = null;
      this.releaseFailedSince = null;
    }
    if (holders && observedAt !== undefined) this.observe(holders, observedAt);
  }

  private violate(rule: string, detail: string): void {
    this.violations.push(`${rule}: ${detail}`);
  }

  private observe(holders: Holder[], observedAt: number): void {
    for (const h of holders) if (!this.firstObserved.has(h.address)) this.firstObserved.set(h.address, observedAt);
    for (const known of [...this.firstObserved.keys()]) {
      if (!holders.some((h) => h.address === known)) this.firstObserved.delete(known);
    }
    this.lastObservedAt = observedAt;
  }

  private checkCall(name: ActorName, input: unknown): void {
    const w = this.world;
    switch (name) {
      case 'mapImage': {
        if (this.lastObservation === null) this.violate('S2', 'mapImage without looking at the image holders first');
        const unfenced = foreignHolders(this.lastObservation ?? [], this.ownAddresses).filter((h) => !this.fenced.has(h.address));
        if (unfenced.length > 0) this.violate('S2', `mapImage while ${unfenced.map((h) => h.address).join(', ')} not fenced`);
        if (w.device !== null) this.violate('S2', 'mapImage while already mapped');
        if (this.releaseFailedSince !== null) this.violate('S4', 'mapImage after a failed release without an operator resume');
        if (this.inCooldown()) this.violate('S5', 'mapImage during the fenced cool-down');
        break;
      }
      case 'mountFilesystem':
      case 'checkFilesystem':
      case 'formatFilesystem':
      case 'probeFilesystem':
        if (w.device === null) this.violate('S1', `${name} without a mapped device`);
        break;
      case 'composeUp':
        if (w.device === null || !w.mounted) this.violate('S1', `composeUp while mapped=${w.device !== null} mounted=${w.mounted}`);
        break;
      case 'unmountFilesystem':
        if (w.composeRunning) this.violate('S3', 'umount while Harbor is still running');
        break;
      case 'unmapImage':
        if (w.mounted) this.violate('S3', 'unmap of a mounted device');
        if (w.composeRunning) this.violate('S3', 'unmap while Harbor is still running');
        break;
      case 'fenceHolders': {
        if (this.inCooldown()) this.violate('S5', 'fencing during the fenced cool-down');
        const addresses = (input as { addresses: string[] }).addresses;
        for (const a of addresses) {
          const first = this.firstObserved.get(a);
          if (first === undefined) this.violate('S5', `fencing ${a}, never observed`);
          else if (this.lastObservedAt - first < this.graceMs) this.violate('S5', `fencing ${a}, a holder of ${this.lastObservedAt - first} ms`);
          const ip = a.split(':')[0] ?? '';
          if (this.ownAddresses.includes(ip)) this.violate('S5', `fencing this node's own client ${a}`);
        }
        break;
      }
      default:
        break;
    }
  }

  private inCooldown(): boolean {
    return this.fencedSince !== null && this.now() < this.fencedSince + this.cooldownMs;
  }

  private applyEffect(name: ActorName, output: unknown): void {
    const w = this.world;
    switch (name) {
      case 'readWorld': {
        const world = output as WorldSnapshot;
        w.device = world.device;
        w.mounted = world.mounted;
        w.composeRunning = world.composeRunning;
        break;
      }
      case 'readHolders':
      case 'verifyFenced': {
        const obs = output as { holders: Holder[]; observedAt: number };
        this.lastObservation = obs.holders;
        this.observe(obs.holders, obs.observedAt);
        break;
      }
      case 'fenceHolders':
        for (const a of (output as { fenced: string[] }).fenced) this.fenced.add(a);
        break;
      case 'mapImage':
        w.device = (output as { device: string }).device;
        break;
      case 'mountFilesystem':
        w.mounted = true;
        break;
      case 'composeUp':
        w.composeRunning = true;
        break;
      case 'composeDown':
        w.composeRunning = false;
        break;
      case 'unmountFilesystem':
        w.mounted = false;
        break;
      case 'unmapImage':
        w.device = null;
        break;
      default:
        break;
    }
  }

  /** Calls in the order they were made (names only), for order assertions. */
  callSequence(): ActorName[] {
    return this.trace.flatMap((t) => (t.kind === 'call' ? [t.actor] : []));
  }
}
