import type { HealthVerdict } from '../domain/types.js';
import type { HealthReport } from '../actions/harbor/compose.js';

/**
 * Rise/fall hysteresis over raw probe verdicts: `healthy` after `rise` good probes in a row,
 * `down` after `fall` bad ones, `degraded` as soon as it is seen twice. Emits only changes.
 */
export class HealthHysteresis {
  private verdict: HealthVerdict | 'unknown' = 'unknown';
  private streak: { verdict: HealthVerdict; count: number } | null = null;
  /** The latest probe's report (null after a reset). */
  last: HealthReport | null = null;

  constructor(
    private readonly rise: number,
    private readonly fall: number,
  ) {}

  get current(): HealthVerdict | 'unknown' {
    return this.verdict;
  }

  /** Feed one probe; returns the new verdict when it changed. `rise` overrides the healthy streak needed. */
  observe(report: HealthReport, rise = this.rise): HealthVerdict | null {
    this.last = report;
    const v = report.verdict;
    this.streak = this.streak?.verdict === v ? { verdict: v, count: this.streak.count + 1 } : { verdict: v, count: 1 };
    const needed = v === 'healthy' ? rise : v === 'down' ? this.fall : Math.min(2, this.fall);
    if (this.streak.count >= needed && this.verdict !== v) {
      this.verdict = v;
      return v;
    }
    return null;
  }

  reset(): void {
    this.verdict = 'unknown';
    this.streak = null;
    this.last = null;
  }
}
