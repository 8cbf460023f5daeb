import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  claimTargets,
  fenceTargets,
  foreignClaim,
  isAbandonedClaim,
  isConcurrentClaim,
  lockToBreak,
  mergeKnownClaim,
  ownLockId,
  parseOwnLockId,
  survivesFence,
  unexplainedForeignHolders,
} from '../../src/guards/index.js';
import type { OwnershipView } from '../../src/machine/index.js';

const record = (node: string, generation: number, clients: string[], at = '2026-11-26T10:00:00.000Z') => ({
  node,
  generation,
  hosts: ['10.0.0.2'],
  clients,
  at,
});
const view = (r: ReturnType<typeof record> | null, lockId: string | null = r ? ownLockId(r.node, r.generation) : null): OwnershipView => ({
  record: r,
  lock: lockId ? { id: lockId, locker: 'client.9', address: '10.0.0.2:0/77' } : null,
  lastGeneration: r?.generation ?? 0,
});
const PEER = '10.0.0.2:0/222';
const OTHER = '10.0.0.3:0/333';
const OWN = '10.0.0.1:0/111';

test('lock ids carry node and generation, and only ours parse', () => {
  assert.equal(ownLockId('a', 7), 'harbor-assistant/a/7');
  assert.deepEqual(parseOwnLockId('harbor-assistant/a/7'), { node: 'a', generation: 7 });
  assert.equal(parseOwnLockId('someone-else'), null);
  assert.equal(parseOwnLockId('harbor-assistant/a/0'), null);
});

test("a foreign claim is the peer's record, or a lock without a record; our own record is no claim", () => {
  assert.equal(foreignClaim(view(record('a', 3, [OWN])), 'a'), null);
  assert.deepEqual(foreignClaim(view(record('b', 3, [PEER])), 'a')?.clients, [PEER]);
  const lockOnly = foreignClaim(view(null, 'harbor-assistant/b/9'), 'a');
  assert.deepEqual(lockOnly && { node: lockOnly.node, generation: lockOnly.generation, hosts: lockOnly.hosts, at: lockOnly.at }, {
    node: 'b',
    generation: 9,
    hosts: ['10.0.0.2'],
    at: null,
  });
  const alien = foreignClaim(view(null, 'backup-tool'), 'a');
  assert.match(alien?.node ?? '', /client\.9 \(lock backup-tool\)/, 'a lock of some other tool is a claim too');
  assert.equal(foreignClaim(view(null, 'harbor-assistant/a/2'), 'a'), null, 'our own stale lock is not foreign');
});

test('fence targets: the recorded clients whether they watch or not, foreign watchers, never our own host', () => {
  const v = view(record('b', 3, [PEER]));
  assert.deepEqual(fenceTargets([], v, 'a', ['10.0.0.1'], 'client'), [PEER], 'no watcher left (its watch expired): the record still names it');
  assert.deepEqual(fenceTargets([{ address: OTHER }, { address: OWN }], v, 'a', ['10.0.0.1'], 'client'), [PEER, OTHER]);
  assert.deepEqual(fenceTargets([{ address: PEER }], v, 'a', ['10.0.0.1'], 'host'), ['10.0.0.2'], 'host scope: the whole host once');
  assert.deepEqual(fenceTargets([], view(record('b', 3, [])), 'a', ['10.0.0.1'], 'client'), ['10.0.0.2'], 'claimed but no client recorded yet: its host');
  assert.deepEqual(
    fenceTargets([], view(record('b', 3, ['10.0.0.1:0/5'])), 'a', ['10.0.0.1'], 'client'),
    [],
    'a record naming our own address is never a reason to fence ourselves',
  );
  assert.deepEqual(claimTargets({ node: 'b', generation: 1, clients: [PEER], hosts: ['10.0.0.2'], at: null, lockedBy: null }, 'host'), ['10.0.0.2']);
});

test('watchers the record explains are not given the holder grace; others are', () => {
  const v = view(record('b', 3, [PEER]));
  assert.deepEqual(
    unexplainedForeignHolders([{ address: PEER }, { address: '10.0.0.2:0/999' }, { address: OTHER }, { address: OWN }], v, 'a', ['10.0.0.1']).map(
      (h) => h.address,
    ),
    [OTHER],
  );
});

