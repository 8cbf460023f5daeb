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
 * (releasing keeps it so the peer maps only after everything is given back); standing-down,
 * fenced, failed and maintenance give it up; a standby is fit only when it could take over.
 */
export function fitnessOf(state: string, readiness: StandbyReadiness | null, now: number, readinessMaxAgeMs: number): Fitness {
  const top = state.split('.')[0] ?? '';
  switch (top) {
    case 'booting':
      return { fit: true, why: 'starting up: reconciling with the world' };
    case 'active':
      return { fit: true, why: state.startsWith('active.serving') ? 'serving' : `taking over (${state})` };
    case 'releasing':
      return { fit: true, why: 'releasing: keeping the VIP until everything is given back' };
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
