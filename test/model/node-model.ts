import { TestModel, type StatePath } from 'xstate/graph';
import type { SnapshotFrom } from 'xstate';
import { nodeMachine, type NodeEvent, type WorldSnapshot, type Holder, type OwnershipView } from '../../src/machine/index.js';
import { foreignHolders } from '../../src/guards/index.js';
import { holdersToFence } from '../../src/machine/setup.js';
import {
  NO_OWNERSHIP,
  OTHER_HOLDER,
  OWN_HOLDER,
  OWN_IP,
  OWN_NODE,
  PEER_HOLDER,
  ownRecord,
  peerLock,
  peerOwnership,
  peerRecord,
  testTiming,
} from '../support/timing.js';

export type NodeSnapshot = SnapshotFrom<typeof nodeMachine>;

/** Events of the model: the machine's own plus the internal done/error/after events it reacts to. */
export type ModelEvent =
  | NodeEvent
  | { type: `xstate.done.actor.${string}`; output: unknown }
  | { type: `xstate.error.actor.${string}`; error: unknown }
  | { type: `xstate.after.${string}` }
  | { type: 'xstate.init' };

export type ModelPath = StatePath<NodeSnapshot, ModelEvent>;

export const modelInput = { timing: testTiming, nodeName: OWN_NODE, ownAddresses: [OWN_IP], fenceScope: 'client' as const };

/** A world as readWorld reports it; holding something means the record was read: ours unless told otherwise. */
export const world = (w: Partial<WorldSnapshot> = {}): WorldSnapshot => {
  const holding = (w.device ?? null) !== null || (w.mounted ?? false) || (w.composeRunning ?? false);
  return {
    vipHere: false,
    device: null,
    mounted: false,
    composeRunning: false,
    foreignMount: null,
    ownership: holding ? 'ours' : 'unknown',
    owner: holding ? ownRecord(4) : null,
    failedMarker: null,
    maintenanceMarker: false,
    ...w,
  };
};

/** What a node can find at start-up: every class the reconciliation distinguishes. */
const bootWorlds: WorldSnapshot[] = [
  world({}),
  // a VIP left behind by a SIGKILLed keepalived: not ownership, not even MASTER
  world({ vipHere: true }),
  world({ vipHere: true, device: '/dev/rbd0', mounted: true, composeRunning: true }),
  world({ vipHere: true, device: '/dev/rbd0', mounted: true }),
  world({ vipHere: true, device: '/dev/rbd0' }),
  world({ device: '/dev/rbd0', mounted: true, composeRunning: true }),
  // a returning master the peer replaced: the record names the peer
  world({ vipHere: true, device: '/dev/rbd0', mounted: true, composeRunning: true, ownership: 'not-ours', owner: peerRecord(5, 0) }),
  // holding, but Ceph cannot say who owns the image
  world({ device: '/dev/rbd0', mounted: true, ownership: 'unknown', owner: null }),
  // somebody else's filesystem at the mount point
  world({ foreignMount: '/dev/sdz1 (ext4)' }),
  world({ failedMarker: 'release failed before restart' }),
  world({ maintenanceMarker: true }),
  world({ maintenanceMarker: true, device: '/dev/rbd0', mounted: true }),
];

const operatorAndKeepalivedEvents: NodeEvent[] = [
  { type: 'vrrp', state: 'MASTER' },
  { type: 'vrrp', state: 'BACKUP' },
  { type: 'health.healthy' },
  { type: 'health.degraded' },
  { type: 'health.down' },
  { type: 'vrrp', state: 'FAULT' },
  { type: 'io.fenced', detail: 'EIO on /srv/harbor' },
  { type: 'ceph.lost', detail: 'a write did not finish within the deadline' },
  { type: 'switchover' },
  { type: 'maintenance.on' },
  { type: 'maintenance.off' },
  { type: 'resume' },
  { type: 'shutdown', release: true },
  { type: 'shutdown', release: false },
];

/** An observation time that makes `holder` established if this node already knows it, fresh otherwise. */
function observedAtFor(s: NodeSnapshot, holders: Holder[]): number {
  const known = holders.map((h) => s.context.knownHolders.find((k) => k.address === h.address)?.firstSeenAt);
  const firsts = known.filter((t): t is number => t !== undefined);
  return firsts.length === holders.length && firsts.length > 0 ? Math.max(...firsts) + testTiming.holderGraceMs : 0;
}

function observation(s: NodeSnapshot, holders: Holder[]) {
  return { holders, observedAt: observedAtFor(s, holders) };
}

/** A full look at the image; record evidence is old (written at 0) unless `fresh`. */
function look(s: NodeSnapshot, holders: Holder[], ownership: OwnershipView) {
  const obs = observation(s, holders);
  return { ...obs, observedAt: Math.max(obs.observedAt, testTiming.holderGraceMs), ownership };
}

