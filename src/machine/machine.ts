import { hasAttemptsLeft } from '../guards/retry.js';
import type { NodeContext } from './context.js';
import { initialContext } from './context.js';
import { claimInputOf, holdersToFence, nodeSetup, ownLockIdOf } from './setup.js';
import type { StepName } from './timing.js';

/*
 * The node statechart (design.md section 3). Every invoked step has the same shape:
 *   step.running  — the invoke, plus its named timeout
 *   step.backoff  — waits `retryBackoff` and tries again while attempts are left
 * and gives up to `releasing` (takeover steps: counted against the failure budget) or to
 * `failed` (release steps: S4, never map again without an operator).
 */

const retry = (step: StepName) =>
  ({ guard: 'canRetry', target: 'backoff', actions: { type: 'recordStepFailure', params: { step } } }) as const;

const abandonTakeover = (step: StepName) =>
  ({
    target: '#node.releasing',
    actions: [
      { type: 'recordStepFailure', params: { step } },
      { type: 'abandonTakeover', params: { why: `${step} failed`, withError: true } },
    ],
  }) as const;

const failRelease = (step: StepName) =>
  ({
    target: '#node.failed',
    actions: [{ type: 'recordStepFailure', params: { step } }, 'markReleaseFailed'],
  }) as const;

const failBoot = {
  target: '#node.failed',
  actions: [{ type: 'recordStepFailure', params: { step: 'readWorld' } }, 'markBootFailed'],
} as const;

const takeoverStepFails = (step: StepName) => [retry(step), abandonTakeover(step)];
const releaseStepFails = (step: StepName) => [retry(step), failRelease(step)];
const backoff = { after: { retryBackoff: 'running' } } as const;

