import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitnessInputOf, nodeMachine } from '../../src/machine/index.js';
import { fitnessInputAt } from '../support/views.js';
import { ownLockId } from '../../src/guards/ownership.js';
import { NO_OWNERSHIP, OTHER_HOLDER, OWN_HOLDER, OWN_NODE, PEER_HOLDER, PEER_IP, peerOwnership, peerRecord, testTiming } from '../support/timing.js';
import { drivePath, flatValue, pathFromEvents } from './drive.js';
import { world, type ModelEvent } from './node-model.js';

const done = (id: string, output?: unknown): ModelEvent => ({ type: `xstate.done.actor.${id}`, output });
const fail = (id: string): ModelEvent => ({ type: `xstate.error.actor.${id}`, error: new Error(`${id} failed`) });
const after = (delay: string, stateId: string): ModelEvent => ({ type: `xstate.after.${delay}.node.${stateId}` });
const grace = testTiming.holderGraceMs;

/** Standby that has watched the peer hold the image, then wins the VIP. */
const standbyBecomesMaster: ModelEvent[] = [
  done('readWorld', world()),
  { type: 'image.holders', holders: [PEER_HOLDER], observedAt: 0, ownership: NO_OWNERSHIP },
  { type: 'vrrp', state: 'MASTER' },
];
const claimed = done('claim', { claimed: true, holder: null });
const serveAfterMap: ModelEvent[] = [
  claimed,
  done('map', { device: '/dev/rbd0' }),
  done('record', { clients: [OWN_HOLDER.address] }),
  done('probeFilesystem', { fsType: 'ext4', formattedBefore: true }),
  done('fsck'),
  done('mount'),
  done('composeUp'),
  { type: 'health.healthy' },
];

async function run(events: ModelEvent[], machine = nodeMachine) {
  const result = await drivePath(pathFromEvents(events, machine), machine);
  const finalState = flatValue(pathFromEvents(events, machine).state.value);
  return { ...result, finalState };
}

test('master crash: the standby fences the long-standing holder, verifies, then maps and serves', async () => {
  const r = await run([
    ...standbyBecomesMaster,
    done('readHolders', { holders: [PEER_HOLDER, OWN_HOLDER], observedAt: grace, ownership: NO_OWNERSHIP }),
    done('fence', { fenced: [PEER_HOLDER.address] }),
    done('verifyFence', { holders: [], observedAt: grace + 10 }),
    ...serveAfterMap,
  ]);
  assert.deepEqual(r.violations, []);
  assert.equal(r.finalState, 'active.serving.healthy');
  assert.deepEqual(r.calls, ['readWorld', 'readHolders', 'fence', 'verifyFence', 'claim', 'map', 'record', 'probeFilesystem', 'fsck', 'mount', 'composeUp']);
});

test('Harbor answering while compose up still runs: served as compose up returns, not a probe later; a stale verdict does not count', async () => {
  const takeoverUntilCompose: ModelEvent[] = [
    done('readWorld', world({ vipHere: true })),
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [], observedAt: 0, ownership: NO_OWNERSHIP }),
    ...serveAfterMap.slice(0, -2),
  ];
  const early = await run([...takeoverUntilCompose, { type: 'health.healthy' }, done('composeUp')]);
  assert.deepEqual(early.violations, []);
  assert.equal(early.finalState, 'active.serving.healthy');
  const degraded = await run([...takeoverUntilCompose, { type: 'health.degraded' }, done('composeUp')]);
  assert.equal(degraded.finalState, 'active.serving.degraded');
  // healthy before compose up began (an earlier serving's verdict) is forgotten when starting begins
  const stale = await run([
    done('readWorld', world({ vipHere: true })),
    { type: 'vrrp', state: 'MASTER' },
    { type: 'health.healthy' },
    done('readHolders', { holders: [], observedAt: 0, ownership: NO_OWNERSHIP }),
    ...serveAfterMap.slice(0, -2),
    done('composeUp'),
  ]);
  assert.equal(stale.finalState, 'active.starting.waiting-healthy');
  // an answer and then a verdict of down: compose up's end waits for the prober again
  const wentDown = await run([...takeoverUntilCompose, { type: 'health.healthy' }, { type: 'health.down' }, done('composeUp')]);
  assert.equal(wentDown.finalState, 'active.starting.waiting-healthy');
  // a healthy answer does not make a failed compose up a success
  const failed = await run([...takeoverUntilCompose, { type: 'health.healthy' }, fail('composeUp')]);
  assert.equal(failed.finalState, 'active.starting.composing.backoff');
});

