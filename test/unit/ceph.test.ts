import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blocklistAddArgv, CephBlocklist, parseBlocklist } from '../../src/actions/ceph/blocklist.js';
import { cephConfText, keyringText, type CephConnection } from '../../src/actions/ceph/connection.js';
import { ScriptedRunner } from '../support/fake-runner.js';
import { cephClientFor } from '../../src/actions/ceph/session-client.js';

const conn: CephConnection = {
  user: 'harbor',
  keyringPath: '/etc/harbor-assistant/keyring',
  confPath: '/etc/harbor-assistant/ceph.conf',
  pool: 'kubernetes',
  image: 'harbor_data',
};

test('blocklist add fences one client instance with an expiry, identity by keyring file', () => {
  assert.deepEqual(blocklistAddArgv(conn, 'blocklist', '10.0.0.1:0/4225036114', 3600), [
    'ceph',
    '--id',
    'harbor',
    '--keyring',
    '/etc/harbor-assistant/keyring',
    '-c',
    '/etc/harbor-assistant/ceph.conf',
    'osd',
    'blocklist',
    'add',
    '10.0.0.1:0/4225036114',
    '3600',
  ]);
});

test('blocklist ls JSON is parsed', () => {
  assert.deepEqual(parseBlocklist('[{"addr":"10.0.0.1:0/3710147553","until":"2026-11-25T13:04:05.123456+0000"}]'), [
    { addr: '10.0.0.1:0/3710147553', until: '2026-11-25T13:04:05.123456+0000' },
  ]);
  assert.deepEqual(parseBlocklist(''), []);
  assert.deepEqual(parseBlocklist('[]'), []);
});

test('a Nautilus cluster answers `blocklist` with EINVAL: fall back to `blacklist` and remember it', async () => {
  const runner = new ScriptedRunner((argv) =>
    argv.includes('blocklist')
      ? {
          fail: {
            exitCode: 22,
            stderr: 'no valid command found; 10 closest matches:\nosd blacklist add|rm <addr> {<float[0.0-]>}\nError EINVAL: invalid command',
          },
        }
      : { stdout: '' },
  );
  const bl = new CephBlocklist(cephClientFor(runner, conn, 5000));
  await bl.add('10.0.0.2:0/1', 600);
  await bl.add('10.0.0.2:0/2', 600);
  assert.equal(bl.spokenVerb, 'blacklist');
  assert.deepEqual(
    runner.calls.map((c) => c.slice(7, 9).join(' ')),
    ['osd blocklist', 'osd blacklist', 'osd blacklist'],
  );
});

test('Pacific speaks blocklist; other errors are not mistaken for an old cluster', async () => {
  const ok = new ScriptedRunner(() => ({ stdout: '' }));
  const bl = new CephBlocklist(cephClientFor(ok, conn, 5000));
  await bl.add('10.0.0.2:0/1', 600);
  assert.equal(bl.spokenVerb, 'blocklist');
  const denied = new ScriptedRunner(() => ({ fail: { exitCode: 13, stderr: 'Error EACCES: access denied' } }));
  await assert.rejects(new CephBlocklist(cephClientFor(denied, conn, 5000)).add('10.0.0.2:0/1', 600), /EACCES/);
  assert.equal(denied.calls.length, 1);
});

test('the keyring and ceph.conf texts: key only in the keyring, rbd cache off for the fuse mapper', () => {
  assert.equal(keyringText('harbor', 'AQBkey=='), '[client.harbor]\n\tkey = AQBkey==\n');
  const conf = cephConfText(['10.0.0.10', '10.0.0.11:6789']);
  assert.match(conf, /mon host = 10\.0\.0\.10,10\.0\.0\.11:6789/);
  assert.match(conf, /\[client\]\n\trbd cache = false/);
  assert.doesNotMatch(conf, /key/);
});

test('blocklist ls on 16.2.15 prints the entries and the ranges back to back: the entries are read, a whole host shows as ip:0/0', async () => {
  const { readFileSync } = await import('node:fs');
  const text = readFileSync(new URL('../fixtures/ceph/blocklist-ls-host-and-instance.out', import.meta.url), 'utf8');
  const entries = parseBlocklist(text);
  assert.equal(entries.length, 4);
  assert.ok(entries.some((e) => e.addr === '10.213.77.12:0/0'));
  assert.deepEqual(parseBlocklist(readFileSync(new URL('../fixtures/ceph/blocklist-ls-empty.out', import.meta.url), 'utf8')), []);
});

test('S6: the blocklist offers no way to remove an entry', async () => {
  const { CephBlocklist } = await import('../../src/actions/ceph/blocklist.js');
  const methods = Object.getOwnPropertyNames(CephBlocklist.prototype);
  assert.ok(methods.includes('add') && methods.includes('ls'), methods.join(','));
  assert.deepEqual(
    methods.filter((m) => /rm|remove|delete|clear|unblock/i.test(m)),
    [],
  );
});
