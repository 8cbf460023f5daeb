import type { OwnerRecord } from '../domain/types.js';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { activeStateIds, stateName, viewOf, type NodeSnapshot, type NodeTag, type StateView } from '../machine/index.js';
import type { ComponentHealth } from '../actions/harbor/compose.js';
import type { Fitness } from '../guards/fitness.js';

export { stateName, type NodeSnapshot };

export interface TransitionRecord {
  at: string;
  from: string;
  to: string;
  event: string;
}

/**
 * An inspect callback that reports every change of the node's state name (microsteps that stay
 * in the same state, like a context update, are not transitions for the operator).
 */
export function watchTransitions(
  node: () => AnyActorRef | undefined,
  report: (record: TransitionRecord, snapshot: NodeSnapshot, views: { from: StateView; to: StateView }) => void,
): (ev: InspectionEvent) => void {
  let current: StateView = { name: '(start)', top: '(start)', tags: [], phase: null, within: null, step: null };
  let currentNodes: unknown = null;
  return (ev) => {
    if (ev.type !== '@xstate.microstep' || ev.actorRef !== node()) return;
    const snapshot = ev.snapshot as NodeSnapshot;
    // XState keeps the active state nodes' array when a microstep leaves them as they were (an
    // action-only transition, a re-entry): the same state, so no view to compute
    if (snapshot._nodes === currentNodes) return;
    currentNodes = snapshot._nodes;
    const to = viewOf(snapshot);
    if (to.name === current.name) return;
    const record = { at: new Date().toISOString(), from: current.name, to: to.name, event: ev.event.type };
    const from = current;
    current = to;
    report(record, snapshot, { from, to });
  };
}

/** What `harbor-assistant status` shows: no keys, no config, only what the operator needs. */
export interface NodeStatus {
  node: string;
  role: string;
  pid: number;
  state: string;
  /** What the state means (fit, serving, takeover…): read these, never parse `state`. */
  tags: NodeTag[];
  /** The active state node ids (`node.active.mounting.mapping.running`): what the viewer highlights. */
  stateIds: string[];
  since: string;
  reason: string;
  lastError: string | null;
  vrrp: string;
  health: string;
  healthComponents: ComponentHealth[];
  holdings: { device: string | null; mounted: boolean; composeRunning: boolean };
  imageHolders: Array<{ address: string; firstSeenAt: string }>;
  /** Ownership in Ceph: the generation this node holds (null: none) and the record of the last look. */
  ownership: { generation: number | null; owner: OwnerRecord | null; lock: string | null; lastGeneration: number };
  failures: number;
  recentTransitions: TransitionRecord[];
  /** What keepalived's check is told right now. */
  fitness: Fitness;
  updatedAt: string;
  /** Set when the service exited leaving everything in place (restart); `check` trusts it briefly. */
  detachedAt?: string;
  /** Metrics, viewer and inspector addresses (only those switched on). */
  endpoints: { metrics?: string; viewer?: string; inspector?: string };
  /** The last takeover and release from the journal (also from before a restart). */
  lastOperations: OperationRecord[];
  /** Commands given up on at their deadline that have not exited yet (stuck in uninterruptible I/O). */
  abandonedCommands?: Array<{ what: string; pid: number; since: string }>;
}

/**
 * A status read back from the status file or another service's socket: one written by an older
 * version may lack the fields added since, so the readers keep their fallbacks for them.
 */
export type StoredStatus = Omit<NodeStatus, 'tags' | 'ownership' | 'endpoints' | 'lastOperations' | 'fitness'> &
  Partial<Pick<NodeStatus, 'tags' | 'ownership' | 'endpoints' | 'lastOperations' | 'fitness'>>;

export interface OperationRecord {
  operation: 'takeover' | 'release';
  at: string;
  outcome: string;
  ok: boolean;
  totalMs: number;
  why: string;
}

