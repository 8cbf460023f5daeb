import { initialTransition, type StateValue } from 'xstate';
import type { FitnessInput } from '../../src/guards/fitness.js';
import { fitnessInputOf, nodeMachine, viewOf, type NodeContext, type NodeSnapshot, type StateView } from '../../src/machine/index.js';
import { modelInput } from '../model/node-model.js';

/** `a.b.c` as XState's nested state value (test code may read state names; src may not). */
export function valueOf(name: string): StateValue {
  const [head = '', ...rest] = name.split('.');
  return rest.length === 0 ? head : { [head]: valueOf(rest.join('.')) };
}

/** The real machine's snapshot in the named state (its tags come from the chart itself). */
export function snapshotAt(name: string, context: Partial<NodeContext> = {}): NodeSnapshot {
  const [initial] = initialTransition(nodeMachine, modelInput);
  return nodeMachine.resolveState({ value: valueOf(name), context: { ...initial.context, ...context } });
}

export const viewAt = (name: string): StateView => viewOf(snapshotAt(name));

/** What fitness reads from a state of the real machine. */
export function fitnessInputAt(name: string, context: Partial<NodeContext> = {}): FitnessInput {
  return fitnessInputOf(snapshotAt(name, context));
}
