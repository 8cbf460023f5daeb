import type { OwnershipView } from '../domain/types.js';
import type { InspectionEvent } from 'xstate';
import type { CommandRecord } from '../actions/exec.js';
import { chartOf, type Chart } from '../chart/walk.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import { nodeMachine, type StateView } from '../machine/index.js';
import type { NodeStatus, OperationRecord, TransitionRecord } from '../runtime/status.js';
import type { Listening } from './http.js';
import { startMetricsServer } from './metrics-server.js';
import type { InspectorHandle } from './inspector.js';
import { Journal, tailJournal, type JournalEntry } from './journal.js';
import { NodeMetrics, leafStateNames } from './metrics.js';
import { PhaseTracker, type OperationSummary } from './phases.js';
import { startViewer, type ViewerUpdate } from './viewer-server.js';

/** Where an operator can look; absent = switched off. */
export interface Endpoints {
  metrics?: string;
  viewer?: string;
  inspector?: string;
}

/** What the viewer lists: commands come ~1.5 a second, so they are kept apart from the rest. */
const RECENT_EVENTS = 200;
const RECENT_COMMANDS = 100;
/** Journal lines read at start to find the last transitions among the commands. */
const STARTUP_TAIL = 20_000;

/**
 * Everything that watches the node without touching it: the journal, Prometheus metrics, the
 * offline viewer and the Stately inspector. The service reports transitions, commands and status
 * here; a failure in here is logged and never stops the service.
 */