/** Plausible outputs of each invoked step, given what the machine believes. */
function outputsFor(src: string, id: string, s: NodeSnapshot): unknown[] {
  const c = s.context;
  switch (src) {
    case 'readWorld':
      if (s.matches('booting')) return bootWorlds;
      // releasing reads back exactly what the world holds (the fake world checks it)
      return [world({ vipHere: c.vrrp === 'MASTER', ...c.holdings })];
    case 'readHolders':
      return [
        { ...observation(s, []), ownership: NO_OWNERSHIP },
        {
          ...observation(s, [OWN_HOLDER]),
          ownership: { record: ownRecord(2), lock: { id: `harbor-assistant/${OWN_NODE}/2`, locker: 'client.1', address: `${OWN_IP}:0/5` }, lastGeneration: 2 },
        },
        { ...observation(s, [PEER_HOLDER]), ownership: NO_OWNERSHIP },
        // the peer owns it and watches (a crashed master)
        look(s, [PEER_HOLDER], peerOwnership(3, 0)),
        // the peer owns it, its watch expired (cut off from Ceph for longer than the watch timeout)
        look(s, [], peerOwnership(3, 0)),
        // the peer claimed it moments ago (both MASTER): a concurrent winner
        { holders: [], observedAt: 0, ownership: peerOwnership(6, 0, []) },
        // a lock without a record: a takeover cut short between lock and record
        look(s, [], { record: null, lock: peerLock(7), lastGeneration: 7 }),
      ];
    case 'fence':
      return [{ fenced: holdersToFence(c) }];
    case 'verifyFence':
      return [observation(s, []), observation(s, [OTHER_HOLDER])];
    case 'claim':
      return [
        { claimed: true, holder: null },
        { claimed: false, holder: peerLock(9) },
      ];
    case 'map':
      return [{ device: '/dev/rbd0' }];
    case 'record':
      return [{ clients: [OWN_HOLDER.address] }];
    case 'probeFilesystem':
      return [
        { fsType: 'ext4', formattedBefore: true },
        { fsType: null, formattedBefore: false },
        { fsType: null, formattedBefore: true },
      ];
    default:
      return [undefined];
  }
}

/** Every event the node could see in `s`: outside events, and done/error/after of what is active. */
export function modelEvents(s: NodeSnapshot): ModelEvent[] {
  // a stopped actor takes no more events (the pure transition function would still record them)
  if (s.status !== 'active') return [];
  const events: ModelEvent[] = [...operatorAndKeepalivedEvents];
  if (s.value === 'idle') {
    events.push({ type: 'image.holders', ...observation(s, [PEER_HOLDER]), ownership: NO_OWNERSHIP });
    events.push({ type: 'image.holders', ...observation(s, [PEER_HOLDER]), ownership: peerOwnership(3, 0) });
  }
  for (const node of s._nodes) {
    for (const inv of node.invoke) {
      const src = typeof inv.src === 'string' ? inv.src : inv.id;
      for (const output of outputsFor(src, inv.id, s)) {
        events.push({ type: `xstate.done.actor.${inv.id}`, output });
      }
      events.push({ type: `xstate.error.actor.${inv.id}`, error: new Error(`${src} failed (model)`) });
      // a failure no retry fixes (a program missing, the key refused): failed at once, with the fix;
      // offered on a takeover's first attempt only (a release or start-up step fails the same way
      // once its attempts are used up, and the paths are already there)
      if (s.hasTag('takeover') && s.context.attempts === 0)
        events.push({
          type: `xstate.error.actor.${inv.id}`,
          error: Object.assign(new Error(`${src} cannot work here (model)`), { failureClass: 'not-installed', hint: `install what ${src} needs` }),
        });
    }
    for (const delayed of node.after) events.push({ type: delayed.eventType as `xstate.after.${string}` });
  }
  return events;
}

/**
 * The state key: the state value and what the guards can still read from there. Counters are
 * bounded by the test timing (2 attempts, budget 2), so the graph stays finite while give-up
 * paths stay reachable; fields that nothing ahead reads are left out, or every terminal state
 * would be explored once per history that led to it.
 */
export function serializeModelState(s: NodeSnapshot): string {
  const c = s.context;
  const top = typeof s.value === 'string' ? s.value : Object.keys(s.value)[0];
  const lasting = [
    c.failures,
    c.vrrp === 'MASTER',
    c.knownHolders.map((k) => k.address),
    c.knownClaim !== null,
    c.generation !== null,
    c.claimAttempt !== null,
  ];
  switch (top) {
    case 'stopped':
      return JSON.stringify([s.value]);
    case 'failed':
    case 'maintenance':
    case 'fenced':
    case 'idle':
    case 'standing-down':
      return JSON.stringify([s.value, c.releaseFailed, ...lasting]);
    case 'booting':
      return JSON.stringify([s.value, c.attempts, ...lasting]);
    case 'releasing':
      // what was known about the image's holders is read again by the next takeover
      return JSON.stringify([
        s.value,
        c.attempts,
        c.exitTo,
        c.releaseFailed,
        c.holdings.composeRunning,
        c.holdings.device !== null || c.holdings.mounted,
        c.generation !== null || c.claimAttempt !== null,
        c.failures,
        c.vrrp === 'MASTER',
      ]);
    default:
      return JSON.stringify([
        s.value,
        c.attempts,
        c.fenceRounds,
        c.exitTo,
        c.releaseFailed,
        // what the release survey reads back: Harbor running, anything held
        c.holdings.composeRunning,
        c.holdings.device !== null || c.holdings.mounted,
        foreignHolders(c.holders, c.ownAddresses).length,
        // Harbor's answer while compose up runs decides where compose up's end leads
        s.hasTag('harbor-starting') ? c.health : null,
        ...lasting,
      ]);
  }
}

export function createNodeTestModel() {
  return new TestModel(nodeMachine, {
    events: (s) => modelEvents(s) as unknown as NodeEvent[],
    serializeState: (s) => serializeModelState(s),
    input: modelInput,
  });
}
