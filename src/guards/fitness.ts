import type { NodeTag } from '../domain/tags.js';
import type { DeadPath, ReleaseExit } from '../domain/types.js';

/** What keepalived's track_script asks: may this node hold (or win) the VIP right now? */
export interface Fitness {
  fit: boolean;
  why: string;
}

/** The standby's own view of Ceph: can it reach the cluster and see the image with its credentials? */
export interface StandbyReadiness {
  ok: boolean;
  checkedAt: number;
  error: string | null;
}

/** The state as fitness reads it: its meaning (tags), and its name and reason only to explain. */
export interface FitnessInput {
  tags: readonly NodeTag[];
  state: string;
  reason: string;
  /** Where a release goes: a node releasing because it is fenced or cut from Ceph is unfit at once. */
  exitTo: ReleaseExit;
  /** A release step failed once: no clean hand-over any more, the peer takes the VIP and fences. */
  releaseStalled: boolean;
  /** The release runs on a dead data path (fenced, lost Ceph), whatever it began for. */
  deadPath: DeadPath | null;
}

/**
 * Fitness from the state's tags. A node that is taking over, serving or releasing keeps the VIP
 * (releasing keeps it so the peer maps only after everything is given back) — unless it releases
 * because it was fenced or lost Ceph, or one of its steps already failed (a release that may
 * hang on cut storage must not hold the VIP: the peer's fence is the safe way out): then the
 * peer must get the VIP at once, not after the release. Unfit states give it up; a standby is
 * fit only when it could take over.
 */
export function fitnessOf(node: FitnessInput, readiness: StandbyReadiness | null, now: number, readinessMaxAgeMs: number): Fitness {
  const has = (tag: NodeTag) => node.tags.includes(tag);
  if (has('fit-unless-dead')) {
    if (node.deadPath === 'fenced') return { fit: false, why: 'fenced by the peer: releasing, the VIP goes to the peer now' };
    if (node.deadPath === 'lostCeph') return { fit: false, why: 'lost Ceph: releasing, the VIP goes to the peer now' };
    if (node.releaseStalled) return { fit: false, why: 'release stalled (a step failed): the VIP goes to the peer, which fences this node' };
    return { fit: true, why: 'releasing: keeping the VIP until everything is given back' };
  }
  if (has('fit')) {
    if (has('serving')) return { fit: true, why: node.reason === 'serving' ? 'serving' : `serving (${node.reason})` };
    if (has('takeover')) return { fit: true, why: `taking over (${node.state})` };
    return { fit: true, why: 'starting up: reconciling with the world' };
  }
  if (has('fit-when-ready')) {
    if (readiness === null) return { fit: false, why: 'standby: Ceph not checked yet' };
    if (!readiness.ok) return { fit: false, why: `standby not ready: ${readiness.error ?? 'Ceph check failed'}` };
    if (now - readiness.checkedAt > readinessMaxAgeMs) return { fit: false, why: 'standby: the last Ceph check is too old' };
    return { fit: true, why: 'standby, ready to take over' };
  }
  // unfit, or a state that says nothing about fitness: never claim the VIP on a guess
  return { fit: false, why: `${node.state}: ${node.reason}` };
}
