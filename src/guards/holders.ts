import type { Holder, HolderObservation, KnownHolder } from '../domain/types.js';

/**
 * The IP of a Ceph client instance address: `10.0.0.1:0/4225036114` → `10.0.0.1`,
 * `[fd00::1]:0/77` → `fd00::1`, `v2:10.0.0.1:0/1` → `10.0.0.1`. Null when it does not parse.
 */
export function addressIp(address: string): string | null {
  const bare = address.replace(/^v[12]:/, '').split('/')[0] ?? '';
  if (bare.startsWith('[')) {
    const end = bare.indexOf(']');
    return end > 1 ? bare.slice(1, end) : null;
  }
  const colon = bare.lastIndexOf(':');
  const ip = colon === -1 ? bare : bare.slice(0, colon);
  return ip.length > 0 ? ip : null;
}

/** A holder whose IP is not one of this node's Ceph client addresses. */
export function isForeignHolder(holder: Holder, ownAddresses: readonly string[]): boolean {
  const ip = addressIp(holder.address);
  return ip === null || !ownAddresses.includes(ip);
}

export function foreignHolders(holders: readonly Holder[], ownAddresses: readonly string[]): Holder[] {
  return holders.filter((h) => isForeignHolder(h, ownAddresses));
}

export function hasForeignHolders(holders: readonly Holder[], ownAddresses: readonly string[]): boolean {
  return foreignHolders(holders, ownAddresses).length > 0;
}

/** When this node first saw `address`, or the observation time when it is new. */
export function firstSeen(known: readonly KnownHolder[], address: string, observedAt: number): number {
  return known.find((k) => k.address === address)?.firstSeenAt ?? observedAt;
}

/**
 * Foreign holders seen for less than the grace: they may have taken the image moments ago
 * (a peer that legitimately won), so they are not fenced yet (S5).
 */
export function freshForeignHolders(observation: HolderObservation, known: readonly KnownHolder[], ownAddresses: readonly string[], graceMs: number): Holder[] {
  return foreignHolders(observation.holders, ownAddresses).filter(
    (h) => observation.observedAt - firstSeen(known, h.address, observation.observedAt) < graceMs,
  );
}

/** Every foreign holder has been watched for at least the grace: fencing them is allowed. */
export function allForeignHoldersEstablished(
  observation: HolderObservation,
  known: readonly KnownHolder[],
  ownAddresses: readonly string[],
  graceMs: number,
): boolean {
  return freshForeignHolders(observation, known, ownAddresses, graceMs).length === 0;
}

/** Known holders after an observation: keep first-seen times of those still there, drop the gone. */
export function mergeKnownHolders(known: readonly KnownHolder[], observation: HolderObservation): KnownHolder[] {
  return observation.holders.map((h) => ({
    address: h.address,
    firstSeenAt: firstSeen(known, h.address, observation.observedAt),
  }));
}
