import assert from 'node:assert/strict';
import { test } from 'node:test';
import { masterEntryTimes, splitMasterEntries } from '../../bench/master-entries.js';

// as keepalived 2.2.7 logged them in a load run whose cold start had both nodes enter MASTER
const a = [
  'Tue Dec  8 02:57:36 2026: Startup complete',
  'Tue Dec  8 02:57:36 2026: (VI_HARBOR) Entering BACKUP STATE',
  'Tue Dec  8 02:57:44 2026: (VI_HARBOR) Entering MASTER STATE',
  'Tue Dec  8 02:58:07 2026: (VI_HARBOR) Entering FAULT STATE',
  'Tue Dec  8 02:58:07 2026: (VI_HARBOR) Entering BACKUP STATE',
  'Tue Dec  8 02:58:07 2026: (VI_HARBOR) Entering MASTER STATE',
].join('\n');
const b = [
  'Tue Dec  8 02:57:36 2026: (VI_HARBOR) Entering BACKUP STATE',
  'Tue Dec  8 02:57:36 2026: (VI_HARBOR) Entering MASTER STATE',
  'Tue Dec  8 02:57:44 2026: (VI_HARBOR) Master received advert from 10.213.77.11 with higher priority 150, ours 100',
  'Tue Dec 18 02:59:01 2026: (VI_HARBOR) Entering MASTER STATE',
].join('\n');

test('MASTER entries: only those lines, at their second', () => {
  assert.deepEqual(masterEntryTimes(a), [new Date('Tue Dec 8 02:57:44 2026').getTime(), new Date('Tue Dec 8 02:58:07 2026').getTime()]);
  assert.equal(masterEntryTimes(b).length, 2);
  assert.deepEqual(masterEntryTimes('(VI_HARBOR) Entering MASTER STATE\nnothing'), []);
});

test('MASTER entries split at the first serving: a start race is not a false failover', () => {
  const servedAt = new Date('Tue Dec 8 02:57:57 2026').getTime() + 6;
  // before: b's at 02:57:36 and a's at 02:57:44 (one expected); after: a's at 02:58:07 and b's on the 18th
  assert.deepEqual(splitMasterEntries([a, b], servedAt, 2), { startRaces: 1, unexpected: 0 });
  assert.deepEqual(splitMasterEntries([a, b], servedAt, 1), { startRaces: 1, unexpected: 1 });
  // an entry in the very second the first node served belongs to the start (the log keeps whole seconds)
  assert.deepEqual(splitMasterEntries([a], new Date('Tue Dec 8 02:57:44 2026').getTime() + 999, 1), { startRaces: 0, unexpected: 0 });
  assert.deepEqual(splitMasterEntries([''], servedAt, 0), { startRaces: 0, unexpected: 0 });
});