test('a holder seen for the first time is given the grace before it is fenced (S5)', async () => {
  const r = await run([
    done('readWorld', world({ vipHere: true })),
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [OTHER_HOLDER], observedAt: 0, ownership: NO_OWNERSHIP }),
  ]);
  assert.equal(r.finalState, 'active.acquiring-rbd.settling');
  assert.ok(!r.calls.includes('fence'));
  const gone = await run([
    done('readWorld', world({ vipHere: true })),
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [OTHER_HOLDER], observedAt: 0, ownership: NO_OWNERSHIP }),
    after('holderGrace', 'active.acquiring-rbd.settling'),
    done('readHolders', { holders: [], observedAt: grace, ownership: NO_OWNERSHIP }),
  ]);
  assert.equal(gone.finalState, 'active.claiming.running', 'the holder left on its own: no fencing needed');
  assert.ok(!gone.calls.includes('fence'));
});

test('planned switchover releases in order and stands down without fencing anybody', async () => {
  const r = await run([
    done('readWorld', world({ vipHere: true })),
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [], observedAt: 0, ownership: NO_OWNERSHIP }),
    ...serveAfterMap,
    { type: 'switchover' },
    done('readWorld', world({ vipHere: true, device: '/dev/rbd0', mounted: true, composeRunning: true })),
    done('composeDown'),
    done('unmount'),
    done('unmap'),
    done('disown'),
  ]);
  assert.deepEqual(r.violations, []);
  assert.equal(r.finalState, 'standing-down');
  assert.deepEqual(r.calls.slice(-5), ['readWorld', 'composeDown', 'unmount', 'unmap', 'disown']);
  assert.ok(!r.calls.includes('fence'));
});

test('a service restart on the serving master resumes serving without touching Harbor', async () => {
  const r = await run([done('readWorld', world({ vipHere: true, device: '/dev/rbd0', mounted: true, composeRunning: true }))]);
  assert.equal(r.finalState, 'active.serving.healthy');
  assert.deepEqual(r.calls, ['readWorld']);
});

test('a restart mid-takeover without the VIP undoes what is held', async () => {
  const r = await run([
    done('readWorld', world({ device: '/dev/rbd0', mounted: true })),
    done('readWorld', world({ device: '/dev/rbd0', mounted: true })),
    done('unmount'),
    done('unmap'),
    done('disown'),
  ]);
  assert.deepEqual(r.violations, []);
  assert.equal(r.finalState, 'idle');
});

test('a failed release lands in failed, reports why, and never maps again until resume (S4)', async () => {
  const events: ModelEvent[] = [
    done('readWorld', world({ vipHere: true })),
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [], observedAt: 0, ownership: NO_OWNERSHIP }),
    ...serveAfterMap,
    { type: 'vrrp', state: 'FAULT' },
    done('readWorld', world({ device: '/dev/rbd0', mounted: true, composeRunning: true })),
    done('composeDown'),
    fail('unmount'),
    after('retryBackoff', 'releasing.unmounting.backoff'),
    fail('unmount'),
    { type: 'vrrp', state: 'MASTER' },
  ];
  const r = await run(events);
  assert.deepEqual(r.violations, []);
  assert.equal(r.finalState, 'failed');
  const path = pathFromEvents(events);
  assert.match(path.state.context.reason, /release failed.*unmount/);
  assert.ok(!r.calls.slice(r.calls.lastIndexOf('unmount')).includes('map'));
});

