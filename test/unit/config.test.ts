import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { test } from 'node:test';
import { buildConfig, exampleYaml } from '../../src/config/index.js';
import { parseEnvFile } from '../../src/config/env.js';
import { goodEnv, problemsOf } from '../support/config.js';

const KEY = goodEnv.CEPH_USER_KEY;

test('a good environment and no file give a frozen config with defaults', () => {
  const c = buildConfig({ env: goodEnv });
  assert.deepEqual(c.env.monHosts, ['10.0.0.10', '10.0.0.11:6789']);
  assert.equal(c.env.role, 'master');
  assert.equal(c.file.ceph.mapper, 'krbd');
  assert.equal(c.timing.timeouts.map, 60_000);
  assert.ok(Object.isFrozen(c.file.harbor.probe));
  assert.throws(() => {
    (c.file.harbor as { projectName: string }).projectName = 'x';
  });
});

test('the key never shows: not in JSON, not in inspect, not in errors', () => {
  const c = buildConfig({ env: goodEnv });
  assert.equal(c.env.cephKey.reveal(), KEY);
  assert.ok(!JSON.stringify(c).includes(KEY));
  assert.ok(!inspect(c, { depth: 10 }).includes(KEY));
  const problems = problemsOf(() => buildConfig({ env: { ...goodEnv, CEPH_USER_KEY: 'not a key; rm -rf /' } }));
  assert.equal(problems.length, 1);
  assert.match(problems[0] ?? '', /^CEPH_USER_KEY: must be a cephx key .*value not shown/);
  assert.ok(!problems[0]?.includes('rm -rf'));
});

test('bad environment values are each named with what is allowed', () => {
  const problems = problemsOf(() =>
    buildConfig({
      env: { ...goodEnv, HARBOR_VIP: '10.0.0', CEPH_POOL_NAME: 'my pool', CEPH_IMAGE_NAME: 'img;reboot', KEEPALIVED_ROLE: 'primary', INTERFACE: undefined },
    }),
  );
  assert.deepEqual(problems, [
    "CEPH_IMAGE_NAME: must be letters, digits, '_', '.', '-' (starting with a letter or digit, at most 128), got \"img;reboot\"",
    "CEPH_POOL_NAME: must be letters, digits, '_', '.', '-' (starting with a letter or digit, at most 128), got \"my pool\"",
    'HARBOR_VIP: must be an IPv4 or IPv6 address, got "10.0.0"',
    'INTERFACE: required (interface carrying the VIP) but not set',
    'KEEPALIVED_ROLE: must be master or backup, got "primary"',
  ]);
});

test('HARBOR_VERSION accepts any 2.x release, not only v2.6.2', () => {
  assert.equal(buildConfig({ env: { ...goodEnv, HARBOR_VERSION: '2.11.1' } }).env.harborVersion, 'v2.11.1');
  assert.match(problemsOf(() => buildConfig({ env: { ...goodEnv, HARBOR_VERSION: 'v1.10.0' } }))[0] ?? '', /HARBOR_VERSION: must be a Harbor 2.x release/);
});

test('YAML fields are checked by name: types, enums, unknown keys, cross-field rules', () => {
  const yaml = [
    'ceph:',
    '  mapper: rbd',
    '  mappr: fuse',
    'filesystem:',
    '  fsck: sometimes',
    '  mountPoint: relative/path',
    'retry:',
    '  maxAttempts: 0',
  ].join('\n');
  assert.deepEqual(
    problemsOf(() => buildConfig({ env: goodEnv, yaml: { text: yaml, source: '/etc/ha.yaml' } })),
    [
      '/etc/ha.yaml: ceph.mappr: unknown field; allowed here: mapper, exclusiveMap, fuseDir, fuseMonConfig, blocklistExpirySeconds, commandTimeoutMs, session',
      '/etc/ha.yaml: ceph.mapper: must be one of krbd, rbd-nbd, fuse, got "rbd"',
      '/etc/ha.yaml: filesystem.mountPoint: must be an absolute path without spaces or \'..\', got "relative/path"',
      '/etc/ha.yaml: filesystem.fsck: must be one of auto, force, never, got "sometimes"',
      '/etc/ha.yaml: retry.maxAttempts: must be a whole number from 1 to 20, got 0',
    ],
  );
  const cross = problemsOf(() => buildConfig({ env: goodEnv, yaml: { text: 'harbor:\n  probe:\n    intervalMs: 1000\n    timeoutMs: 1000\n', source: 'f' } }));
  assert.deepEqual(cross, ['harbor.probe.timeoutMs: must be less than harbor.probe.intervalMs (1000), got 1000']);
  assert.match(problemsOf(() => buildConfig({ env: goodEnv, yaml: { text: 'ceph: [\n', source: 'f' } }))[0] ?? '', /^f line \d+: not valid YAML/);
});

test('environment and file problems are reported together, before anything runs', () => {
  const problems = problemsOf(() => buildConfig({ env: { ...goodEnv, HARBOR_VIP: 'x' }, yaml: { text: 'failureBudget: -1', source: 'f' } }));
  assert.equal(problems.length, 2);
});

