import type { Compose } from '../actions/harbor/compose.js';
import type { Logger } from '../log/logger.js';
import type { Observability } from '../observe/observability.js';

export interface StartupLogOptions {
  services: readonly string[];
  maxLines: number;
}

/** Calls `onLeave` once the node stops serving; returns how to stop watching. */
export type ServingWatch = (onLeave: () => void) => () => void;

/**
 * After a takeover that ended serving: what the configured services logged since it began, into
 * the journal. PostgreSQL's crash recovery ("automatic recovery in progress", "redo done") is the
 * evidence that the database came back from the other host's last commit. Best effort: a failure
 * is logged (the runner journals the command) and changes nothing. The read is given up when the
 * node leaves serving: a release waits for the commands in flight before it surveys, and
 * `compose logs` (a docker-compose v1 start, seconds under load) is not worth a slower hand-over.
 */
export function journalStartupLogs(
  compose: Compose,
  observe: Observability,
  logger: Logger,
  options: StartupLogOptions,
  signal: AbortSignal,
  whileServing: ServingWatch,
): void {
  if (options.services.length === 0) return;
  observe.onOperation((s) => {
    if (s.operation !== 'takeover' || !s.ok) return;
    const read = new AbortController();
    // a call: TypeScript would keep `aborted` narrowed across the await
    const givenUp = (): boolean => read.signal.aborted;
    const giveUp = () => read.abort();
    signal.addEventListener('abort', giveUp, { once: true });
    const stopWatching = whileServing(giveUp);
    void (async () => {
      try {
        for (const service of options.services) {
          if (givenUp()) return;
          try {
            observe.startupLog(service, await compose.logsSince(service, s.startedAt, options.maxLines, read.signal));
          } catch (e) {
            if (givenUp()) logger.info('start-up log not read: the node left serving', { service });
            else logger.warn('cannot read the start-up log', { service, error: e instanceof Error ? e.message : String(e) });
          }
        }
      } finally {
        stopWatching();
        signal.removeEventListener('abort', giveUp);
      }
    })();
  });
}