const releaseFor = (exit: 'idle' | 'standDown' | 'fenced' | 'lostCeph' | 'maintenance' | 'stopped', reason: string) =>
  ({ type: 'beginRelease', params: { exit, reason } }) as const;

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
      description: 'Read the world (VIP, map, mount, Harbor, markers) and enter the state it matches.',
      initial: 'running',
      // what this node holds is read from the world again, not remembered
      entry: ['resetAttempts', 'forgetGeneration'],
      on: { shutdown: '#node.stopped' },
      states: {
        running: {
          invoke: {
            id: 'reconcile',
            src: 'readWorld',
            input: {},
            onDone: [
              {
                guard: { type: 'worldHasFailedMarker', params: ({ event }) => ({ world: event.output }) },
                target: '#node.failed',
                actions: { type: 'acceptWorld', params: ({ event }) => ({ world: event.output }) },
              },
              {
                guard: { type: 'worldHasForeignMount', params: ({ event }) => ({ world: event.output }) },
                target: '#node.failed',
                actions: [
                  { type: 'acceptWorld', params: ({ event }) => ({ world: event.output }) },
                  { type: 'refuseForeignMount', params: ({ event }) => ({ world: event.output }) },
                ],
              },
              {
                guard: { type: 'maintenanceWithNothingHeld', params: ({ event }) => ({ world: event.output }) },
                target: '#node.maintenance',
                actions: { type: 'acceptWorld', params: ({ event }) => ({ world: event.output }) },
              },
              {
                guard: { type: 'maintenanceWhileHolding', params: ({ event }) => ({ world: event.output }) },
                target: '#node.releasing',
                actions: [
                  { type: 'acceptWorld', params: ({ event }) => ({ world: event.output }) },
                  releaseFor('maintenance', 'start-up: maintenance is on but this node still holds the image'),
                ],
              },
              {
                guard: { type: 'servingIntact', params: ({ event }) => ({ world: event.output }) },
                target: '#node.active.serving',
                actions: [
                  { type: 'acceptWorld', params: ({ event }) => ({ world: event.output }) },
                  { type: 'adoptOwnedWorld', params: ({ event }) => ({ world: event.output }) },
                ],
              },
              {
                guard: { type: 'mountedWithVip', params: ({ event }) => ({ world: event.output }) },
                target: '#node.active.starting',
                actions: [
                  { type: 'acceptWorld', params: ({ event }) => ({ world: event.output }) },
                  { type: 'adoptOwnedWorld', params: ({ event }) => ({ world: event.output }) },
                ],
              },
              {
                guard: { type: 'holdsWhatIsNotOurs', params: ({ event }) => ({ world: event.output }) },
                target: '#node.releasing',
                actions: [
                  { type: 'acceptWorld', params: ({ event }) => ({ world: event.output }) },
                  releaseFor('fenced', 'start-up: the owner record in Ceph names another node: this node was replaced; releasing as a fenced node'),
                ],
              },
              {
                guard: { type: 'holdsWithOwnershipUnknown', params: ({ event }) => ({ world: event.output }) },
                target: '#node.releasing',
                actions: [
                  { type: 'acceptWorld', params: ({ event }) => ({ world: event.output }) },
                  releaseFor('lostCeph', 'start-up: holding the image but Ceph cannot say who owns it; releasing as a node that lost Ceph'),
                ],
              },
              {
                guard: { type: 'holdsAnything', params: ({ event }) => ({ holdings: event.output }) },
                target: '#node.releasing',
                actions: [
                  { type: 'acceptWorld', params: ({ event }) => ({ world: event.output }) },
                  { type: 'adoptOwnedWorld', params: ({ event }) => ({ world: event.output }) },
                  releaseFor('idle', 'start-up: undoing a takeover or release that was interrupted'),
                ],
              },
              {
                target: '#node.idle',
                actions: { type: 'acceptWorld', params: ({ event }) => ({ world: event.output }) },
              },
            ],
            onError: [retry('readWorld'), failBoot],
          },
          after: { readWorldTimeout: [retry('readWorld'), failBoot] },
        },
        backoff,
      },
    },

    idle: {
      description: 'Standby: nothing held. Fit for the VIP when Ceph is reachable (the service\'s check decides).',
      entry: { type: 'setReason', params: { reason: 'standby' } },
      always: { guard: 'vrrpIsMaster', target: 'active' },
      on: {
        'maintenance.on': 'maintenance',
        shutdown: 'stopped',
      },
    },

    active: {
      description: 'VRRP says MASTER: take the image, start Harbor, serve. Losing MASTER anywhere here releases.',
      initial: 'acquiring-rbd',
      entry: 'beginTakeover',
      on: {
        vrrp: {
          guard: 'vrrpLost',
          target: 'releasing',
          actions: ['recordVrrp', releaseFor('idle', 'VRRP left MASTER')],
        },
        'io.fenced': { target: 'releasing', actions: releaseFor('fenced', 'fenced by the peer (I/O error on the image, or the owner record names another node)') },
        'ceph.lost': { target: 'releasing', actions: releaseFor('lostCeph', 'lost Ceph: an I/O probe or Ceph check missed its deadline') },
        switchover: { target: 'releasing', actions: releaseFor('standDown', 'operator switchover') },
        'maintenance.on': { target: 'releasing', actions: releaseFor('maintenance', 'operator maintenance') },
        shutdown: [
          { guard: 'shutdownReleases', target: 'releasing', actions: releaseFor('stopped', 'service stopping') },
          { target: 'stopped' },
        ],
      },
      states: {
        'acquiring-rbd': {
          description:
            'Read the owner record, the lock and the watchers. A peer that claimed the image during our own takeover: yield. Nothing foreign: claim. A recorded foreign owner or long-standing foreign watchers: fence. New unexplained watchers: wait.',
          initial: 'reading',
          entry: 'resetAttempts',
          states: {
            reading: {
              initial: 'running',
              states: {
                running: {
                  invoke: {
                    id: 'readHolders',
                    src: 'readHolders',
                    input: {},
                    onDone: [
                      {
                        guard: { type: 'concurrentClaim', params: ({ event }) => ({ observation: event.output }) },
                        target: '#node.yielding',
                        actions: [
                          { type: 'acceptObservation', params: ({ event }) => ({ observation: event.output }) },
                          { type: 'yieldToClaim', params: ({ event }) => ({ observation: event.output }) },
                        ],
                      },
                      {
                        guard: { type: 'nothingToFence', params: ({ event }) => ({ observation: event.output }) },
                        target: '#node.active.claiming',
                        actions: { type: 'acceptObservation', params: ({ event }) => ({ observation: event.output }) },
                      },
                      {
                        guard: { type: 'readyToFence', params: ({ event }) => ({ observation: event.output }) },
                        target: '#node.active.fencing',
                        actions: { type: 'acceptObservation', params: ({ event }) => ({ observation: event.output }) },
                      },
                      {
                        guard: 'canRetry',
                        target: '#node.active.acquiring-rbd.settling',
                        actions: [
                          { type: 'acceptObservation', params: ({ event }) => ({ observation: event.output }) },
                          { type: 'recordStepFailure', params: { step: 'readHolders' } },
                        ],
                      },
                      {
                        target: '#node.releasing',
                        actions: [
                          { type: 'acceptObservation', params: ({ event }) => ({ observation: event.output }) },
                          { type: 'recordStepFailure', params: { step: 'readHolders' } },
                          { type: 'abandonTakeover', params: { why: 'new holders keep appearing on the image', withError: false } },
                        ],
                      },
                    ],
                    onError: takeoverStepFails('readHolders'),
                  },
                  after: { readHoldersTimeout: takeoverStepFails('readHolders') },
                },
                backoff,
              },
            },
            settling: {
              description: 'A holder appeared moments ago (maybe a peer that legitimately won): wait the grace, then look again.',
              after: { holderGrace: 'reading' },
            },
          },
        },

        fencing: {
          description: 'Blocklist the recorded foreign owner (watching or not) and every foreign watcher (per client instance, or whole hosts), then verify they are gone.',
          initial: 'blocklisting',
          states: {
            blocklisting: {
              description: 'ceph osd blocklist add for each foreign client instance, with the configured expiry.',
              initial: 'running',
              entry: 'resetAttempts',
              states: {
                running: {
                  invoke: {
                    id: 'fenceHolders',
                    src: 'fenceHolders',
                    input: ({ context }) => ({ addresses: holdersToFence(context) }),
                    onDone: {
                      target: '#node.active.fencing.verifying',
                      actions: { type: 'acceptFenced', params: ({ event }) => ({ fenced: event.output.fenced }) },
                    },
                    onError: takeoverStepFails('fence'),
                  },
                  after: { fenceTimeout: takeoverStepFails('fence') },
                },
                backoff,
              },
            },
            verifying: {
              description: 'rbd status until the fenced watchers are gone; new foreign holders send it back to acquiring-rbd.',
              initial: 'running',
              entry: 'resetAttempts',
              states: {
                running: {
                  invoke: {
                    id: 'verifyFenced',
                    src: 'verifyFenced',
                    input: ({ context }) => ({ addresses: context.fencedAddresses }),
                    onDone: [
                      {
                        guard: { type: 'noForeignHolders', params: ({ event }) => ({ observation: event.output }) },
                        target: '#node.active.claiming',
                        actions: { type: 'acceptHolders', params: ({ event }) => ({ observation: event.output }) },
                      },
                      {
                        guard: 'canFenceAgain',
                        target: '#node.active.acquiring-rbd',
                        actions: { type: 'acceptHolders', params: ({ event }) => ({ observation: event.output }) },
                      },
                      {
                        target: '#node.releasing',
                        actions: [
                          { type: 'acceptHolders', params: ({ event }) => ({ observation: event.output }) },
                          { type: 'recordStepFailure', params: { step: 'verifyFence' } },
                          { type: 'abandonTakeover', params: { why: 'foreign holders survive fencing', withError: false } },
                        ],
                      },
                    ],
                    onError: takeoverStepFails('verifyFence'),
                  },
                  after: { verifyFenceTimeout: takeoverStepFails('verifyFence') },
                },
                backoff,
              },
            },
          },
        },

        claiming: {
          description:
            "Take the image in Ceph: break the fenced owner's (or our own stale) lock, take ours atomically (rbd lock add: of two nodes only one can), record this node as owner with the next generation.",
          initial: 'running',
          entry: 'resetAttempts',
          states: {
            running: {
              invoke: {
                id: 'claimOwnership',
                src: 'claimOwnership',
                input: ({ context }) => claimInputOf(context),
                onDone: [
                  {
                    guard: { type: 'claimTaken', params: ({ event }) => ({ claim: event.output }) },
                    target: '#node.active.mounting',
                    actions: { type: 'acceptClaim', params: ({ context }) => ({ generation: claimInputOf(context).generation }) },
                  },
                  { target: '#node.yielding', actions: { type: 'lostClaimRace', params: ({ event }) => ({ claim: event.output }) } },
                ],
                onError: takeoverStepFails('claim'),
              },
              after: { claimTimeout: takeoverStepFails('claim') },
            },
            backoff,
          },
        },

        mounting: {
          description: 'Map the image, record our client in the owner record, look at its filesystem, mkfs only if never formatted, fsck by policy, mount.',
          initial: 'mapping',
          states: {
            mapping: {
              description: 'Map the image with the configured mapper (krbd, rbd-nbd or fuse).',
              initial: 'running',
              entry: 'resetAttempts',
              states: {
                running: {
                  invoke: {
                    id: 'mapImage',
                    src: 'mapImage',
                    input: {},
                    onDone: {
                      target: '#node.active.mounting.recording',
                      actions: { type: 'acceptDevice', params: ({ event }) => ({ device: event.output.device }) },
                    },
                    onError: takeoverStepFails('map'),
                  },
                  after: { mapTimeout: takeoverStepFails('map') },
                },
                backoff,
              },
            },
            recording: {
              description: "Write the mapper's client address into the owner record (a later takeover fences it even when its watch is gone); fails if the lock is no longer ours.",
              initial: 'running',
              entry: 'resetAttempts',
              states: {
                running: {
                  invoke: {
                    id: 'recordOwner',
                    src: 'recordOwner',
                    input: ({ context }) => ({ device: context.holdings.device ?? '', generation: context.generation ?? 0, lockId: ownLockIdOf(context) }),
                    onDone: { target: '#node.active.mounting.probing' },
                    onError: takeoverStepFails('record'),
                  },
                  after: { recordTimeout: takeoverStepFails('record') },
                },
                backoff,
              },
            },
            probing: {
              description: 'blkid on the device and the formatted marker in the image metadata.',
              initial: 'running',
              entry: 'resetAttempts',
              states: {
                running: {
                  invoke: {
                    id: 'probeFilesystem',
                    src: 'probeFilesystem',
                    input: ({ context }) => ({ device: context.holdings.device ?? '' }),
                    onDone: [
                      {
                        guard: { type: 'hasFilesystem', params: ({ event }) => ({ probe: event.output }) },
                        target: '#node.active.mounting.checking',
                      },
                      {
                        guard: { type: 'neverFormatted', params: ({ event }) => ({ probe: event.output }) },
                        target: '#node.active.mounting.formatting',
                      },
                      { target: '#node.releasing', actions: 'refuseToFormat' },
                    ],
                    onError: takeoverStepFails('probeFilesystem'),
                  },
                  after: { probeFilesystemTimeout: takeoverStepFails('probeFilesystem') },
                },
                backoff,
              },
            },
            formatting: {
              description: 'mkfs.ext4: only on an image that has never been formatted.',
              initial: 'running',
              entry: 'resetAttempts',
              states: {
                running: {
                  invoke: {
                    id: 'formatFilesystem',
                    src: 'formatFilesystem',
                    input: ({ context }) => ({ device: context.holdings.device ?? '' }),
                    onDone: { target: '#node.active.mounting.mounting-fs' },
                    onError: takeoverStepFails('format'),
                  },
                  after: { formatTimeout: takeoverStepFails('format') },
                },
                backoff,
              },
            },
            checking: {
              description: 'e2fsck by policy (auto, force, never); exit code 4 or more fails.',
              initial: 'running',
              entry: 'resetAttempts',
              states: {
                running: {
                  invoke: {
                    id: 'checkFilesystem',
                    src: 'checkFilesystem',
                    input: ({ context }) => ({ device: context.holdings.device ?? '' }),
                    onDone: { target: '#node.active.mounting.mounting-fs' },
                    onError: takeoverStepFails('fsck'),
                  },
                  after: { fsckTimeout: takeoverStepFails('fsck') },
                },
                backoff,
              },
            },
            'mounting-fs': {
              description: 'Mount the filesystem on the mount point.',
              initial: 'running',
              entry: 'resetAttempts',
              states: {
                running: {
                  invoke: {
                    id: 'mountFilesystem',
                    src: 'mountFilesystem',
                    input: ({ context }) => ({ device: context.holdings.device ?? '' }),
                    onDone: { target: '#node.active.starting', actions: 'markMounted' },
                    onError: takeoverStepFails('mount'),
                  },
                  after: { mountTimeout: takeoverStepFails('mount') },
                },
                backoff,
              },
            },
          },
        },

        starting: {
          description: 'compose up, then wait (start-up grace) for Harbor to report healthy.',
          initial: 'composing',
          states: {
            composing: {
              description: 'compose up -d.',
              initial: 'running',
              entry: 'resetAttempts',
              states: {
                running: {
                  invoke: {
                    id: 'composeUp',
                    src: 'composeUp',
                    input: {},
                    onDone: { target: '#node.active.starting.waiting-healthy', actions: 'markComposeUp' },
                    onError: takeoverStepFails('composeUp'),
                  },
                  after: { composeUpTimeout: takeoverStepFails('composeUp') },
                },
                backoff,
              },
            },
            'waiting-healthy': {
              description: 'Harbor started; waiting for the health prober to report healthy within the start-up grace.',
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
          initial: 'healthy',
          on: {
            'health.down': {
              target: '#node.releasing',
              actions: ['recordHealth', { type: 'abandonTakeover', params: { why: 'Harbor reported down', withError: false } }],
            },
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
          entry: { type: 'setReason', params: { reason: 'VRRP BACKUP while serving: waiting for the VIP to come back' } },
          on: {
            vrrp: [
              { guard: 'vrrpMaster', target: '#node.active.serving', actions: 'recordVrrp' },
              { guard: 'vrrpBackup', actions: 'recordVrrp' },
            ],
            'health.down': {
              target: '#node.releasing',
              actions: ['recordHealth', { type: 'abandonTakeover', params: { why: 'Harbor reported down', withError: false } }],
            },
          },
          after: { vipLossGrace: { target: '#node.releasing', actions: releaseFor('idle', 'VRRP left MASTER (the VIP did not come back within the grace)') } },
        },
      },
    },

    releasing: {
      description: 'Give everything back in order: compose down → umount → unmap (S3) → our owner record and lock, after reading what is held.',
      initial: 'surveying',
      on: {
        'io.fenced': { actions: { type: 'escalateRelease', params: { exit: 'fenced', reason: 'fenced by the peer while releasing' } } },
        'ceph.lost': { actions: { type: 'escalateRelease', params: { exit: 'lostCeph', reason: 'lost Ceph while releasing' } } },
        'maintenance.on': { actions: { type: 'escalateRelease', params: { exit: 'maintenance', reason: 'operator maintenance' } } },
        shutdown: [
          { guard: 'shutdownReleases', actions: { type: 'escalateRelease', params: { exit: 'stopped', reason: 'service stopping' } } },
          { target: 'stopped' },
        ],
      },
      states: {
        surveying: {
          description: 'Wait for aborted commands to die, then read what is really held (map, mount, Harbor).',
          initial: 'running',
          entry: 'resetAttempts',
          states: {
            running: {
              invoke: {
                id: 'survey',
                src: 'readWorld',
                input: {},
                onDone: [
                  {
                    guard: { type: 'composeRunning', params: ({ event }) => ({ holdings: event.output }) },
                    target: '#node.releasing.stopping-harbor',
                    actions: { type: 'acceptWorld', params: ({ event }) => ({ world: event.output }) },
                  },
                  {
                    guard: { type: 'holdsAnything', params: ({ event }) => ({ holdings: event.output }) },
                    target: '#node.releasing.unmounting',
                    actions: { type: 'acceptWorld', params: ({ event }) => ({ world: event.output }) },
                  },
                  {
                    guard: 'holdsGeneration',
                    target: '#node.releasing.disowning',
                    actions: { type: 'acceptWorld', params: ({ event }) => ({ world: event.output }) },
                  },
                  {
                    target: '#node.releasing.released',
                    actions: { type: 'acceptWorld', params: ({ event }) => ({ world: event.output }) },
                  },
                ],
                onError: releaseStepFails('readWorld'),
              },
              after: { readWorldTimeout: releaseStepFails('readWorld') },
            },
            backoff,
          },
        },
        'stopping-harbor': {
          description: 'compose down.',
          initial: 'running',
          entry: 'resetAttempts',
          states: {
            running: {
              invoke: {
                id: 'composeDown',
                src: 'composeDown',
                input: {},
                onDone: { target: '#node.releasing.unmounting', actions: 'markComposeDown' },
                onError: releaseStepFails('composeDown'),
              },
              after: { composeDownTimeout: releaseStepFails('composeDown') },
            },
            backoff,
          },
        },
        unmounting: {
          description: 'umount; processes holding the mount are killed TERM then KILL within the timeout.',
          initial: 'running',
          entry: 'resetAttempts',
          states: {
            running: {
              invoke: {
                id: 'unmountFilesystem',
                src: 'unmountFilesystem',
                input: ({ context }) => ({ device: context.holdings.device, fenced: context.exitTo === 'fenced' || context.exitTo === 'lostCeph' }),
                onDone: { target: '#node.releasing.unmapping', actions: 'markUnmounted' },
                onError: releaseStepFails('unmount'),
              },
              after: { unmountTimeout: releaseStepFails('unmount') },
            },
            backoff,
          },
        },
        unmapping: {
          description: 'Unmap the image; force-unmap only as the last attempt, never while mounted.',
          initial: 'running',
          entry: 'resetAttempts',
          states: {
            running: {
              invoke: {
                id: 'unmapImage',
                src: 'unmapImage',
                input: ({ context }) => ({
                  device: context.holdings.device,
                  // force only as the last attempt: it can lose writes a normal unmap would flush
                  force: context.attempts > 0 && !hasAttemptsLeft(context.attempts, context.timing.retry.maxAttempts),
                  fenced: context.exitTo === 'fenced' || context.exitTo === 'lostCeph',
                }),
                onDone: [
                  { guard: 'holdsGeneration', target: '#node.releasing.disowning', actions: 'markUnmapped' },
                  { target: '#node.releasing.released', actions: 'markUnmapped' },
                ],
                onError: releaseStepFails('unmap'),
              },
              after: { unmapTimeout: releaseStepFails('unmap') },
            },
            backoff,
          },
        },
        disowning: {
          description:
            'After a clean unmap: remove our owner record and lock (only if they are still ours), so the next takeover needs no fence. Best effort: a record left behind only costs the peer a harmless fence of a dead client.',
          initial: 'running',
          entry: 'resetAttempts',
          states: {
            running: {
              invoke: {
                id: 'releaseOwnership',
                src: 'releaseOwnership',
                input: ({ context }) => ({ generation: context.generation ?? 0, lockId: ownLockIdOf(context) }),
                onDone: { target: '#node.releasing.released' },
                onError: [retry('disown'), { target: '#node.releasing.released', actions: { type: 'recordStepFailure', params: { step: 'disown' } } }],
              },
              after: { disownTimeout: [retry('disown'), { target: '#node.releasing.released', actions: { type: 'recordStepFailure', params: { step: 'disown' } } }] },
            },
            backoff,
          },
        },
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
      always: { guard: 'vrrpIsNotMaster', target: 'idle' },
      after: { standDown: 'idle' },
      on: {
        'maintenance.on': 'maintenance',
        shutdown: 'stopped',
      },
    },

    yielding: {
      description:
        'A peer claimed the image while this node was taking over too (both MASTER) and won the atomic lock: unfit, fence nobody for the cool-down (S5), then standby.',
      after: { fencedCooldown: 'idle' },
      on: {
        resume: { target: 'booting', actions: 'clearFailure' },
        'maintenance.on': 'maintenance',
        shutdown: 'stopped',
      },
    },

    fenced: {
      description: 'The peer fenced this node: stay out and fence nobody for the cool-down (S5).',
      entry: { type: 'setReason', params: { reason: 'fenced by the peer: cooling down, unfit for the VIP' } },
      after: { fencedCooldown: 'idle' },
      on: {
        resume: { target: 'booting', actions: 'clearFailure' },
        'maintenance.on': 'maintenance',
        shutdown: 'stopped',
      },
    },

    maintenance: {
      description: 'Operator hold: unfit for the VIP, touches nothing.',
      entry: { type: 'setReason', params: { reason: 'maintenance (operator)' } },
      on: {
        'maintenance.off': { target: 'booting', actions: { type: 'setReason', params: { reason: 'maintenance off' } } },
        shutdown: 'stopped',
      },
    },

    failed: {
      description: 'Failure budget exhausted or a release failed: unfit, no automatic retry; an operator must resume.',
      on: {
        resume: { target: 'booting', actions: 'clearFailure' },
        shutdown: 'stopped',
      },
    },

    stopped: { type: 'final', description: 'The service stopped (released first when asked to).' },
  },
});

export type NodeMachine = typeof nodeMachine;