test("concurrent claims: new to this node and younger than the grace, or a bare lock; a claim known before the takeover is a dead owner's", () => {
  const claim = foreignClaim(view(record('b', 6, [], '2026-11-26T10:00:00.000Z')), 'a');
  assert.ok(claim);
  const at = Date.parse('2026-11-26T10:00:00.000Z');
  assert.equal(isConcurrentClaim(claim, null, at + 100, 2_000), true, 'written 100 ms ago, never seen: a winner');
  assert.equal(isConcurrentClaim(claim, null, at + 5_000, 2_000), false, 'old: a dead owner');
  assert.equal(isConcurrentClaim(claim, { node: 'b', generation: 6, firstSeenAt: 0 }, at + 100, 2_000), false, 'seen while standing by: fence it');
  assert.equal(isConcurrentClaim(claim, { node: 'b', generation: 5, firstSeenAt: 0 }, at + 100, 2_000), true, 'a new generation is a new claim');
  const bare = foreignClaim(view(null, 'harbor-assistant/b/9'), 'a');
  assert.ok(bare);
  assert.equal(isConcurrentClaim(bare, null, at, 2_000), true);
  const known = mergeKnownClaim(null, bare, 42);
  assert.deepEqual(known, { node: 'b', generation: 9, firstSeenAt: 42 });
  assert.equal(mergeKnownClaim(known, bare, 99), known, 'first-seen is kept');
  assert.equal(mergeKnownClaim(known, null, 99), null);
});

test('a yielded-to claim is abandoned when gone, or when known for the grace with no watcher of its own; a live claimant never is', () => {
  const claim = foreignClaim(view(record('b', 6, [], '2026-11-26T10:00:00.000Z')), 'a');
  assert.ok(claim);
  const known = { node: 'b', generation: 6, firstSeenAt: 1_000 };
  assert.equal(isAbandonedClaim(null, known, [], 1_500, 2_000), true, 'the claim is gone: nothing to yield to');
  assert.equal(isAbandonedClaim(claim, known, [], 2_999, 2_000), false, 'younger than the grace: it may still map');
  assert.equal(isAbandonedClaim(claim, known, [], 3_000, 2_000), true, 'never mapped within the grace');
  assert.equal(isAbandonedClaim(claim, known, [{ address: '10.0.0.2:0/78' }], 60_000, 2_000), false, 'a watch from its host: alive, wait out the cool-down');
  // the session that took its lock (killed in a write call, its watch lingering until the OSD drops it)
  assert.equal(claim.lockedBy, '10.0.0.2:0/77');
  assert.equal(isAbandonedClaim(claim, known, [{ address: '10.0.0.2:0/77' }], 60_000, 2_000), true, "its lock's session watching is no sign of life");
  const lockOnly = foreignClaim(view(null, 'harbor-assistant/b/7'), 'a');
  const knownLock = { node: 'b', generation: 7, firstSeenAt: 1_000 };
  assert.equal(isAbandonedClaim(lockOnly, knownLock, [{ address: '10.0.0.2:0/77' }], 60_000, 2_000), true, 'a lock-only claim: the same');
  assert.equal(isAbandonedClaim(lockOnly, knownLock, [{ address: '10.0.0.2:0/78' }], 60_000, 2_000), false, 'its mapper (another instance) is life');
  assert.equal(isAbandonedClaim(claim, known, [{ address: OTHER }], 60_000, 2_000), true, "a stranger's watch is not the claimant's life");
  const mapped = foreignClaim(view(record('b', 6, [PEER], '2026-11-26T10:00:00.000Z')), 'a');
  assert.ok(mapped);
  assert.equal(isAbandonedClaim(mapped, known, [{ address: PEER }], 60_000, 2_000), false, 'its recorded client still watches');
  assert.equal(isAbandonedClaim(mapped, known, [], 60_000, 2_000), true, "its recorded client's watch is gone");
  assert.equal(isAbandonedClaim(claim, { ...known, generation: 5 }, [], 60_000, 2_000), false, 'a new generation is a new claim: it gets its own grace');
  assert.equal(isAbandonedClaim(claim, null, [], 60_000, 2_000), false, 'never seen before: it gets its grace first');
});

test('a fenced host or instance still listed survives the fence; the lock to break is any other than ours', () => {
  assert.equal(survivesFence({ address: PEER }, [PEER]), true);
  assert.equal(survivesFence({ address: '10.0.0.2:0/9' }, ['10.0.0.2']), true);
  assert.equal(survivesFence({ address: OTHER }, ['10.0.0.2']), false);
  const lock = { id: 'harbor-assistant/b/3', locker: 'client.1', address: '10.0.0.2:0/1' };
  assert.equal(lockToBreak(lock, 'harbor-assistant/a/4'), lock);
  assert.equal(lockToBreak(null, 'harbor-assistant/a/4'), null);
});
