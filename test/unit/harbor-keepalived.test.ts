import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyHealth, composeArgv, parseComposePs } from '../../src/actions/harbor/compose.js';
import type { NetworkInterfaceInfo } from 'node:os';
import { Vip, vipOn } from '../../src/actions/keepalived/vip.js';

test('Harbor health: HTTP 200 with "unhealthy" is read from the body', () => {
  const healthy = '{"status":"healthy","components":[{"name":"core","status":"healthy"},{"name":"registry","status":"healthy"}]}';
  assert.equal(classifyHealth(healthy).verdict, 'healthy');
  const registryDown =
    '{"status":"unhealthy","components":[{"name":"core","status":"healthy"},{"name":"registry","status":"unhealthy","error":"failed to ping registry: dial tcp 172.18.0.4:5000: connect: connection refused"}]}';
  const r = classifyHealth(registryDown);
  assert.equal(r.verdict, 'down');
  assert.match(r.detail, /registry: unhealthy \(failed to ping registry/);
  const portalDown =
    '{"status":"unhealthy","components":[{"name":"core","status":"healthy"},{"name":"portal","status":"unhealthy","error":"x"},{"name":"registry","status":"healthy"},{"name":"database","status":"healthy"},{"name":"redis","status":"healthy"}]}';
  assert.equal(classifyHealth(portalDown).verdict, 'degraded');
  assert.equal(classifyHealth('{"status":"unknown status"}').verdict, 'down');
  assert.equal(classifyHealth('<html>502</html>').verdict, 'down');
});

test('compose commands and ps JSON in both shapes', () => {
  assert.deepEqual(
    composeArgv(
      { command: ['docker', 'compose'], projectDir: '/srv/harbor/installer', projectName: 'harbor', timeouts: { up: 1, down: 1, ps: 1 } },
      'up',
      '-d',
    ),
    ['docker', 'compose', '--project-directory', '/srv/harbor/installer', '-p', 'harbor', 'up', '-d'],
  );
  assert.equal(parseComposePs('[{"Name":"harbor-core","State":"running"},{"Name":"redis","State":"exited"}]'), true);
  assert.equal(
    parseComposePs('{"Name":"harbor-core","State":"exited","Status":"Exited (0)"}\n{"Name":"registry","State":"exited","Status":"Exited (2)"}'),
    false,
  );
  assert.equal(parseComposePs('{"Name":"registry","Status":"Up 3 minutes"}'), true);
  assert.equal(parseComposePs(''), false);
});

test('the VIP is found among the interface addresses (getifaddrs), a labelled one too, and only on our interface', async () => {
  const address = (a: string): NetworkInterfaceInfo => ({
    address: a,
    netmask: '255.255.255.0',
    family: 'IPv4',
    mac: '02:00:00:00:00:01',
    internal: false,
    cidr: `${a}/24`,
  });
  const interfaces = { lo: [address('127.0.0.1')], eth0: [address('10.0.0.11'), address('10.0.0.100')], eth1: [address('10.0.1.100')] };
  assert.equal(vipOn(interfaces, 'eth0', '10.0.0.100'), true);
  assert.equal(vipOn(interfaces, 'eth0', '10.0.0.101'), false);
  assert.equal(vipOn(interfaces, 'eth0', '10.0.1.100'), false, 'on another interface: not ours');
  assert.equal(vipOn({ 'eth0:vip': [address('10.0.0.100')] }, 'eth0', '10.0.0.100'), true);
  assert.equal(vipOn({ eth00: [address('10.0.0.100')] }, 'eth0', '10.0.0.100'), false, 'a longer name is another interface');
  assert.equal(await new Vip('eth0', '10.0.0.100', () => Promise.resolve(interfaces)).present(), true);
});

test('harbor stop: compose down; with a damaged compose file, Harbor containers are stopped by name (data untouched)', async () => {
  const { stopHarbor, HARBOR_CONTAINERS } = await import('../../src/actions/harbor/installer.js');
  const { Compose } = await import('../../src/actions/harbor/compose.js');
  const { ScriptedRunner } = await import('../support/fake-runner.js');
  const damaged = new ScriptedRunner((argv) =>
    argv.includes('down') ? { fail: { exitCode: 15, stderr: 'yaml: line 3: mapping values are not allowed in this context' } } : { stdout: '' },
  );
  const opts = { command: ['docker', 'compose'], projectDir: '/data/harbor/installer', projectName: 'harbor', timeouts: { up: 1000, down: 1000, ps: 1000 } };
  await stopHarbor(damaged, new Compose(damaged, opts), 1000);
  assert.deepEqual(damaged.calls[1], ['docker', 'stop', ...HARBOR_CONTAINERS]);
  assert.ok(!damaged.calls.flat().includes('-v'), 'never down -v');
  const fine = new ScriptedRunner(() => ({ stdout: '' }));
  await stopHarbor(fine, new Compose(fine, opts), 1000);
  assert.equal(fine.calls.length, 1);
  assert.ok(!fine.calls[0]?.includes('--timeout'), 'a live data path: the containers get their stop grace');
  // a dead data path: no grace to wait out (containers cannot flush to a fenced image)
  const dead = new ScriptedRunner(() => ({ stdout: '' }));
  await stopHarbor(dead, new Compose(dead, opts), 1000, undefined, true);
  assert.deepEqual(dead.calls[0]?.slice(-3), ['down', '--timeout', '0']);
  const deadDamaged = new ScriptedRunner((argv) => (argv.includes('down') ? { fail: { exitCode: 15, stderr: 'yaml: bad' } } : { stdout: '' }));
  await stopHarbor(deadDamaged, new Compose(deadDamaged, opts), 1000, undefined, true);
  assert.deepEqual(deadDamaged.calls[1], ['docker', 'kill', ...HARBOR_CONTAINERS]);
});

test('compose ps with docker-compose v1 (no --format: usage on stderr, exit 0) falls back to the running services', async () => {
  const { Compose } = await import('../../src/actions/harbor/compose.js');
  const { ScriptedRunner } = await import('../support/fake-runner.js');
  const options = { command: ['docker-compose'], projectDir: '/data/harbor/installer', projectName: 'harbor', timeouts: { up: 1, down: 1, ps: 1 } };
  const v1Usage = 'List containers.\n\nUsage: ps [options] [--] [SERVICE...]\n\nOptions:\n    -q, --quiet          Only display IDs\n';
  const v1 = (running: string) => new ScriptedRunner((argv) => (argv.includes('--format') ? { stdout: '', stderr: v1Usage } : { stdout: running }));
  const up = v1('registry\npostgresql\nproxy\n');
  assert.equal(await new Compose(up, options).running(), true);
  assert.deepEqual(up.calls[1]?.slice(-4), ['ps', '--services', '--filter', 'status=running']);
  assert.equal(await new Compose(v1(''), options).running(), false);
  // once v1 refused --format, the same Compose asks it the v1 way only: one process per look
  const again = v1('registry\n');
  const compose = new Compose(again, options);
  assert.equal(await compose.running(), true);
  assert.equal(await compose.running(), true);
  assert.equal(again.calls.length, 3);
  assert.deepEqual(again.calls[2]?.slice(-4), ['ps', '--services', '--filter', 'status=running']);
  // v2 answers in JSON and is not asked twice
  const v2 = new ScriptedRunner(() => ({ stdout: '[{"Name":"registry","State":"running"}]' }));
  assert.equal(await new Compose(v2, options).running(), true);
  assert.equal(v2.calls.length, 1);
});

test('compose logs: the start-up lines since the takeover began, container prefix and timestamp stripped, the last max only', async () => {
  const { parseComposeLogs, Compose } = await import('../../src/actions/harbor/compose.js');
  const { ScriptedRunner } = await import('../support/fake-runner.js');
  const since = Date.parse('2026-11-26T18:05:00.000Z');
  const text = [
    'Attaching to harbor-db',
    'harbor-db    | 2026-11-26T18:04:59.999999999Z LOG:  an older container, before the takeover',
    'harbor-db    | 2026-11-26T18:05:01.541207890Z 2026-11-26 18:05:01.541 UTC [1] LOG:  database system was interrupted; last known up at 2026-11-26 18:04:40 UTC',
    'harbor-db    | 2026-11-26T18:05:01.602Z 2026-11-26 18:05:01.602 UTC [1] LOG:  database system was not properly shut down; automatic recovery in progress',
    'harbor-db  | 2026-11-26T18:05:01.700+00:00 LOG:  redo done at 0/1A2B3C4',
    'a line without a timestamp',
    '',
  ].join('\n');
  assert.deepEqual(parseComposeLogs(text, since, 10), [
    '2026-11-26 18:05:01.541 UTC [1] LOG:  database system was interrupted; last known up at 2026-11-26 18:04:40 UTC',
    '2026-11-26 18:05:01.602 UTC [1] LOG:  database system was not properly shut down; automatic recovery in progress',
    'LOG:  redo done at 0/1A2B3C4',
  ]);
  assert.deepEqual(parseComposeLogs(text, since, 1), ['LOG:  redo done at 0/1A2B3C4']);
  assert.deepEqual(parseComposeLogs(text, Date.parse('2026-11-26T19:00:00Z'), 10), []);
  // v2 without a prefix (--no-log-prefix) parses the same
  assert.deepEqual(parseComposeLogs('2026-11-26T18:05:02Z ready to accept connections\n', since, 10), ['ready to accept connections']);
  const runner = new ScriptedRunner(() => ({ stdout: text }));
  const options = { command: ['docker-compose'], projectDir: '/data/harbor/installer', projectName: 'harbor', timeouts: { up: 1, down: 1, ps: 1 } };
  assert.equal((await new Compose(runner, options).logsSince('postgresql', since, 50)).length, 3);
  assert.deepEqual(runner.calls[0], [
    'docker-compose',
    '--project-directory',
    '/data/harbor/installer',
    '-p',
    'harbor',
    'logs',
    '--no-color',
    '--timestamps',
    '--tail',
    '50',
    'postgresql',
  ]);
});
