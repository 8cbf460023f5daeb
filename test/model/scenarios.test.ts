import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeMachine } from '../../src/machine/index.js';
import { NO_OWNERSHIP, OTHER_HOLDER, OWN_HOLDER, PEER_HOLDER, peerOwnership, testTiming } from '../support/timing.js';
import { drivePath, flatValue, pathFromEvents } from './drive.js';
import { world, type ModelEvent } from './node-model.js';

const done = (id: string, output?: unknown): ModelEvent => ({ type: `xstate.done.actor.${id}`, output });
const fail = (id: string): ModelEvent => ({ type: `xstate.error.actor.${id}`, error: new Error(`${id} failed`) });
const after = (delay: string, stateId: string): ModelEvent => ({ type: `xstate.after.${delay}.node.${stateId}` });
const grace = testTiming.holderGraceMs;

/** Standby that has watched the peer hold the image, then wins the VIP. */
const standbyBecomesMaster: ModelEvent[] = [
  done('reconcile', world()),
  { type: 'image.holders', holders: [PEER_HOLDER], observedAt: 0, ownership: NO_OWNERSHIP },
  { type: 'vrrp', state: 'MASTER' },
];
const claimed = done('claimOwnership', { claimed: true, holder: null });
const serveAfterMap: ModelEvent[] = [
  claimed,
  done('mapImage', { device: '/dev/rbd0' }),
  done('recordOwner', { clients: [OWN_HOLDER.address] }),
  done('probeFilesystem', { fsType: 'ext4', formattedBefore: true }),
  done('checkFilesystem'),
  done('mountFilesystem'),
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
    done('fenceHolders', { fenced: [PEER_HOLDER.address] }),
    done('verifyFenced', { holders: [], observedAt: grace + 10 }),
    ...serveAfterMap,
  ]);
  assert.deepEqual(r.violations, []);
  assert.equal(r.finalState, 'active.serving.healthy');
  assert.deepEqual(r.calls, ['readWorld', 'readHolders', 'fenceHolders', 'verifyFenced', 'claimOwnership', 'mapImage', 'recordOwner', 'probeFilesystem', 'checkFilesystem', 'mountFilesystem', 'composeUp']);
});

test('a holder seen for the first time is given the grace before it is fenced (S5)', async () => {
  const r = await run([
    done('reconcile', world({ vipHere: true })),
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [OTHER_HOLDER], observedAt: 0, ownership: NO_OWNERSHIP }),
  ]);
  assert.equal(r.finalState, 'active.acquiring-rbd.settling');
  assert.ok(!r.calls.includes('fenceHolders'));
  const gone = await run([
    done('reconcile', world({ vipHere: true })),
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [OTHER_HOLDER], observedAt: 0, ownership: NO_OWNERSHIP }),
    after('holderGrace', 'active.acquiring-rbd.settling'),
    done('readHolders', { holders: [], observedAt: grace, ownership: NO_OWNERSHIP }),
  ]);
  assert.equal(gone.finalState, 'active.claiming.running', 'the holder left on its own: no fencing needed');
  assert.ok(!gone.calls.includes('fenceHolders'));
});

test('planned switchover releases in order and stands down without fencing anybody', async () => {
  const r = await run([
    done('reconcile', world({ vipHere: true })),
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [], observedAt: 0, ownership: NO_OWNERSHIP }),
    ...serveAfterMap,
    { type: 'switchover' },
    done('survey', world({ vipHere: true, device: '/dev/rbd0', mounted: true, composeRunning: true })),
    done('composeDown'),
    done('unmountFilesystem'),
    done('unmapImage'),
    done('releaseOwnership'),
  ]);
  assert.deepEqual(r.violations, []);
  assert.equal(r.finalState, 'standing-down');
  assert.deepEqual(r.calls.slice(-5), ['readWorld', 'composeDown', 'unmountFilesystem', 'unmapImage', 'releaseOwnership']);
  assert.ok(!r.calls.includes('fenceHolders'));
});

