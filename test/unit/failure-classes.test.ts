import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliCephClient } from '../../src/actions/ceph/cli-client.js';
import { Ownership } from '../../src/actions/ceph/ownership.js';
import { CommandError, createRunner } from '../../src/actions/exec.js';
import { failureClassOf, fixOf } from '../../src/domain/failure.js';
import { silentLogger } from '../../src/log/logger.js';
import { ScriptedRunner } from '../support/fake-runner.js';

const conn = { user: 'harbor', keyringPath: '/etc/harbor-assistant/keyring', confPath: '/etc/harbor-assistant/ceph.conf', pool: 'rbd', image: 'harbor' };

function failingCeph(exitCode: number, stderr: string): Ownership {
  return new Ownership(new CliCephClient(new ScriptedRunner(() => ({ fail: { exitCode, stderr } })), conn, 5_000));
}

test('not installed: a program that is not there, by the shell (127) or at spawn, is the install kind', async () => {
  const runner = createRunner(silentLogger());
  const missing = await runner.run({ what: 'rbd-fuse', argv: ['harbor-assistant-no-such-program-y'], timeoutMs: 5_000 }).catch((e: unknown) => e);
  assert.equal(failureClassOf(missing), 'not-installed');
  const plain = await runner.run({ what: 'false', argv: ['false'], timeoutMs: 5_000 }).catch((e: unknown) => e);
  assert.equal(failureClassOf(plain), 'transient', 'a program that ran and said no may do better next time');
  assert.equal(failureClassOf(new CommandError('x', 'x', null, 'spawn x ENOENT', '', 1, 'spawn')), 'not-installed');
});

test('misconfigured: Ceph refusing the key names the fix and the user', async () => {
  const refused = await failingCeph(
    13,
    "rbd: couldn't connect to the cluster!\n2026-12-07T08:00:00 7f handle_auth_bad_method server allowed_methods [2] but i only support [2]",
  )
    .read()
    .catch((e: unknown) => e);
  assert.equal(failureClassOf(refused), 'misconfigured');
  assert.match(fixOf(refused) ?? '', /Ceph refused client\.harbor: check CEPH_USER and CEPH_USER_KEY .*ceph auth get client\.harbor/);
  assert.match(String(refused), /rbd lock ls|rbd image-meta list/, 'the message still names the command and what it printed');
});

test('misconfigured: a pool or image that does not exist names the fix; a missing lock or key stays what it was', async () => {
  const gone = await failingCeph(2, 'rbd: error opening image harbor: (2) No such file or directory')
    .read()
    .catch((e: unknown) => e);
  assert.equal(failureClassOf(gone), 'misconfigured');
  assert.match(fixOf(gone) ?? '', /the image rbd\/harbor does not exist: check CEPH_POOL_NAME and CEPH_IMAGE_NAME/);
  // "already gone" is success for a release, never the operator's problem
  const lockGone = failingCeph(2, 'rbd: releasing lock failed: (2) No such file or directory');
  await lockGone.breakLock({ id: 'harbor-assistant/a/1', locker: 'client.1', address: '10.0.0.1:0/1' });
});

test('transient: a busy lock, a timeout, a blocklisted client are retried (or handled), never sent to the operator', async () => {
  const runner = new ScriptedRunner((argv) =>
    argv[2] === 'add' ? { fail: { exitCode: 16, stderr: 'rbd: lock is already held by someone else' } } : { stdout: '[]' },
  );
  const busy = await new Ownership(new CliCephClient(runner, conn, 5_000)).tryLock('harbor-assistant/a/2');
  assert.deepEqual(busy, { taken: false, holder: null }, 'busy is an answer, not a failure');
  const blocklisted = await failingCeph(108, 'rbd: (108) Cannot send after transport endpoint shutdown')
    .read()
    .catch((e: unknown) => e);
  assert.equal(failureClassOf(blocklisted), 'transient');
  assert.equal(
    failureClassOf(new CommandError('rbd lock ls', 'rbd lock ls', null, '(13) Permission denied', '', 5_000, 'timeout')),
    'transient',
    'only an answer is classified',
  );
  assert.equal(failureClassOf(new Error('refusing to unmap /dev/rbd0: it is still mounted')), 'transient');
});
