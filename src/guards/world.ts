import type { Holdings, WorldSnapshot } from '../domain/types.js';

/** The node holds anything that must be released before another node may take the image. */
export function isHolding(h: Holdings): boolean {
  return h.device !== null || h.mounted || h.composeRunning;
}

/** Restarted in the middle of serving: VIP, map, mount and Harbor are all here. */
export function isServingIntact(w: WorldSnapshot): boolean {
  return w.vipHere && w.device !== null && w.mounted && w.composeRunning;
}

/** Restarted between mount and Harbor start with the VIP still here: finishing is safe. */
export function isMountedWithVip(w: WorldSnapshot): boolean {
  return w.vipHere && w.device !== null && w.mounted;
}
