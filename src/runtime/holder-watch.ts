import type { Runner } from '../actions/exec.js';
import { probeImageWrite } from '../actions/host/io-watchdog.js';
import { isOwnRecord } from '../guards/index.js';
import type { Logger } from '../log/logger.js';
import type { NodeEvent, OwnershipView } from '../machine/index.js';
import { every } from './loop.js';

/** An event-loop gap this long means the process was frozen (SIGSTOP, a paused VM). */
export const PAUSE_GAP_MS = 2_000;
const TICK_MS = 200;

export interface HolderWatchOptions {
  runner: Runner;
  logger: Logger;
  nodeName: string;
  mountPoint: string;
  intervalMs: number;
  deadlineMs: number;
  readOwnership: (signal: AbortSignal) => Promise<OwnershipView>;
  /**
   * Is the node holding the image under a generation of its own right now? `active`: the watch
   * runs; `writes` false: the owner record only (a release unmounting: a probe would hold the mount).
   */
  holding: () => { active: boolean; mounted: boolean; generation: number | null; writes?: boolean };
  send: (event: NodeEvent) => void;
  now?: () => number;
}

/**
 * While this node holds the mounted image: writes through it (a fence shows as EIO) every
 * interval; from its claim on, reads the owner record (a takeover shows as another node's record).
 * It runs through a release too, up to the unmap, so a release that loses Ceph or is fenced midway
 * says so and the node turns unfit instead of finishing a hand-over it cannot finish. Deadlines are timers,
 * not waits: when neither has answered for the deadline — a write stuck in uninterruptible I/O,
 * a Ceph read that hangs — the node has lost Ceph and says so at once, whatever the stuck
 * processes do afterwards. After a freeze it looks at the record before anything else.
 */
export function startHolderWatch(o: HolderWatchOptions): { stop(): void; checkRecordNow(): void; checkNow(): void } {
  const now = o.now ?? Date.now;
  let answeredAt = now();
  let reported = false;
  const watching = () => {
    const h = o.holding();
    return h.active && h.writes !== false && h.mounted && h.generation !== null;
  };
  // unmounting and unmapping: no writes, but Ceph silence past the deadline is still lost Ceph
  const recordOnly = () => {
    const h = o.holding();
    return h.active && h.writes === false && h.generation !== null;
  };
  // the record needs no mount: from the claim on, a node another one replaced must stop even
  // while it maps, formats or checks (a mkfs stuck on a fenced client would hold it for minutes)
  const claimed = () => {
    const h = o.holding();
    return h.active && h.generation !== null;
  };
  const report = (event: NodeEvent & { detail: string }, message: string) => {
    if (reported || !o.holding().active) return;
    reported = true;
    o.logger.warn(message, { detail: event.detail });
    o.send(event);
  };

  const writes = every(
    o.intervalMs,
    async (signal) => {
      if (!watching()) return;
      const probe = await probeImageWrite(o.runner, o.mountPoint, o.deadlineMs, signal);
      if (probe.kind === 'ok') answeredAt = now();
      else if (probe.kind === 'fenced') report({ type: 'io.fenced', detail: `I/O error on the image: ${probe.detail}` }, 'this node was fenced');
    },
    (e) => o.logger.warn('I/O watchdog failed', { error: e instanceof Error ? e.message : String(e) }),
  );

  const checkRecord = async (signal: AbortSignal) => {
    const generation = o.holding().generation;
    if (!claimed() || generation === null) return;
    const { record } = await o.readOwnership(signal);
    answeredAt = now();
    if (!isOwnRecord(record, o.nodeName) || record?.generation !== generation) {
      const owner = record ? `${record.node} (generation ${record.generation})` : 'nobody';
      report({ type: 'io.fenced', detail: `the owner record in Ceph names ${owner}, not this node (generation ${generation})` }, 'this node was replaced');
    }
  };
  const records = every(o.intervalMs * 2, checkRecord, (e) => o.logger.warn('ownership check failed', { error: e instanceof Error ? e.message : String(e) }));

  let lastTick = now();
  const ticker = setInterval(() => {
    const t = now();
    const gap = t - lastTick;
    lastTick = t;
    if (!watching() && !recordOnly()) {
      // a new hold starts with a fresh clock and may report again
      answeredAt = t;
      reported = false;
      return;
    }
    if (gap >= PAUSE_GAP_MS) {
      // frozen: the silence was ours, not Ceph's; the record says whether we were replaced meanwhile
      o.logger.warn('this process was frozen: checking ownership now', { frozenMs: gap });
      answeredAt = t;
      checkRecord(new AbortController().signal).catch(() => undefined);
      return;
    }
    const silentMs = t - answeredAt;
    if (silentMs > o.deadlineMs) {
      report(
        { type: 'ceph.lost', detail: `neither the I/O probe nor the owner record answered for ${silentMs} ms (deadline ${o.deadlineMs} ms)` },
        'lost Ceph',
      );
    }
  }, TICK_MS);
  ticker.unref();

  return {
    stop() {
      writes.stop();
      records.stop();
      clearInterval(ticker);
    },
    /** A step failed while claimed: was it because another node took the image? Ask Ceph now. */
    checkRecordNow() {
      records.poke();
    },
    /** Harbor went down: is it the storage? Probe the image and ask Ceph now, not an interval later. */
    checkNow() {
      writes.poke();
      records.poke();
    },
  };
}
