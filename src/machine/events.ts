import type { HealthVerdict, Holder, OwnershipView, VrrpState } from '../domain/types.js';

/** From keepalived's notify fifo (or the VIP reconciler when a notification was missed). */
export interface VrrpEvent {
  type: 'vrrp';
  state: VrrpState;
  priority?: number;
}

/** Harbor health after rise/fall hysteresis (the prober only sends changes of verdict). */
export type HealthEvent = { type: 'health.healthy' } | { type: 'health.degraded' } | { type: 'health.down' };

/** A standby's periodic look at the image's watchers, so a takeover knows who held it for how long. */
export interface ImageHoldersEvent {
  type: 'image.holders';
  holders: Holder[];
  ownership: OwnershipView;
  observedAt: number;
}

/**
 * The peer fenced this node: its own I/O on the image failed with EIO/ESHUTDOWN, or the owner
 * record in Ceph names another node.
 */
export interface FencedEvent {
  type: 'io.fenced';
  detail: string;
}

/**
 * This node lost Ceph: an I/O probe or a Ceph check did not answer within its deadline. Nobody
 * is known to have fenced it; it must get out of the way at once (unfit) and release.
 */
export interface CephLostEvent {
  type: 'ceph.lost';
  detail: string;
}

export type OperatorEvent =
  | { type: 'switchover' }
  | { type: 'maintenance.on' }
  | { type: 'maintenance.off' }
  | { type: 'resume' }
  /** `release: true` hands everything back first; false detaches and leaves Harbor running (restart). */
  | { type: 'shutdown'; release: boolean };

export type NodeEvent = VrrpEvent | HealthEvent | ImageHoldersEvent | FencedEvent | CephLostEvent | OperatorEvent;

export type NodeEventType = NodeEvent['type'];

export const HEALTH_EVENTS: Record<HealthVerdict, HealthEvent['type']> = {
  healthy: 'health.healthy',
  degraded: 'health.degraded',
  down: 'health.down',
};
