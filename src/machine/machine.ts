import { hasAttemptsLeft } from '../guards/retry.js';
import type { NodeContext } from './context.js';
import { initialContext } from './context.js';
import { claimedGenerationOf, claimInputOf, holdersToFence, nodeSetup, ownLockIdOf } from './setup.js';
import { from, giveUp, output, releaseFor, releasingAsDead, step } from './step.js';

/*
 * The node statechart (docs/architecture.md): booting → idle → active (acquiring-rbd → fencing →
 * claiming → mounting → starting → serving) → releasing → idle, and the states that keep a node
 * out (standing-down, yielding, fenced, maintenance, failed). Every invoked step is built by
 * `step()`; what a state means to the service is in its tags.
 */

/** A start-up look at the world: remember it, then go where it points. */
const booted = <const G extends string, const T extends string, const A extends readonly unknown[]>(guard: G, target: T, ...more: A) =>
  ({ guard: { type: guard, params: output.world }, target, actions: [{ type: 'acceptWorld', params: output.world }, ...more] }) as const;

/** A look at the image during a takeover: remember it, then go where it points. */
const looked = <const T extends string, const A extends readonly unknown[]>(target: T, ...more: A) =>
  ({ target, actions: [{ type: 'acceptObservation', params: output.observation }, ...more] }) as const;

/** During a release a look at the world only says which step comes next. */
const surveyed = <const T extends string>(target: T) => ({ target, actions: { type: 'acceptWorld', params: output.world } }) as const;

const harborDown = {
  target: '#node.releasing',
  actions: ['recordHealth', { type: 'abandonTakeover', params: { why: 'Harbor reported down', withError: false } }],
} as const;

/** Operator holds and stops where nothing is held: no release needed. */
const holdOrStop = { 'maintenance.on': '#node.maintenance', shutdown: '#node.stopped' } as const;

