import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

export type TransitionKind = 'event' | 'always' | 'after' | 'done' | 'error';

export interface ChartTransition {
  kind: TransitionKind;
  /** The event as an operator reads it: `vrrp`, `done: map`, `after mapTimeout`, `always`. */
  label: string;
  eventType: string;
  targets: string[];
  guard: string | null;
  /** The guard's parameters when they are plain values (`exitIs` → `{ exit: 'failed' }`); computed ones are left out. */
  guardParams?: Record<string, string | number | boolean>;
  actions: string[];
}

export interface ChartNode {
  id: string;
  key: string;
  type: string;
  description: string | null;
  /** What the state means to the world around the chart (`src/domain/tags.ts`). */
  tags: string[];
  /** The step this state runs (its `meta.step`, set by `step()` in src/machine): drawn as one box. */
  step: string | null;
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
  if (typeof x === 'object' && x !== null && 'type' in x && typeof x.type === 'string') return (x as { type: string }).type;
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

type Plain = string | number | boolean;
const isPlain = (v: unknown): v is Plain => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** A guard's parameters when every one is a plain value: a function of the event says nothing drawn. */
function paramsOf(guard: unknown): Record<string, Plain> | null {
  if (typeof guard !== 'object' || guard === null || !('params' in guard)) return null;
  const params: unknown = guard.params;
  if (typeof params !== 'object' || params === null) return null;
  const entries = Object.entries(params);
  if (entries.length === 0 || !entries.every(([, v]) => isPlain(v))) return null;
  return Object.fromEntries(entries);
}

function transitionOf(t: AnyTransitionDefinition): ChartTransition {
  const actions = (Array.isArray(t.actions) ? t.actions : [t.actions]).filter((a) => a !== undefined).map(nameOf);
  const guardParams = paramsOf(t.guard);
  // XState types a transition's event descriptor loosely; it is the event type string
  const eventType = String(t.eventType as unknown);
  return {
    kind: kindOf(eventType),
    label: eventLabel(eventType),
    eventType,
    targets: (t.target ?? []).map((n: AnyStateNode) => n.id),
    guard: t.guard ? nameOf(t.guard) : null,
    ...(guardParams ? { guardParams } : {}),
    actions,
  };
}

/** The step a state runs, from the `meta` that `step()` gives it: never guessed from its children. */
function stepOf(node: AnyStateNode): string | null {
  const meta: unknown = node.meta;
  if (typeof meta !== 'object' || meta === null || !('step' in meta)) return null;
  const step: unknown = meta.step;
  return typeof step === 'string' ? step : null;
}

function nodeOf(node: AnyStateNode): ChartNode {
  const transitions: ChartTransition[] = [];
  for (const list of node.transitions.values()) for (const t of list) transitions.push(transitionOf(t));
  for (const t of node.always ?? []) transitions.push(transitionOf(t));
  // an atomic state has no initial transition at run time, whatever the types say
  const initial = node.initial as { target?: readonly AnyStateNode[] } | undefined;
  const initialTarget = initial?.target?.[0];
  return {
    id: node.id,
    key: node.key,
    type: node.type,
    description: node.description ?? null,
    tags: [...node.tags],
    step: stepOf(node),
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
