/**
 * keepalived's MASTER entries in a lab run, split at the moment the first node served: at the
 * cold start both keepalived start together and, on a loaded machine, both may enter MASTER
 * before they hear each other (a start race the engine resolves by fencing); after it, every
 * entry beyond the run's hand-overs is a false failover.
 */

/** `Tue Dec  8 02:57:44 2026: (VI_HARBOR) Entering MASTER STATE` (keepalived's console log: local time, whole seconds). */
const MASTER_ENTRY = /^(\w{3} \w{3} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4}): \([^)]*\) Entering MASTER STATE$/;

/** When each MASTER entry of one keepalived log happened (ms, truncated to the second); a line whose time does not parse is an error. */
export function masterEntryTimes(log: string): number[] {
  return log.split('\n').flatMap((line) => {
    const m = MASTER_ENTRY.exec(line.trim());
    if (!m?.[1]) return [];
    const at = new Date(m[1]).getTime();
    if (Number.isNaN(at)) throw new Error(`keepalived log: cannot read the time of ${JSON.stringify(line.slice(0, 80))}`);
    return [at];
  });
}

export interface MasterEntries {
  /** Entries at the cold start beyond the one expected: 1 when both nodes came up MASTER. */
  startRaces: number;
  /** Entries after the first node served beyond the expected hand-overs: false failovers. */
  unexpected: number;
}

/** `logs` of both nodes; `firstServedAt` (ms) splits start from the rest; `expectedAfter` hand-overs (the fault's, a both-served run's two). */
export function splitMasterEntries(logs: readonly string[], firstServedAt: number, expectedAfter: number): MasterEntries {
  const times = logs.flatMap(masterEntryTimes);
  // truncated to the second, an entry before the first serving never reads as after it
  const atStart = times.filter((t) => t <= firstServedAt).length;
  return { startRaces: Math.max(0, atStart - 1), unexpected: times.length - atStart - expectedAfter };
}
