import { assign, setup } from 'xstate';
import {
  allForeignHoldersEstablished,
  exhaustsBudget,
  foreignHolders,
  hasAttemptsLeft,
  hasForeignHolders,
  isHolding,
  isMountedWithVip,
  isServingIntact,
  mergeKnownHolders,
  strongerExit,
} from '../guards/index.js';
import { actorPlaceholders } from './actors.js';
import type { NodeContext, NodeInput } from './context.js';
import type { NodeEvent } from './events.js';

import { backoffDelay, type StepName } from './timing.js';
import type { FilesystemProbe, HolderObservation, Holdings, ReleaseExit, WorldSnapshot } from './types.js';

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error);
}

/** The failure of a step as a line: the invoke's error, or its named timeout. */
function stepFailureText(step: StepName, event: { type: string; error?: unknown }, context: NodeContext): string {
  if (event.type.startsWith('xstate.error.actor.')) return `${step}: ${errorText(event.error)}`;
  if (event.type.startsWith('xstate.after.')) return `${step}: timed out after ${context.timing.timeouts[step]} ms`;
  return `${step}: ${event.type}`;
}

const timeoutOf = (step: StepName) => ({ context }: { context: NodeContext }) => context.timing.timeouts[step];

/**
 * Names of everything the chart uses: guards, actions and delays. Guards wrap the pure
 * predicates of src/guards; actions only touch the context. Actors are placeholders until
 * `provide()` injects the real (or fake) ones.
 */
