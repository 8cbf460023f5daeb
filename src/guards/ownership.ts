import type { Holder, ImageLock, OwnerRecord, OwnershipView } from '../domain/types.js';
import { addressIp, isForeignHolder } from './holders.js';

/** Fence a recorded owner's client instances (default), or its whole hosts. */
export type FenceScope = 'client' | 'host';

const LOCK_PREFIX = 'harbor-assistant';

/** Our lock id names the node and the generation it claims: `harbor-assistant/a/7`. */
export function ownLockId(node: string, generation: number): string {
  return `${LOCK_PREFIX}/${node}/${generation}`;
}

export function parseOwnLockId(id: string): { node: string; generation: number } | null {
  const m = /^harbor-assistant\/([^/]+)\/(\d+)$/.exec(id);
  if (!m?.[1] || !m[2]) return null;
  const generation = Number(m[2]);
  return Number.isSafeInteger(generation) && generation > 0 ? { node: m[1], generation } : null;
}

/**
 * Another node's claim on the image: its owner record, or — when there is no record — a lock
 * that is not ours (a takeover cut short between taking the lock and writing the record, or a
 * lock some other tool took). `at` is null when only the lock tells.
 */
export interface ForeignClaim {
  node: string;
  generation: number;
  clients: string[];
  hosts: string[];
  at: string | null;
  /**
   * The Ceph client instance that took the claim's lock: the claimant's Ceph session, never its
   * mapper. A watch of that instance is a write call it was in (librbd opens the image read-write
   * for it), and one that outlives a killed session for the OSD's watch timeout is no sign of life.
   */
  lockedBy: string | null;
}

export function foreignClaim(view: OwnershipView, nodeName: string): ForeignClaim | null {
  const r = view.record;
  const lockId = view.lock ? parseOwnLockId(view.lock.id) : null;
  if (r !== null) {
    if (r.node === nodeName) return null;
    const lockedBy = lockId?.node === r.node && lockId.generation === r.generation ? (view.lock?.address ?? null) : null;
    return { node: r.node, generation: r.generation, clients: [...r.clients], hosts: [...r.hosts], at: r.at, lockedBy };
  }
  if (view.lock === null) return null;
  if (lockId?.node === nodeName) return null;
  const ip = addressIp(view.lock.address);
  return {
    node: lockId?.node ?? `${view.lock.locker} (lock ${view.lock.id})`,
    generation: lockId?.generation ?? 0,
    clients: [],
    hosts: ip ? [ip] : [],
    at: null,
    lockedBy: view.lock.address,
  };
}

/** The first time this node saw a claim (standby polls and takeover reads), keyed by node and generation. */
export interface KnownClaim {
  node: string;
  generation: number;
  firstSeenAt: number;
}

export function isKnownClaim(claim: ForeignClaim, known: KnownClaim | null): boolean {
  return known !== null && known.node === claim.node && known.generation === claim.generation;
}

export function mergeKnownClaim(known: KnownClaim | null, claim: ForeignClaim | null, observedAt: number): KnownClaim | null {
  if (claim === null) return null;
  return isKnownClaim(claim, known) ? known : { node: claim.node, generation: claim.generation, firstSeenAt: observedAt };
}

/**
 * A peer claimed the image while this node was taking over itself (both became MASTER): a claim
 * this node never saw before that is younger than the grace, or a lock without a record. The
 * peer legitimately won the atomic lock; fencing it would be a fencing war (S5), so this node
 * yields. A claim known from before the takeover is an owner that died: it is fenced.
 */
export function isConcurrentClaim(claim: ForeignClaim, known: KnownClaim | null, observedAt: number, graceMs: number): boolean {
  if (isKnownClaim(claim, known)) return false;
  if (claim.at === null) return true;
  const age = observedAt - Date.parse(claim.at);
  return !(age >= graceMs);
}

/**
 * The claim this node yielded to shows no life: it is gone, or it has been known for at least the
 * grace and no watcher on the image is its (its owner never mapped, or the mapper's watch is gone).
 * The watch of the session that took its lock does not count: it only outlives a write call of a
 * killed claimant (for ~30 s). A claimant that is taking over holds its mapper's watch from its map
 * on, so this never ends a yield to a live peer: that one is waited out for the whole cool-down (S5).
 */
export function isAbandonedClaim(
  claim: ForeignClaim | null,
  known: KnownClaim | null,
  holders: readonly Holder[],
  observedAt: number,
  graceMs: number,
): boolean {
  if (claim === null) return true;
  if (known === null || !isKnownClaim(claim, known)) return false;
  if (observedAt - known.firstSeenAt < graceMs) return false;
  return !holders.some((h) => h.address !== claim.lockedBy && isExplainedBy(h, claim));
}

/**
 * What to blocklist for a claim: its client instances; its whole hosts when no instance is known
 * yet (the owner claimed but had not recorded its map) or when the operator chose host scope.
 */
export function claimTargets(claim: ForeignClaim, scope: FenceScope): string[] {
  return scope === 'host' || claim.clients.length === 0 ? [...claim.hosts] : [...claim.clients];
}

/** A watcher the claim accounts for: one of its clients, or any client from one of its hosts. */
export function isExplainedBy(holder: Holder, claim: ForeignClaim | null): boolean {
  if (claim === null) return false;
  const ip = addressIp(holder.address);
  return claim.clients.includes(holder.address) || (ip !== null && claim.hosts.includes(ip));
}

/** A fence target (instance `ip:port/nonce` or bare host IP) that would hit this node itself. */
export function hitsOwnHost(target: string, ownAddresses: readonly string[]): boolean {
  const ip = target.includes('/') ? addressIp(target) : target;
  return ip !== null && ownAddresses.includes(ip);
}

/**
 * Everything a takeover must fence before it may break the lock and map: the recorded foreign
 * owner (watching or not) and every foreign watcher. Never this node's own addresses.
 */
export function fenceTargets(holders: readonly Holder[], view: OwnershipView, nodeName: string, ownAddresses: readonly string[], scope: FenceScope): string[] {
  const claim = foreignClaim(view, nodeName);
  const fromClaim = claim ? claimTargets(claim, scope) : [];
  const fromWatchers = holders.filter((h) => isForeignHolder(h, ownAddresses)).map((h) => (scope === 'host' ? (addressIp(h.address) ?? h.address) : h.address));
  return [...new Set([...fromClaim, ...fromWatchers])].filter((t) => !hitsOwnHost(t, ownAddresses));
}

/** Foreign watchers the recorded claim does not account for: only these still get the holder grace. */
export function unexplainedForeignHolders(holders: readonly Holder[], view: OwnershipView, nodeName: string, ownAddresses: readonly string[]): Holder[] {
  const claim = foreignClaim(view, nodeName);
  return holders.filter((h) => isForeignHolder(h, ownAddresses) && !isExplainedBy(h, claim));
}

/** A fenced target still shows among the watchers (an instance, or any client of a fenced host). */
export function survivesFence(holder: Holder, fenced: readonly string[]): boolean {
  const ip = addressIp(holder.address);
  return fenced.includes(holder.address) || (ip !== null && fenced.includes(ip));
}

/** The lock to break before taking ours: any lock there that is not the one we are about to take. */
export function lockToBreak(lock: ImageLock | null, ourLockId: string): ImageLock | null {
  return lock !== null && lock.id !== ourLockId ? lock : null;
}

/** The record this node owns right now (booting: serving only on this evidence). */
export function isOwnRecord(record: OwnerRecord | null, nodeName: string): boolean {
  return record !== null && record.node === nodeName;
}
