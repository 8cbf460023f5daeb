/**
 * What a state means to the world around the chart. The service, `check`, fitness and the phase
 * tracker read these with `hasTag` and never parse state names: rename a state and nothing breaks.
 */
export const NODE_TAGS = [
  /** Keeps (or may win) the VIP: starting up, taking over, serving. */
  'fit',
  /** Gives the VIP up: handing over, cooling down, failed, maintenance, stopped. */
  'unfit',
  /** Standby: fit only while its own look at Ceph is fresh and good. */
  'fit-when-ready',
  /** Releasing: keeps the VIP until everything is given back, unless fenced, cut from Ceph or stalled. */
  'fit-unless-dead',
  /** A takeover is in progress (its phases and steps are timed). */
  'takeover',
  /** A release is in progress (its phases and steps are timed). */
  'release',
  /** Harbor runs here and answers for the registry. */
  'serving',
  /** The Harbor health prober runs (its verdicts are events). */
  'probes-health',
  /** compose up is starting Harbor: refusals are expected until Harbor first answers (they are not news). */
  'harbor-starting',
  /** The I/O watchdog writes through the mount and reads the owner record. */
  'watchdog',
  /**
   * The owner record is read on the watchdog's clock without writes through the mount (a release
   * unmounting or unmapping: a probe would hold the mount); silence past the deadline is lost Ceph.
   */
  'ceph-watch',
  /** The standby polls the image's watchers and owner record. */
  'standby-poll',
  /** The node acts as VRRP MASTER: a VIP found on the interface confirms it, even before keepalived speaks. */
  'acting-master',
] as const;

export type NodeTag = (typeof NODE_TAGS)[number];
