import { nodeMachine } from '../../src/machine/index.js';
import type { ImageObservation } from '../../src/domain/types.js';
import { allForeignHoldersEstablished, foreignHolders } from '../../src/guards/holders.js';
import type { Timing } from '../../src/machine/timing.js';
import type { Machine } from './node.js';
import type { WorldOptions } from './world.js';

/*
 * Weaker designs the explorer must catch. Each names the machine (the real one with a guard or
 * delay replaced through `provide`) and the world switches it runs against.
 */

export interface Mutation {
  name: string;
  machine: Machine;
  world: Partial<WorldOptions>;
  /** What the explorer must find. */
  expect: RegExp;
}

/** The fence before the ownership issue: only the image's watchers, never the recorded owner. */
export const withoutOwnershipFence: Mutation = {
  name: 'ownership fence removed',
  machine: nodeMachine.provide({
    guards: {
      nothingToFence: ({ context }, p: { observation: ImageObservation }) => foreignHolders(p.observation.holders, context.ownAddresses).length === 0,
      readyToFence: ({ context }, p: { observation: ImageObservation }) =>
        allForeignHoldersEstablished(p.observation, context.knownHolders, context.ownAddresses, context.timing.holderGraceMs),
    },
  }),
  world: { fenceRecordedOwner: false },
  expect: /^G1 /,
};

/** `rbd lock add` that is not atomic: both takers get the lock. */
export const withoutAtomicLock: Mutation = {
  name: 'atomic lock removed',
  machine: nodeMachine,
  world: { atomicLock: false },
  expect: /^G1 /,
};

/** No fenced cool-down: a fenced node may take over (and fence back) at once. */
export const withoutFencedCooldown: Mutation = {
  name: 'fenced cool-down removed',
  machine: nodeMachine.provide({ delays: { cooldown: 0 } }),
  world: {},
  expect: /^G3 /,
};

export const MUTATIONS: readonly Mutation[] = [withoutOwnershipFence, withoutAtomicLock, withoutFencedCooldown];

export type { Timing };