test('a hand-over release whose step fails gives the VIP up at once (the peer fences), and the next release starts clean', async () => {
  const { fitnessOf } = await import('../../src/guards/fitness.js');
  const fit = (events: ModelEvent[]): boolean => {
    return fitnessOf(fitnessInputOf(pathFromEvents(events).state), null, 0, 1).fit;
  };
  const harborDownWhileServing: ModelEvent[] = [
    done('readWorld', world({ vipHere: true, device: '/dev/rbd0', mounted: true, composeRunning: true })),
    { type: 'vrrp', state: 'MASTER' },
    { type: 'health.down' },
  ];
  assert.equal(fit(harborDownWhileServing), true, 'a clean hand-over keeps the VIP until everything is given back');
  const stalled: ModelEvent[] = [
    ...harborDownWhileServing,
    done('readWorld', world({ vipHere: true, device: '/dev/rbd0', mounted: true, composeRunning: true })),
    fail('composeDown'),
  ];
  assert.equal(pathFromEvents(stalled).state.context.releaseStalled, true);
  assert.equal(fit(stalled), false, 'compose down failed once: the VIP goes to the peer now');
  const finished: ModelEvent[] = [
    ...stalled,
    after('retryBackoff', 'releasing.stopping-harbor.backoff'),
    done('composeDown'),
    done('unmount'),
    done('unmap'),
    done('disown'),
  ];
  const r = await run(finished);
  assert.deepEqual(r.violations, []);
  assert.equal(fit(finished), false, 'released, still MASTER: standing down');
  // the next hand-over begins clean: it keeps the VIP again until its own step fails
  const again: ModelEvent[] = [
    ...finished,
    { type: 'vrrp', state: 'BACKUP' },
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [], observedAt: 0, ownership: NO_OWNERSHIP }),
    ...serveAfterMap,
    { type: 'health.down' },
  ];
  assert.match(flatValue(pathFromEvents(again).state.value), /^releasing\./);
  assert.equal(fit(again), true);
});

test('fenced by the peer: release as a dead client, cool down, fence nobody meanwhile (S5)', async () => {
  const events: ModelEvent[] = [
    done('readWorld', world({ vipHere: true })),
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [], observedAt: 0, ownership: NO_OWNERSHIP }),
    ...serveAfterMap,
    { type: 'io.fenced', detail: 'EIO' },
    done('readWorld', world({ vipHere: true, device: '/dev/loop0', mounted: true, composeRunning: true })),
    done('composeDown'),
    done('unmount'),
    done('unmap'),
    { type: 'vrrp', state: 'MASTER' },
  ];
  const r = await run(events);
  assert.deepEqual(r.violations, []);
  assert.equal(r.finalState, 'fenced');
  const unmap = r.callInputs.filter((c) => c.actor === 'unmap');
  assert.deepEqual(unmap, [{ actor: 'unmap', input: { device: '/dev/loop0', force: false, fenced: true } }]);
  const unmount = r.callInputs.find((c) => c.actor === 'unmount');
  assert.deepEqual(unmount?.input, { device: '/dev/loop0', fenced: true });
});

test('the invariant checker catches a machine that maps without fencing (S2)', async () => {
  const broken = nodeMachine.provide({ guards: { nothingToFence: () => true } });
  const r = await run(
    [
      ...standbyBecomesMaster,
      done('readHolders', { holders: [PEER_HOLDER], observedAt: grace, ownership: NO_OWNERSHIP }),
      claimed,
      done('map', { device: '/dev/rbd0' }),
    ],
    broken,
  );
  assert.ok(
    r.violations.some((v) => v.startsWith('S2')),
    r.violations.join('\n'),
  );
});

test('the invariant checker catches a release that skips compose down (S3)', async () => {
  const broken = nodeMachine.provide({ guards: { composeRunning: () => false } });
  const r = await run(
    [
      done('readWorld', world({ device: '/dev/rbd0', mounted: true, composeRunning: true })),
      done('readWorld', world({ device: '/dev/rbd0', mounted: true, composeRunning: true })),
    ],
    broken,
  );
  assert.ok(
    r.violations.some((v) => v.startsWith('S3')),
    r.violations.join('\n'),
  );
});

