import type { FenceScope, KnownClaim } from '../guards/ownership.js';
import type { Timing } from './timing.js';
import type { DeadPath, HealthVerdict, Holder, Holdings, KnownHolder, OwnershipView, ReleaseExit, VrrpState } from '../domain/types.js';

export interface NodeInput {
  timing: Timing;
  /** This node's name: the owner record and lock id carry it. */
  nodeName: string;
  /** IP addresses this node's Ceph clients use: watchers from these are ours, never fenced. */
  ownAddresses: string[];
  /** Fence a recorded owner's client instances, or its whole hosts. */
  fenceScope: FenceScope;
}

export interface NodeContext {
  timing: Timing;
  nodeName: string;
  ownAddresses: string[];
  fenceScope: FenceScope;
  vrrp: VrrpState | 'UNKNOWN';
  health: HealthVerdict | 'unknown';
  /** Failed attempts of the step in progress. */
  attempts: number;
  /** Fence → verify rounds in the current takeover. */
  fenceRounds: number;
  /** Failed takeovers / Harbor failures in a row (reset when serving healthy). */
  failures: number;
  /** Watchers of the image with the time this node first saw each. */
  knownHolders: KnownHolder[];
  /** The holders of the latest look at the image. */
  holders: Holder[];
  /** The ownership evidence (record, lock) of the latest look at the image. */
  ownership: OwnershipView;
  /** The foreign claim on the image this node has known longest (a dead owner's, or a live peer's). */
  knownClaim: KnownClaim | null;
  /** The generation this node holds (claimed in this takeover, or found ours at start-up); null: none. */
  generation: number | null;
  /**
   * The generation of a claim this takeover started and has not seen succeed: `rbd lock add` may
   * have taken our lock in Ceph before the claim was cut short (VRRP, a timeout), with no record
   * yet. A release removes that lock if it is still ours, or the peer yields to a claim nobody makes.
   */
  claimAttempt: number | null;
  /** Client instances this node blocklisted in the current takeover. */
  fencedAddresses: string[];
  /** What this node holds, as last read or changed. */
  holdings: Holdings;
  /** Where `releasing` goes when done. */
  exitTo: ReleaseExit;
  /** Human reason for the current state ("vrrp BACKUP", "map failed: …"). */
  reason: string;
  lastError: string | null;
  /** Release failed: never map again until an operator resumes (S4). */
  releaseFailed: boolean;
  /**
   * A step of the current release failed once (a timeout, an error): it is not a clean hand-over
   * any more, so the VIP goes to the peer now, which fences this node before it maps.
   */
  releaseStalled: boolean;
  /**
   * The current release runs on a dead data path (this node was fenced or lost Ceph), whatever
   * it began for: nothing on the device is waited on, nothing is flushed, nothing is disowned.
   */
  deadPath: DeadPath | null;
}

export function initialContext(input: NodeInput): NodeContext {
  return {
    timing: input.timing,
    nodeName: input.nodeName,
    ownAddresses: [...input.ownAddresses],
    fenceScope: input.fenceScope,
    vrrp: 'UNKNOWN',
    health: 'unknown',
    attempts: 0,
    fenceRounds: 0,
    failures: 0,
    knownHolders: [],
    holders: [],
    ownership: { record: null, lock: null, lastGeneration: 0 },
    knownClaim: null,
    generation: null,
    claimAttempt: null,
    fencedAddresses: [],
    holdings: { device: null, mounted: false, composeRunning: false },
    exitTo: 'idle',
    reason: 'starting up',
    lastError: null,
    releaseFailed: false,
    releaseStalled: false,
    deadPath: null,
  };
}
