import type { ReleaseExit } from '../machine/types.js';

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

/**
 * Fitness from the node's state. A node that is taking over, serving or releasing keeps the VIP
 * (releasing keeps it so the peer maps only after everything is given back) — unless it releases
 * because it was fenced or lost Ceph: then the peer must get the VIP at once, not after the
 * release. Standing-down, yielding, fenced, failed and maintenance give it up; a standby is fit
 * only when it could take over.
 */
export function fitnessOf(
  state: string,
  readiness: StandbyReadiness | null,
  now: number,
  readinessMaxAgeMs: number,
  releasingTo: ReleaseExit | null = null,
): Fitness {
  const top = state.split('.')[0] ?? '';
  switch (top) {
    case 'booting':
      return { fit: true, why: 'starting up: reconciling with the world' };
    case 'active':
      if (state === 'active.vip-lost') return { fit: true, why: 'serving, VRRP said BACKUP: waiting for the VIP to come back' };
      return { fit: true, why: state.startsWith('active.serving') ? 'serving' : `taking over (${state})` };
    case 'releasing':
      if (releasingTo === 'fenced') return { fit: false, why: 'fenced by the peer: releasing, the VIP goes to the peer now' };
      if (releasingTo === 'lostCeph') return { fit: false, why: 'lost Ceph: releasing, the VIP goes to the peer now' };
      return { fit: true, why: 'releasing: keeping the VIP until everything is given back' };
    case 'yielding':
      return { fit: false, why: 'the peer won the ownership race: cooling down' };
    case 'standing-down':
      return { fit: false, why: 'released: handing the VIP to the peer' };
    case 'fenced':
      return { fit: false, why: 'fenced by the peer: cooling down' };
    case 'failed':
      return { fit: false, why: 'failed: an operator must resume' };
    case 'maintenance':
      return { fit: false, why: 'maintenance' };
    case 'idle': {
      if (readiness === null) return { fit: false, why: 'standby: Ceph not checked yet' };
      if (!readiness.ok) return { fit: false, why: `standby not ready: ${readiness.error ?? 'Ceph check failed'}` };
      if (now - readiness.checkedAt > readinessMaxAgeMs) return { fit: false, why: 'standby: the last Ceph check is too old' };
      return { fit: true, why: 'standby, ready to take over' };
    }
    default:
      return { fit: false, why: `not running (${state})` };
  }
}
