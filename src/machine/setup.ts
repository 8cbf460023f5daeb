import { assign, setup } from 'xstate';
import {
  allForeignHoldersEstablished,
  exhaustsBudget,
  fenceTargets,
  foreignClaim,
  hasAttemptsLeft,
  hasForeignHolders,
  isPermanentFailure,
  failureClassOfEvent,
  isAbandonedClaim,
  isConcurrentClaim,
  isHolding,
  isMountedWithVip,
  isServingIntact,
  lockToBreak,
  mergeKnownClaim,
  mergeKnownHolders,
  ownLockId,
  strongerExit,
  unexplainedForeignHolders,
} from '../guards/index.js';
import { actorPlaceholders, type ClaimInput, type ClaimOutput } from './actors.js';
import type { NodeContext, NodeInput } from './context.js';
import type { NodeEvent } from './events.js';

import { releasingAsDead, timeoutDelay, type TimeoutDelay } from './step.js';
import type { NodeTag } from '../domain/tags.js';
import { backoffDelay, STEP_TIMEOUT_NAMES, type StepName } from './timing.js';
import { deadPathOf, type FilesystemProbe, type HolderObservation, type ImageObservation, type ReleaseExit, type WorldSnapshot } from '../domain/types.js';
import { fixOf } from '../domain/failure.js';

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);
  const hint = fixOf(error);
  return hint === null ? text : `${text}\nhint: ${hint}`;
}

/** The failure of a step as a line: the invoke's error, or its named timeout. */
function stepFailureText(step: StepName, event: { type: string; error?: unknown }, context: NodeContext): string {
  if (event.type.startsWith('xstate.error.actor.'))
    return `${step}: ${errorText(event.error)}${isPermanentFailure(event) ? ' (not retried: no retry can fix this)' : ''}`;
  if (event.type.startsWith('xstate.after.')) return `${step}: timed out after ${context.timing.timeouts[step]} ms`;
  return `${step}: ${event.type}`;
}

type DelayOf = (args: { context: NodeContext }) => number;

/** `<step>Timeout` for every step (and the start-up grace `healthyTimeout`), read from the configured timings. */
const stepTimeoutDelays = Object.fromEntries(
  STEP_TIMEOUT_NAMES.map((step): [TimeoutDelay, DelayOf] => [timeoutDelay(step), ({ context }) => context.timing.timeouts[step]]),
) as Record<TimeoutDelay, DelayOf>;

