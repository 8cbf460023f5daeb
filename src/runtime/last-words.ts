import { containerLogTail, suspectContainers } from '../actions/harbor/container-logs.js';
import type { Runner } from '../actions/exec.js';
import type { HealthReport } from '../actions/harbor/compose.js';
import type { Logger } from '../log/logger.js';
import type { HealthVerdict } from '../domain/types.js';

export interface LastWordsOptions {
  /** Lines per container; 0: none are read. */
  maxLines: number;
  /** For all the reads together: the release waits no longer than this for them. */
  timeoutMs: number;
}

/** Where the lines go besides the service log: the journal (`harbor-assistant events`). */
export type LastWordsSink = (container: string, lines: string[], health: string) => void;

/**
 * Why Harbor failed on this node, kept past compose down: compose down removes the containers and
 * their logs with them, so a release that stops a Harbor which was not healthy first puts the last
 * lines of the failing containers into the journal. A healthy Harbor handed over (a switchover)
 * costs nothing. Best effort: a read that fails or runs out of time is a note, never a failed step.
 */
export class HarborLastWords {
  private left: { verdict: HealthVerdict | 'unknown'; report: HealthReport } | null = null;

  constructor(
    private readonly runner: Runner,
    private readonly logger: Logger,
    private readonly options: LastWordsOptions,
    private readonly sink: LastWordsSink = () => undefined,
  ) {}

  /** Health probing ended (the node leaves takeover or serving): what Harbor last said. */
  leftProbing(verdict: HealthVerdict | 'unknown', report: HealthReport | null): void {
    this.left = report === null ? null : { verdict, report };
  }

  /** A new takeover begins: what an earlier one left is not about it. */
  forget(): void {
    this.left = null;
  }

  /** The containers to read now, or none: Harbor's last answer was healthy, or there was none. */
  suspects(): string[] {
    const left = this.left;
    if (left === null || this.options.maxLines === 0) return [];
    if (left.verdict === 'healthy' || left.report.verdict === 'healthy') return [];
    return suspectContainers(left.report);
  }

  /** Before compose down: the suspects' last lines into the journal, within the timeout. */
  async journal(signal?: AbortSignal): Promise<void> {
    const suspects = this.suspects();
    const report = this.left?.report;
    this.left = null;
    if (suspects.length === 0 || report === undefined) return;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error(`container logs: gave up after ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
    const within = signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal;
    try {
      await this.readAll(suspects, report, within);
    } finally {
      clearTimeout(timer);
    }
  }

  private async readAll(suspects: string[], report: HealthReport, within: AbortSignal): Promise<void> {
    await Promise.all(
      suspects.map(async (container) => {
        try {
          const lines = await containerLogTail(this.runner, container, this.options.maxLines, this.options.timeoutMs, within);
          this.logger.warn('container log before compose down', { container, health: report.detail, lines });
          this.sink(container, lines, report.detail);
        } catch (e) {
          this.logger.warn('cannot read the container log before compose down', { container, error: e instanceof Error ? e.message : String(e) });
        }
      }),
    );
  }
}
