import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allSynchronous, listFlagsArgv } from '../../src/actions/host/synchronous-flags.js';

// lsattr 1.47 (Debian 12) over /m/data/redis with -a -R, as the engine runs it
const flagged = [
  '--S-----------e------- /m/data/redis/.',
  '--S-----------e------- /m/data/redis/appendonlydir',
  '--S-----------e------- /m/data/redis/..',
  '',
  '/m/data/redis/appendonlydir:',
  '--S-----------e------- /m/data/redis/appendonlydir/.',
  '--S-----------e------- /m/data/redis/appendonlydir/appendonly.aof.1.incr.aof',
  '--S-----------e------- /m/data/redis/appendonlydir/a file with spaces',
  '--------------e------- /m/data/redis/appendonlydir/..',
  '',
].join('\n');

test('every entry flagged: nothing to set (the parent `..` is not the tree)', () => {
  assert.equal(allSynchronous(flagged, '/m/data/redis'), true);
  assert.equal(allSynchronous(flagged, '/m/data/redis/'), true);
});

test('one entry without S, or the directory itself without it: flag again', () => {
  assert.equal(
    allSynchronous(
      flagged.replace('--S-----------e------- /m/data/redis/appendonlydir/a file', '--------------e------- /m/data/redis/appendonlydir/a file'),
      '/m/data/redis',
    ),
    false,
  );
  assert.equal(allSynchronous(flagged.replace('--S-----------e------- /m/data/redis/.', '-----------I--e------- /m/data/redis/.'), '/m/data/redis'), false);
});

test('the directory itself not listed (missing, another directory, nothing printed): flag again', () => {
  assert.equal(allSynchronous('', '/m/data/redis'), false);
  assert.equal(allSynchronous(flagged, '/m/data/job_logs'), false);
});

test('a name with a newline can add lines but not hide its own entry', () => {
  const crafted = ['--S-----------e------- /m/d/.', '--------------e------- /m/d/evil', '--S-----------e------- /m/d/x', ''].join('\n');
  assert.equal(allSynchronous(crafted, '/m/d'), false);
});

test('the listing is of the entries, hidden ones included, never following an option-like name', () => {
  assert.deepEqual(listFlagsArgv('/m/-rf'), ['lsattr', '-a', '-R', '--', '/m/-rf']);
});
