import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientAround, type CephClient, type CephOperation } from '../../src/actions/ceph/client.js';
import { Ownership } from '../../src/actions/ceph/ownership.js';
import { CephReachability } from '../../src/actions/ceph/reachability.js';
import { CommandError } from '../../src/actions/exec.js';

/** A Ceph whose every answer the test hands out: each call waits until settled. */
function heldCeph() {
  const waiting: Array<{ operation: CephOperation; settle: (outcome: { value?: unknown; error?: Error }) => void }> = [];
  const client = clientAround(
    <T>(operation: CephOperation) =>
      new Promise<T>((resolve, reject) => {
        waiting.push({ operation, settle: (o) => (o.error !== undefined ? reject(o.error) : resolve(o.value as T)) });
      }),
  );
  return { client, waiting };
}

const timedOut = (what: string) => new CommandError(what, what, null, '', '', 5_000, 'timeout');
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

test('Ceph reachable: every call goes through, concurrently', async () => {
  const ceph = heldCeph();
  const guarded = new CephReachability().guard(ceph.client);
  const calls = [guarded.locks(), guarded.metaList(), guarded.watchers()];
  await tick();
  assert.deepEqual(
    ceph.waiting.map((w) => w.operation),
    ['locks', 'metaList', 'watchers'],
  );
  for (const w of ceph.waiting) w.settle({ value: [] });
  await Promise.all(calls);
});

test('Ceph lost: one call probes, the others are refused at once with the operation and the reason named', async () => {
  const ceph = heldCeph();
  let now = 1_000;
  const reach = new CephReachability(null, () => now);
  const guarded = reach.guard(ceph.client);
  reach.markLost('neither the I/O probe nor the owner record answered for 5200 ms');
  const probe = guarded.locks();
  now += 250;
  const refused = await guarded.lockAdd('harbor-assistant/a/3').catch((e: unknown) => e);
  assert.ok(refused instanceof CommandError);
  assert.equal(refused.failure, 'unreachable');
  assert.equal(refused.what, 'rbd lock add');
  assert.match(
    refused.message,
    /rbd lock add .* was not sent \(Ceph unreachable\): Ceph unreachable for 250 ms \(neither the I\/O probe .*\); another call is probing it/,
  );
  assert.equal(refused.permanent, false, 'retrying later is the fix');
  assert.equal(ceph.waiting.length, 1, 'only the probe reached Ceph');

  // the probe times out: still lost, and the next call is the next probe
  ceph.waiting.shift()?.settle({ error: timedOut('rbd lock ls') });
  await assert.rejects(probe, /timed out/);
  assert.notEqual(reach.lost, null);
  const second = guarded.watchers();
  await tick();
  assert.deepEqual(
    ceph.waiting.map((w) => w.operation),
    ['watchers'],
  );

  // any answer from Ceph, even a refusal, lifts the state
  ceph.waiting.shift()?.settle({ error: new CommandError('rbd status', 'rbd status', 2, 'rbd: error opening image', '', 10, 'exit') });
  await assert.rejects(second, /exited with code 2/);
  assert.equal(reach.lost, null);
  const both = [guarded.locks(), guarded.metaList()];
  await tick();
  assert.equal(ceph.waiting.length, 2, 'both go to Ceph again');
  for (const w of ceph.waiting.splice(0)) w.settle({ value: w.operation === 'locks' ? [] : {} });
  await Promise.all(both);
});

test('ETIMEDOUT from librados is no answer: the state stays lost', async () => {
  const ceph = heldCeph();
  const reach = new CephReachability();
  const guarded = reach.guard(ceph.client);
  reach.markLost('test');
  const probe = guarded.info();
  await tick();
  ceph.waiting.shift()?.settle({ error: new CommandError('rbd info', 'ceph-session info', 110, 'Connection timed out', '', 5_000, 'exit') });
  await assert.rejects(probe);
  assert.notEqual(reach.lost, null);
});

test('a node that lost Ceph reads ownership in no time instead of waiting out a timeout', async () => {
  const ceph = heldCeph();
  const reach = new CephReachability();
  const ownership = new Ownership(reach.guard(ceph.client));
  reach.markLost('the watchdog deadline passed');
  const started = Date.now();
  // read() asks for the locks and the metadata at once: one probes (and hangs), the other is refused
  await assert.rejects(ownership.read(), (e: unknown) => e instanceof CommandError && e.failure === 'unreachable');
  assert.ok(Date.now() - started < 1_000, 'refused, not waited out');
  assert.equal(ceph.waiting.length, 1);
  ceph.waiting.shift()?.settle({ value: [] });
  await tick();
  assert.equal(reach.lost, null, 'the probe that answered late still counts');
});

test('the guard keeps every operation of the client it wraps', () => {
  const names: string[] = [];
  const probe = clientAround((operation) => {
    names.push(operation);
    return Promise.resolve(undefined as never);
  });
  const guarded: CephClient = new CephReachability().guard(probe);
  void guarded.watchers();
  void guarded.info();
  void guarded.metaList();
  void guarded.metaSet('k', 'v');
  void guarded.metaRemove('k');
  void guarded.locks();
  void guarded.lockAdd('id');
  void guarded.lockRemove('id', 'client.1');
  void guarded.blocklistAdd('blocklist', '10.0.0.1:0/1', 60);
  void guarded.blocklistList('blocklist');
  assert.deepEqual(names, ['watchers', 'info', 'metaList', 'metaSet', 'metaRemove', 'locks', 'lockAdd', 'lockRemove', 'blocklistAdd', 'blocklistList']);
});