test('the example file documents every field with its default, and is what the code generates', () => {
  const committed = readFileSync(new URL('../../config/harbor-assistant.example.yaml', import.meta.url), 'utf8');
  assert.equal(committed, exampleYaml(), 'config/harbor-assistant.example.yaml is stale: run `harbor-assistant validate-config --example`');
  const c = buildConfig({ env: goodEnv, yaml: { text: committed, source: 'example' } });
  assert.equal(c.file.filesystem.mountPoint, '/data/harbor');
});

test('env files parse like systemd EnvironmentFile', () => {
  assert.deepEqual(parseEnvFile('# c\nA=1\nexport B="two words"\nC=\'x\'\n\nbad line\n'), { A: '1', B: 'two words', C: 'x' });
  const example = parseEnvFile(readFileSync(new URL('../../config/.env.example', import.meta.url), 'utf8'));
  assert.deepEqual(Object.keys(example).sort(), Object.keys(goodEnv).sort());
  buildConfig({ env: example });
});

test('observability settings: loopback defaults, IP:port or empty, the inspector only on loopback', () => {
  const d = buildConfig({ env: goodEnv });
  assert.equal(d.file.metrics.listen, '127.0.0.1:9469');
  assert.equal(d.file.viewer.listen, '127.0.0.1:9470');
  assert.deepEqual(d.file.inspector, { enabled: false, listen: '127.0.0.1:9471' });
  assert.equal(d.paths.journal, '/var/lib/harbor-assistant/journal.jsonl');
  const ok = buildConfig({
    env: goodEnv,
    yaml: { text: 'metrics: { listen: "[::1]:9100" }\nviewer: { listen: "" }\ninspector: { enabled: true, listen: "127.0.0.2:0" }\n', source: 'f' },
  });
  assert.equal(ok.file.metrics.listen, '[::1]:9100');
  assert.equal(ok.file.viewer.listen, '');
  assert.equal(ok.file.inspector.enabled, true);
  const bad = [
    'metrics: { listen: "0.0.0.0" }',
    'viewer: { listen: "example.org:80" }',
    'inspector: { enabled: "yes", listen: "" }',
    'journal: { maxBytes: 100, keep: 0 }',
  ].join('\n');
  assert.deepEqual(
    problemsOf(() => buildConfig({ env: goodEnv, yaml: { text: bad, source: 'f' } })),
    [
      'f: journal.maxBytes: must be a whole number from 65536 to 1073741824, got 100',
      'f: journal.keep: must be a whole number from 1 to 100, got 0',
      'f: metrics.listen: must be IP:port such as 127.0.0.1:9469 ([::1]:9469 for IPv6), or empty to switch it off, got "0.0.0.0"',
      'f: viewer.listen: must be IP:port such as 127.0.0.1:9469 ([::1]:9469 for IPv6), or empty to switch it off, got "example.org:80"',
      'f: inspector.enabled: must be true or false, got "yes"',
      'f: inspector.listen: must be a loopback address and port such as 127.0.0.1:9471, got ""',
    ],
  );
});

test('ownership, fencing, watchdog and VIP-loss settings: defaults, and they reach the timing', () => {
  const c = buildConfig({ env: goodEnv });
  assert.equal(c.file.ceph.blocklistExpirySeconds, 157_784_760, '5 years, like ceph-csi NetworkFence');
  assert.equal(c.file.fencing.scope, 'client');
  assert.equal(c.file.fencing.hostExpirySeconds, 3600);
  assert.deepEqual(c.file.watchdog, { intervalMs: 1_000, deadlineMs: 5_000 });
  assert.equal(c.file.keepalived.vipLossGraceMs, 5_000);
  assert.equal(c.timing.vipLossGraceMs, 5_000);
  assert.equal(c.timing.timeouts.claim, 20_000);
  assert.equal(c.timing.timeouts.record, 20_000);
  assert.equal(c.timing.timeouts.disown, 20_000);
  const set = buildConfig({
    env: goodEnv,
    yaml: {
      text: 'fencing: { scope: host, hostExpirySeconds: 600 }\nkeepalived: { vipLossGraceMs: 60000 }\ntimeouts: { claim: 1000, record: 2000, disown: 3000 }\n',
      source: 'f',
    },
  });
  assert.equal(set.file.fencing.scope, 'host');
  assert.equal(set.timing.vipLossGraceMs, 60_000);
  assert.deepEqual([set.timing.timeouts.claim, set.timing.timeouts.record, set.timing.timeouts.disown], [1000, 2000, 3000]);
});

