import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildConfig, loadConfig } from '../../src/config/index.js';
import { parseEnvFile } from '../../src/config/env.js';
import { goodEnv, problemsOf } from '../support/config.js';

const dir = mkdtempSync(join(tmpdir(), 'ha-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const envText = `${Object.entries(goodEnv)
  .map(([k, v]) => `${k}=${v}`)
  .join('\n')}\n`;

let files = 0;
function file(content: string | Uint8Array): string {
  const path = join(dir, `f${files++}`);
  writeFileSync(path, content);
  return path;
}

const yamlProblems = (text: string) => problemsOf(() => buildConfig({ env: goodEnv, yaml: { text, source: 'f' } }));
const envProblems = (vars: Record<string, string>) => problemsOf(() => buildConfig({ env: { ...goodEnv, ...vars } }));

test('keys named like built-in object properties are unknown fields at every level, and parsing them pollutes nothing', () => {
  const before = Object.getOwnPropertyNames(Object.prototype).sort();
  const text = [
    '__proto__: { polluted: 1 }',
    'constructor: 1',
    'node:',
    '  toString: x',
    '  hasOwnProperty: y',
    'harbor:',
    '  probe:',
    '    __proto__: { rise: 5 }',
    '    valueOf: 1',
  ].join('\n');
  const problems = yamlProblems(text);
  for (const key of ['__proto__', 'constructor', 'node.toString', 'node.hasOwnProperty', 'harbor.probe.__proto__', 'harbor.probe.valueOf']) {
    assert.ok(
      problems.some((p) => p.startsWith(`f: ${key}: unknown field; allowed here: `)),
      `${key} not refused:\n${problems.join('\n')}`,
    );
  }
  assert.equal(problems.length, 6, problems.join('\n'));
  // YAML 1.1 merge keys (`<<`) take the same path
  assert.deepEqual(yamlProblems('%YAML 1.1\n---\nnode:\n  <<: { __proto__: { polluted: 1 } }\n'), [
    'f: node.__proto__: unknown field; allowed here: name, stateDir, runDir, cephAddresses',
  ]);
  const env = parseEnvFile('__proto__=x\nconstructor=y\nA=1\n');
  assert.equal(Object.getPrototypeOf(env), Object.prototype);
  assert.equal(env.A, '1');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), before);
});

test('invalid UTF-8 in the YAML file or the env file is refused, naming the file and the byte offset', () => {
  const yaml = file(Buffer.concat([Buffer.from('# caf'), Buffer.from([0xe9]), Buffer.from('\nnode: { name: a }\n')]));
  assert.deepEqual(
    problemsOf(() => loadConfig({ configPath: yaml, envFile: file(envText), env: {} })),
    [`--config ${yaml}: not valid UTF-8 at byte offset 5 (line 1); save it as UTF-8`],
  );
  const env = file(Buffer.concat([Buffer.from(envText), Buffer.from('# '), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('\n')]));
  assert.deepEqual(
    problemsOf(() => loadConfig({ configPath: file('{}\n'), envFile: env, env: {} })),
    [`--env ${env}: not valid UTF-8 at byte offset ${Buffer.byteLength(envText) + 2} (line 10); save it as UTF-8`],
  );
  // a well-formed file with multi-byte characters still loads
  const ok = loadConfig({ configPath: file('# café ✓ 🚢\nnode: { name: a }\n'), envFile: file(`# ü\n${envText}`), env: {} });
  assert.equal(ok.nodeName, 'a');
});

test('configuration files above the size limit are refused before they are read, naming the file, its size and the limit', () => {
  const big = file(`# ${'x'.repeat(1024 * 1024)}\n`);
  assert.deepEqual(
    problemsOf(() => loadConfig({ configPath: big, envFile: file(envText), env: {} })),
    [`--config ${big}: 1048579 bytes, more than the limit of 1048576 bytes for a configuration file`],
  );
  const bigEnv = file(`${envText}# ${'x'.repeat(64 * 1024)}\n`);
  assert.deepEqual(
    problemsOf(() => loadConfig({ configPath: file('{}\n'), envFile: bigEnv, env: {} })),
    [`--env ${bigEnv}: ${Buffer.byteLength(envText) + 64 * 1024 + 3} bytes, more than the limit of 65536 bytes for an environment file`],
  );
  // a sparse 2 GiB file: refused from its size alone (reading it would take 2 GiB of memory)
  const huge = file('');
  truncateSync(huge, 2 ** 31);
  assert.deepEqual(
    problemsOf(() => loadConfig({ configPath: huge, envFile: file(envText), env: {} })),
    [`--config ${huge}: 2147483648 bytes, more than the limit of 1048576 bytes for a configuration file`],
  );
  // a device without a size is read only up to the limit
  assert.deepEqual(
    problemsOf(() => loadConfig({ configPath: '/dev/zero', envFile: file(envText), env: {} })),
    ['--config /dev/zero: more than the limit of 1048576 bytes for a configuration file'],
  );
});

