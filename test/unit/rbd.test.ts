import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandError } from '../../src/actions/exec.js';
import { imageMetaSetArgv, parseImageMeta, parseRbdInfo, parseRbdStatus, rbdStatusArgv, FORMATTED_META_KEY } from '../../src/actions/ceph/rbd.js';
import { deviceListArgv, mapArgv, parseDeviceList, RbdDeviceMapper, unmapArgv } from '../../src/actions/ceph/mappers/rbd-device.js';
import { explainMapFailure } from '../../src/actions/ceph/mappers/mapper.js';
import { losetupAttachArgv, rbdFuseArgv, rbdFuseEnv } from '../../src/actions/ceph/mappers/fuse.js';
import type { CephConnection } from '../../src/actions/ceph/connection.js';
import { ScriptedRunner } from '../support/fake-runner.js';

const conn: CephConnection = { user: 'harbor', keyringPath: '/k', confPath: '/c', pool: 'kubernetes', image: 'harbor_data' };

test('rbd status JSON gives the watchers with their client instance addresses', () => {
  assert.deepEqual(rbdStatusArgv(conn), ['rbd', 'status', 'kubernetes/harbor_data', '--format', 'json', '--id', 'harbor', '--keyring', '/k', '-c', '/c']);
  const out = '{"watchers":[{"address":"10.0.0.1:0/4225036114","client":4176,"cookie":18446462598732840961}]}';
  assert.deepEqual(parseRbdStatus(out), [{ address: '10.0.0.1:0/4225036114', client: 4176, cookie: Number('18446462598732840961') }]);
  assert.deepEqual(parseRbdStatus('{"watchers":[]}'), []);
  assert.throws(() => parseRbdStatus('rbd: error opening image'), /rbd status: expected JSON output, got: rbd: error opening image/);
});

test('rbd info JSON gives size and features', () => {
  const out =
    '{"name":"harbor_data","id":"10a26b8b4567","size":2147483648,"objects":512,"order":22,"object_size":4194304,"snapshot_count":0,"block_name_prefix":"rbd_data.10a26b8b4567","format":2,"features":["layering","exclusive-lock"],"op_features":[],"flags":[]}';
  assert.deepEqual(parseRbdInfo(out), { name: 'harbor_data', size: 2147483648, features: ['layering', 'exclusive-lock'] });
});

test('image metadata records the one-time format', () => {
  assert.deepEqual(parseImageMeta(''), {});
  assert.deepEqual(parseImageMeta(`{"${FORMATTED_META_KEY}":"2026-11-25T12:00:00.000Z"}`), { [FORMATTED_META_KEY]: '2026-11-25T12:00:00.000Z' });
  assert.deepEqual(imageMetaSetArgv(conn, FORMATTED_META_KEY, 'x').slice(0, 6), [
    'rbd',
    'image-meta',
    'set',
    'kubernetes/harbor_data',
    FORMATTED_META_KEY,
    'x',
  ]);
});

test('krbd map/unmap/list commands', () => {
  assert.deepEqual(mapArgv(conn, 'krbd', true), [
    'rbd',
    'device',
    'map',
    '-t',
    'krbd',
    'kubernetes/harbor_data',
    '--id',
    'harbor',
    '--keyring',
    '/k',
    '-c',
    '/c',
    '-o',
    'exclusive',
  ]);
  assert.deepEqual(mapArgv(conn, 'nbd', false).slice(0, 6), ['rbd', 'device', 'map', '-t', 'nbd', 'kubernetes/harbor_data']);
  assert.deepEqual(unmapArgv('krbd', '/dev/rbd0', true), ['rbd', 'device', 'unmap', '-t', 'krbd', '-o', 'force', '/dev/rbd0']);
  assert.deepEqual(unmapArgv('krbd', '/dev/rbd0', false), ['rbd', 'device', 'unmap', '-t', 'krbd', '/dev/rbd0']);
  assert.deepEqual(deviceListArgv('krbd'), ['rbd', 'device', 'list', '-t', 'krbd', '--format', 'json']);
});

