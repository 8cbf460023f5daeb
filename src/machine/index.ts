export { nodeMachine, type NodeMachine } from './machine.js';
export { actorPlaceholders, type ActorName, type NodeActors } from './actors.js';
export type { NodeContext, NodeInput } from './context.js';
export type { NodeEvent, NodeEventType, OperatorEvent, VrrpEvent } from './events.js';
export { backoffDelay, type StepName, type StepTimeouts, type Timing } from './timing.js';
export * from '../domain/types.js';
export { NODE_TAGS, type NodeTag } from '../domain/tags.js';
export { activeStateIds, fitnessInputOf, stateName, tagsOfStateName, viewOf, type NodeSnapshot, type StateView } from './view.js';
export type { Step, StepMeta } from './step.js';