test("storage partition: the master's watch expired, the record still names it; the standby fences the recorded client before it maps", async () => {
  const events: ModelEvent[] = [
    done('readWorld', world()),
    // the standby has known the peer's claim for a while
    { type: 'image.holders', holders: [PEER_HOLDER], observedAt: 0, ownership: peerOwnership(3, 0) },
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [], observedAt: 10, ownership: peerOwnership(3, 0) }),
    done('fence', { fenced: [PEER_HOLDER.address] }),
    done('verifyFence', { holders: [], observedAt: 20 }),
    ...serveAfterMap,
  ];
  const r = await run(events);
  assert.deepEqual(r.violations, []);
  assert.equal(r.finalState, 'active.serving.healthy');
  assert.deepEqual(r.callInputs.find((c) => c.actor === 'fence')?.input, { addresses: [PEER_HOLDER.address] }, 'no watcher, yet the recorded client is fenced');
  const claim = r.callInputs.find((c) => c.actor === 'claim')?.input as { generation: number; breakLock: { id: string } | null };
  assert.equal(claim.generation, 4, 'the next generation');
  assert.equal(claim.breakLock?.id, 'harbor-assistant/peer/3', "the fenced owner's lock is broken, not ignored");
  // the record written while mapped is ours: a crash of this node is fenced by the peer the same way
  assert.equal(pathFromEvents(events).state.context.generation, 4);
});

test('the same partition with the record check removed maps next to a live writer: the invariant checker says S2', async () => {
  const broken = nodeMachine.provide({
    guards: {
      nothingToFence: ({ context }, p: { observation: { holders: Array<{ address: string }> } }) =>
        p.observation.holders.every((h) => context.ownAddresses.some((ip) => h.address.startsWith(`${ip}:`))),
    },
  });
  const r = await run(
    [
      done('readWorld', world()),
      { type: 'image.holders', holders: [PEER_HOLDER], observedAt: 0, ownership: peerOwnership(3, 0) },
      { type: 'vrrp', state: 'MASTER' },
      done('readHolders', { holders: [], observedAt: 10, ownership: peerOwnership(3, 0) }),
      claimed,
      done('map', { device: '/dev/rbd0' }),
    ],
    broken,
  );
  assert.ok(
    r.violations.some((v) => /S2: map while the recorded owner peer#3/.test(v)),
    r.violations.join('\n'),
  );
});

test('both MASTER: a claim that appeared during our own takeover is a winner, not a corpse: yield, fence nobody, unfit', async () => {
  const events: ModelEvent[] = [
    done('readWorld', world()),
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [], observedAt: 5, ownership: peerOwnership(6, 0, []) }),
  ];
  const r = await run(events);
  assert.deepEqual(r.violations, []);
  assert.equal(r.finalState, 'yielding.waiting');
  assert.ok(!r.calls.includes('fence') && !r.calls.includes('claim'));
  const { fitnessOf } = await import('../../src/guards/fitness.js');
  assert.equal(fitnessOf(fitnessInputAt('yielding'), null, 0, 1).fit, false);
  // losing the atomic lock itself lands in the same place
  const lost = await run([
    done('readWorld', world()),
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [], observedAt: 5, ownership: NO_OWNERSHIP }),
    done('claim', { claimed: false, holder: null }),
  ]);
  assert.equal(lost.finalState, 'yielding.waiting');
  assert.ok(!lost.calls.includes('map'));
  // and the checker catches a machine that fences such a winner
  const warring = nodeMachine.provide({ guards: { concurrentClaim: () => false, readyToFence: () => true } });
  const war = await run(events, warring);
  assert.ok(
    war.violations.some((v) => /S5: fencing .* a claim made during this takeover/.test(v)),
    war.violations.join('\n'),
  );
});