export class Observability {
  readonly chart: Chart = chartOf(nodeMachine);
  readonly metrics: NodeMetrics;
  readonly endpoints: Endpoints = {};
  private readonly journal: Journal;
  private readonly phases = new PhaseTracker();
  private readonly recentEvents: JournalEntry[] = [];
  private readonly recentCommands: JournalEntry[] = [];
  private readonly listeners = new Set<(u: ViewerUpdate) => void>();
  private readonly operationListeners = new Set<(s: OperationSummary) => void>();
  private lastStatusKey = '';
  private readonly servers: Listening[] = [];
  private inspector: InspectorHandle | null = null;
  private statusSource: (() => NodeStatus) | null = null;
  private lastTransitionAt = Date.now();
  private svg: Promise<string> | null = null;
  private readonly secrets: readonly string[];

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    this.secrets = [config.env.cephKey.reveal()];
    this.journal = new Journal(config.paths.journal, { maxBytes: config.file.journal.maxBytes, keep: config.file.journal.keep, secrets: this.secrets }, (e) =>
      this.logger.warn('cannot write the journal', { error: String(e) }),
    );
    for (const e of tailJournal(config.paths.journal, STARTUP_TAIL)) this.remember(e);
    this.metrics = new NodeMetrics(config.nodeName, leafStateNames(this.chart));
  }

  /** Start the servers the configuration (or `run --inspect`) asks for. A port in use is logged, not fatal. */
  async start(options: { inspect: boolean }): Promise<void> {
    const f = this.config.file;
    const attempt = async (what: keyof Endpoints, listen: string, start: () => Promise<{ url: string }>) => {
      if (listen === '') return;
      try {
        const { url } = await start();
        this.endpoints[what] = url;
        this.logger.info(`${what} listening`, { url });
      } catch (e) {
        this.logger.error(`${what} cannot listen on ${listen}; running without it`, { error: e instanceof Error ? e.message : String(e) });
      }
    };
    await attempt('metrics', f.metrics.listen, async () => {
      const l = await startMetricsServer(f.metrics.listen, this.metrics.registry);
      this.servers.push(l);
      return l;
    });
    await attempt('viewer', f.viewer.listen, async () => {
      const l = await startViewer(f.viewer.listen, {
        status: () => {
          if (!this.statusSource) throw new Error('starting');
          return this.statusSource();
        },
        recent: () => this.recent(),
        subscribe: (l) => {
          this.listeners.add(l);
          return () => this.listeners.delete(l);
        },
        svg: () => this.chartSvg(),
      });
      this.servers.push(l);
      return l;
    });
    if (options.inspect || f.inspector.enabled) {
      await attempt('inspector', f.inspector.listen, async () => {
        // loaded only when asked for: @statelyai/inspect and ws are ~2 MiB of RSS a serving node does not need
        const { startInspector } = await import('./inspector.js');
        this.inspector = await startInspector(f.inspector.listen, this.secrets, (e) => this.logger.warn('inspector connection', { error: String(e) }));
        return this.inspector;
      });
    }
  }

  /** The drawn chart, laid out once (about a second) and only when someone asks: ELK loads only then. */
  chartSvg(): Promise<string> {
    this.svg ??= Promise.all([import('../chart/layout.js'), import('../chart/svg.js')]).then(async ([{ layoutChart }, { chartSvg }]) =>
      chartSvg(await layoutChart(this.chart)),
    );
    return this.svg;
  }

  setStatusSource(status: () => NodeStatus): void {
    this.statusSource = status;
  }

  /** Pass to `createActor({ inspect })`: the inspector sees everything, metrics count fencing. */
  inspect(event: InspectionEvent): void {
    // events the node itself receives (a step's done/error arrives from the invoked child)
    if (event.type === '@xstate.event' && event.actorRef.sessionId === event.rootId) this.metrics.actorEvent(event.event.type);
    this.inspector?.inspect(event);
  }

  transition(
    record: TransitionRecord,
    context: { reason: string; lastError: string | null; generation?: number | null; ownership?: OwnershipView },
    views: { from: StateView; to: StateView },
  ): void {
    const at = Date.parse(record.at);
    const inStateMs = at - this.lastTransitionAt;
    this.lastTransitionAt = at;
    this.metrics.transition(record.from, record.to, record.event, at);
    const owner = context.ownership?.record ?? null;
    this.emit({
      kind: 'transition',
      ...record,
      inStateMs,
      reason: context.reason,
      ...(context.lastError ? { lastError: context.lastError } : {}),
      ...(context.generation !== undefined ? { generation: context.generation } : {}),
      ...(owner ? { owner: `${owner.node}#${owner.generation}` } : {}),
    });
    for (const s of this.phases.observe(at, views.from, views.to, { event: record.event, reason: context.reason })) {
      this.metrics.operationDone(s);
      const summary: JournalEntry = {
        kind: 'summary',
        at: record.at,
        operation: s.operation,
        outcome: s.outcome,
        ok: s.ok,
        cause: s.cause,
        totalMs: s.totalMs,
        phases: s.phases,
        steps: s.steps,
      };
      this.logger.info(`${s.operation} ${s.ok ? 'done' : 'ended'}`, {
        outcome: s.outcome,
        why: s.cause.reason,
        totalMs: s.totalMs,
        phases: Object.fromEntries(s.phases.map((p) => [p.phase, p.durationMs])),
      });
      this.emit(summary);
      for (const l of this.operationListeners) l(s);
    }
  }

  /** Called after every takeover and release summary (the service fetches start-up logs then). */
  onOperation(listener: (s: OperationSummary) => void): void {
    this.operationListeners.add(listener);
  }

  startupLog(service: string, lines: string[]): void {
    this.emit({ kind: 'log', at: new Date().toISOString(), service, lines });
  }

  /** A failing container's last lines, read before compose down removes them. */
  failureLog(container: string, lines: string[], health: string): void {
    this.emit({ kind: 'log', at: new Date().toISOString(), service: container, lines, about: `last lines before compose down (Harbor: ${health})` });
  }

  readonly command = (r: CommandRecord): void => {
    this.metrics.command(r);
    this.emit({ kind: 'command', at: new Date().toISOString(), what: r.what, command: r.command, durationMs: r.durationMs, ok: r.ok, result: r.result });
  };

  /** Called with every status the service publishes (after each snapshot, and on its polls). */
  status(s: NodeStatus): void {
    this.metrics.health(s.health, s.healthComponents);
    this.metrics.node(s.fitness.fit, s.vrrp, s.failures);
    this.metrics.ownership(s.ownership.generation, s.ownership.owner);
    const key = JSON.stringify([s.state, s.reason, s.lastError, s.vrrp, s.health, s.healthComponents, s.fitness, s.holdings, s.failures, s.ownership]);
    if (key === this.lastStatusKey) return;
    this.lastStatusKey = key;
    for (const l of this.listeners) l({ status: s });
  }

  service(message: string, detail?: Record<string, string | number | boolean | null>): void {
    this.emit({ kind: 'service', at: new Date().toISOString(), message, ...(detail ? { detail } : {}) });
  }

  async close(): Promise<void> {
    await this.inspector?.stop().catch((e: unknown) => this.logger.warn('inspector stop', { error: String(e) }));
    await Promise.all(this.servers.map((s) => s.close()));
    this.journal.close();
  }

  /** The last takeover and the last release (`status` shows them). */
  lastOperations(): OperationRecord[] {
    const last = (operation: 'takeover' | 'release') => this.recentEvents.findLast((e) => e.kind === 'summary' && e.operation === operation);
    // a summary from a journal written before summaries said why has no cause
    return [last('takeover'), last('release')].flatMap((e) =>
      e?.kind === 'summary'
        ? [{ operation: e.operation, at: e.at, outcome: e.outcome, ok: e.ok, totalMs: e.totalMs, why: (e.cause as typeof e.cause | undefined)?.reason ?? '' }]
        : [],
    );
  }

  /** The last transitions, summaries and service lines, and the last commands, in time order. */
  recent(): JournalEntry[] {
    return [...this.recentEvents, ...this.recentCommands].sort((a, b) => a.at.localeCompare(b.at));
  }

  private remember(entry: JournalEntry): void {
    const ring = entry.kind === 'command' ? this.recentCommands : this.recentEvents;
    ring.push(entry);
    if (ring.length > (entry.kind === 'command' ? RECENT_COMMANDS : RECENT_EVENTS)) ring.shift();
  }

  private emit(entry: JournalEntry): void {
    try {
      this.journal.append(entry);
    } catch (e) {
      this.logger.warn('cannot write the journal', { error: String(e) });
    }
    this.remember(entry);
    for (const l of this.listeners) l({ entry });
  }
}
