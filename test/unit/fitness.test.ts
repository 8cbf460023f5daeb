import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitnessOf } from '../../src/guards/fitness.js';
import { nodeMachine, viewOf, type NodeTag } from '../../src/machine/index.js';
import { chartOf, type ChartNode } from '../../src/chart/index.js';
import { fitnessInputAt, snapshotAt } from '../support/views.js';

const FITNESS_TAGS: NodeTag[] = ['fit', 'unfit', 'fit-when-ready', 'fit-unless-dead'];
const ready = { ok: true, checkedAt: 1_000, error: null };

/** Every leaf state of the real chart, as `a.b.c`. */
function leafNames(): string[] {
  const out: string[] = [];
  const walk = (n: ChartNode, path: string[]) => {
    if (n.states.length === 0 && path.length > 0) out.push(path.join('.'));
    for (const c of n.states) walk(c, [...path, c.key]);
  };
  walk(chartOf(nodeMachine).root, []);
  return out;
}

test('every state of the chart says what it means for fitness: exactly one fitness tag', () => {
  const leaves = leafNames();
  assert.ok(leaves.length > 40, `${leaves.length} leaves`);
  for (const name of leaves) {
    const tags = viewOf(snapshotAt(name)).tags.filter((t) => FITNESS_TAGS.includes(t));
    assert.equal(tags.length, 1, `${name}: ${tags.join(', ') || 'no fitness tag'}`);
  }
});

test('fitness: taking over, serving and starting up keep the VIP; vip-lost keeps it while it waits', () => {
  for (const name of [
    'booting.running',
    'active.acquiring-rbd.reading.running',
    'active.fencing.verifying.backoff',
    'active.mounting.mapping.running',
    'active.starting.waiting-healthy',
    'active.serving.healthy',
    'active.serving.degraded',
    'active.vip-lost',
  ]) {
    assert.equal(fitnessOf(fitnessInputAt(name), null, 0, 1).fit, true, name);
  }
  assert.match(fitnessOf(fitnessInputAt('active.mounting.mapping.running'), null, 0, 1).why, /^taking over \(active\.mounting\.mapping\.running\)$/);
  assert.equal(fitnessOf(fitnessInputAt('active.serving.healthy', { reason: 'serving' }), null, 0, 1).why, 'serving');
  assert.match(
    fitnessOf(fitnessInputAt('active.vip-lost', { reason: 'VRRP BACKUP while serving' }), null, 0, 1).why,
    /^serving \(VRRP BACKUP while serving\)$/,
  );
});

test('fitness: releasing keeps the VIP unless the node was fenced or lost Ceph', () => {
  assert.equal(fitnessOf(fitnessInputAt('releasing.unmounting.running', { exitTo: 'standDown' }), null, 0, 1).fit, true);
  assert.equal(fitnessOf(fitnessInputAt('releasing.unmounting.running', { exitTo: 'maintenance' }), null, 0, 1).fit, true);
  assert.equal(fitnessOf(fitnessInputAt('releasing.unmounting.running', { exitTo: 'fenced', deadPath: 'fenced' }), null, 0, 1).fit, false);
  assert.equal(fitnessOf(fitnessInputAt('releasing.stopping-harbor.running', { exitTo: 'lostCeph', deadPath: 'lostCeph' }), null, 0, 1).fit, false);
  // a service stop's release keeps its exit, but on a dead path it holds the VIP no longer
  const stopping = fitnessOf(fitnessInputAt('releasing.stopping-harbor.running', { exitTo: 'stopped', deadPath: 'lostCeph' }), null, 0, 1);
  assert.deepEqual(stopping, { fit: false, why: 'lost Ceph: releasing, the VIP goes to the peer now' });
});

test('fitness: a release whose step failed once gives the VIP up (the peer fences), whatever its exit', () => {
  for (const exitTo of ['standDown', 'maintenance', 'stopped', 'idle'] as const) {
    const f = fitnessOf(fitnessInputAt('releasing.stopping-harbor.backoff', { exitTo, releaseStalled: true }), null, 0, 1);
    assert.equal(f.fit, false, exitTo);
    assert.match(f.why, /release stalled .*fences this node/);
  }
});

test('fitness: the holding states give the VIP up and say why with their reason', () => {
  for (const name of ['yielding.waiting', 'yielding.looking.running', 'standing-down', 'fenced', 'failed', 'maintenance', 'stopped']) {
    const f = fitnessOf(fitnessInputAt(name, { reason: `reason of ${name}` }), ready, 1_000, 10_000);
    assert.equal(f.fit, false, name);
    assert.equal(f.why, `${name}: reason of ${name}`);
  }
});

test('fitness: a standby is fit only with a fresh, good look at Ceph', () => {
  const idle = fitnessInputAt('idle');
  assert.deepEqual(fitnessOf(idle, ready, 1_000, 10_000), { fit: true, why: 'standby, ready to take over' });
  assert.equal(fitnessOf(idle, null, 1_000, 10_000).fit, false, 'never checked');
  assert.equal(fitnessOf(idle, ready, 20_000, 10_000).fit, false, 'a stale Ceph check');
  assert.match(fitnessOf(idle, { ok: false, checkedAt: 1_000, error: 'timed out' }, 1_000, 10_000).why, /standby not ready: timed out/);
});

test('fitness: a state without a fitness tag is unfit (never the VIP on a guess)', () => {
  assert.equal(
    fitnessOf({ tags: [], state: 'new-state', reason: 'r', exitTo: 'idle', releaseStalled: false, deadPath: null }, ready, 1_000, 10_000).fit,
    false,
  );
});

test('a state known only by its name (an old status file) gets the same tags as the running chart', async () => {
  const { tagsOfStateName } = await import('../../src/machine/index.js');
  for (const name of leafNames()) assert.deepEqual(tagsOfStateName(name), viewOf(snapshotAt(name)).tags, name);
  assert.deepEqual(tagsOfStateName('no.such.state'), []);
  assert.deepEqual(tagsOfStateName(''), []);
});