/** What one look at the image teaches: its watchers and ownership, and since when each is known. */
function lookedAt(context: NodeContext, look: ImageObservation): Partial<NodeContext> {
  return {
    holders: look.holders,
    knownHolders: mergeKnownHolders(context.knownHolders, look),
    ownership: look.ownership,
    knownClaim: mergeKnownClaim(context.knownClaim, foreignClaim(look.ownership, context.nodeName), look.observedAt),
  };
}

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
    tags: {} as NodeTag,
  },
  actors: actorPlaceholders,
  guards: {
    // a failure no retry can fix (a missing program or kernel module) gives up at once
    failureNeedsOperator: ({ event }) => isPermanentFailure(event),
    canRetry: ({ context, event }) => hasAttemptsLeft(context.attempts, context.timing.retry.maxAttempts) && !isPermanentFailure(event),
    // fenceRounds counts completed blocklist rounds; each takeover may fence up to maxAttempts times
    canFenceAgain: ({ context }) => context.fenceRounds < context.timing.retry.maxAttempts,
    harborAnsweredHealthy: ({ context }) => context.health === 'healthy',
    harborAnsweredDegraded: ({ context }) => context.health === 'degraded',
    vrrpIsMaster: ({ context }) => context.vrrp === 'MASTER',
    vrrpIsNotMaster: ({ context }) => context.vrrp !== 'MASTER',
    vrrpLost: ({ event }) => event.type === 'vrrp' && event.state !== 'MASTER',
    shutdownReleases: ({ event }) => event.type === 'shutdown' && event.release,
    vrrpBackup: ({ event }) => event.type === 'vrrp' && event.state === 'BACKUP',
    vrrpMaster: ({ event }) => event.type === 'vrrp' && event.state === 'MASTER',
    noForeignHolders: ({ context }, p: { observation: HolderObservation }) => !hasForeignHolders(p.observation.holders, context.ownAddresses),
    concurrentClaim: ({ context }, p: { observation: ImageObservation }) => {
      const claim = foreignClaim(p.observation.ownership, context.nodeName);
      return claim !== null && isConcurrentClaim(claim, context.knownClaim, p.observation.observedAt, context.timing.holderGraceMs);
    },
    claimDead: ({ context }, p: { observation: ImageObservation }) =>
      isAbandonedClaim(
        foreignClaim(p.observation.ownership, context.nodeName),
        context.knownClaim,
        p.observation.holders,
        p.observation.observedAt,
        context.timing.holderGraceMs,
      ),
    nothingToFence: ({ context }, p: { observation: ImageObservation }) =>
      fenceTargets(p.observation.holders, p.observation.ownership, context.nodeName, context.ownAddresses, context.fenceScope).length === 0,
    // watchers the owner record accounts for are fenced at once; only unexplained ones wait the grace
    readyToFence: ({ context }, p: { observation: ImageObservation }) =>
      allForeignHoldersEstablished(
        {
          holders: unexplainedForeignHolders(p.observation.holders, p.observation.ownership, context.nodeName, context.ownAddresses),
          observedAt: p.observation.observedAt,
        },
        context.knownHolders,
        context.ownAddresses,
        context.timing.holderGraceMs,
      ),
    claimTaken: (_, p: { claim: ClaimOutput }) => p.claim.claimed,
    // a claim cut short counts: its lock may be in Ceph without a record
    holdsClaim: ({ context }) => (context.generation !== null || context.claimAttempt !== null) && !releasingAsDead(context),
    releaseStillGraceful: ({ context }) => !releasingAsDead(context),
    hasFilesystem: (_, p: { probe: FilesystemProbe }) => p.probe.fsType !== null,
    neverFormatted: (_, p: { probe: FilesystemProbe }) => p.probe.fsType === null && !p.probe.formattedBefore,
    worldHasFailedMarker: (_, p: { world: WorldSnapshot }) => p.world.failedMarker !== null,
    worldHasForeignMount: (_, p: { world: WorldSnapshot }) => p.world.foreignMount !== null,
    holdsWhatIsNotOurs: (_, p: { world: WorldSnapshot }) => isHolding(p.world) && p.world.ownership === 'not-ours',
    holdsWithOwnershipUnknown: (_, p: { world: WorldSnapshot }) => isHolding(p.world) && p.world.ownership === 'unknown',
    maintenanceWithNothingHeld: (_, p: { world: WorldSnapshot }) => p.world.maintenanceMarker && !isHolding(p.world),
    maintenanceWhileHolding: (_, p: { world: WorldSnapshot }) => p.world.maintenanceMarker && isHolding(p.world),
    // a VIP is not ownership: resume serving only when the record in Ceph names this node
    servingIntact: (_, p: { world: WorldSnapshot }) => isServingIntact(p.world) && p.world.ownership === 'ours',
    mountedWithVip: (_, p: { world: WorldSnapshot }) => isMountedWithVip(p.world) && p.world.ownership === 'ours',
    holdsAnything: (_, p: { world: WorldSnapshot }) => isHolding(p.world),
    composeRunning: (_, p: { world: WorldSnapshot }) => p.world.composeRunning,
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
    recordImageHolders: assign(({ context, event }) => (event.type === 'image.holders' ? lookedAt(context, event) : {})),
    acceptHolders: assign(({ context }, p: { observation: HolderObservation }) => ({
      holders: p.observation.holders,
      knownHolders: mergeKnownHolders(context.knownHolders, p.observation),
    })),
    acceptObservation: assign(({ context }, p: { observation: ImageObservation }) => lookedAt(context, p.observation)),
    yieldToClaim: assign(({ context }, p: { observation: ImageObservation }) => {
      const claim = foreignClaim(p.observation.ownership, context.nodeName);
      return {
        reason: `${claim?.node ?? 'a peer'} claimed the image (generation ${claim?.generation ?? '?'}) while this node was taking over: yielding, fencing nobody for the cool-down`,
      };
    }),
    lostClaimRace: assign((_, p: { claim: ClaimOutput }) => ({
      claimAttempt: null,
      reason: `lost the ownership race: ${p.claim.holder ? `lock ${p.claim.holder.id} taken by ${p.claim.holder.locker}` : 'the image lock was taken first'}; yielding, fencing nobody for the cool-down`,
    })),
    beginClaim: assign(({ context }) => ({ claimAttempt: claimInputOf(context).generation })),
    acceptClaim: assign((_, p: { generation: number }) => ({ generation: p.generation, claimAttempt: null })),
    forgetGeneration: assign({ generation: null, claimAttempt: null, deadPath: null }),
    adoptOwnedWorld: assign(({ context }, p: { world: WorldSnapshot }) => ({
      generation: p.world.owner?.node === context.nodeName ? p.world.owner.generation : context.generation,
      // the record names this node and the VIP is here: keepalived will not repeat its MASTER notification
      vrrp: context.vrrp === 'UNKNOWN' && p.world.vipHere ? ('MASTER' as const) : context.vrrp,
    })),
    refuseForeignMount: assign((_, p: { world: WorldSnapshot }) => ({
      reason: `refusing to serve: ${p.world.foreignMount ?? 'something'} is mounted at the mount point and is not this node's image; nothing was unmounted or killed. Check what it is, unmount it yourself, then resume`,
    })),
    acceptFenced: assign(({ context }, p: { fenced: string[] }) => ({
      fencedAddresses: [...new Set([...context.fencedAddresses, ...p.fenced])],
      fenceRounds: context.fenceRounds + 1,
    })),
    // a VIP found on the interface is not taken as MASTER here: a SIGKILLed keepalived leaves it behind
    acceptWorld: assign(({ context }, p: { world: WorldSnapshot }) => ({
      holdings: { device: p.world.device, mounted: p.world.mounted, composeRunning: p.world.composeRunning },
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
    // no retry can fix it: failed at once (not after the failure budget), the fix in the reason
    stopForOperator: assign(({ context, event }) => ({
      failures: context.failures + 1,
      exitTo: 'failed' as const,
      reason: `needs an operator (${failureClassOfEvent(event)}): ${context.lastError ?? 'unknown error'}`,
    })),
    abandonTakeover: assign(({ context }, p: { why: string; withError: boolean }) => {
      const exhausted = exhaustsBudget(context.failures, context.timing.failureBudget);
      const why = p.withError && context.lastError ? `${p.why}: ${context.lastError}` : p.why;
      return {
        failures: context.failures + 1,
        exitTo: exhausted ? ('failed' as const) : ('standDown' as const),
        reason: exhausted ? `failure budget exhausted (${context.timing.failureBudget}): ${why}` : `handing over: ${why}`,
      };
    }),
    beginRelease: assign((_, p: { exit: ReleaseExit; reason: string }) => ({ exitTo: p.exit, reason: p.reason, deadPath: deadPathOf(p.exit) })),
    // the exit keeps the stronger destination (a stop stays a stop); a dead path is recorded whatever the exit
    escalateRelease: assign(({ context }, p: { exit: ReleaseExit; reason: string }) => {
      const exitTo = strongerExit(context.exitTo, p.exit);
      const deadPath = context.deadPath ?? deadPathOf(p.exit);
      return exitTo === context.exitTo && deadPath === context.deadPath ? {} : { exitTo, deadPath, reason: p.reason };
    }),
    refuseToFormat: assign({
      exitTo: 'failed',
      reason: 'no filesystem signature on an image harbor-assistant formatted before: refusing mkfs; inspect the image before resuming',
    }),
    markReleaseStalled: assign({ releaseStalled: true }),
    clearReleaseStall: assign({ releaseStalled: false }),
    markReleaseFailed: assign(({ context }) => ({
      releaseFailed: true,
      reason: `release failed, holding on and reporting unfit: ${context.lastError ?? 'unknown error'}`,
    })),
    markBootFailed: assign(({ context }) => ({
      reason: `cannot read the world at start-up: ${context.lastError ?? 'unknown error'}`,
    })),
    forgetHealth: assign({ health: 'unknown' }),
    markServingHealthy: assign({ failures: 0, health: 'healthy', reason: 'serving' }),
    clearFailure: assign({ releaseFailed: false, failures: 0, lastError: null, reason: 'operator resumed' }),
    setReason: assign((_, p: { reason: string }) => ({ reason: p.reason })),
    // the marker files outlive the process; the runtime provides these (tests record them)
    persistFailed: (_args, _params: { reason: string }) => undefined,
    clearFailed: () => undefined,
    persistMaintenance: () => undefined,
    clearMaintenance: () => undefined,
  },
  delays: {
    ...stepTimeoutDelays,
    vipLossGrace: ({ context }) => context.timing.vipLossGraceMs,
    retryBackoff: ({ context }) => backoffDelay(context.timing, context.attempts),
    holderGrace: ({ context }) => context.timing.holderGraceMs,
    cooldown: ({ context }) => context.timing.fencedCooldownMs,
    standDown: ({ context }) => context.timing.standDownMs,
  },
});

/** Who `fencing` blocklists: the recorded foreign owner and every foreign watcher of the latest look. */
export function holdersToFence(context: NodeContext): string[] {
  return fenceTargets(context.holders, context.ownership, context.nodeName, context.ownAddresses, context.fenceScope);
}

/** The claim this takeover makes: the next generation, our lock id, the lock to break first. */
export function claimInputOf(context: NodeContext): ClaimInput {
  const generation = context.ownership.lastGeneration + 1;
  const lockId = ownLockId(context.nodeName, generation);
  return { generation, lockId, breakLock: lockToBreak(context.ownership.lock, lockId) };
}

/** The generation this node holds, or else the one its cut-short claim may hold. */
export function claimedGenerationOf(context: NodeContext): number {
  return context.generation ?? context.claimAttempt ?? 0;
}

/** Our lock id for the generation this node holds (or its cut-short claim may hold). */
export function ownLockIdOf(context: NodeContext): string {
  return ownLockId(context.nodeName, claimedGenerationOf(context));
}
