import { ownLockId } from '../../src/guards/ownership.js';
import type { ClaimInput, FenceInput } from '../../src/machine/actors.js';
import { hitsOwnHost } from '../../src/guards/ownership.js';
import { IP, isWriter, lockNode, NODES, peerOf, type NodeId, type World } from './world.js';

/*
 * The global invariants, checked in every explored state (G1, G2, G3 count) and on every step
 * that fences or breaks a lock (G3 cool-down, G4).
 */

/** G1: at most one node can write the image (a mapped client, neither fenced nor dead, with a mount). */
export function g1(w: World): string | null {
  const writers = NODES.filter((n) => isWriter(w, n));
  return writers.length > 1
    ? `G1 two writers: ${writers.map((n) => `${n} (${w.hosts[n].client?.addr ?? '?'}, mounted, not blocklisted)`).join(' and ')}`
    : null;
}

/** G2: Harbor runs (and can write) only on a node whose client holds ownership: the record and the lock are its own. */
export function g2(w: World): string | null {
  for (const n of NODES) {
    const h = w.hosts[n];
    if (!h.harbor || !isWriter(w, n)) continue;
    const r = w.image.record;
    const ok =
      r !== null &&
      r.node === n &&
      w.image.lock?.id === ownLockId(n, r.generation) &&
      (r.clients.length === 0 || (h.client !== null && r.clients.includes(h.client.addr)));
    if (!ok)
      return `G2 Harbor writes on ${n} but the owner record is ${r ? `${r.node}/${r.generation} ${JSON.stringify(r.clients)}` : 'gone'} and the lock ${w.image.lock?.id ?? 'gone'}`;
  }
  return null;
}

/** G3 (count): fence rounds grow with faults, not with time: at most 2 per fault, plus one. */
export function g3count(w: World): string | null {
  return w.fences > 2 * w.faults + 1 ? `G3 fencing war: ${w.fences} fence rounds for ${w.faults} faults` : null;
}

export function stateViolation(w: World): string | null {
  return g1(w) ?? g2(w) ?? g3count(w);
}

/**
 * Checks made as a step runs, before its effect: G3 (a node fenced less than the configured
 * cool-down ago fences nobody) and G4 (a node never fences itself, never breaks the lock of a
 * peer that can still write).
 */
export function stepViolation(w: World, n: NodeId, step: string, input: unknown, cooldownMs: number): string | null {
  const h = w.hosts[n];
  if (step === 'fence') {
    const addresses = (input as FenceInput).addresses;
    if (addresses.length > 0 && h.fencedAgo !== null && h.fencedAgo < cooldownMs) {
      return `G3 fencing war: ${n} fences ${JSON.stringify(addresses)} ${h.fencedAgo} ms after it was fenced itself (cool-down ${cooldownMs} ms)`;
    }
    const own = addresses.filter((a) => hitsOwnHost(a, [IP[n]]));
    if (own.length > 0) return `G4 ${n} fences its own client ${JSON.stringify(own)}`;
  }
  if (step === 'claim') {
    const brk = (input as ClaimInput).breakLock;
    const owner = lockNode(brk);
    const p = peerOf(n);
    if (brk !== null && owner === p && isWriter(w, p)) return `G4 ${n} breaks the lock ${brk.id} of ${p}, which can still write`;
  }
  return null;
}