test('error messages cut echoed values to 80 characters with their length', () => {
  const long = 'a'.repeat(100_000);
  const [p] = yamlProblems(`node: { name: "${long}" }`);
  assert.equal(p, `f: node.name: must be a host name (letters, digits, _ . -), got "${'a'.repeat(80)}…" (100000 characters)`);
  const [u] = yamlProblems(`node: { ${long}: 1 }`);
  assert.ok(u?.startsWith(`f: node."${'a'.repeat(80)}…" (100000 characters): unknown field`), u);
  const [l] = yamlProblems(`filesystem: { mountOptions: ["${long}", "b c"] }`);
  assert.ok(l && l.length < 300 && l.endsWith('… (100010 characters)'), l);
  const [e] = envProblems({ CEPH_POOL_NAME: `x y${long}` });
  assert.ok(e?.endsWith(`got "x y${'a'.repeat(77)}…" (100003 characters)`), e);
  const [m] = envProblems({ CEPH_MON_HOST: `10.0.0.1,${long};` });
  assert.ok(m && m.length < 300 && m.includes('(100001 characters)'), m);
});

test('HARBOR_VIP must be an address a service can use: not unspecified, multicast, broadcast, link-local or IPv4-mapped', () => {
  for (const vip of ['0.0.0.0', '0.1.2.3', '::', '0:0:0:0:0:0:0:0']) {
    assert.deepEqual(envProblems({ HARBOR_VIP: vip }), [
      `HARBOR_VIP: must be a unicast address this host can serve on, got ${JSON.stringify(vip)}: an unspecified ("any") address`,
    ]);
  }
  for (const vip of ['224.0.0.18', '239.255.255.250', 'ff02::1', 'FF05::1:3'])
    assert.match(envProblems({ HARBOR_VIP: vip })[0] ?? '', /^HARBOR_VIP: must be a unicast address .*: a multicast address \(224\.0\.0\.0\/4, ff00::\/8\)$/);
  assert.match(envProblems({ HARBOR_VIP: '255.255.255.255' })[0] ?? '', /^HARBOR_VIP: .*: the broadcast address$/);
  for (const vip of ['169.254.10.1', 'fe80::1', 'fe80::1%eth0'])
    assert.match(envProblems({ HARBOR_VIP: vip })[0] ?? '', /^HARBOR_VIP: .*: a link-local address/);
  assert.match(
    envProblems({ HARBOR_VIP: '2001:db8::1%eth0' })[0] ?? '',
    /^HARBOR_VIP: .*: a zone \(%eth0\) is for link-local addresses only; write the address without it$/,
  );
  assert.match(envProblems({ HARBOR_VIP: '::ffff:10.0.0.100' })[0] ?? '', /^HARBOR_VIP: .*: an IPv4-mapped IPv6 address; write the IPv4 address itself$/);
  for (const vip of ['10.0.0.100', '192.0.2.10', '2001:db8::100', '172.16.0.1'])
    assert.equal(buildConfig({ env: { ...goodEnv, HARBOR_VIP: vip } }).env.vip, vip);
});

test('CEPH_MON_HOST ports must be 1-65535, naming the monitor entry', () => {
  for (const entry of ['10.0.0.10:99999', '10.0.0.10:0', '[2001:db8::1]:65536', 'mon-b:00000']) {
    assert.deepEqual(envProblems({ CEPH_MON_HOST: `10.0.0.11,${entry}` }), [
      `CEPH_MON_HOST: monitor ${JSON.stringify(entry)}: the port must be from 1 to 65535`,
    ]);
  }
  assert.deepEqual(buildConfig({ env: { ...goodEnv, CEPH_MON_HOST: '10.0.0.10:1,mon-b:65535,[2001:db8::1]:3300' } }).env.monHosts, [
    '10.0.0.10:1',
    'mon-b:65535',
    '[2001:db8::1]:3300',
  ]);
});

test('INTERFACE must be a Linux interface name: not . or .., no / or spaces, at most 15 characters', () => {
  for (const name of ['.', '..', 'eth0/1', 'eth 0', 'eth0:1', 'a'.repeat(16)]) {
    assert.match(
      envProblems({ INTERFACE: name })[0] ?? '',
      /^INTERFACE: must be a network interface name \(1-15 of letters, digits, _ \. @ -; not \. or \.\.\), got /,
      name,
    );
  }
  for (const name of ['eth0', 'br-lan', 'eth0.100', 'bond0@x', 'a'.repeat(15), '.hidden'])
    assert.equal(buildConfig({ env: { ...goodEnv, INTERFACE: name } }).env.interface, name);
});

