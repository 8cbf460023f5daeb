import { getStateNodes } from 'xstate/graph';
import type { AnyStateMachine } from 'xstate';

/** Every transition the machine defines, named like `transitionKey` names the ones taken. */
export function allTransitionKeys(machine: AnyStateMachine): string[] {
  const keys: string[] = [];
  for (const node of [machine.root, ...getStateNodes(machine.root)]) {
    for (const [eventType, list] of node.transitions) list.forEach((_, i) => keys.push(`${node.id} ${eventType}#${i}`));
    (node.always ?? []).forEach((_, i) => keys.push(`${node.id} always#${i}`));
  }
  return keys;
}

export function allStateIds(machine: AnyStateMachine): string[] {
  return [machine.root, ...getStateNodes(machine.root)].map((n) => n.id);
}
