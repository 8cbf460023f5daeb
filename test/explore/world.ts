import type { ClaimInput, DisownInput, FenceInput, ReadWorldInput, RecordInput } from '../../src/machine/actors.js';
import type { Holder, ImageLock, OwnerRecord, OwnershipVerdict, OwnershipView, WorldSnapshot } from '../../src/domain/types.js';
import { addressIp } from '../../src/guards/holders.js';
import { ownLockId, parseOwnLockId } from '../../src/guards/ownership.js';

/*
 * The world both nodes share, as small as the safety questions allow: one RBD image (watchers,
 * lock, owner record, blocklist), each node's host (mapper client, mount, Harbor, keepalived,
 * markers, links), and the VRRP link between them. Plain data, copied on write, so a state of
 * the exploration is a value that can be hashed. Times are milliseconds relative to "now"
 * (the explorer re-bases after every step), so equal situations hash equal.
 */

export type NodeId = 'a' | 'b';
export const NODES: readonly NodeId[] = ['a', 'b'];
export const IP: Record<NodeId, string> = { a: '10.99.0.1', b: '10.99.0.2' };
/** keepalived priorities: a is the preferred master (nopreempt: it never takes the VIP back). */
export const PRIORITY: Record<NodeId, number> = { a: 200, b: 100 };
export const peerOf = (n: NodeId): NodeId => (n === 'a' ? 'b' : 'a');

/** The one moment every stored state is re-based to (a valid Date, far from 0). */
export const NOW = Date.UTC(2030, 0, 1);

/** A kernel mapper client instance: `ip:0/<nonce>`. */
export interface Client {
  addr: string;
}

/** A watch on the image: connected (no expiry), or its client went silent and it expires in `expiresIn` ms. */
export interface Watch {
  addr: string;
  node: NodeId;
  expiresIn: number | null;
}

export type KeepalivedState = 'BACKUP' | 'MASTER' | 'FAULT';

/** One host, outside the engine. */
export interface HostWorld {
  /** keepalived is running (a crashed one leaves its VIP behind). */
  keepalived: boolean;
  vrrp: KeepalivedState;
  vip: boolean;
  /** The whole host is frozen (a paused VM): engine, keepalived, kernel client, Harbor. */
  paused: boolean;
  /** node↔Ceph link cut. */
  cut: boolean;
  /** The mapper client (the kernel keeps it across engine restarts), or none. */
  client: Client | null;
  mounted: boolean;
  harbor: boolean;
  /** Fault: Harbor answers its health probe as down. */
  harborSick: boolean;
  /** What the health prober last told the engine (it only sends changes); reset when it stops probing. */
  healthTold: 'healthy' | 'down' | null;
  /** Marker files: they outlive the engine. */
  failedMarker: boolean;
  maintenanceMarker: boolean;
  /** Commands that timed out but may still do their work (the caller gave up on them). */
  late: LateStep[];
  /** Next nonce for a mapper client of this host. */
  nonce: number;
  /** ms since this node's client (or host) was blocklisted, capped; null: never. For G3. */
  fencedAgo: number | null;
}

export type LateStep = 'map' | 'unmount' | 'unmap';

export interface ImageWorld {
  watchers: Watch[];
  lock: ImageLock | null;
  record: OwnerRecord | null;
  lastGeneration: number;
  /** Blocklisted client instances (`ip:0/n`) and whole hosts (bare IP). Entries never expire here (S6). */
  blocklist: string[];
  /** The image holds a filesystem (a fresh image is formatted before the exploration starts). */
  formatted: boolean;
}

export interface World {
  image: ImageWorld;
  hosts: Record<NodeId, HostWorld>;
  /** node↔node link for VRRP adverts. */
  vrrpLink: boolean;
  /** Fault events on the path so far (bounded). */
  faults: number;
  /** Fence rounds that blocklisted something, on the path so far (capped): G3. */
  fences: number;
}

/** Switches for the mutation tests (the world as a weaker design would have it). */
export interface WorldOptions {
  /** `rbd lock add` is atomic (EBUSY for the second taker). Off: claim always takes the lock. */
  atomicLock: boolean;
  /** A fence blocklists every address it is given. Off: only those currently watching (the pre-ownership fence). */
  fenceRecordedOwner: boolean;
  watchTimeoutMs: number;
}

export const DEFAULT_WORLD_OPTIONS: WorldOptions = { atomicLock: true, fenceRecordedOwner: true, watchTimeoutMs: 2_750 };

export function initialHost(): HostWorld {
  return {
    keepalived: true,
    vrrp: 'BACKUP',
    vip: false,
    paused: false,
    cut: false,
    client: null,
    mounted: false,
    harbor: false,
    harborSick: false,
    healthTold: null,
    failedMarker: false,
    maintenanceMarker: false,
    late: [],
    nonce: 1,
    fencedAgo: null,
  };
}

export function initialWorld(): World {
  return {
    image: { watchers: [], lock: null, record: null, lastGeneration: 0, blocklist: [], formatted: true },
    hosts: { a: initialHost(), b: initialHost() },
    vrrpLink: true,
    faults: 0,
    fences: 0,
  };
}

