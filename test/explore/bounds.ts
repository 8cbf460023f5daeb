import { nodeMachine } from '../../src/machine/index.js';
import { testTiming } from '../support/timing.js';
import type { ExploreOptions } from './explorer.js';
import { defaultModelOptions } from './model.js';

/*
 * The bounds of the two runs. Faults per path drive the size: with 2 faults the state space
 * grows by ~2.5x per level of depth. The bounded run (test command) stays within a few minutes
 * on two cores; `npm run explore` goes one level deeper... or more when given time.
 */

export function boundedRun(): ExploreOptions {
  return {
    ...defaultModelOptions(nodeMachine, testTiming, 2),
    maxDepth: 15,
    livenessEvery: 1,
    livenessSteps: 80,
    maxViolations: 20,
    timeLimitMs: 6 * 60_000,
    roots: ['cold', 'steady'],
  };
}

export function deepRun(): ExploreOptions {
  return { ...boundedRun(), maxDepth: 16, timeLimitMs: 60 * 60_000 };
}
