import { transition } from 'xstate';
import type { StatePath } from 'xstate/graph';
import { nodeMachine, type NodeEvent } from '../../src/machine/index.js';
import { drivePath } from './drive.js';
import { modelEvents, type ModelEvent, type NodeSnapshot } from './node-model.js';

type Path = StatePath<NodeSnapshot, ModelEvent>;

function parseKey(key: string): { sourceId: string; eventType: string | null } {
  const space = key.indexOf(' ');
  const sourceId = key.slice(0, space);
  const rest = key.slice(space + 1, key.lastIndexOf('#'));
  return { sourceId, eventType: rest === 'always' ? null : rest };
}

function extendPath(path: Path, event: ModelEvent): Path {
  const [next] = transition(nodeMachine, path.state, event as unknown as NodeEvent);
  return { state: next, steps: [...path.steps, { event, state: next }], weight: path.weight + 1 };
}

/** Every prefix of every path: the graph's shortest paths drop paths that a longer one contains. */
function* prefixes(paths: Path[]): Generator<Path> {
  for (const path of paths) {
    for (let i = 0; i < path.steps.length; i++) {
      const steps = path.steps.slice(0, i + 1);
      const last = steps[steps.length - 1];
      if (last) yield { state: last.state, steps, weight: steps.length };
    }
  }
}

/**
 * Shortest paths reach every state key once, so a transition whose target key was reached by a
 * shorter route is never taken (timeouts that land where errors land, for instance). For each
 * such transition, take a path that ends where its source is active and add the one event that
 * takes it: chosen with the machine's own transition selection, confirmed on the real actor.
 */
export async function extendForCoverage(paths: Path[], covered: Set<string>, all: string[]): Promise<Path[]> {
  const extra: Path[] = [];
  for (const key of all) {
    if (covered.has(key)) continue;
    const { sourceId, eventType } = parseKey(key);
    const source = nodeMachine.getStateNodeById(sourceId);
    const anchor = eventType === null ? (source.parent ?? source) : source;
    search: for (const path of prefixes(paths)) {
      if (!path.state._nodes.includes(anchor) || path.state.status !== 'active') continue;
      for (const event of modelEvents(path.state)) {
        if (eventType !== null) {
          if (event.type !== eventType) continue;
          // a cheap pre-filter (delayed transitions come back as fresh objects, so match by source)
          const chosen = nodeMachine.getTransitionData(path.state, event as unknown as NodeEvent);
          if (!chosen.some((t) => t.source === source)) continue;
        }
        const candidate = extendPath(path, event);
        const run = await drivePath(candidate);
        if (!run.transitions.has(key)) continue;
        run.transitions.forEach((t) => covered.add(t));
        extra.push(candidate);
        break search;
      }
    }
  }
  return extra;
}