test('a claim cut short by VRRP (the lock may be taken, no record yet): the release removes our lock of that generation, or the peer would yield to a claim nobody makes', async () => {
  const cutShort: ModelEvent[] = [
    done('readWorld', world()),
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [], observedAt: 0, ownership: NO_OWNERSHIP }),
    { type: 'vrrp', state: 'BACKUP' },
    done('readWorld', world()),
  ];
  const r = await run([...cutShort, done('disown')]);
  assert.deepEqual(r.violations, []);
  assert.equal(r.finalState, 'idle');
  const disown = r.callInputs.find((c) => c.actor === 'disown');
  assert.deepEqual(disown?.input, { generation: 1, lockId: ownLockId(OWN_NODE, 1) });
  // the next takeover claims afresh: nothing of the cut-short claim is taken for held
  const again = await run([
    ...cutShort,
    done('disown'),
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [], observedAt: 0, ownership: NO_OWNERSHIP }),
    claimed,
  ]);
  assert.equal(again.finalState, 'active.mounting.mapping.running');
  // a release that only removes what a finished claim holds goes straight to released, leaving the lock
  const forgetful = nodeMachine.provide({ guards: { holdsClaim: ({ context }) => context.generation !== null } });
  const left = await run(cutShort, forgetful);
  assert.equal(left.finalState, 'idle');
  assert.ok(!left.calls.includes('disown'));
  // lost the race instead: the lock is the peer's, nothing of ours to remove
  const lost = await run([...cutShort.slice(0, 3), done('claim', { claimed: false, holder: null })]);
  assert.equal(lost.finalState, 'yielding.waiting');
  assert.equal(pathFromEvents([...cutShort.slice(0, 3), done('claim', { claimed: false, holder: null })]).state.context.claimAttempt, null);
});

test('a VIP left on the interface is not ownership: start-up with only the VIP stays idle', async () => {
  const r = await run([done('readWorld', world({ vipHere: true }))]);
  assert.equal(r.finalState, 'idle');
});

test('a returning master whose record names the peer releases as a fenced node and cools down', async () => {
  const held = { vipHere: true, device: '/dev/rbd0', mounted: true, composeRunning: true };
  const r = await run([
    done('readWorld', world({ ...held, ownership: 'not-ours', owner: peerRecord(5, 0) })),
    done('readWorld', world({ ...held, ownership: 'not-ours', owner: peerRecord(5, 0) })),
    done('composeDown'),
    done('unmount'),
    done('unmap'),
  ]);
  assert.deepEqual(r.violations, []);
  assert.equal(r.finalState, 'fenced');
  assert.ok(!r.calls.includes('disown'), "the peer's record is not touched");
  assert.deepEqual(r.callInputs.find((c) => c.actor === 'unmap')?.input, { device: '/dev/rbd0', force: false, fenced: true });
});

test('a foreign filesystem at the mount point at start-up: failed with the mount named; nothing unmounted', async () => {
  const events: ModelEvent[] = [done('readWorld', world({ foreignMount: '/dev/sdz1 (ext4)' }))];
  const r = await run(events);
  assert.equal(r.finalState, 'failed');
  assert.deepEqual(r.calls, ['readWorld']);
  assert.match(pathFromEvents(events).state.context.reason, /\/dev\/sdz1 \(ext4\) is mounted at the mount point/);
});

test('yielded to a claim: a claimant that shows life is waited out; one that never mapped is fenced after the grace, not after the cool-down', async () => {
  const yielded: ModelEvent[] = [
    done('readWorld', world()),
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [], observedAt: 5, ownership: peerOwnership(6, 0, []) }),
    after('holderGrace', 'yielding.waiting'),
  ];
  // the winner mapped: its watch is on the image, so this node keeps out (S5)
  const alive = await run([...yielded, done('readHolders', { holders: [PEER_HOLDER], observedAt: 5 + grace, ownership: peerOwnership(6, 0) })]);
  assert.deepEqual(alive.violations, []);
  assert.equal(alive.finalState, 'yielding.waiting');
  assert.ok(!alive.calls.includes('fence'));
  // too early to judge: looked again later, not given up on
  const early = await run([...yielded, done('readHolders', { holders: [], observedAt: 5 + grace - 1, ownership: peerOwnership(6, 0, []) })]);
  assert.equal(early.finalState, 'yielding.waiting');
  // a Ceph read that fails keeps it out as well
  const unreadable = await run([...yielded, fail('readHolders')]);
  assert.equal(unreadable.finalState, 'yielding.looking.backoff');
  // the winner died between its claim and its map: no watch of its own after the grace; still MASTER,
  // so this node takes over at once and fences the recorded owner's host
  const dead = await run([
    ...yielded,
    done('readHolders', { holders: [], observedAt: 5 + grace, ownership: peerOwnership(6, 0, []) }),
    done('readHolders', { holders: [], observedAt: 6 + grace, ownership: peerOwnership(6, 0, []) }),
    done('fence', { fenced: [PEER_IP] }),
    done('verifyFence', { holders: [], observedAt: 7 + grace }),
    claimed,
    ...serveAfterMap.slice(1),
  ]);
  assert.deepEqual(dead.violations, []);
  assert.equal(dead.finalState, 'active.serving.healthy');
  assert.deepEqual(
    dead.calls.filter((c) => c === 'fence' || c === 'claim'),
    ['fence', 'claim'],
  );
});

