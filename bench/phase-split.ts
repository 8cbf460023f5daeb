/**
 * One recovery, fault → a pull through the VIP working, cut into parts that add up to it, so the
 * engine's own share is what is left when VRRP, the Docker Engine, Harbor's readiness and the
 * measurement itself are taken out (nothing is dropped between the parts).
 */
export interface Interval {
  start: number;
  end: number;
}

export interface RecoveryTimes {
  faultAt: number;
  /** The client's pull through the VIP worked. */
  pullOkAt: number;
  /** The new master entered its takeover (acquiring the image). */
  takeoverAt: number;
  /** The new master's own transition into serving. */
  servingAt: number;
  /** Harbor first answered healthy on the new master (polled from its namespace); null: never seen. */
  firstHealthyAt: number | null;
  /** The old master's release was over (a planned hand-over); null: it crashed, nothing to wait for. */
  oldReleaseEndAt: number | null;
  /** Docker Engine work (containers started, stopped, their restart policy set) on the new master. */
  newDocker: readonly Interval[];
  /** The same on the old master (its release stopping Harbor). */
  oldDocker: readonly Interval[];
}

export interface RecoverySplit {
  /** The old master's release, minus its Docker work. */
  engineRelease: number;
  /** The old master's containers stopping. */
  dockerStop: number;
  /** VRRP: the fault (or the old master standing down) → the new master's takeover. */
  vrrp: number;
  /** The new master's takeover, minus Docker and Harbor's readiness (health lag included). */
  engineTakeover: number;
  /** The new master's containers starting. */
  dockerStart: number;
  /** The last container started → Harbor's first healthy answer. */
  harborReady: number;
  /** The new master serving → the client's pull through the VIP working (the lab's poll, the pull itself). */
  measurement: number;
  /** engineRelease + engineTakeover: everything the engine itself spent. */
  engine: number;
  total: number;
}

/** Docker Engine work, as the engine's journal names it (listing containers is the engine deciding: not counted). */
export const DOCKER_WORK = /^(docker (start|stop|kill|update) |compose (up|down|stop|start)$)/;

/** How much of [from, to] the intervals cover (overlaps counted once: containers start in parallel). */
export function covered(intervals: readonly Interval[], from: number, to: number): number {
  const clipped = intervals
    .map((i) => ({ start: Math.max(i.start, from), end: Math.min(i.end, to) }))
    .filter((i) => i.end > i.start)
    .sort((a, b) => a.start - b.start);
  let total = 0;
  let reach = from;
  for (const i of clipped) {
    const start = Math.max(i.start, reach);
    if (i.end > start) total += i.end - start;
    reach = Math.max(reach, i.end);
  }
  return total;
}

export function splitRecovery(t: RecoveryTimes): RecoverySplit {
  const releaseEnd = t.oldReleaseEndAt ?? t.faultAt;
  const dockerStop = covered(t.oldDocker, t.faultAt, releaseEnd);
  const engineRelease = releaseEnd - t.faultAt - dockerStop;
  const vrrp = t.takeoverAt - releaseEnd;
  const dockerStart = covered(t.newDocker, t.takeoverAt, t.servingAt);
  const lastStart = Math.max(
    t.takeoverAt,
    ...t.newDocker.filter((i) => i.start < t.servingAt && i.end > t.takeoverAt).map((i) => Math.min(i.end, t.servingAt)),
  );
  const harborReady = t.firstHealthyAt === null ? 0 : Math.max(0, Math.min(t.firstHealthyAt, t.servingAt) - lastStart);
  const engineTakeover = t.servingAt - t.takeoverAt - dockerStart - harborReady;
  const measurement = t.pullOkAt - t.servingAt;
  return {
    engineRelease,
    dockerStop,
    vrrp,
    engineTakeover,
    dockerStart,
    harborReady,
    measurement,
    engine: engineRelease + engineTakeover,
    total: t.pullOkAt - t.faultAt,
  };
}
