import type { AnyStateNode, SnapshotFrom } from 'xstate';
import { nodeMachine, type NodeMachine } from './machine.js';
import type { Step, StepMeta } from './step.js';
import { NODE_TAGS, type NodeTag } from '../domain/tags.js';
import type { FitnessInput } from '../guards/fitness.js';

export type NodeSnapshot = SnapshotFrom<NodeMachine>;

/** `a.b.c` for a nested state value: the state's name in status, logs and the journal. */
export function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  const [key, inner] = Object.entries(value as Record<string, unknown>)[0] ?? ['?', ''];
  return `${key}.${stateName(inner)}`;
}

/** A state as the world around the chart reads it: its name for people, its meaning as tags. */
export interface StateView {
  name: string;
  /** The top-level state (`active`, `releasing`, `idle`…). */
  top: string;
  tags: NodeTag[];
  /** The part of a takeover or release (`fencing`, `unmounting`…), null outside one. */
  phase: string | null;
  /** The state within the phase (`blocklisting`, `waiting-healthy`…), null when none. */
  within: string | null;
  /** The invoked step running, null when none. */
  step: Step | null;
}

const isStepMeta = (meta: unknown): meta is StepMeta => typeof meta === 'object' && meta !== null && 'step' in meta;

export function viewOf(snapshot: NodeSnapshot): StateView {
  const tags = NODE_TAGS.filter((tag) => snapshot.hasTag(tag));
  const inOperation = snapshot.hasTag('takeover') || snapshot.hasTag('release');
  let top = '';
  let phase: string | null = null;
  let within: string | null = null;
  let step: Step | null = null;
  for (const node of snapshot._nodes) {
    // the phases are the children of `active` and `releasing`: depth two in the chart
    if (node.path.length === 1) top = node.key;
    if (inOperation && node.path.length === 2) phase = node.key;
    if (inOperation && node.path.length === 3) within = node.key;
    const meta: unknown = node.meta;
    if (isStepMeta(meta)) step = meta.step;
  }
  return { name: stateName(snapshot.value), top, tags, phase, within, step };
}

/** What keepalived's fitness is decided from: the state's view and the release's context. */
export function fitnessInputOf(snapshot: NodeSnapshot): FitnessInput {
  const view = viewOf(snapshot);
  const { reason, exitTo, releaseStalled, deadPath } = snapshot.context;
  return { tags: view.tags, state: view.name, reason, exitTo, releaseStalled, deadPath };
}

/**
 * The tags of a state known only by its name (a status file written before statuses carried
 * tags): the chart itself resolves the name; an unknown name has no tags.
 */
export function tagsOfStateName(name: string): NodeTag[] {
  const tags = new Set<string>();
  try {
    // a state's tags are its own and its ancestors' (the name is a leaf, as status writes it)
    for (let node: AnyStateNode | undefined = nodeMachine.getStateNodeById(`${nodeMachine.id}.${name}`); node; node = node.parent) {
      for (const tag of node.tags) tags.add(tag);
    }
  } catch {
    return [];
  }
  return NODE_TAGS.filter((tag) => tags.has(tag));
}

/** Active state node ids (`node.active.mounting`), root excluded: what the viewer highlights. */
export function activeStateIds(snapshot: NodeSnapshot): string[] {
  return snapshot._nodes.map((n) => n.id).filter((id) => id !== snapshot.machine.id);
}