test('lost Ceph while serving: unfit at once (not after the release), released as lostCeph, then stands down (no new takeover while MASTER)', async () => {
  const events: ModelEvent[] = [
    done('readWorld', world({ vipHere: true, device: '/dev/rbd0', mounted: true, composeRunning: true })),
    { type: 'ceph.lost', detail: 'no answer for 5000 ms' },
  ];
  const during = pathFromEvents(events).state;
  const { fitnessOf } = await import('../../src/guards/fitness.js');
  assert.equal(fitnessOf(fitnessInputOf(during), null, 0, 1).fit, false);
  const r = await run([
    ...events,
    done('readWorld', world({ vipHere: true, device: '/dev/rbd0', mounted: true, composeRunning: true })),
    done('composeDown'),
    done('unmount'),
    done('unmap'),
  ]);
  assert.deepEqual(r.violations, []);
  assert.equal(r.finalState, 'standing-down');
  assert.ok(!r.calls.includes('disown'), 'Ceph is unreachable: no disown');
  assert.deepEqual(r.callInputs.find((c) => c.actor === 'unmount')?.input, { device: '/dev/rbd0', fenced: true });
});

test('serving, VRRP BACKUP: keep serving for the grace; MASTER again within it means no release at all', async () => {
  const serving: ModelEvent[] = [
    done('readWorld', world({ vipHere: true, device: '/dev/rbd0', mounted: true, composeRunning: true })),
    { type: 'vrrp', state: 'MASTER' },
  ];
  const back = await run([...serving, { type: 'vrrp', state: 'BACKUP' }, { type: 'vrrp', state: 'MASTER' }]);
  assert.equal(back.finalState, 'active.serving.healthy');
  assert.deepEqual(back.calls, ['readWorld']);
  const gone = await run([...serving, { type: 'vrrp', state: 'BACKUP' }, after('vipLossGrace', 'active.vip-lost')]);
  assert.equal(gone.finalState, 'releasing.surveying.running');
});

