import type { ImageLock, OwnerRecord, OwnershipView, Timing } from '../../src/machine/index.js';

/** Small, distinct numbers so a wrong delay shows up as a wrong state. */
export const testTiming: Timing = {
  timeouts: {
    readWorld: 1_000,
    readHolders: 1_100,
    fence: 1_200,
    verifyFence: 1_300,
    map: 1_400,
    probeFilesystem: 1_500,
    format: 1_600,
    fsck: 1_700,
    mount: 1_800,
    composeUp: 1_900,
    healthy: 2_000,
    composeDown: 2_100,
    unmount: 2_200,
    unmap: 2_300,
    claim: 2_400,
    record: 2_500,
    disown: 2_600,
  },
  retry: { maxAttempts: 2, backoffBaseMs: 100, backoffMaxMs: 400 },
  failureBudget: 2,
  holderGraceMs: 500,
  fencedCooldownMs: 5_000,
  standDownMs: 3_000,
  vipLossGraceMs: 700,
};

export const OWN_IP = '10.99.0.1';
export const OWN_HOLDER = { address: `${OWN_IP}:0/1111`, client: 4100, cookie: 1 };
export const PEER_HOLDER = { address: '10.99.0.2:0/2222', client: 4200, cookie: 2 };
export const OTHER_HOLDER = { address: '10.99.0.3:0/3333', client: 4300, cookie: 3 };

export const OWN_NODE = 'self';
export const PEER_NODE = 'peer';
export const PEER_IP = '10.99.0.2';

export const NO_OWNERSHIP: OwnershipView = { record: null, lock: null, lastGeneration: 0 };

/** The peer's owner record: written at `atMs` (the clock of the tests starts at 0), with its mapper client. */
export function peerRecord(generation: number, atMs: number, clients: string[] = [PEER_HOLDER.address]): OwnerRecord {
  return { node: PEER_NODE, generation, hosts: [PEER_IP], clients, at: new Date(atMs).toISOString() };
}

export function peerLock(generation: number): ImageLock {
  return { id: `harbor-assistant/${PEER_NODE}/${generation}`, locker: 'client.4299', address: `${PEER_IP}:0/9999` };
}

/** The peer owns the image: its record and its lock. */
export function peerOwnership(generation: number, atMs: number, clients?: string[]): OwnershipView {
  return { record: peerRecord(generation, atMs, clients), lock: peerLock(generation), lastGeneration: generation };
}

export function ownRecord(generation: number, clients: string[] = [OWN_HOLDER.address]): OwnerRecord {
  return { node: OWN_NODE, generation, hosts: [OWN_IP], clients, at: new Date(0).toISOString() };
}
