import { fromPromise, type AnyActorRef } from 'xstate';
import { actorPlaceholders, type ActorName, type NodeActors, type Holder, type OwnershipView, type WorldSnapshot } from '../../src/machine/index.js';
import { addressIp, foreignHolders } from '../../src/guards/index.js';
import { OWN_NODE } from './timing.js';

/** A claim on the image as the fake world sees it: `node#generation`, with when the record says it was made. */
interface SeenClaim {
  key: string;
  at: number | null;
  targets: string[];
}

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
  /** The ownership evidence of the last full look (readHolders / a standby poll). */
  private lastOwnership: OwnershipView | null = null;
  private lastOwnershipAt = 0;
  /** Claims seen before the current takeover began (standby polls, earlier looks). */
  private readonly claimsSeen = new Set<string>();
  private claimsKnownAtTakeoverStart = new Set<string>();
  /** This takeover took the lock (claim said claimed), or start-up found the record ours. */
  private holdsClaim = false;
  /** The last world read: a foreign mount there must never be unmounted (G4). */
  private foreignMount: string | null = null;
  private readonly fenced = new Set<string>();
  private readonly firstObserved = new Map<string, number>();
  private lastObservedAt = 0;
  private fencedSince: number | null = null;
  private releaseFailedSince: number | null = null;

  /** The marker files, as the machine's marker actions leave them. */
  readonly markers: { failed: string | null; maintenance: boolean } = { failed: null, maintenance: false };

  /** The machine's marker actions (the runtime writes files; this records them). */
  markerActions() {
    return {
      persistFailed: (_: unknown, p: { reason: string }) => void (this.markers.failed = p.reason),
      clearFailed: () => void (this.markers.failed = null),
      persistMaintenance: () => void (this.markers.maintenance = true),
      clearMaintenance: () => void (this.markers.maintenance = false),
    };
  }

  /**
   * M1–M3, once an event has settled: `failed` and `maintenance` are on disk while the node is in
   * them (a restart comes back to them), and a failed marker outlives only `failed` and a stop.
   */
  checkMarkers(state: string, reason: string): void {
    const top = state.split('.')[0];
    if (top === 'failed' && this.markers.failed !== reason)
      this.violate('M1', `in failed, the failed marker says ${JSON.stringify(this.markers.failed)}, not the reason ${JSON.stringify(reason)}`);
    if (top === 'maintenance' && !this.markers.maintenance) this.violate('M2', 'in maintenance without the maintenance marker');
    if (this.markers.failed !== null && top !== 'failed' && top !== 'stopped') this.violate('M3', `a failed marker left behind in ${state}`);
  }

  constructor(
    private readonly now: () => number,
    private readonly ownAddresses: string[],
    private readonly graceMs: number,
    private readonly cooldownMs: number,
  ) {}

  actors(): Partial<NodeActors> {
    // every step the chart invokes, by its one name
    const names = Object.keys(actorPlaceholders) as ActorName[];
    return Object.fromEntries(names.map((name) => [name, this.fakeActor(name)]));
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
    if (top === 'active' && previous.split('.')[0] !== 'active' && previous.split('.')[0] !== 'booting') {
      this.lastObservation = null;
      this.lastOwnership = null;
      this.holdsClaim = false;
      this.claimsKnownAtTakeoverStart = new Set(this.claimsSeen);
    }
    if (value.startsWith('active.serving') && !this.holdsClaim) this.violate('S2', `${value} without holding the ownership record`);
    if (top === 'fenced' && this.fencedSince === null) this.fencedSince = this.now();
    if (top === 'failed' && releaseFailed && this.releaseFailedSince === null) this.releaseFailedSince = this.now();
  }

  // the actor starts in booting (its first state is not reported as a microstep)
  private lastState = 'booting.running';

  sentEvent(type: string, holders?: Holder[], observedAt?: number, ownership?: OwnershipView): void {
    this.trace.push({ kind: 'event', type, at: this.now() });
    if (type === 'resume') {
      this.fencedSince = null;
      this.releaseFailedSince = null;
    }
    if (holders && observedAt !== undefined) this.observe(holders, observedAt);
    if (ownership) this.seeClaim(ownership);
  }

  /** The foreign claim of a look (record, or a lock that is not ours), independent of the machine's guards. */
  private claimOf(ownership: OwnershipView): SeenClaim | null {
    const r = ownership.record;
    if (r && r.node !== OWN_NODE) return { key: `${r.node}#${r.generation}`, at: Date.parse(r.at), targets: r.clients.length > 0 ? r.clients : r.hosts };
    if (!r && ownership.lock && !ownership.lock.id.startsWith(`harbor-assistant/${OWN_NODE}/`)) {
      return { key: `lock ${ownership.lock.id}`, at: null, targets: [addressIp(ownership.lock.address) ?? ownership.lock.address] };
    }
    return null;
  }

  private seeClaim(ownership: OwnershipView): void {
    const claim = this.claimOf(ownership);
    if (claim) this.claimsSeen.add(claim.key);
  }

  private isFenced(addressOrIp: string): boolean {
    const ip = addressIp(addressOrIp) ?? addressOrIp;
    return this.fenced.has(addressOrIp) || this.fenced.has(ip);
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
      case 'map': {
        if (this.lastObservation === null || this.lastOwnership === null) this.violate('S2', 'map without looking at the image holders and owner record first');
        if (!this.holdsClaim) this.violate('S2', 'map without holding the ownership record (lock)');
        const unfenced = foreignHolders(this.lastObservation ?? [], this.ownAddresses).filter((h) => !this.isFenced(h.address));
        if (unfenced.length > 0) this.violate('S2', `map while ${unfenced.map((h) => h.address).join(', ')} not fenced`);
        const claim = this.lastOwnership ? this.claimOf(this.lastOwnership) : null;
        const unfencedOwner = (claim?.targets ?? []).filter((t) => !this.isFenced(t));
        if (unfencedOwner.length > 0) this.violate('S2', `map while the recorded owner ${claim?.key ?? '?'} (${unfencedOwner.join(', ')}) is not fenced`);
        if (w.device !== null) this.violate('S2', 'map while already mapped');
        if (this.releaseFailedSince !== null) this.violate('S4', 'map after a failed release without an operator resume');
        if (this.inCooldown()) this.violate('S5', 'map during the fenced cool-down');
        break;
      }
      case 'mount':
      case 'fsck':
      case 'format':
      case 'probeFilesystem':
        if (w.device === null) this.violate('S1', `${name} without a mapped device`);
        break;
      case 'composeUp':
        if (w.device === null || !w.mounted) this.violate('S1', `composeUp while mapped=${w.device !== null} mounted=${w.mounted}`);
        break;
      case 'unmount':
        if (w.composeRunning) this.violate('S3', 'umount while Harbor is still running');
        if (this.foreignMount !== null && !w.mounted) this.violate('G4', `umount of ${this.foreignMount}, which is not ours`);
        break;
      case 'claim':
        if (this.inCooldown()) this.violate('S5', 'claiming the image during the fenced cool-down');
        if (this.releaseFailedSince !== null) this.violate('S4', 'claiming the image after a failed release without an operator resume');
        break;
      case 'unmap':
        if (w.mounted) this.violate('S3', 'unmap of a mounted device');
        if (w.composeRunning) this.violate('S3', 'unmap while Harbor is still running');
        break;
      case 'fence': {
        if (this.inCooldown()) this.violate('S5', 'fencing during the fenced cool-down');
        const addresses = (input as { addresses: string[] }).addresses;
        const claim = this.lastOwnership ? this.claimOf(this.lastOwnership) : null;
        // a claim the node knew before its takeover, or an old one, is a dead owner: fencing it is right;
        // one that appeared during the takeover is a peer that won the race: fencing it starts a war
        const claimEstablished =
          claim !== null && (this.claimsKnownAtTakeoverStart.has(claim.key) || (claim.at !== null && this.lastOwnershipAt - claim.at >= this.graceMs));
        for (const a of addresses) {
          const ip = addressIp(a) ?? a;
          const byClaim = claim !== null && (claim.targets.includes(a) || claim.targets.some((t) => (addressIp(t) ?? t) === ip));
          if (byClaim) {
            if (!claimEstablished) this.violate('S5', `fencing ${a} of ${claim.key}, a claim made during this takeover`);
          } else {
            const first = this.firstObserved.get(a);
            if (first === undefined) this.violate('S5', `fencing ${a}, never observed`);
            else if (this.lastObservedAt - first < this.graceMs) this.violate('S5', `fencing ${a}, a holder of ${this.lastObservedAt - first} ms`);
          }
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
        this.foreignMount = world.foreignMount;
        if (this.lastState.startsWith('booting')) this.holdsClaim = world.ownership === 'ours';
        break;
      }
      case 'readHolders': {
        const obs = output as { holders: Holder[]; observedAt: number; ownership: OwnershipView };
        this.lastObservation = obs.holders;
        this.lastOwnership = obs.ownership;
        this.lastOwnershipAt = obs.observedAt;
        this.observe(obs.holders, obs.observedAt);
        this.seeClaim(obs.ownership);
        break;
      }
      case 'verifyFence': {
        const obs = output as { holders: Holder[]; observedAt: number };
        this.lastObservation = obs.holders;
        this.observe(obs.holders, obs.observedAt);
        break;
      }
      case 'claim':
        if ((output as { claimed: boolean }).claimed) this.holdsClaim = true;
        break;
      case 'disown':
        this.holdsClaim = false;
        break;
      case 'fence':
        for (const a of (output as { fenced: string[] }).fenced) this.fenced.add(a);
        break;
      case 'map':
        w.device = (output as { device: string }).device;
        break;
      case 'mount':
        w.mounted = true;
        break;
      case 'composeUp':
        w.composeRunning = true;
        break;
      case 'composeDown':
        w.composeRunning = false;
        break;
      case 'unmount':
        w.mounted = false;
        break;
      case 'unmap':
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