test('failure classes: on every step, not installed or misconfigured makes the node failed at once with the fix; transient is retried', async () => {
  const failing = (step: string, failureClass: string, hint: string): ModelEvent => ({
    type: `xstate.error.actor.${step}`,
    error: Object.assign(new Error(`${step} exited with code 2: it cannot work here`), { failureClass, hint }),
  });
  const master = [done('readWorld', world({ vipHere: true })), { type: 'vrrp', state: 'MASTER' }] as ModelEvent[];
  const free = done('readHolders', { holders: [], observedAt: 0, ownership: NO_OWNERSHIP });
  const held = done('readHolders', { holders: [PEER_HOLDER, OWN_HOLDER], observedAt: grace, ownership: NO_OWNERSHIP });
  const upTo: Record<string, ModelEvent[]> = {
    readHolders: [...master],
    fence: [...standbyBecomesMaster, held],
    verifyFence: [...standbyBecomesMaster, held, done('fence', { fenced: [PEER_HOLDER.address] })],
    claim: [...master, free],
    map: [...master, free, claimed],
    record: [...master, free, claimed, done('map', { device: '/dev/rbd0' })],
    probeFilesystem: [...master, free, ...serveAfterMap.slice(0, 3)],
    format: [...master, free, ...serveAfterMap.slice(0, 3), done('probeFilesystem', { fsType: null, formattedBefore: false })],
    fsck: [...master, free, ...serveAfterMap.slice(0, 4)],
    mount: [...master, free, ...serveAfterMap.slice(0, 5)],
    composeUp: [...master, free, ...serveAfterMap.slice(0, 6)],
  };
  const classes = [
    ['not-installed', 'apt-get install rbd-fuse'],
    ['misconfigured', 'Ceph refused client.harbor: check CEPH_USER and CEPH_USER_KEY'],
  ] as const;
  for (const [step, prefix] of Object.entries(upTo)) {
    assert.equal(flatValue(pathFromEvents(prefix).state.value).split('.').at(-1), 'running', `${step} runs at the end of its prefix`);
    assert.ok(pathFromEvents(prefix).state.children[step], `${step} is the step running`);
    for (const [failureClass, hint] of classes) {
      const events = [...prefix, failing(step, failureClass, hint)];
      const r = await run(events);
      assert.deepEqual(r.violations, []);
      const { context } = pathFromEvents(events).state;
      assert.match(r.finalState, /^releasing\./, `${step} ${failureClass}: released at once, no backoff`);
      assert.equal(context.exitTo, 'failed', `${step} ${failureClass}: failed after the release, not back to standby`);
      assert.ok(context.reason.startsWith(`needs an operator (${failureClass}): ${step}:`), context.reason);
      assert.ok(context.reason.includes(`hint: ${hint}`), `${step}: the fix is in the reason (status, journal, failed marker)`);
    }
    // transient: the same step is tried again after the backoff
    const transient = await run([...prefix, failing(step, 'transient', 'wait')]);
    assert.match(transient.finalState, /\.backoff$/, `${step} transient: retried`);
  }

  // the release from such a failure ends in failed, with the fix kept
  const mapFailed = [...(upTo.map ?? []), failing('map', 'not-installed', 'the rbd kernel module is missing: run `modprobe rbd` on the host')];
  const released = [...mapFailed, done('readWorld', world({ vipHere: true })), done('disown')];
  const r = await run(released);
  assert.deepEqual(r.violations, []);
  assert.equal(r.finalState, 'failed');
  assert.match(pathFromEvents(released).state.context.reason, /needs an operator \(not-installed\): map: .*\nhint: .*modprobe rbd/s);

  // release and start-up steps: failed at once (S4: never map again without an operator), no backoff
  const serving = [
    done('readWorld', world({ vipHere: true, device: '/dev/rbd0', mounted: true, composeRunning: true })),
    { type: 'vrrp', state: 'MASTER' },
  ] as ModelEvent[];
  const releasing = [...serving, { type: 'switchover' }] as ModelEvent[];
  const surveyed = done('readWorld', world({ vipHere: true, device: '/dev/rbd0', mounted: true, composeRunning: true }));
  const releaseUpTo: Record<string, ModelEvent[]> = {
    readWorld: releasing,
    composeDown: [...releasing, surveyed],
    unmount: [...releasing, surveyed, done('composeDown')],
    unmap: [...releasing, surveyed, done('composeDown'), done('unmount')],
  };
  for (const [step, prefix] of Object.entries(releaseUpTo)) {
    for (const [failureClass, hint] of classes) {
      const events = [...prefix, failing(step, failureClass, hint)];
      assert.equal(flatValue(pathFromEvents(events).state.value), 'failed', `release ${step} ${failureClass}`);
      assert.match(pathFromEvents(events).state.context.reason, new RegExp(`release failed.*${step}:.*hint: ${hint}`, 's'));
    }
  }
  for (const [failureClass, hint] of classes) {
    const boot = [failing('readWorld', failureClass, hint)];
    assert.equal(flatValue(pathFromEvents(boot).state.value), 'failed', `start-up ${failureClass}`);
  }
});