/** Shallow structural copy, deep enough for every mutation below. */
export function cloneWorld(w: World): World {
  return {
    image: { ...w.image, watchers: w.image.watchers.map((x) => ({ ...x })), blocklist: [...w.image.blocklist] },
    hosts: { a: { ...w.hosts.a, late: [...w.hosts.a.late] }, b: { ...w.hosts.b, late: [...w.hosts.b.late] } },
    vrrpLink: w.vrrpLink,
    faults: w.faults,
    fences: w.fences,
  };
}

export function isBlocklisted(w: World, addr: string): boolean {
  const ip = addressIp(addr);
  return w.image.blocklist.includes(addr) || (ip !== null && w.image.blocklist.includes(ip));
}

/** Node m's current client (or its host) is blocklisted. */
function fencedNow(w: World, m: NodeId): boolean {
  const c = w.hosts[m].client;
  return (c !== null && isBlocklisted(w, c.addr)) || hostBlocklisted(w, m);
}

/** The host itself is blocklisted: every Ceph command it runs fails (ESHUTDOWN). */
export function hostBlocklisted(w: World, n: NodeId): boolean {
  return w.image.blocklist.includes(IP[n]);
}

/** G1's writer: a mapped client, neither fenced nor dead, with the filesystem mounted (paused or cut: its writes land later). */
export function isWriter(w: World, n: NodeId): boolean {
  const h = w.hosts[n];
  return h.client !== null && h.mounted && !isBlocklisted(w, h.client.addr);
}

/** Ceph answers this node's commands. */
export const reachesCeph = (w: World, n: NodeId): boolean => !w.hosts[n].cut;

export function ownershipView(w: World): OwnershipView {
  return { record: w.image.record, lock: w.image.lock, lastGeneration: w.image.lastGeneration };
}

export function holders(w: World): Holder[] {
  return w.image.watchers.map((x) => ({ address: x.addr }));
}

/** What `readWorld` returns for node n (src/runtime/implementations.ts `readWorldNow`). */
export function readWorldOf(w: World, n: NodeId, known: ReadWorldInput = {}): WorldSnapshot {
  const h = w.hosts[n];
  const device = h.client !== null ? '/dev/rbd0' : null;
  const holding = device !== null || h.mounted || h.harbor;
  let ownership: OwnershipVerdict = 'unknown';
  let owner: OwnerRecord | null = null;
  if (holding) {
    if (!reachesCeph(w, n) || hostBlocklisted(w, n)) ownership = 'unknown';
    else {
      const r = w.image.record;
      owner = r;
      if (r === null || r.node !== n) ownership = 'not-ours';
      else if (w.image.lock?.id !== ownLockId(n, r.generation)) ownership = 'not-ours';
      else if (h.client === null || r.clients.length === 0) ownership = 'ours';
      else ownership = r.clients.includes(h.client.addr) ? 'ours' : 'not-ours';
    }
  }
  return {
    vipHere: h.vip,
    device,
    mounted: h.mounted,
    // Harbor the machine started is taken as running while its project is there (on the mount)
    composeRunning: h.harbor || (h.mounted && known.composeKnownRunning === true),
    foreignMount: null,
    ownership,
    owner,
    failedMarker: h.failedMarker ? 'failed (marker)' : null,
    maintenanceMarker: h.maintenanceMarker,
  };
}

/** Register n's client as a watcher (map, or a reconnect after a heal). */
function watch(w: World, n: NodeId): void {
  const c = w.hosts[n].client;
  if (c === null || isBlocklisted(w, c.addr)) return;
  const existing = w.image.watchers.find((x) => x.addr === c.addr);
  if (existing) existing.expiresIn = null;
  else w.image.watchers.push({ addr: c.addr, node: n, expiresIn: null });
}

/** The client went silent (cut, paused, dead host): its watch expires after the watch timeout. */
export function silenceWatch(w: World, addr: string, o: WorldOptions): void {
  for (const x of w.image.watchers) if (x.addr === addr && x.expiresIn === null) x.expiresIn = o.watchTimeoutMs;
}

/** The client is heard again (heal, resume): a live, unfenced client re-establishes its watch. */
export function reconnect(w: World, n: NodeId): void {
  const h = w.hosts[n];
  if (h.client === null || h.cut || h.paused) return;
  watch(w, n);
}

export type Outcome = { ok: true; output: unknown } | { ok: false; error: string };

/** A step that can only hang here (Ceph unreachable): no completion, only its timeout. */
export const HANGS = null;

const needsCeph: ReadonlySet<string> = new Set(['readHolders', 'fence', 'verifyFence', 'claim', 'map', 'record', 'probeFilesystem', 'fsck', 'mount', 'disown']);

/**
 * Runs step `step` of node n against the world, now, mutating `w`: the outcome its caller sees,
 * or HANGS when it cannot finish (its timeout decides). Mirrors src/runtime/implementations.ts.
 */
