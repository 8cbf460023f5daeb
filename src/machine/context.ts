import type { Timing } from './timing.js';
import type { HealthVerdict, Holder, Holdings, KnownHolder, ReleaseExit, VrrpState } from './types.js';

export interface NodeInput {
  timing: Timing;
  /** IP addresses this node's Ceph clients use: watchers from these are ours, never fenced. */
  ownAddresses: string[];
}

export interface NodeContext {
  timing: Timing;
  ownAddresses: string[];
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
}

export function initialContext(input: NodeInput): NodeContext {
  return {
    timing: input.timing,
    ownAddresses: [...input.ownAddresses],
    vrrp: 'UNKNOWN',
    health: 'unknown',
    attempts: 0,
    fenceRounds: 0,
    failures: 0,
    knownHolders: [],
    holders: [],
    fencedAddresses: [],
    holdings: { device: null, mounted: false, composeRunning: false },
    exitTo: 'idle',
    reason: 'starting up',
    lastError: null,
    releaseFailed: false,
  };
}