test('a hand-over that loses Ceph or is fenced midway stops being graceful: unfit at once, Harbor killed, the rest released as dead', async () => {
  const { fitnessOf } = await import('../../src/guards/fitness.js');
  const serving: ModelEvent[] = [
    done('readWorld', world({ vipHere: true })),
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [], observedAt: 0, ownership: NO_OWNERSHIP }),
    ...serveAfterMap,
  ];
  const surveyed = done('readWorld', world({ vipHere: true, device: '/dev/rbd0', mounted: true, composeRunning: true }));
  const fitAfter = (events: ModelEvent[]) => fitnessOf(fitnessInputOf(pathFromEvents(events).state), null, 0, 1);
  const composeDownInput = (events: ModelEvent[]) =>
    (pathFromEvents(events).state.children.composeDown?.getSnapshot() as { input?: unknown } | undefined)?.input;
  const tagsAt = (events: ModelEvent[]) => [...pathFromEvents(events).state.tags];

  // a graceful hand-over (Harbor went down) keeps the VIP while it can finish, Harbor stopped gracefully
  const handOver = [...serving, { type: 'health.down' }, surveyed] as ModelEvent[];
  assert.equal(fitAfter(handOver).fit, true);
  assert.deepEqual(composeDownInput(handOver), { dead: false });
  // the watchdog runs through the release: the survey and compose down with writes, unmount and unmap on the record alone
  assert.ok(tagsAt(handOver).includes('watchdog'));
  assert.ok(tagsAt([...handOver, done('composeDown')]).includes('ceph-watch'));
  assert.ok(!tagsAt([...handOver, done('composeDown')]).includes('watchdog'), 'no probe writes while unmounting');

  for (const [lost, exit] of [
    [{ type: 'ceph.lost', detail: 'the I/O probe missed its deadline' }, 'standing-down'],
    [{ type: 'io.fenced', detail: 'EIO' }, 'fenced'],
  ] as const) {
    // it loses its data path while compose down waits on containers stuck on it
    const midway = [...handOver, lost];
    const fitness = fitAfter(midway);
    assert.equal(fitness.fit, false, `${lost.type} midway: unfit at once (${fitness.why})`);
    // the graceful compose down is not waited out: the release starts over on the dead path
    assert.equal(flatValue(pathFromEvents(midway).state.value), 'releasing.surveying.running');
    assert.deepEqual(composeDownInput([...midway, surveyed]), { dead: true }, 'Harbor is killed, not stopped');
    // a release that begins on a dead path kills Harbor instead of waiting out the stop grace
    assert.deepEqual(composeDownInput([...serving, lost, surveyed]), { dead: true });
    const r = await run([...midway, surveyed, done('composeDown'), done('unmount'), done('unmap')]);
    assert.deepEqual(r.violations, []);
    assert.equal(r.finalState, exit);
    assert.deepEqual(
      r.calls.filter((c) => c === 'composeDown'),
      ['composeDown', 'composeDown'],
      'the graceful stop was aborted and a kill started',
    );
    assert.ok(!r.calls.includes('disown'), 'a dead client does not disown: the peer fences it');

    // a graceful release past Harbor (unmounting, unmapping, disowning) starts over too: the
    // survey finds what is still held and the rest is released as dead, with no Ceph call
    const unmapped = [...handOver, done('composeDown'), done('unmount'), done('unmap')];
    assert.equal(flatValue(pathFromEvents(unmapped).state.value), 'releasing.disowning.running', 'a graceful release disowns');
    const lateLoss = await run([...unmapped, lost, done('readWorld', world({ vipHere: true }))]);
    assert.deepEqual(lateLoss.violations, []);
    assert.equal(lateLoss.finalState, exit, 'the disown in flight is abandoned');
  }

  // a service stop keeps its destination, but its release stops waiting on the dead path
  const stop = [...serving, { type: 'shutdown', release: true }, surveyed] as ModelEvent[];
  assert.deepEqual(composeDownInput(stop), { dead: false });
  const stopLost = [...stop, { type: 'ceph.lost', detail: 'the I/O probe missed its deadline' }, surveyed] as ModelEvent[];
  assert.deepEqual(composeDownInput(stopLost), { dead: true });
  assert.equal(fitAfter(stopLost).fit, false);
  const stopped = await run([...stopLost, done('composeDown'), done('unmount'), done('unmap')]);
  assert.deepEqual(stopped.violations, []);
  assert.equal(stopped.finalState, 'stopped');
  // a second loss on an already dead path changes nothing and restarts nothing
  const twice = [...stopLost, { type: 'io.fenced', detail: 'EIO' }] as ModelEvent[];
  assert.equal(flatValue(pathFromEvents(twice).state.value), 'releasing.stopping-harbor.running');
});