export function statusOf(
  snapshot: NodeSnapshot,
  meta: {
    node: string;
    role: string;
    since: Date;
    transitions: TransitionRecord[];
    healthComponents: ComponentHealth[];
    fitness: Fitness;
    endpoints: NodeStatus['endpoints'];
    lastOperations: OperationRecord[];
    abandoned?: ReadonlyArray<{ what: string; pid: number; since: number }>;
  },
): NodeStatus {
  const c = snapshot.context;
  return {
    node: meta.node,
    role: meta.role,
    pid: process.pid,
    state: stateName(snapshot.value),
    tags: viewOf(snapshot).tags,
    stateIds: activeStateIds(snapshot),
    since: meta.since.toISOString(),
    reason: c.reason,
    lastError: c.lastError,
    vrrp: c.vrrp,
    health: c.health,
    healthComponents: meta.healthComponents,
    holdings: { ...c.holdings },
    imageHolders: c.knownHolders.map((k) => ({ address: k.address, firstSeenAt: new Date(k.firstSeenAt).toISOString() })),
    ownership: { generation: c.generation, owner: c.ownership.record, lock: c.ownership.lock?.id ?? null, lastGeneration: c.ownership.lastGeneration },
    failures: c.failures,
    recentTransitions: meta.transitions.slice(-20),
    fitness: meta.fitness,
    endpoints: { ...meta.endpoints },
    lastOperations: meta.lastOperations,
    abandonedCommands: (meta.abandoned ?? []).map((a) => ({ what: a.what, pid: a.pid, since: new Date(a.since).toISOString() })),
    updatedAt: new Date().toISOString(),
  };
}

function ownerLine(s: StoredStatus): string {
  const o = s.ownership;
  if (!o) return 'unknown';
  const held = o.generation !== null ? `this node holds generation ${o.generation}` : 'this node holds nothing';
  const seen = o.owner
    ? `record: ${o.owner.node} generation ${o.owner.generation} since ${o.owner.at}, clients ${o.owner.clients.join(', ') || 'none yet'}`
    : 'record: none';
  return `${held}; ${seen}; lock ${o.lock ?? 'none'}`;
}

export function formatStatus(s: StoredStatus): string {
  const lines = [
    `node      ${s.node} (${s.role}), pid ${s.pid}`,
    `state     ${s.state} since ${s.since}`,
    `why       ${s.reason}`,
    ...(s.lastError ? [`error     ${s.lastError}`] : []),
    `vrrp      ${s.vrrp}`,
    `harbor    ${s.health}${s.healthComponents.length ? ` (${s.healthComponents.map((c) => `${c.name}=${c.status}`).join(', ')})` : ''}`,
    `holds     device=${s.holdings.device ?? '-'} mounted=${s.holdings.mounted} harbor=${s.holdings.composeRunning ? 'running' : 'stopped'}`,
    `owner     ${ownerLine(s)}`,
    `image     ${s.imageHolders.length ? s.imageHolders.map((h) => `${h.address} (since ${h.firstSeenAt})`).join(', ') : 'no watchers seen'}`,
    `failures  ${s.failures} in a row`,
    `keepalived check: ${s.fitness ? `${s.fitness.fit ? 'fit' : 'UNFIT'} (${s.fitness.why})` : 'unknown'}`,
    ...(s.lastOperations ?? []).map(
      (o) => `last ${o.operation.padEnd(8)} ${o.ok ? 'ok' : 'FAILED'} → ${o.outcome} in ${(o.totalMs / 1000).toFixed(1)} s at ${o.at} (why: ${o.why})`,
    ),
    ...(s.abandonedCommands ?? []).map((a) => `stuck     ${a.what} (pid ${a.pid}) given up on at ${a.since}: still not exited (uninterruptible I/O?)`),
    ...(s.detachedAt ? [`service   detached at ${s.detachedAt} (not running)`] : []),
    ...Object.entries(s.endpoints ?? {}).map(([what, url]) => `${what.padEnd(9)} ${url}${what === 'metrics' ? '/metrics' : ''}`),
    'recent transitions:',
    ...s.recentTransitions.slice(-10).map((t) => `  ${t.at}  ${t.from} → ${t.to}  (${t.event})`),
  ];
  return `${lines.join('\n')}\n`;
}
