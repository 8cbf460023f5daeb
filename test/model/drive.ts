import { createActor, initialTransition, SimulatedClock, transition, type AnyTransitionDefinition, type InspectionEvent } from 'xstate';
import type { StatePath } from 'xstate/graph';
import { nodeMachine, type NodeEvent } from '../../src/machine/index.js';
import { FakeWorld } from '../support/fake-world.js';
import { OWN_IP, testTiming } from '../support/timing.js';
import { modelInput, serializeModelState, type ModelEvent, type NodeSnapshot } from './node-model.js';

export { stateName as flatValue } from '../../src/runtime/status.js';
import { stateName as flatValue } from '../../src/runtime/status.js';

/** A transition definition's stable name: source node, event and position among its siblings. */
export function transitionKey(t: AnyTransitionDefinition): string {
  const source = t.source;
  const eventType = String(t.eventType as unknown);
  if (t.eventType === '') {
    return `${source.id} always#${(source.always ?? []).indexOf(t)}`;
  }
  const list = source.transitions.get(eventType) ?? [];
  return `${source.id} ${eventType}#${list.indexOf(t)}`;
}

/** A path through `machine` from the start, following `events` with the pure transition function. */
export function pathFromEvents(events: ModelEvent[], machine: typeof nodeMachine = nodeMachine): StatePath<NodeSnapshot, ModelEvent> {
  let [state] = initialTransition(machine, modelInput);
  const steps: StatePath<NodeSnapshot, ModelEvent>['steps'] = [];
  for (const event of events) {
    [state] = transition(machine, state, event as unknown as NodeEvent);
    steps.push({ event, state });
  }
  return { state, steps, weight: steps.length };
}

export interface PathRun {
  description: string;
  violations: string[];
  transitions: Set<string>;
  stateIds: Set<string>;
  calls: string[];
  /** Each call with the input the machine gave it. */
  callInputs: Array<{ actor: string; input: unknown }>;
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Drives the real node machine (real actor, real guards, real delays on a SimulatedClock) along
 * a model path. Invoked steps are fakes that wait for the path to settle them; the fake world
 * checks S1–S6 on every call.
 */
export async function drivePath(path: StatePath<NodeSnapshot, ModelEvent>, machineUnderTest: typeof nodeMachine = nodeMachine): Promise<PathRun> {
  const clock = new SimulatedClock();
  const fake = new FakeWorld(() => clock.now(), [OWN_IP], testTiming.holderGraceMs, testTiming.fencedCooldownMs);
  const transitions = new Set<string>();
  const stateIds = new Set<string>();
  const violations: string[] = [];
  const description = path.steps.map((s) => s.event.type.replace(/^xstate\./, '')).join(' → ');

  const machine = machineUnderTest.provide({ actors: fake.actors(), actions: fake.markerActions() });
  const actor = createActor(machine, {
    input: modelInput,
    clock,
    inspect: (ev: InspectionEvent) => {
      if (ev.type !== '@xstate.microstep' || ev.actorRef !== actor) return;
      for (const t of ev._transitions) transitions.add(transitionKey(t));
      const snap = ev.snapshot as NodeSnapshot;
      for (const n of snap._nodes) stateIds.add(n.id);
      fake.enteredState(flatValue(snap.value), snap.context.releaseFailed);
    },
  });
  actor.start();
  for (const n of actor.getSnapshot()._nodes) stateIds.add(n.id);
  await flush();

  for (const step of path.steps) {
    const event = step.event;
    if (event.type === 'xstate.init') continue;
    const before = actor.getSnapshot();
    await apply(event, before);
    const after = actor.getSnapshot();
    for (const n of after._nodes) stateIds.add(n.id);
    checkLeavesOnVipLoss(event, before, after, violations);
    fake.checkMarkers(flatValue(after.value), after.context.reason);
    const expected = serializeModelState(step.state);
    const actual = serializeModelState(after);
    if (expected !== actual) {
      violations.push(`model: after ${event.type} expected ${expected} but the actor is in ${actual}`);
      break;
    }
  }
  actor.stop();
  return {
    description,
    violations: [...violations, ...fake.violations],
    transitions,
    stateIds,
    calls: fake.callSequence(),
    callInputs: fake.trace.flatMap((t) => (t.kind === 'call' ? [{ actor: t.actor, input: t.input }] : [])),
  };

  async function apply(event: ModelEvent, snapshot: NodeSnapshot): Promise<void> {
    const done = /^xstate\.done\.actor\.(.+)$/.exec(event.type);
    const failed = /^xstate\.error\.actor\.(.+)$/.exec(event.type);
    const delayed = /^xstate\.after\.([^.]+)\./.exec(event.type);
    if (done?.[1]) {
      fake.settle(done[1], { output: (event as { output: unknown }).output });
    } else if (failed?.[1]) {
      fake.settle(failed[1], { error: (event as { error: unknown }).error });
    } else if (delayed?.[1]) {
      clock.increment(delayMs(machineUnderTest, delayed[1], snapshot));
    } else {
      const e = event as NodeEvent;
      if (e.type === 'image.holders') fake.sentEvent(e.type, e.holders, e.observedAt, e.ownership);
      else fake.sentEvent(e.type);
      actor.send(e);
    }
    await flush();
  }
}

function delayMs(machine: typeof nodeMachine, name: string, snapshot: NodeSnapshot): number {
  const delays = machine.implementations.delays as Record<string, number | ((args: { context: NodeSnapshot['context'] }) => number)>;
  const d = delays[name];
  if (d === undefined) throw new Error(`unknown delay ${name}`);
  return typeof d === 'number' ? d : d({ context: snapshot.context });
}

/**
 * S4: losing MASTER while active leaves for `releasing` at once (or stops, when detaching) — except
 * a serving node told BACKUP, which keeps serving for the VIP-loss grace (its timer releases).
 */
function checkLeavesOnVipLoss(event: ModelEvent, before: NodeSnapshot, after: NodeSnapshot, violations: string[]): void {
  if (event.type !== 'vrrp' || event.state === 'MASTER') return;
  if (!before.matches('active')) return;
  const backup = event.state === 'BACKUP';
  if (backup && (before.matches({ active: 'serving' }) || before.matches({ active: 'vip-lost' })) && after.matches({ active: 'vip-lost' })) return;
  if (!after.matches('releasing') && !after.matches('stopped') && !after.matches('failed') && !after.matches('idle')) {
    violations.push(`S4: VRRP ${(event as { state: string }).state} in ${flatValue(before.value)} led to ${flatValue(after.value)}`);
  }
}