test('fencing, watchdog and VIP-loss settings: each refusal names the field and what is allowed', () => {
  const yaml = (text: string) => problemsOf(() => buildConfig({ env: goodEnv, yaml: { text, source: 'f' } }));
  assert.deepEqual(yaml('fencing: { scope: cluster }'), ['f: fencing.scope: must be one of client, host, got "cluster"']);
  assert.deepEqual(yaml('fencing: { hostExpirySeconds: 60, cooldownMs: 120000 }'), [
    'fencing.hostExpirySeconds: a fence must outlast fencing.cooldownMs (120000 ms), got 60 s',
  ]);
  assert.deepEqual(yaml('fencing: { hostExpirySeconds: 604801 }'), ['f: fencing.hostExpirySeconds: must be a whole number from 60 to 604800, got 604801']);
  assert.deepEqual(yaml('ceph: { blocklistExpirySeconds: 100 }'), [
    'ceph.blocklistExpirySeconds: a fence must outlast fencing.cooldownMs (120000 ms), got 100 s',
  ]);
  assert.deepEqual(yaml('ceph: { blocklistExpirySeconds: 315569521 }'), [
    'f: ceph.blocklistExpirySeconds: must be a whole number from 60 to 315569520, got 315569521',
  ]);
  assert.deepEqual(yaml('watchdog: { intervalMs: 5000, deadlineMs: 5000 }'), ['watchdog.intervalMs: must be less than watchdog.deadlineMs (5000), got 5000']);
  assert.deepEqual(yaml('watchdog: { intervalMs: 6000 }'), ['watchdog.intervalMs: must be less than watchdog.deadlineMs (5000), got 6000']);
  assert.deepEqual(yaml('keepalived: { vipLossGraceMs: 60001 }'), ['f: keepalived.vipLossGraceMs: must be a whole number from 1 to 60000, got 60001']);
});

test('paths are stored normalized; / and system directories are refused, naming the field, the value and what it resolves to', () => {
  const ok = buildConfig({
    env: goodEnv,
    yaml: {
      text: 'filesystem: { mountPoint: /data/harbor/ }\nharbor: { projectDir: "//data/harbor/./installer/" }\nceph: { fuseDir: /run/ha//fuse }\n',
      source: 'f',
    },
  });
  assert.equal(ok.file.filesystem.mountPoint, '/data/harbor');
  assert.equal(ok.file.harbor.projectDir, '/data/harbor/installer');
  assert.equal(ok.file.ceph.fuseDir, '/run/ha/fuse');
  assert.equal(
    buildConfig({ env: goodEnv, yaml: { text: 'filesystem: { mountPoint: /var/lib/harbor }', source: 'f' } }).file.filesystem.mountPoint,
    '/var/lib/harbor',
  );
  const refused = (field: string, value: string) => {
    const [section = '', key = ''] = field.split('.');
    const problems = problemsOf(() => buildConfig({ env: goodEnv, yaml: { text: `${section}:\n  ${key}: ${JSON.stringify(value)}\n`, source: 'f' } }));
    assert.equal(problems.length, 1, problems.join('\n'));
    return problems[0] ?? '';
  };
  for (const [value, resolved] of [
    ['/.', '/'],
    ['//', '/'],
    ['/usr/..', '/'],
    ['/etc', '/etc'],
    ['/var/', '/var'],
    ['/home', '/home'],
    ['/root/', '/root'],
  ] as const) {
    const p = refused('filesystem.mountPoint', value);
    assert.ok(p.startsWith(`f: filesystem.mountPoint: must not be / or a system directory (`), p);
    assert.ok(p.includes('/var/lib/harbor or /data/harbor, is fine'), p);
    assert.ok(p.includes(`got ${JSON.stringify(value)}`), p);
    if (value !== resolved) assert.ok(p.endsWith(`(resolves to ${JSON.stringify(resolved)})`), p);
  }
  assert.match(refused('harbor.projectDir', '/usr/'), /^f: harbor\.projectDir: must not be \/ or a system directory .*got "\/usr\/" \(resolves to "\/usr"\)$/);
  assert.match(refused('ceph.fuseDir', '/run'), /^f: ceph\.fuseDir: must not be \/ or a system directory .*got "\/run"$/);
  assert.match(refused('node.stateDir', '/var/lib/'), /^f: node\.stateDir: must not be \/ or a system directory/);
  assert.equal(
    refused('filesystem.mountPoint', '/data/x/../harbor'),
    `f: filesystem.mountPoint: must be an absolute path without spaces or '..', got "/data/x/../harbor" (resolves to "/data/harbor"); write the path you mean`,
  );
  // cross-checks compare the normalized values
  assert.equal(
    refused('ceph.fuseDir', '/data/harbor//fuse/'),
    'ceph.fuseDir: must not be inside filesystem.mountPoint or contain it (/data/harbor/fuse vs /data/harbor)',
  );
  assert.equal(
    refused('filesystem.mountPoint', '/var/lib/harbor-assistant/./data/'),
    'filesystem.mountPoint: must not be inside node.stateDir or contain it: the mount would hide it or be hidden (/var/lib/harbor-assistant/data vs /var/lib/harbor-assistant)',
  );
  assert.deepEqual(
    problemsOf(() => buildConfig({ env: goodEnv, yaml: { text: 'filesystem: { mountPoint: /run/harbor-assistant/ }', source: 'f' } })),
    [
      'ceph.fuseDir: must not be inside filesystem.mountPoint or contain it (/run/harbor-assistant/fuse vs /run/harbor-assistant)',
      'filesystem.mountPoint: must not be inside node.runDir or contain it: the mount would hide it or be hidden (/run/harbor-assistant vs /run/harbor-assistant)',
    ],
  );
});
