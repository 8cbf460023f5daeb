import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

export type TransitionKind = 'event' | 'always' | 'after' | 'done' | 'error';

export interface ChartTransition {
  kind: TransitionKind;
  /** The event as an operator reads it: `vrrp`, `done: mapImage`, `after mapTimeout`, `always`. */
  label: string;
  eventType: string;
  targets: string[];
  guard: string | null;
  actions: string[];
}

export interface ChartNode {
  id: string;
  key: string;
  type: string;
  description: string | null;
  initial: string | null;
  invoke: Array<{ id: string; src: string }>;
  transitions: ChartTransition[];
  states: ChartNode[];
}

export interface Chart {
  machine: string;
  /** Every state node id, root first, document order. */
  stateIds: string[];
  root: ChartNode;
}

function nameOf(x: unknown): string {
  if (typeof x === 'string') return x;
  if (typeof x === 'function') return x.name || 'inline';
  if (typeof x === 'object' && x !== null && 'type' in x && typeof (x as { type: unknown }).type === 'string') return (x as { type: string }).type;
  return 'inline';
}

function kindOf(eventType: string): TransitionKind {
  if (eventType === '') return 'always';
  if (eventType.startsWith('xstate.after.')) return 'after';
  if (eventType.startsWith('xstate.done.actor.')) return 'done';
  if (eventType.startsWith('xstate.error.actor.')) return 'error';
  return 'event';
}

export function eventLabel(eventType: string): string {
  switch (kindOf(eventType)) {
    case 'always':
      return 'always';
    case 'after':
      return `after ${eventType.split('.')[2] ?? ''}`;
    case 'done':
      return `done: ${eventType.slice('xstate.done.actor.'.length)}`;
    case 'error':
      return `error: ${eventType.slice('xstate.error.actor.'.length)}`;
    default:
      return eventType;
  }
}

function transitionOf(t: AnyTransitionDefinition): ChartTransition {
  const actions = (Array.isArray(t.actions) ? t.actions : [t.actions]).filter((a) => a !== undefined).map(nameOf);
  return {
    kind: kindOf(t.eventType),
    label: eventLabel(t.eventType),
    eventType: t.eventType,
    targets: (t.target ?? []).map((n: AnyStateNode) => n.id),
    guard: t.guard ? nameOf(t.guard) : null,
    actions,
  };
}

function nodeOf(node: AnyStateNode): ChartNode {
  const transitions: ChartTransition[] = [];
  for (const list of node.transitions.values()) for (const t of list) transitions.push(transitionOf(t));
  for (const t of node.always ?? []) transitions.push(transitionOf(t));
  const initialTarget = node.initial?.target?.[0];
  return {
    id: node.id,
    key: node.key,
    type: node.type,
    description: node.description ?? null,
    initial: initialTarget ? initialTarget.id : null,
    invoke: node.invoke.map((i) => ({ id: i.id, src: nameOf(i.src) })),
    transitions,
    states: Object.values(node.states).map((s) => nodeOf(s as AnyStateNode)),
  };
}

/** The statechart as data, read from the machine itself so documentation cannot drift. */
export function chartOf(machine: AnyStateMachine): Chart {
  const root = nodeOf(machine.root);
  const ids: string[] = [];
  const collect = (n: ChartNode) => {
    ids.push(n.id);
    n.states.forEach(collect);
  };
  collect(root);
  return { machine: machine.id, stateIds: ids, root };
}

/** The ids of the state nodes that are active in `a.b.c` (a leaf state as the service names it), root excluded. */
export function activeStateIds(chart: Chart, stateName: string): string[] {
  const ids: string[] = [];
  let node: ChartNode | undefined = chart.root;
  for (const key of stateName.split('.')) {
    node = node?.states.find((s) => s.key === key);
    if (!node) break;
    ids.push(node.id);
  }
  return ids;
}