test('a service restart on the serving master resumes serving without touching Harbor', async () => {
  const r = await run([done('reconcile', world({ vipHere: true, device: '/dev/rbd0', mounted: true, composeRunning: true }))]);
  assert.equal(r.finalState, 'active.serving.healthy');
  assert.deepEqual(r.calls, ['readWorld']);
});

test('a restart mid-takeover without the VIP undoes what is held', async () => {
  const r = await run([
    done('reconcile', world({ device: '/dev/rbd0', mounted: true })),
    done('survey', world({ device: '/dev/rbd0', mounted: true })),
    done('unmountFilesystem'),
    done('unmapImage'),
    done('releaseOwnership'),
  ]);
  assert.deepEqual(r.violations, []);
  assert.equal(r.finalState, 'idle');
});

test('a failed release lands in failed, reports why, and never maps again until resume (S4)', async () => {
  const events: ModelEvent[] = [
    done('reconcile', world({ vipHere: true })),
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [], observedAt: 0, ownership: NO_OWNERSHIP }),
    ...serveAfterMap,
    { type: 'vrrp', state: 'FAULT' },
    done('survey', world({ device: '/dev/rbd0', mounted: true, composeRunning: true })),
    done('composeDown'),
    fail('unmountFilesystem'),
    after('retryBackoff', 'releasing.unmounting.backoff'),
    fail('unmountFilesystem'),
    { type: 'vrrp', state: 'MASTER' },
  ];
  const r = await run(events);
  assert.deepEqual(r.violations, []);
  assert.equal(r.finalState, 'failed');
  const path = pathFromEvents(events);
  assert.match(path.state.context.reason, /release failed.*unmount/);
  assert.ok(!r.calls.slice(r.calls.lastIndexOf('unmountFilesystem')).includes('mapImage'));
});

test('fenced by the peer: release as a dead client, cool down, fence nobody meanwhile (S5)', async () => {
  const events: ModelEvent[] = [
    done('reconcile', world({ vipHere: true })),
    { type: 'vrrp', state: 'MASTER' },
    done('readHolders', { holders: [], observedAt: 0, ownership: NO_OWNERSHIP }),
    ...serveAfterMap,
    { type: 'io.fenced', detail: 'EIO' },
    done('survey', world({ vipHere: true, device: '/dev/loop0', mounted: true, composeRunning: true })),
    done('composeDown'),
    done('unmountFilesystem'),
    done('unmapImage'),
    { type: 'vrrp', state: 'MASTER' },
  ];
  const r = await run(events);
  assert.deepEqual(r.violations, []);
  assert.equal(r.finalState, 'fenced');
  const unmap = r.callInputs.filter((c) => c.actor === 'unmapImage');
  assert.deepEqual(unmap, [{ actor: 'unmapImage', input: { device: '/dev/loop0', force: false, fenced: true } }]);
  const unmount = r.callInputs.find((c) => c.actor === 'unmountFilesystem');
  assert.deepEqual(unmount?.input, { device: '/dev/loop0', fenced: true });
});

test('the invariant checker catches a machine that maps without fencing (S2)', async () => {
  const broken = nodeMachine.provide({ guards: { nothingToFence: () => true } });
  const r = await run([...standbyBecomesMaster, done('readHolders', { holders: [PEER_HOLDER], observedAt: grace, ownership: NO_OWNERSHIP }), claimed, done('mapImage', { device: '/dev/rbd0' })], broken);
  assert.ok(r.violations.some((v) => v.startsWith('S2')), r.violations.join('\n'));
});

test('the invariant checker catches a release that skips compose down (S3)', async () => {
  const broken = nodeMachine.provide({ guards: { composeRunning: () => false } });
  const r = await run(
    [done('reconcile', world({ device: '/dev/rbd0', mounted: true, composeRunning: true })), done('survey', world({ device: '/dev/rbd0', mounted: true, composeRunning: true }))],
    broken,
  );
  assert.ok(r.violations.some((v) => v.startsWith('S3')), r.violations.join('\n'));
});
