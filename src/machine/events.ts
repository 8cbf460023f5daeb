import type { HealthVerdict, Holder, VrrpState } from './types.js';

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
  observedAt: number;
}

/** This node's own I/O on the image failed with EIO/ESHUTDOWN: the peer fenced us. */
export interface FencedEvent {
  type: 'io.fenced';
  detail: string;
}

export type OperatorEvent =
  | { type: 'switchover' }
  | { type: 'maintenance.on' }
  | { type: 'maintenance.off' }
  | { type: 'resume' }
  /** `release: true` hands everything back first; false detaches and leaves Harbor running (restart). */
  | { type: 'shutdown'; release: boolean };

export type NodeEvent = VrrpEvent | HealthEvent | ImageHoldersEvent | FencedEvent | OperatorEvent;

export type NodeEventType = NodeEvent['type'];

export const HEALTH_EVENTS: Record<HealthVerdict, HealthEvent['type']> = {
  healthy: 'health.healthy',
  degraded: 'health.degraded',
  down: 'health.down',
};
