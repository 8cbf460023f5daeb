import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CommandRecord } from '../actions/exec.js';
import type { ComponentHealth } from '../actions/harbor/compose.js';
import type { Chart, ChartNode } from '../chart/walk.js';
import type { OperationSummary } from './phases.js';

/** Every leaf state as the service names it (`active.serving.healthy`), so each series exists from the start. */
export function leafStateNames(chart: Chart): string[] {
  const out: string[] = [];
  const walk = (n: ChartNode, path: string[]) => {
    if (n.states.length === 0) out.push(path.join('.'));
    for (const c of n.states) walk(c, [...path, c.key]);
  };
  walk(chart.root, []);
  return out;
}

const HEALTH_VERDICTS = ['unknown', 'healthy', 'degraded', 'down'] as const;
const VRRP_STATES = ['UNKNOWN', 'INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP'] as const;
const SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800];

/**
 * The Prometheus metrics of one node, in their own registry (nothing global): state, transitions,
 * takeover/release phases, Harbor health, fencing and outside commands.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  private readonly state: Gauge<'state'>;
  private readonly stateSince: Gauge;
  private readonly transitions: Counter<'from' | 'to' | 'event'>;
  private readonly phase: Histogram<'operation' | 'phase'>;
  private readonly operation: Histogram<'operation' | 'outcome'>;
  private readonly harbor: Gauge<'verdict'>;
  private readonly component: Gauge<'component'>;
  private readonly fence: Counter<'step' | 'result'>;
  private readonly cephLost: Counter;
  private readonly commands: Counter<'command' | 'result'>;
  private readonly commandFailures: Counter<'command' | 'failure'>;
  private readonly commandSeconds: Histogram<'command'>;
  private readonly fit: Gauge;
  private readonly vrrp: Gauge<'state'>;
  private readonly failures: Gauge;
  private readonly heldGeneration: Gauge;
  private readonly recordedGeneration: Gauge<'owner'>;
  /** The current leaf state and since when (ms), as the last transition left them. */
  private current: string | null = null;
  private currentSince = 0;
  /** The state whose series the state gauge shows as 1 (set when scraped). */
  private shown: string | null = null;

  constructor(node: string, states: readonly string[]) {
    const r = [this.registry];
    this.registry.setDefaultLabels({ node });
    collectDefaultMetrics({ register: this.registry, prefix: 'harbor_assistant_' });
    // the state gauges are brought up to date when scraped, not on each of the ~20 transitions of
    // a takeover + release: nobody reads them in between
    this.state = new Gauge({
      name: 'harbor_assistant_state',
      help: 'Current state of the node statechart (1 for the current leaf state)',
      labelNames: ['state'],
      registers: r,
      collect: () => this.showState(),
    });
    this.stateSince = new Gauge({
      name: 'harbor_assistant_state_since_seconds',
      help: 'Unix time the current state was entered',
      registers: r,
      collect: () => {
        if (this.current !== null) this.stateSince.set(this.currentSince / 1000);
      },
    });
    this.transitions = new Counter({
      name: 'harbor_assistant_transitions_total',
      help: 'State transitions taken',
      labelNames: ['from', 'to', 'event'],
      registers: r,
    });
    this.phase = new Histogram({
      name: 'harbor_assistant_phase_duration_seconds',
      help: 'Time spent in each phase of a takeover or release (retries included)',
      labelNames: ['operation', 'phase'],
      buckets: SECONDS_BUCKETS,
      registers: r,
    });
    this.operation = new Histogram({
      name: 'harbor_assistant_operation_duration_seconds',
      help: 'Whole takeover or release, by how it ended',
      labelNames: ['operation', 'outcome'],
      buckets: SECONDS_BUCKETS,
      registers: r,
    });
    this.harbor = new Gauge({
      name: 'harbor_assistant_harbor_health',
      help: "Harbor's health as the statechart sees it (1 for the current verdict)",
      labelNames: ['verdict'],
      registers: r,
    });
    this.component = new Gauge({
      name: 'harbor_assistant_harbor_component_healthy',
      help: 'Harbor component health from /api/v2.0/health (1 healthy, 0 not); absent when Harbor is not probed',
      labelNames: ['component'],
      registers: r,
    });
    this.fence = new Counter({
      name: 'harbor_assistant_fence_operations_total',
      help: 'Fencing steps (blocklist the foreign holders, verify they are gone) by result',
      labelNames: ['step', 'result'],
      registers: r,
    });
    this.cephLost = new Counter({
      name: 'harbor_assistant_ceph_lost_total',
      help: 'Times this node, holding the image, lost Ceph (neither the I/O probe nor the owner record answered within the watchdog deadline)',
      registers: r,
    });
    this.commands = new Counter({
      name: 'harbor_assistant_commands_total',
      help: 'Outside commands run, by command and result',
      labelNames: ['command', 'result'],
      registers: r,
    });
    this.commandFailures = new Counter({
      name: 'harbor_assistant_command_failures_total',
      help: 'Outside commands that failed, by command and how (exit, timeout, aborted, spawn)',
      labelNames: ['command', 'failure'],
      registers: r,
    });
    this.commandSeconds = new Histogram({
      name: 'harbor_assistant_command_duration_seconds',
      help: 'Outside command duration',
      labelNames: ['command'],
      buckets: SECONDS_BUCKETS,
      registers: r,
    });
    this.fit = new Gauge({ name: 'harbor_assistant_fit', help: "What keepalived's check is told: 1 fit, 0 unfit", registers: r });
    this.vrrp = new Gauge({
      name: 'harbor_assistant_vrrp_state',
      help: 'VRRP state from keepalived (1 for the current one)',
      labelNames: ['state'],
      registers: r,
    });
    this.failures = new Gauge({
      name: 'harbor_assistant_consecutive_failures',
      help: 'Failed takeovers in a row (the failure budget counts these)',
      registers: r,
    });
    this.heldGeneration = new Gauge({
      name: 'harbor_assistant_ownership_generation',
      help: 'The ownership generation this node holds in Ceph (0: it holds none)',
      registers: r,
    });
    this.recordedGeneration = new Gauge({
      name: 'harbor_assistant_owner_record_generation',
      help: "The owner record of this node's last look at the image, by owner node (absent: no record)",
      labelNames: ['owner'],
      registers: r,
    });
    for (const s of states) this.state.set({ state: s }, 0);
    for (const v of HEALTH_VERDICTS) this.harbor.set({ verdict: v }, 0);
    for (const v of VRRP_STATES) this.vrrp.set({ state: v }, 0);
    for (const step of ['blocklist', 'verify']) for (const result of ['ok', 'failed']) this.fence.inc({ step, result }, 0);
    // a series born at its first takeover starts at 1, and increase() over it says 0: alerts on
    // "a takeover happened" would miss the first one of every run of the service
    this.operation.zero({ operation: 'takeover', outcome: 'serving' });
  }

  transition(from: string, to: string, event: string, at: number): void {
    this.current = to;
    this.currentSince = at;
    this.transitions.inc({ from, to, event });
  }

  private showState(): void {
    if (this.current === this.shown) return;
    if (this.shown !== null) this.state.set({ state: this.shown }, 0);
    // a state the chart did not list (never expected) still shows up rather than vanishing
    if (this.current !== null) this.state.set({ state: this.current }, 1);
    this.shown = this.current;
  }

  /** Done and error events of the fencing steps (the machine's own vocabulary), and `ceph.lost`. */
  actorEvent(type: string): void {
    if (type === 'ceph.lost') this.cephLost.inc();
    const m = /^xstate\.(done|error)\.actor\.(fence|verifyFence)$/.exec(type);
    if (!m) return;
    this.fence.inc({ step: m[2] === 'fence' ? 'blocklist' : 'verify', result: m[1] === 'done' ? 'ok' : 'failed' });
  }

  operationDone(s: OperationSummary): void {
    this.operation.observe({ operation: s.operation, outcome: s.outcome }, s.totalMs / 1000);
    for (const p of s.phases) this.phase.observe({ operation: s.operation, phase: p.phase }, p.durationMs / 1000);
  }

  command(r: CommandRecord): void {
    this.commands.inc({ command: r.what, result: r.ok ? 'ok' : 'failed' });
    this.commandSeconds.observe({ command: r.what }, r.durationMs / 1000);
    if (!r.ok) this.commandFailures.inc({ command: r.what, failure: r.failure ?? 'exit' });
  }

  health(verdict: string, components: readonly ComponentHealth[]): void {
    for (const v of HEALTH_VERDICTS) this.harbor.set({ verdict: v }, v === verdict ? 1 : 0);
    this.component.reset();
    for (const c of components) this.component.set({ component: c.name }, c.status === 'healthy' ? 1 : 0);
  }

  node(fit: boolean, vrrp: string, failures: number): void {
    this.fit.set(fit ? 1 : 0);
    for (const v of VRRP_STATES) this.vrrp.set({ state: v }, v === vrrp ? 1 : 0);
    this.failures.set(failures);
  }

  ownership(held: number | null, owner: { node: string; generation: number } | null): void {
    this.heldGeneration.set(held ?? 0);
    this.recordedGeneration.reset();
    if (owner !== null) this.recordedGeneration.set({ owner: owner.node }, owner.generation);
  }
}
