import type { NodeTag } from '../domain/tags.js';

/**
 * Whether a node whose service is restarting stays fit for keepalived meanwhile: a serving node
 * (Harbor keeps running, the next start adopts it) and a ready standby (if the master dies
 * meanwhile the VIP comes here and the returning service takes over, instead of nowhere).
 * Anything else is unfit the moment its service is gone.
 */
export function staysFitWhileRestarting(tags: readonly NodeTag[], fit: boolean): boolean {
  return tags.includes('serving') || (tags.includes('fit-when-ready') && fit);
}
