import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CommandResult, Runner } from '../../src/actions/exec.js';
import { silentLogger } from '../../src/log/logger.js';
import type { NodeEvent, OwnershipView } from '../../src/machine/index.js';
import { startHolderWatch } from '../../src/runtime/holder-watch.js';

const ours = (generation: number): OwnershipView => ({
  record: { node: 'a', generation, hosts: ['10.0.0.1'], clients: ['10.0.0.1:0/1'], at: new Date().toISOString() },
  lock: { id: `harbor-assistant/a/${generation}`, locker: 'client.1', address: '10.0.0.1:0/2' },
  lastGeneration: generation,
});
const theirs: OwnershipView = {
  record: { node: 'b', generation: 8, hosts: ['10.0.0.2'], clients: ['10.0.0.2:0/1'], at: new Date().toISOString() },
  lock: { id: 'harbor-assistant/b/8', locker: 'client.2', address: '10.0.0.2:0/2' },
  lastGeneration: 8,
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const never = <T>() => new Promise<T>(() => undefined);

function runner(write: () => Promise<CommandResult>): Runner {
  return { run: write, spawnDaemon: () => Promise.reject(new Error('no daemons here')), settled: () => Promise.resolve(), inFlight: 0, abandoned: [] };
}
const okWrite = () => Promise.resolve({ stdout: '', stderr: '', exitCode: 0, durationMs: 1 });

function watch(o: { write: () => Promise<CommandResult>; read: () => Promise<OwnershipView>; now?: () => number; mounted?: boolean }) {
  const events: NodeEvent[] = [];
  const w = startHolderWatch({
    runner: runner(o.write),
    logger: silentLogger(),
    nodeName: 'a',
    mountPoint: '/nonexistent',
    intervalMs: 50,
    deadlineMs: 400,
    readOwnership: o.read,
    holding: () => ({ active: true, mounted: o.mounted ?? true, generation: 7 }),
    send: (e) => events.push(e),
    ...(o.now ? { now: o.now } : {}),
  });
  return { events, stop: () => w.stop() };
}

test('a write and a Ceph read that never answer: lost Ceph at the deadline, once, without waiting for them', async () => {
  const started = Date.now();
  const w = watch({ write: never, read: never });
  try {
    while (w.events.length === 0 && Date.now() - started < 3_000) await sleep(20);
    const took = Date.now() - started;
    assert.deepEqual(
      w.events.map((e) => e.type),
      ['ceph.lost'],
    );
    assert.ok(took >= 400 && took < 1_200, `reported after ${took} ms (deadline 400)`);
    await sleep(600);
    assert.equal(w.events.length, 1, 'reported once per hold');
  } finally {
    w.stop();
  }
});

test('answers keep the node in: no event while writes and the record are ours', async () => {
  const w = watch({ write: okWrite, read: () => Promise.resolve(ours(7)) });
  await sleep(1_000);
  w.stop();
  assert.deepEqual(w.events, []);
});

test('the owner record naming another node is a fence (not lost Ceph), with the owner named', async () => {
  const w = watch({ write: okWrite, read: () => Promise.resolve(theirs) });
  const started = Date.now();
  while (w.events.length === 0 && Date.now() - started < 2_000) await sleep(20);
  w.stop();
  assert.equal(w.events[0]?.type, 'io.fenced');
  assert.match((w.events[0] as { detail: string }).detail, /names b \(generation 8\)/);
});

test('an I/O error on the image is a fence', async () => {
  const { CommandError } = await import('../../src/actions/exec.js');
  const w = watch({
    write: () => Promise.reject(new CommandError('io watchdog', 'dd …', 1, 'dd: error writing: Input/output error', '', 3, 'exit')),
    read: never,
  });
  const started = Date.now();
  while (w.events.length === 0 && Date.now() - started < 2_000) await sleep(20);
  w.stop();
  assert.equal(w.events[0]?.type, 'io.fenced');
});

test('after a freeze the silence is not blamed on Ceph: the record is read first, and decides', async () => {
  let offset = 0;
  let reads = 0;
  // the record answers only after the freeze, and then names the peer
  const w = watch({ write: never, read: () => (++reads > 1 ? Promise.resolve(theirs) : never()), now: () => Date.now() + offset });
  await sleep(150);
  offset = 10_000;
  const started = Date.now();
  while (w.events.length === 0 && Date.now() - started < 2_000) await sleep(10);
  w.stop();
  assert.deepEqual(
    w.events.map((e) => e.type),
    ['io.fenced'],
    'replaced while frozen',
  );
});

test('no write probe and no deadline while the node does not hold the mounted image', async () => {
  const w = watch({ write: never, read: never, mounted: false });
  await sleep(900);
  w.stop();
  assert.deepEqual(w.events, []);
});

test('claimed but not yet mounted (mapping, formatting): no write probe and no lost-Ceph deadline, but a record naming another node is a fence', async () => {
  let writes = 0;
  const quiet = watch({
    write: () => (writes++, never()),
    read: () => Promise.resolve(ours(7)),
    mounted: false,
  });
  await sleep(600);
  quiet.stop();
  assert.deepEqual(quiet.events, [], 'our own record: nothing to say');
  assert.equal(writes, 0, 'nothing is written through a mount that is not there');
  const replaced = watch({ write: () => (writes++, never()), read: () => Promise.resolve(theirs), mounted: false });
  try {
    for (const end = Date.now() + 2_000; replaced.events.length === 0 && Date.now() < end;) await sleep(20);
    assert.deepEqual(
      replaced.events.map((e) => e.type),
      ['io.fenced'],
    );
    assert.equal(writes, 0);
  } finally {
    replaced.stop();
  }
});

test('checkRecordNow reads the record at once instead of at the next interval (a step failed after the claim)', async () => {
  const events: NodeEvent[] = [];
  let view = ours(7);
  const w = startHolderWatch({
    runner: runner(okWrite),
    logger: silentLogger(),
    nodeName: 'a',
    mountPoint: '/nonexistent',
    intervalMs: 10_000,
    deadlineMs: 60_000,
    readOwnership: () => Promise.resolve(view),
    holding: () => ({ active: true, mounted: false, generation: 7 }),
    send: (e) => events.push(e),
  });
  try {
    await sleep(100);
    view = theirs;
    await sleep(100);
    assert.equal(events.length, 0, 'the next regular read is 20 s away');
    w.checkRecordNow();
    await sleep(100);
    assert.deepEqual(
      events.map((e) => e.type),
      ['io.fenced'],
    );
  } finally {
    w.stop();
  }
});

test('a release unmounting or unmapping (record only, no writes): Ceph silence past the deadline is lost Ceph; no probe write is made', async () => {
  const events: NodeEvent[] = [];
  let writes = 0;
  const started = Date.now();
  const w = startHolderWatch({
    runner: runner(() => {
      writes += 1;
      return okWrite();
    }),
    logger: silentLogger(),
    nodeName: 'a',
    mountPoint: '/nonexistent',
    intervalMs: 50,
    deadlineMs: 400,
    readOwnership: never,
    holding: () => ({ active: true, writes: false, mounted: true, generation: 7 }),
    send: (e) => events.push(e),
  });
  try {
    while (events.length === 0 && Date.now() - started < 3_000) await sleep(20);
    assert.deepEqual(
      events.map((e) => e.type),
      ['ceph.lost'],
    );
    assert.ok(Date.now() - started >= 400);
    assert.equal(writes, 0, 'a probe would hold the mount the release is unmounting');
  } finally {
    w.stop();
  }
});

test('record only, Ceph answering: our record keeps the release quiet; the peer’s record says fenced', async () => {
  const events: NodeEvent[] = [];
  let view = ours(7);
  const w = startHolderWatch({
    runner: runner(okWrite),
    logger: silentLogger(),
    nodeName: 'a',
    mountPoint: '/nonexistent',
    intervalMs: 50,
    deadlineMs: 400,
    readOwnership: () => Promise.resolve(view),
    holding: () => ({ active: true, writes: false, mounted: false, generation: 7 }),
    send: (e) => events.push(e),
  });
  try {
    await sleep(700);
    assert.equal(events.length, 0, 'our own record answering in time: nothing to report');
    view = theirs;
    await sleep(300);
    assert.deepEqual(
      events.map((e) => e.type),
      ['io.fenced'],
    );
  } finally {
    w.stop();
  }
});

test('Harbor went down: checkNow probes the image at once, so a fenced path shows now, not an interval later', async () => {
  const { CommandError } = await import('../../src/actions/exec.js');
  const events: NodeEvent[] = [];
  let eio = false;
  const w = startHolderWatch({
    runner: runner(() =>
      eio ? Promise.reject(new CommandError('io watchdog', 'dd …', 1, 'dd: error writing: Input/output error', '', 3, 'exit')) : okWrite(),
    ),
    logger: silentLogger(),
    nodeName: 'a',
    mountPoint: '/nonexistent',
    intervalMs: 10_000,
    deadlineMs: 60_000,
    readOwnership: () => Promise.resolve(ours(7)),
    holding: () => ({ active: true, mounted: true, generation: 7 }),
    send: (e) => events.push(e),
  });
  try {
    await sleep(100);
    eio = true;
    await sleep(100);
    assert.equal(events.length, 0, 'the next regular probe is 10 s away');
    w.checkNow();
    await sleep(100);
    assert.deepEqual(
      events.map((e) => e.type),
      ['io.fenced'],
    );
  } finally {
    w.stop();
  }
});