export function runStep(w: World, n: NodeId, step: string, input: unknown, o: WorldOptions): Outcome | typeof HANGS {
  const h = w.hosts[n];
  const img = w.image;
  if (needsCeph.has(step)) {
    if (!reachesCeph(w, n)) return HANGS;
    if (hostBlocklisted(w, n)) return { ok: false, error: 'ESHUTDOWN: this host is blocklisted' };
  }
  switch (step) {
    case 'readWorld':
      return { ok: true, output: readWorldOf(w, n, input as ReadWorldInput) };
    case 'readHolders':
      return { ok: true, output: { holders: holders(w), ownership: ownershipView(w), observedAt: NOW } };
    case 'fence': {
      const addresses = (input as FenceInput).addresses;
      const effective = o.fenceRecordedOwner ? addresses : addresses.filter((a) => img.watchers.some((x) => x.addr === a || addressIp(x.addr) === a));
      const before = { a: fencedNow(w, 'a'), b: fencedNow(w, 'b') };
      for (const a of effective) if (!img.blocklist.includes(a)) img.blocklist.push(a);
      if (effective.length > 0) w.fences += 1;
      // the OSDs drop the watches of blocklisted clients; the fenced node learns it when it next talks to Ceph
      img.watchers = img.watchers.filter((x) => !isBlocklisted(w, x.addr));
      for (const m of ['a', 'b'] as const) if (!before[m] && fencedNow(w, m)) w.hosts[m].fencedAgo = 0;
      img.blocklist.sort();
      return { ok: true, output: { fenced: [...addresses] } };
    }
    case 'verifyFence':
      return { ok: true, output: { holders: holders(w), observedAt: NOW } };
    case 'claim': {
      const c = input as ClaimInput;
      if (c.breakLock !== null && img.lock?.id === c.breakLock.id) img.lock = null;
      if (img.lock !== null && o.atomicLock) return { ok: true, output: { claimed: false, holder: img.lock } };
      img.lock = { id: c.lockId, locker: `client.${n}`, address: `${IP[n]}:0/9${n === 'a' ? 1 : 2}` };
      img.lastGeneration = Math.max(img.lastGeneration, c.generation);
      img.record = { node: n, generation: c.generation, hosts: [IP[n]], clients: [], at: new Date(NOW).toISOString() };
      return { ok: true, output: { claimed: true, holder: null } };
    }
    case 'map': {
      mapClient(w, n);
      return { ok: true, output: { device: '/dev/rbd0' } };
    }
    case 'record': {
      const r = input as RecordInput;
      if (img.lock?.id !== r.lockId) return { ok: false, error: `ownership lost: the lock is ${img.lock?.id ?? 'gone'}` };
      if (h.client === null) return { ok: false, error: 'no client of this node watches the image' };
      img.record = { node: n, generation: r.generation, hosts: [IP[n]], clients: [h.client.addr], at: img.record?.at ?? new Date(NOW).toISOString() };
      return { ok: true, output: { clients: [h.client.addr] } };
    }
    case 'probeFilesystem':
      if (h.client === null) return { ok: false, error: 'no device' };
      return { ok: true, output: { fsType: img.formatted ? 'ext4' : null, formattedBefore: img.formatted } };
    case 'format':
      img.formatted = true;
      return { ok: true, output: undefined };
    case 'fsck':
      return h.client === null ? { ok: false, error: 'no device' } : { ok: true, output: undefined };
    case 'mount':
      if (h.client === null) return { ok: false, error: 'no device' };
      h.mounted = true;
      return { ok: true, output: undefined };
    case 'composeUp':
      if (!h.mounted) return { ok: false, error: 'nothing mounted' };
      h.harbor = true;
      return { ok: true, output: undefined };
    case 'composeDown':
      h.harbor = false;
      h.healthTold = null;
      return { ok: true, output: undefined };
    case 'unmount':
      h.mounted = false;
      return { ok: true, output: undefined };
    case 'unmap': {
      if (h.mounted) return { ok: false, error: 'refusing to unmap: still mounted' };
      unmapClient(w, n);
      return { ok: true, output: undefined };
    }
    case 'disown': {
      const d = input as DisownInput;
      if (img.record?.node === n && img.record.generation === d.generation) img.record = null;
      if (img.lock?.id === d.lockId) img.lock = null;
      return { ok: true, output: undefined };
    }
    default:
      return { ok: true, output: undefined };
  }
}

export function mapClient(w: World, n: NodeId): void {
  const h = w.hosts[n];
  if (h.client === null) {
    h.client = { addr: `${IP[n]}:0/${h.nonce}` };
    h.nonce += 1;
  }
  watch(w, n);
}

export function unmapClient(w: World, n: NodeId): void {
  const h = w.hosts[n];
  const c = h.client;
  if (c === null) return;
  h.client = null;
  // a connected client closes its watch; a silent one leaves it to expire
  if (!h.cut && !h.paused) w.image.watchers = w.image.watchers.filter((x) => x.addr !== c.addr);
}

/** Whose lock is it: the node its id names, or null for a lock another tool took. */
export function lockNode(lock: ImageLock | null): string | null {
  return lock === null ? null : (parseOwnLockId(lock.id)?.node ?? null);
}