export const nodeSetup = setup({
  types: {
    context: {} as NodeContext,
    events: {} as NodeEvent,
    input: {} as NodeInput,
  },
  actors: actorPlaceholders,
  guards: {
    canRetry: ({ context }) => hasAttemptsLeft(context.attempts, context.timing.retry.maxAttempts),
    // fenceRounds counts completed blocklist rounds; each takeover may fence up to maxAttempts times
    canFenceAgain: ({ context }) => context.fenceRounds < context.timing.retry.maxAttempts,
    vrrpIsMaster: ({ context }) => context.vrrp === 'MASTER',
    vrrpIsNotMaster: ({ context }) => context.vrrp !== 'MASTER',
    vrrpLost: ({ event }) => event.type === 'vrrp' && event.state !== 'MASTER',
    shutdownReleases: ({ event }) => event.type === 'shutdown' && event.release,
    noForeignHolders: ({ context }, p: { observation: HolderObservation }) =>
      !hasForeignHolders(p.observation.holders, context.ownAddresses),
    foreignHoldersEstablished: ({ context }, p: { observation: HolderObservation }) =>
      allForeignHoldersEstablished(p.observation, context.knownHolders, context.ownAddresses, context.timing.holderGraceMs),
    hasFilesystem: (_, p: { probe: FilesystemProbe }) => p.probe.fsType !== null,
    neverFormatted: (_, p: { probe: FilesystemProbe }) => p.probe.fsType === null && !p.probe.formattedBefore,
    worldHasFailedMarker: (_, p: { world: WorldSnapshot }) => p.world.failedMarker !== null,
    maintenanceWithNothingHeld: (_, p: { world: WorldSnapshot }) => p.world.maintenanceMarker && !isHolding(p.world),
    maintenanceWhileHolding: (_, p: { world: WorldSnapshot }) => p.world.maintenanceMarker && isHolding(p.world),
    servingIntact: (_, p: { world: WorldSnapshot }) => isServingIntact(p.world),
    mountedWithVip: (_, p: { world: WorldSnapshot }) => isMountedWithVip(p.world),
    holdsAnything: (_, p: { holdings: Holdings }) => isHolding(p.holdings),
    composeRunning: (_, p: { holdings: Holdings }) => p.holdings.composeRunning,
    exitIs: ({ context }, p: { exit: ReleaseExit }) => context.exitTo === p.exit,
  },
  actions: {
    recordVrrp: assign({
      vrrp: ({ context, event }) => (event.type === 'vrrp' ? event.state : context.vrrp),
    }),
    recordHealth: assign({
      health: ({ context, event }) => {
        switch (event.type) {
          case 'health.healthy':
            return 'healthy';
          case 'health.degraded':
            return 'degraded';
          case 'health.down':
            return 'down';
          default:
            return context.health;
        }
      },
    }),
    recordImageHolders: assign(({ context, event }) =>
      event.type === 'image.holders'
        ? { holders: event.holders, knownHolders: mergeKnownHolders(context.knownHolders, event) }
        : {},
    ),
    acceptHolders: assign(({ context }, p: { observation: HolderObservation }) => ({
      holders: p.observation.holders,
      knownHolders: mergeKnownHolders(context.knownHolders, p.observation),
    })),
    acceptFenced: assign(({ context }, p: { fenced: string[] }) => ({
      fencedAddresses: [...new Set([...context.fencedAddresses, ...p.fenced])],
      fenceRounds: context.fenceRounds + 1,
    })),
    acceptWorld: assign(({ context }, p: { world: WorldSnapshot }) => ({
      holdings: { device: p.world.device, mounted: p.world.mounted, composeRunning: p.world.composeRunning },
      // keepalived only reports transitions; a VIP found on the interface is the best belief at boot.
      vrrp: context.vrrp === 'UNKNOWN' && p.world.vipHere ? 'MASTER' : context.vrrp,
      reason: p.world.failedMarker ?? context.reason,
    })),
    acceptDevice: assign(({ context }, p: { device: string }) => ({
      holdings: { ...context.holdings, device: p.device },
    })),
    markMounted: assign(({ context }) => ({ holdings: { ...context.holdings, mounted: true } })),
    markUnmounted: assign(({ context }) => ({ holdings: { ...context.holdings, mounted: false } })),
    markComposeUp: assign(({ context }) => ({ holdings: { ...context.holdings, composeRunning: true } })),
    markComposeDown: assign(({ context }) => ({ holdings: { ...context.holdings, composeRunning: false } })),
    markUnmapped: assign(({ context }) => ({ holdings: { ...context.holdings, device: null } })),
    resetAttempts: assign({ attempts: 0 }),
    beginTakeover: assign({ fenceRounds: 0, fencedAddresses: [], reason: 'VRRP MASTER: taking the image' }),
    recordStepFailure: assign(({ context, event }, p: { step: StepName }) => ({
      attempts: context.attempts + 1,
      lastError: stepFailureText(p.step, event, context),
    })),
    /** A takeover step ran out of attempts, or Harbor failed while serving: count it against the budget. */
    abandonTakeover: assign(({ context }, p: { why: string; withError: boolean }) => {
      const exhausted = exhaustsBudget(context.failures, context.timing.failureBudget);
      const why = p.withError && context.lastError ? `${p.why}: ${context.lastError}` : p.why;
      return {
        failures: context.failures + 1,
        exitTo: exhausted ? ('failed' as const) : ('standDown' as const),
        reason: exhausted
          ? `failure budget exhausted (${context.timing.failureBudget}): ${why}`
          : `handing over: ${why}`,
      };
    }),
    beginRelease: assign((_, p: { exit: ReleaseExit; reason: string }) => ({ exitTo: p.exit, reason: p.reason })),
    escalateRelease: assign(({ context }, p: { exit: ReleaseExit; reason: string }) => {
      const exitTo = strongerExit(context.exitTo, p.exit);
      return exitTo === context.exitTo ? {} : { exitTo, reason: p.reason };
    }),
    refuseToFormat: assign({
      exitTo: 'failed',
      reason:
        'no filesystem signature on an image harbor-assistant formatted before: refusing mkfs; inspect the image before resuming',
    }),
    markReleaseFailed: assign(({ context }) => ({
      releaseFailed: true,
      reason: `release failed, holding on and reporting unfit: ${context.lastError ?? 'unknown error'}`,
    })),
    markBootFailed: assign(({ context }) => ({
      reason: `cannot read the world at start-up: ${context.lastError ?? 'unknown error'}`,
    })),
    markServingHealthy: assign({ failures: 0, health: 'healthy', reason: 'serving' }),
    clearFailure: assign({ releaseFailed: false, failures: 0, lastError: null, reason: 'operator resumed' }),
    setReason: assign((_, p: { reason: string }) => ({ reason: p.reason })),
  },
  delays: {
    readWorldTimeout: timeoutOf('readWorld'),
    readHoldersTimeout: timeoutOf('readHolders'),
    fenceTimeout: timeoutOf('fence'),
    verifyFenceTimeout: timeoutOf('verifyFence'),
    mapTimeout: timeoutOf('map'),
    probeFilesystemTimeout: timeoutOf('probeFilesystem'),
    formatTimeout: timeoutOf('format'),
    fsckTimeout: timeoutOf('fsck'),
    mountTimeout: timeoutOf('mount'),
    composeUpTimeout: timeoutOf('composeUp'),
    healthyTimeout: timeoutOf('healthy'),
    composeDownTimeout: timeoutOf('composeDown'),
    unmountTimeout: timeoutOf('unmount'),
    unmapTimeout: timeoutOf('unmap'),
    retryBackoff: ({ context }) => backoffDelay(context.timing, context.attempts),
    holderGrace: ({ context }) => context.timing.holderGraceMs,
    fencedCooldown: ({ context }) => context.timing.fencedCooldownMs,
    standDown: ({ context }) => context.timing.standDownMs,
  },
});

/** The foreign holders of the latest look at the image: who `fencing` blocklists. */
export function holdersToFence(context: NodeContext): string[] {
  return foreignHolders(context.holders, context.ownAddresses).map((h) => h.address);
}