test('rbd device list JSON finds our image (krbd says name, rbd-nbd says image)', () => {
  const krbd =
    '[{"id":"0","pool":"kubernetes","namespace":"","name":"harbor_data","snap":"-","device":"/dev/rbd0"},{"id":"1","pool":"kubernetes","namespace":"","name":"other","snap":"-","device":"/dev/rbd1"}]';
  assert.equal(parseDeviceList(krbd, conn), '/dev/rbd0');
  const nbd = '[{"id":1234,"pool":"kubernetes","namespace":"","image":"harbor_data","snap":"-","device":"/dev/nbd0"}]';
  assert.equal(parseDeviceList(nbd, conn), '/dev/nbd0');
  assert.equal(parseDeviceList('[]', conn), null);
  assert.equal(parseDeviceList('', conn), null);
});

const noModuleStderr = [
  'sh: 1: /sbin/modinfo: not found',
  'sh: 1: /sbin/modprobe: not found',
  'rbd: failed to load rbd kernel module (127)',
  'rbd: sysfs write failed',
  'In some cases useful info is found in syslog - try "dmesg | tail".',
  'rbd: map failed: (2) No such file or directory',
].join('\n');

test('map failures of the original README are recognised by their exact text', () => {
  assert.match(explainMapFailure(noModuleStderr)?.text ?? '', /modprobe rbd/);
  assert.equal(explainMapFailure(noModuleStderr)?.failureClass, 'not-installed', 'no retry loads a kernel module');
  const secret =
    'rbd: failed to add secret \'client.admin\' to kernel\nIn some cases useful info is found in syslog - try "dmesg | tail".\nrbd: map failed: (1) Operation not permitted';
  assert.match(explainMapFailure(secret)?.text ?? '', /seccomp=unconfined/);
  assert.equal(explainMapFailure('rbd: something else'), null);
});

test('a krbd map without the rbd module fails with the command, its stderr, the hint, and as permanent', async () => {
  const runner = new ScriptedRunner((argv) => (argv[2] === 'map' ? { fail: { exitCode: 2, stderr: noModuleStderr } } : { stdout: '' }));
  const mapper = new RbdDeviceMapper('krbd', runner, conn, 5000, () => Promise.resolve(false));
  await assert.rejects(mapper.map(), (e: unknown) => {
    assert.ok(e instanceof CommandError);
    assert.match(e.message, /rbd: map failed: \(2\) No such file or directory/);
    assert.doesNotMatch(e.message, /hint/, 'the message stays what the command printed');
    assert.match(e.hint ?? '', /modprobe rbd/);
    assert.equal(e.permanent, true);
    return true;
  });
});

test('krbd maps exclusively when asked, and returns the device it printed', async () => {
  const runner = new ScriptedRunner(() => ({ stdout: '/dev/rbd3\n' }));
  const mapper = new RbdDeviceMapper('krbd', runner, conn, 5000, () => Promise.resolve(true));
  assert.equal(await mapper.map(), '/dev/rbd3');
  assert.deepEqual(runner.calls[0]?.slice(-2), ['-o', 'exclusive']);
});

test('fuse mapper commands: identity through CEPH_ARGS, buffered loop', () => {
  assert.deepEqual(rbdFuseArgv(conn, '/run/ha/fuse'), ['rbd-fuse', '-c', '/c', '-p', 'kubernetes', '-r', 'harbor_data', '-f', '/run/ha/fuse']);
  assert.deepEqual(rbdFuseEnv(conn), { CEPH_ARGS: '--id harbor --keyring /k --no-mon-config' });
  assert.deepEqual(rbdFuseEnv(conn, true), { CEPH_ARGS: '--id harbor --keyring /k' });
  assert.deepEqual(losetupAttachArgv('/run/ha/fuse/harbor_data'), ['losetup', '-f', '--show', '/run/ha/fuse/harbor_data']);
  assert.ok(!losetupAttachArgv('/x').some((a) => a.includes('direct-io')));
});