export const nodeMachine = nodeSetup.createMachine({
  id: 'node',
  context: ({ input }): NodeContext => initialContext(input),
  initial: 'booting',
  on: {
    vrrp: { actions: 'recordVrrp' },
    'health.healthy': { actions: 'recordHealth' },
    'health.degraded': { actions: 'recordHealth' },
    'health.down': { actions: 'recordHealth' },
    'image.holders': { actions: 'recordImageHolders' },
  },
  states: {
    booting: {
      ...step('readWorld', {
        description: 'Read the world (VIP, map, mount, Harbor, markers, owner record) and enter the state it matches.',
        tags: ['fit'],
        input: from.nothing,
        onDone: [
          booted('worldHasFailedMarker', '#node.failed'),
          booted('worldHasForeignMount', '#node.failed', { type: 'refuseForeignMount', params: output.world }),
          booted('maintenanceWithNothingHeld', '#node.maintenance'),
          booted('maintenanceWhileHolding', '#node.releasing', releaseFor('maintenance', 'start-up: maintenance is on but this node still holds the image')),
          // a VIP is not ownership: serve again only when the record in Ceph names this node
          booted('servingIntact', '#node.active.serving', { type: 'adoptOwnedWorld', params: output.world }),
          booted('mountedWithVip', '#node.active.starting', { type: 'adoptOwnedWorld', params: output.world }),
          booted(
            'holdsWhatIsNotOurs',
            '#node.releasing',
            releaseFor('fenced', 'start-up: the owner record in Ceph names another node: this node was replaced; releasing as a fenced node'),
          ),
          booted(
            'holdsWithOwnershipUnknown',
            '#node.releasing',
            releaseFor('lostCeph', 'start-up: holding the image but Ceph cannot say who owns it; releasing as a node that lost Ceph'),
          ),
          booted(
            'holdsAnything',
            '#node.releasing',
            { type: 'adoptOwnedWorld', params: output.world },
            releaseFor('idle', 'start-up: undoing a takeover or release that was interrupted'),
          ),
          { target: '#node.idle', actions: { type: 'acceptWorld', params: output.world } },
        ],
        onFail: giveUp.boot('readWorld'),
      }),
      // what this node holds is read from the world again, not remembered
      entry: ['resetAttempts', 'forgetGeneration'],
      on: {
        shutdown: '#node.stopped',
        // the look at the world may already be on its way: look again once the marker is written
        'maintenance.on': { target: '#node.booting', reenter: true, actions: 'persistMaintenance' },
        'maintenance.off': { target: '#node.booting', reenter: true, actions: 'clearMaintenance' },
        resume: { target: '#node.booting', reenter: true, actions: ['clearFailed', 'clearFailure'] },
      },
    },

    idle: {
      description: "Standby: nothing held. Fit for the VIP when Ceph is reachable (the service's check decides).",
      tags: ['fit-when-ready', 'standby-poll'],
      entry: { type: 'setReason', params: { reason: 'standby' } },
      always: { guard: 'vrrpIsMaster', target: 'active' },
      on: holdOrStop,
    },

    active: {
      description: 'VRRP says MASTER: take the image, start Harbor, serve. Losing MASTER anywhere here releases.',
      tags: ['fit', 'watchdog', 'acting-master'],
      initial: 'acquiring-rbd',
      entry: 'beginTakeover',
      on: {
        vrrp: { guard: 'vrrpLost', target: 'releasing', actions: ['recordVrrp', releaseFor('idle', 'VRRP left MASTER')] },
        'io.fenced': {
          target: 'releasing',
          actions: releaseFor('fenced', 'fenced by the peer (I/O error on the image, or the owner record names another node)'),
        },
        'ceph.lost': { target: 'releasing', actions: releaseFor('lostCeph', 'lost Ceph: an I/O probe or Ceph check missed its deadline') },
        switchover: { target: 'releasing', actions: releaseFor('standDown', 'operator switchover') },
        'maintenance.on': { target: 'releasing', actions: releaseFor('maintenance', 'operator maintenance') },
        shutdown: [{ guard: 'shutdownReleases', target: 'releasing', actions: releaseFor('stopped', 'service stopping') }, { target: 'stopped' }],
      },
      states: {
        'acquiring-rbd': {
          description:
            'Read the owner record, the lock and the watchers. A peer that claimed the image during our own takeover: yield. Nothing foreign: claim. A recorded foreign owner or long-standing foreign watchers: fence. New unexplained watchers: wait.',
          tags: ['takeover'],
          initial: 'reading',
          // one attempt budget for all the looks: settling and reading again is not a new step
          entry: 'resetAttempts',
          states: {
            reading: step('readHolders', {
              description: 'rbd status and the owner record (lock, metadata) of the image.',
              resetsAttempts: false,
              input: from.nothing,
              onDone: [
                {
                  guard: { type: 'concurrentClaim', params: output.observation },
                  ...looked('#node.yielding', { type: 'yieldToClaim', params: output.observation }),
                },
                { guard: { type: 'nothingToFence', params: output.observation }, ...looked('#node.active.claiming') },
                { guard: { type: 'readyToFence', params: output.observation }, ...looked('#node.active.fencing') },
                { guard: 'canRetry', ...looked('#node.active.acquiring-rbd.settling', { type: 'recordStepFailure', params: { step: 'readHolders' } }) },
                looked(
                  '#node.releasing',
                  { type: 'recordStepFailure', params: { step: 'readHolders' } },
                  { type: 'abandonTakeover', params: { why: 'new holders keep appearing on the image', withError: false } },
                ),
              ],
              onFail: giveUp.takeover('readHolders'),
            }),
            settling: {
              description: 'A holder appeared moments ago (maybe a peer that legitimately won): wait the grace, then look again.',
              after: { holderGrace: 'reading' },
            },
          },
        },

        fencing: {
          description:
            'Blocklist the recorded foreign owner (watching or not) and every foreign watcher (per client instance, or whole hosts), then verify they are gone.',
          tags: ['takeover'],
          initial: 'blocklisting',
          states: {
            blocklisting: step('fence', {
              description: 'ceph osd blocklist add for each foreign client instance, with the configured expiry.',
              input: ({ context }: { context: NodeContext }) => ({ addresses: holdersToFence(context) }),
              onDone: { target: '#node.active.fencing.verifying', actions: { type: 'acceptFenced', params: output.fenced } },
              onFail: giveUp.takeover('fence'),
            }),
            verifying: step('verifyFence', {
              description: 'rbd status until the fenced watchers are gone; new foreign holders send it back to acquiring-rbd.',
              input: ({ context }: { context: NodeContext }) => ({ addresses: context.fencedAddresses }),
              onDone: [
                {
                  guard: { type: 'noForeignHolders', params: output.verified },
                  target: '#node.active.claiming',
                  actions: { type: 'acceptHolders', params: output.verified },
                },
                { guard: 'canFenceAgain', target: '#node.active.acquiring-rbd', actions: { type: 'acceptHolders', params: output.verified } },
                {
                  target: '#node.releasing',
                  actions: [
                    { type: 'acceptHolders', params: output.verified },
                    { type: 'recordStepFailure', params: { step: 'verifyFence' } },
                    { type: 'abandonTakeover', params: { why: 'foreign holders survive fencing', withError: false } },
                  ],
                },
              ],
              onFail: giveUp.takeover('verifyFence'),
            }),
          },
        },

        claiming: step('claim', {
          description:
            "Take the image in Ceph: break the fenced owner's (or our own stale) lock, take ours atomically (rbd lock add: of two nodes only one can), record this node as owner with the next generation.",
          tags: ['takeover'],
          entry: 'beginClaim',
          input: ({ context }: { context: NodeContext }) => claimInputOf(context),
          onDone: [
            {
              guard: { type: 'claimTaken', params: output.claim },
              target: '#node.active.mounting',
              actions: { type: 'acceptClaim', params: ({ context }: { context: NodeContext }) => ({ generation: claimInputOf(context).generation }) },
            },
            { target: '#node.yielding', actions: { type: 'lostClaimRace', params: output.claim } },
          ],
          onFail: giveUp.takeover('claim'),
        }),

        mounting: {
          description: 'Map the image, record our client in the owner record, look at its filesystem, mkfs only if never formatted, fsck by policy, mount.',
          tags: ['takeover'],
          initial: 'mapping',
          states: {
            mapping: step('map', {
              description: 'Map the image with the configured mapper (krbd, rbd-nbd or fuse).',
              input: from.nothing,
              onDone: { target: '#node.active.mounting.recording', actions: { type: 'acceptDevice', params: output.device } },
              onFail: giveUp.takeover('map'),
            }),
            recording: step('record', {
              description:
                "Write the mapper's client address into the owner record (a later takeover fences it even when its watch is gone); fails if the lock is no longer ours.",
              input: ({ context }: { context: NodeContext }) => ({
                device: context.holdings.device ?? '',
                generation: context.generation ?? 0,
                lockId: ownLockIdOf(context),
              }),
              onDone: { target: '#node.active.mounting.probing' },
              onFail: giveUp.takeover('record'),
            }),
            probing: step('probeFilesystem', {
              description: 'blkid on the device and the formatted marker in the image metadata.',
              input: from.device,
              onDone: [
                { guard: { type: 'hasFilesystem', params: output.probe }, target: '#node.active.mounting.checking' },
                { guard: { type: 'neverFormatted', params: output.probe }, target: '#node.active.mounting.formatting' },
                { target: '#node.releasing', actions: 'refuseToFormat' },
              ],
              onFail: giveUp.takeover('probeFilesystem'),
            }),
            formatting: step('format', {
              description: 'mkfs.ext4: only on an image that has never been formatted.',
              input: from.device,
              onDone: { target: '#node.active.mounting.mounting-fs' },
              onFail: giveUp.takeover('format'),
            }),
            checking: step('fsck', {
              description: 'e2fsck by policy (auto, force, never); exit code 4 or more fails.',
              input: from.device,
              onDone: { target: '#node.active.mounting.mounting-fs' },
              onFail: giveUp.takeover('fsck'),
            }),
            'mounting-fs': step('mount', {
              description: 'Mount the filesystem on the mount point.',
              input: from.device,
              onDone: { target: '#node.active.starting', actions: 'markMounted' },
              onFail: giveUp.takeover('mount'),
            }),
          },
        },

        starting: {
          description: 'compose up, then wait (start-up grace) for Harbor to report healthy.',
          tags: ['takeover'],
          // the verdicts of an earlier serving are not this Harbor's
          entry: 'forgetHealth',
          initial: 'composing',
          states: {
            composing: step('composeUp', {
              description:
                'compose up -d. The prober already asks: Harbor often answers healthy before compose up returns, and then the takeover serves as it returns.',
              input: from.nothing,
              tags: ['probes-health', 'harbor-starting'],
              onDone: [
                { guard: 'harborAnsweredHealthy', target: '#node.active.serving.healthy', actions: 'markComposeUp' },
                { guard: 'harborAnsweredDegraded', target: '#node.active.serving.degraded', actions: 'markComposeUp' },
                { target: '#node.active.starting.waiting-healthy', actions: 'markComposeUp' },
              ],
              onFail: giveUp.takeover('composeUp'),
            }),
            'waiting-healthy': {
              description: 'Harbor started; waiting for the health prober to report healthy within the start-up grace.',
              tags: ['probes-health'],
              on: {
                'health.healthy': { target: '#node.active.serving.healthy', actions: 'recordHealth' },
                'health.degraded': { target: '#node.active.serving.degraded', actions: 'recordHealth' },
              },
              after: {
                healthyTimeout: {
                  target: '#node.releasing',
                  actions: { type: 'abandonTakeover', params: { why: 'Harbor not healthy within the start-up grace', withError: false } },
                },
              },
            },
          },
        },

        serving: {
          description: 'This node serves Harbor. Harbor down (after the fall threshold) hands over to the peer.',
          tags: ['serving', 'probes-health'],
          initial: 'healthy',
          on: {
            'health.down': harborDown,
            vrrp: { guard: 'vrrpBackup', target: '#node.active.vip-lost', actions: 'recordVrrp' },
          },
          states: {
            healthy: {
              description: 'All Harbor components healthy.',
              entry: 'markServingHealthy',
              on: { 'health.degraded': { target: 'degraded', actions: 'recordHealth' } },
            },
            degraded: {
              description: 'A non-critical Harbor component is unhealthy; still serving.',
              entry: { type: 'setReason', params: { reason: 'serving, Harbor degraded' } },
              on: { 'health.healthy': { target: 'healthy', actions: 'recordHealth' } },
            },
          },
        },

        'vip-lost': {
          description:
            'Serving, VRRP said BACKUP: keep serving for the grace in case the VIP comes back (a peer resuming from a pause claims MASTER until it finds itself fenced), then release. FAULT or STOP release at once.',
          tags: ['serving', 'probes-health'],
          entry: { type: 'setReason', params: { reason: 'VRRP BACKUP while serving: waiting for the VIP to come back' } },
          on: {
            vrrp: [
              { guard: 'vrrpMaster', target: '#node.active.serving', actions: 'recordVrrp' },
              { guard: 'vrrpBackup', actions: 'recordVrrp' },
            ],
            'health.down': harborDown,
          },
          after: { vipLossGrace: { target: '#node.releasing', actions: releaseFor('idle', 'VRRP left MASTER (the VIP did not come back within the grace)') } },
        },
      },
    },

    releasing: {
      description: 'Give everything back in order: compose down → umount → unmap (S3) → our owner record and lock, after reading what is held.',
      tags: ['fit-unless-dead', 'release'],
      entry: 'clearReleaseStall',
      initial: 'surveying',
      on: {
        // a graceful release whose data path dies starts over on the dead path: the command in
        // flight (a graceful compose down, a Ceph call) is aborted, not waited out
        'io.fenced': [
          {
            guard: 'releaseStillGraceful',
            target: '.surveying',
            actions: { type: 'escalateRelease', params: { exit: 'fenced', reason: 'fenced by the peer while releasing' } },
          },
          { actions: { type: 'escalateRelease', params: { exit: 'fenced', reason: 'fenced by the peer while releasing' } } },
        ],
        'ceph.lost': [
          {
            guard: 'releaseStillGraceful',
            target: '.surveying',
            actions: { type: 'escalateRelease', params: { exit: 'lostCeph', reason: 'lost Ceph while releasing' } },
          },
          { actions: { type: 'escalateRelease', params: { exit: 'lostCeph', reason: 'lost Ceph while releasing' } } },
        ],
        'maintenance.on': { actions: { type: 'escalateRelease', params: { exit: 'maintenance', reason: 'operator maintenance' } } },
        shutdown: [
          { guard: 'shutdownReleases', actions: { type: 'escalateRelease', params: { exit: 'stopped', reason: 'service stopping' } } },
          { target: 'stopped' },
        ],
      },
      states: {
        surveying: step('readWorld', {
          description: 'Wait for aborted commands to die, then read what is really held (map, mount, Harbor; Harbor this run started is taken as running).',
          // the watchdog keeps running through the release: a hand-over that loses Ceph or is
          // fenced midway stops being graceful (unfit at once), whatever the reason it began
          tags: ['watchdog'],
          input: from.survey,
          onDone: [
            { guard: { type: 'composeRunning', params: output.world }, ...surveyed('#node.releasing.stopping-harbor') },
            { guard: { type: 'holdsAnything', params: output.world }, ...surveyed('#node.releasing.unmounting') },
            { guard: 'holdsClaim', ...surveyed('#node.releasing.disowning') },
            surveyed('#node.releasing.released'),
          ],
          onFail: giveUp.release('readWorld'),
        }),
        'stopping-harbor': step('composeDown', {
          description: 'compose down; on a dead data path (fenced, lost Ceph) the containers are killed, not stopped.',
          tags: ['watchdog'],
          input: ({ context }: { context: NodeContext }) => ({ dead: releasingAsDead(context) }),
          onDone: { target: '#node.releasing.unmounting', actions: 'markComposeDown' },
          onFail: giveUp.release('composeDown'),
        }),
        unmounting: step('unmount', {
          description: 'umount; processes holding the mount are killed TERM then KILL within the timeout.',
          tags: ['ceph-watch'],
          input: ({ context }: { context: NodeContext }) => ({ device: context.holdings.device, fenced: releasingAsDead(context) }),
          onDone: { target: '#node.releasing.unmapping', actions: 'markUnmounted' },
          onFail: giveUp.release('unmount'),
        }),
        unmapping: step('unmap', {
          description: 'Unmap the image; force-unmap only as the last attempt, never while mounted.',
          tags: ['ceph-watch'],
          input: ({ context }: { context: NodeContext }) => ({
            device: context.holdings.device,
            // force only as the last attempt: it can lose writes a normal unmap would flush
            force: context.attempts > 0 && !hasAttemptsLeft(context.attempts, context.timing.retry.maxAttempts),
            fenced: releasingAsDead(context),
          }),
          onDone: [
            { guard: 'holdsClaim', target: '#node.releasing.disowning', actions: 'markUnmapped' },
            { target: '#node.releasing.released', actions: 'markUnmapped' },
          ],
          onFail: giveUp.release('unmap'),
        }),
        disowning: step('disown', {
          description:
            'After a clean unmap: remove our owner record and lock (only if they are still ours), so the next takeover needs no fence. Best effort: a record left behind only costs the peer a harmless fence of a dead client.',
          input: ({ context }: { context: NodeContext }) => ({ generation: claimedGenerationOf(context), lockId: ownLockIdOf(context) }),
          onDone: { target: '#node.releasing.released' },
          onFail: giveUp.bestEffort('disown', '#node.releasing.released'),
        }),
        released: {
          description: 'Everything is given back; go where the reason for releasing says.',
          entry: 'forgetGeneration',
          always: [
            { guard: { type: 'exitIs', params: { exit: 'stopped' } }, target: '#node.stopped' },
            { guard: { type: 'exitIs', params: { exit: 'failed' } }, target: '#node.failed' },
            { guard: { type: 'exitIs', params: { exit: 'fenced' } }, target: '#node.fenced' },
            { guard: { type: 'exitIs', params: { exit: 'maintenance' } }, target: '#node.maintenance' },
            // lost Ceph: still VRRP MASTER maybe, but unfit until keepalived moves the VIP (no takeover loop)
            { guard: { type: 'exitIs', params: { exit: 'lostCeph' } }, target: '#node.standing-down' },
            { guard: { type: 'exitIs', params: { exit: 'standDown' } }, target: '#node.standing-down' },
            { target: '#node.idle' },
          ],
        },
      },
    },

    'standing-down': {
      description: 'Released while still VRRP MASTER: report unfit so keepalived moves the VIP to the peer.',
      tags: ['unfit'],
      always: { guard: 'vrrpIsNotMaster', target: 'idle' },
      after: { standDown: 'idle' },
      on: holdOrStop,
    },

    yielding: {
      description:
        'A peer claimed the image while this node was taking over too (both MASTER) and won: unfit, fence nobody. A claimant that shows life (its watch on the image) is waited out for the cool-down (S5); one that never mapped, or whose watch is gone, is given up on and the node stands by again.',
      tags: ['unfit'],
      initial: 'waiting',
      after: { cooldown: 'idle' },
      on: { resume: { target: 'booting', actions: 'clearFailure' }, ...holdOrStop },
      states: {
        waiting: {
          description: 'The claimant gets the holder grace to map the image before this node looks again.',
          after: { holderGrace: 'looking' },
        },
        looking: step('readHolders', {
          description: 'rbd status and the owner record: does the claim this node yielded to show life?',
          input: from.nothing,
          onDone: [
            // a takeover from idle fences it: the claim is known now, so no longer concurrent
            { guard: { type: 'claimDead', params: output.observation }, ...looked('#node.idle') },
            looked('#node.yielding.waiting'),
          ],
          onFail: giveUp.bestEffort('readHolders', '#node.yielding.waiting'),
        }),
      },
    },

    fenced: {
      description: 'The peer fenced this node: stay out and fence nobody for the cool-down (S5).',
      tags: ['unfit'],
      entry: { type: 'setReason', params: { reason: 'fenced by the peer: cooling down, unfit for the VIP' } },
      after: { cooldown: 'idle' },
      on: { resume: { target: 'booting', actions: 'clearFailure' }, ...holdOrStop },
    },

    maintenance: {
      description: 'Operator hold: unfit for the VIP, touches nothing. The marker file keeps it across restarts.',
      tags: ['unfit'],
      entry: [{ type: 'setReason', params: { reason: 'maintenance (operator)' } }, 'persistMaintenance'],
      on: {
        'maintenance.off': { target: 'booting', actions: ['clearMaintenance', { type: 'setReason', params: { reason: 'maintenance off' } }] },
        shutdown: 'stopped',
      },
    },

    failed: {
      description:
        'Failure budget exhausted or a release failed: unfit, no automatic retry; an operator must resume. The marker file keeps it across restarts.',
      tags: ['unfit'],
      entry: { type: 'persistFailed', params: ({ context }: { context: NodeContext }) => ({ reason: context.reason }) },
      on: {
        resume: { target: 'booting', actions: ['clearFailed', 'clearFailure'] },
        shutdown: 'stopped',
      },
    },

    stopped: { type: 'final', tags: ['unfit'], description: 'The service stopped (released first when asked to).' },
  },
});

export type NodeMachine = typeof nodeMachine;
