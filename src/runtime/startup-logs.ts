import type { Compose } from '../actions/harbor.js';
import type { Logger } from '../log/logger.js';
import type { Observability } from '../observe/observability.js';

export interface StartupLogOptions {
  services: readonly string[];
  maxLines: number;
}

/**
 * After a takeover that ended serving: what the configured services logged since it began, into
 * the journal. PostgreSQL's crash recovery ("automatic recovery in progress", "redo done") is the
 * evidence that the database came back from the other host's last commit. Best effort: a failure
 * is logged (the runner journals the command) and changes nothing.
 */
export function journalStartupLogs(compose: Compose, observe: Observability, logger: Logger, options: StartupLogOptions, signal: AbortSignal): void {
  if (options.services.length === 0) return;
  observe.onOperation((s) => {
    if (s.operation !== 'takeover' || !s.ok) return;
    void (async () => {
      for (const service of options.services) {
        if (signal.aborted) return;
        try {
          observe.startupLog(service, await compose.logsSince(service, s.startedAt, options.maxLines, signal));
        } catch (e) {
          logger.warn('cannot read the start-up log', { service, error: e instanceof Error ? e.message : String(e) });
        }
      }
    })();
  });
}