test('a missing --env or --config file is named instead of every key being "not set"', () => {
  const missing = join(dir, 'nowhere', '.env');
  assert.deepEqual(
    problemsOf(() => loadConfig({ configPath: file('{}\n'), envFile: missing, env: {} })),
    [`--env ${missing}: environment file not found`],
  );
  const missingYaml = join(dir, 'nowhere.yaml');
  assert.deepEqual(
    problemsOf(() => loadConfig({ configPath: missingYaml, envFile: missing, env: {} })),
    [`--env ${missing}: environment file not found`, `--config ${missingYaml}: configuration file not found`],
  );
  const aDir = join(dir, 'a-directory');
  mkdirSync(aDir);
  assert.deepEqual(
    problemsOf(() => loadConfig({ configPath: aDir, envFile: file(envText), env: {} })),
    [`--config ${aDir}: is a directory, not a file`],
  );
  // the env file and the environment together still make a configuration
  const { HARBOR_VIP, ...rest } = goodEnv;
  const envFile = file(
    `${Object.entries(rest)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
  assert.equal(loadConfig({ configPath: file('{}\n'), envFile, env: { HARBOR_VIP } }).env.vip, HARBOR_VIP);
});

test('harbor.composeCommand and harbor.prepareCommand start with a program name or an absolute path, never shell syntax', () => {
  const compose = (words: unknown) => yamlProblems(`harbor: { composeCommand: ${JSON.stringify(words)} }`);
  const prepare = (words: unknown) => yamlProblems(`harbor: { prepareCommand: ${JSON.stringify(words)} }`);
  for (const words of [
    ['HA_X=1', 'docker'],
    [';'],
    ['$(reboot)'],
    ['docker compose'],
    ['eval', 'x'],
    ['./docker-compose'],
    ['.', 'x'],
    ['-x'],
    ['../x'],
    ['/usr/bin/../x'],
    ['/usr/b in/x'],
    ['time', 'docker'],
    [],
    [''],
    'docker compose',
  ]) {
    const p = compose(words);
    assert.equal(p.length, 1, p.join('\n'));
    assert.ok(
      p[0]?.startsWith('f: harbor.composeCommand: must be auto or a command as a list of words, e.g. [docker, compose]; the first word a program name'),
      p[0],
    );
    assert.ok(p[0]?.endsWith(`got ${JSON.stringify(words)}`), p[0]);
  }
  for (const words of [['HA_X=1'], [';'], ['./'], ['./a/b'], ['../prepare'], ['prepare;x'], ['$(x)'], [], ['./prepare', 'a\0b'], ['if', 'x']]) {
    const p = prepare(words);
    assert.equal(p.length, 1, p.join('\n'));
    assert.ok(p[0]?.startsWith('f: harbor.prepareCommand: must be a command as a list of words, e.g. [./prepare]; the first word a program name'), p[0]);
  }
  for (const words of [['docker', 'compose'], ['docker-compose'], ['/usr/local/bin/docker-compose', '--ansi', 'never'], ['podman-compose'], ['true']]) {
    assert.deepEqual(
      buildConfig({ env: goodEnv, yaml: { text: `harbor: { composeCommand: ${JSON.stringify(words)} }`, source: 'f' } }).file.harbor.composeCommand,
      words,
    );
  }
  for (const words of [['./prepare'], ['./prepare', '--with-trivy', 'a b; c'], ['/opt/harbor/prepare'], ['python3', 'prepare']]) {
    assert.deepEqual(
      buildConfig({ env: goodEnv, yaml: { text: `harbor: { prepareCommand: ${JSON.stringify(words)} }`, source: 'f' } }).file.harbor.prepareCommand,
      words,
    );
  }
});

test('filesystem.synchronousDirs: relative paths inside the image only, each bad one named', () => {
  for (const bad of ['/etc', '../etc', 'data/../../etc', 'data/./redis', '.', 'data//redis', 'data/redis/', 'a b', '-rf']) {
    const problems = yamlProblems(`filesystem: { synchronousDirs: [${JSON.stringify(bad)}] }\n`);
    assert.equal(problems.length, 1, `${bad}: ${problems.join('; ')}`);
    assert.match(problems[0] ?? '', /filesystem\.synchronousDirs: must be a list of relative paths under the mount point/);
  }
  const ok = buildConfig({ env: goodEnv, yaml: { text: 'filesystem: { synchronousDirs: [data/redis, data/job_logs, "x.y/z_1"] }\n', source: 'f' } });
  assert.deepEqual(ok.file.filesystem.synchronousDirs, ['data/redis', 'data/job_logs', 'x.y/z_1']);
  assert.deepEqual(buildConfig({ env: goodEnv }).file.filesystem.synchronousDirs, ['data/redis']);
  assert.deepEqual(buildConfig({ env: goodEnv, yaml: { text: 'filesystem: { synchronousDirs: [] }\n', source: 'f' } }).file.filesystem.synchronousDirs, []);
});
