/**
 * Every wait in the statechart has a name here; the values come from the configuration file
 * and travel in the machine's context, so the chart and its timings cannot drift apart.
 */
export interface StepTimeouts {
  readWorld: number;
  readHolders: number;
  fence: number;
  verifyFence: number;
  map: number;
  probeFilesystem: number;
  format: number;
  fsck: number;
  mount: number;
  composeUp: number;
  /** Start-up grace: compose is up, Harbor must report healthy within this. */
  healthy: number;
  composeDown: number;
  unmount: number;
  unmap: number;
  /** Taking the image's lock and writing the owner record (Ceph commands). */
  claim: number;
  /** Writing the mapper's client address into the owner record after the map. */
  record: number;
  /** Removing our owner record and lock after a clean unmap. */
  disown: number;
}

export type StepName = keyof StepTimeouts;

/** Every key of StepTimeouts, at run time (the delays are generated from it). */
export const STEP_TIMEOUT_NAMES = [
  'readWorld',
  'readHolders',
  'fence',
  'verifyFence',
  'claim',
  'map',
  'record',
  'probeFilesystem',
  'format',
  'fsck',
  'mount',
  'composeUp',
  'healthy',
  'composeDown',
  'unmount',
  'unmap',
  'disown',
] as const satisfies readonly StepName[];
/** True by construction: a key added to StepTimeouts but not to the list above fails to compile here. */
export const EVERY_TIMEOUT_NAMED: [Exclude<StepName, (typeof STEP_TIMEOUT_NAMES)[number]>] extends [never] ? true : false = true;

export interface Timing {
  timeouts: StepTimeouts;
  retry: {
    /** Attempts per step, the first one included. */
    maxAttempts: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
  };
  /** Failed takeovers (or Harbor failures) in a row before the node gives up and lands in `failed`. */
  failureBudget: number;
  /** A foreign holder first seen less than this ago is not fenced yet: it may have just taken the image. */
  holderGraceMs: number;
  /** After being fenced, stay out (and fence nobody) this long. */
  fencedCooldownMs: number;
  /** After handing over, wait this long for keepalived to move the VIP before becoming a plain standby. */
  standDownMs: number;
  /**
   * Serving, VRRP said BACKUP: keep serving this long in case the VIP comes back (a peer resuming
   * from a pause briefly claims MASTER, then finds itself fenced and yields). Then release.
   */
  vipLossGraceMs: number;
}

/** Backoff before attempt `attempt + 1` (attempt counts failures so far, from 1). */
export function backoffDelay(timing: Timing, attempt: number): number {
  const exp = timing.retry.backoffBaseMs * 2 ** Math.max(0, attempt - 1);
  return Math.min(exp, timing.retry.backoffMaxMs);
}
