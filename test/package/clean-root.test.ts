import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { currentPackage, nextPackage } from '../support/packages.js';

// The package as an operator meets it: installed with apt-get into a clean Debian 12 root (a
// debootstrap minbase with systemd, lab/clean-root.sh), its Depends resolved from Debian, then
// the first commands of docs/operations.md. Nothing is started in the root (policy-rc.d), and
// the only network the setup's doctor reaches is loopback (the monitor it is given).
const repo = join(import.meta.dirname, '..', '..');
const cleanRoot = join(repo, 'lab', 'clean-root.sh');
const pkg = currentPackage();

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function inRoot(root: string, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Run {
  const r = spawnSync('chroot', [root, ...argv], {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    input: opts.input,
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.error) throw new Error(`chroot ${argv.join(' ')}: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(root: string, argv: string[], timeoutMs?: number): string {
  const r = inRoot(root, argv, timeoutMs === undefined ? {} : { timeoutMs });
  assert.equal(r.status, 0, `${argv.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

function rootUp(name: string): string {
  const root = `/var/tmp/halab-${name}`;
  execFileSync('bash', [cleanRoot, 'up', root], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 900_000 });
  after(() => execFileSync('bash', [cleanRoot, 'down', root], { stdio: 'ignore', timeout: 120_000 }));
  return root;
}

/** Every file under `dir` with its mode, size and mtime: "nothing was written" is this map unchanged. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      out[p] = `${(st.mode & 0o7777).toString(8)} ${st.size} ${st.mtimeMs}${st.isSymbolicLink() ? ` -> ${readlinkSync(p)}` : ''}`;
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** The host's interface towards its default route (the root shares its network namespace): up, so keepalived -t accepts it. */
function anInterface(): string {
  const routes = JSON.parse(execFileSync('ip', ['-j', 'route', 'show', 'default'], { encoding: 'utf8', timeout: 10_000 })) as Array<{ dev?: string }>;
  const dev = routes[0]?.dev;
  if (dev === undefined) throw new Error('this host has no default route: no interface to give setup');
  return dev;
}

const key = randomBytes(28).toString('base64');
const keyring = `[client.harbor]\n\tkey = ${key}\n\tcaps mon = "profile rbd"\n`;

/** Answers for setup: a monitor on loopback where nothing listens, so doctor blocks quickly and nothing leaves the host. */
function answers(extra: string[] = []): string[] {
  return [
    '--vip',
    '10.213.99.100',
    '--mon-host',
    '127.0.0.1:3',
    '--ceph-user',
    'harbor',
    '--ceph-key-file',
    '/root/harbor.keyring',
    '--pool',
    'rbd',
    '--image',
    'harbor_data',
    '--role',
    'master',
    '--interface',
    anInterface(),
    '--harbor-version',
    'v2.11.0',
    '--harbor-yml',
    '/root/harbor.yml',
    ...extra,
  ];
}

function prepareAnswers(root: string): void {
  writeFileSync(join(root, 'root', 'harbor.keyring'), keyring, { mode: 0o600 });
  copyFileSync(join(repo, 'lab', 'harbor.yml'), join(root, 'root', 'harbor.yml'));
}

function assertNoKey(r: Run): void {
  assert.ok(!`${r.stdout}${r.stderr}`.includes(key), 'the key is never printed');
}

function assertRefusedBeforeWriting(root: string, setup: string, watched: string[]): void {
  const before = Object.assign({}, ...watched.map((d) => snapshot(join(root, d)))) as Record<string, string>;
  const bad: Array<[string[], RegExp]> = [
    [answers(['--vip', '300.1.1.1']), /HARBOR_VIP|--vip/],
    [answers(['--role', 'primary']), /KEEPALIVED_ROLE|--role/],
    [answers(['--pool', 'rbd;rm -rf /']), /CEPH_POOL_NAME|--pool/],
    [answers(['--harbor-yml', '/root/no-such-harbor.yml']), /harbor-yml|HARBOR_YML/],
  ];
  for (const [argv, field] of bad) {
    const r = inRoot(root, [setup, 'setup', ...argv]);
    assert.equal(r.status, 2, `refused with exit 2: ${argv.join(' ')}\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr + r.stdout, field, 'the problem names the field');
    assertNoKey(r);
  }
  const withKeyOnArgv = inRoot(root, [setup, 'setup', ...answers(['--ceph-key', key])]);
  assert.notEqual(withKeyOnArgv.status, 0, 'a key on the command line is refused');
  assert.match(withKeyOnArgv.stderr + withKeyOnArgv.stdout, /--ceph-key-file/);
  const after_ = Object.assign({}, ...watched.map((d) => snapshot(join(root, d)))) as Record<string, string>;
  assert.deepEqual(after_, before, 'nothing written or changed by refused answers');
}

describe('the .deb on a clean Debian 12 root', () => {
  const root = rootUp('deb-root');
  copyFileSync(pkg.deb, join(root, 'tmp', 'pkg.deb'));

  test('apt-get install ./harbor-assistant_*.deb resolves its Depends from Debian and starts nothing', () => {
    const out = ok(root, ['apt-get', 'install', '-y', '-q', '--no-install-recommends', '/tmp/pkg.deb'], 900_000);
    assert.match(out, /harbor-assistant setup/, 'postinst says what to do next');
    for (const dep of ['ceph-common', 'keepalived', 'e2fsprogs', 'docker.io', 'docker-compose']) ok(root, ['dpkg-query', '-W', dep]);
    assert.equal(existsSync(join(root, 'etc/systemd/system/multi-user.target.wants/harbor-assistant.service')), false, 'install enables nothing');
    assert.equal(statSync(join(root, 'etc/harbor-assistant')).mode & 0o777, 0o700);
    assert.equal(statSync(join(root, 'etc/harbor-assistant/.env')).mode & 0o777, 0o600);
  });

  test('harbor-assistant --version and validate-config --example on the bundled runtime; --help per verb', () => {
    assert.equal(ok(root, ['harbor-assistant', '--version']).trim(), `harbor-assistant ${pkg.version}`);
    assert.match(ok(root, ['harbor-assistant', 'validate-config', '--example']), /^node:$/m);
    assert.match(ok(root, ['harborctl', '--help']), /SYNOPSIS/);
    assert.match(ok(root, ['keepalivedctl', '--help']), /SYNOPSIS/);
    assert.match(ok(root, ['harbor-assistant', 'setup', '--help']), /--ceph-key-file/);
    // no node on the host's PATH: the package's own runtime is what runs
    assert.notEqual(inRoot(root, ['sh', '-c', 'command -v node']).status, 0);
    // the shipped .env template is not a configuration yet: the unit's ExecStartPre refuses it, naming the fields
    const r = inRoot(root, ['harbor-assistant', 'validate-config']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /HARBOR_VIP/);
  });

  test('systemd-analyze verify on the installed units', () => {
    ok(root, [
      'systemd-analyze',
      'verify',
      '--man=no',
      '/lib/systemd/system/harbor-assistant.service',
      '/lib/systemd/system/harbor-assistant-keepalived.service',
    ]);
  });

  test('setup: bad answers refused before anything is written; good ones configure, check keepalived, enable the units, report the blocker; twice changes nothing', () => {
    prepareAnswers(root);
    assertRefusedBeforeWriting(root, 'harbor-assistant', ['etc/harbor-assistant', 'etc/keepalived', 'etc/systemd/system']);

    const first = inRoot(root, ['harbor-assistant', 'setup', ...answers()], { timeoutMs: 180_000 });
    assertNoKey(first);
    assert.equal(first.status, 3, `configured, Ceph unreachable blocks a takeover: ${first.stdout}${first.stderr}`);
    const env = readFileSync(join(root, 'etc/harbor-assistant/.env'), 'utf8');
    assert.match(env, /^HARBOR_VIP=10\.213\.99\.100$/m);
    assert.match(env, new RegExp(`^CEPH_USER_KEY=${key.replace(/[+/=]/g, '\\$&')}$`, 'm'), 'the key from the keyring file');
    assert.equal(statSync(join(root, 'etc/harbor-assistant/.env')).mode & 0o777, 0o600);
    const yaml = readFileSync(join(root, 'etc/harbor-assistant/harbor-assistant.yaml'), 'utf8');
    assert.match(yaml, /checkScript: "?\/usr\/lib\/harbor-assistant\/bin\/harbor-assistant-check"?/);
    assert.match(yaml, /harborYml: "?\/root\/harbor\.yml"?/);
    assert.match(yaml, /^# harbor-assistant configuration/m, "the shipped file's comments survive");
    const conf = readFileSync(join(root, 'etc/keepalived/harbor-assistant.conf'), 'utf8');
    assert.match(conf, /10\.213\.99\.100/);
    assert.ok(lstatSync(join(root, 'etc/systemd/system/multi-user.target.wants/harbor-assistant.service')).isSymbolicLink(), 'enabled');
    assert.ok(lstatSync(join(root, 'etc/systemd/system/multi-user.target.wants/harbor-assistant-keepalived.service')).isSymbolicLink(), 'enabled');
    ok(root, ['harbor-assistant', 'validate-config']);
    ok(root, ['keepalived', '-t', '-f', '/etc/keepalived/harbor-assistant.conf']);

    const watched = ['etc/harbor-assistant', 'etc/keepalived', 'etc/systemd/system'];
    const before = Object.assign({}, ...watched.map((d) => snapshot(join(root, d)))) as Record<string, string>;
    const second = inRoot(root, ['harbor-assistant', 'setup', ...answers()], { timeoutMs: 180_000 });
    assert.equal(second.status, 3);
    assert.doesNotMatch(second.stdout, /\bwrote\b/, second.stdout);
    const after_ = Object.assign({}, ...watched.map((d) => snapshot(join(root, d)))) as Record<string, string>;
    assert.deepEqual(after_, before, 'the second run changes nothing');
  });

  test('upgrade to N+1 keeps the configuration setup wrote; remove keeps it; purge deletes the package files and leaves Harbor data alone', () => {
    const next = nextPackage();
    copyFileSync(next.deb, join(root, 'tmp', 'next.deb'));
    const env = readFileSync(join(root, 'etc/harbor-assistant/.env'), 'utf8');
    ok(root, ['apt-get', 'install', '-y', '-q', '--no-install-recommends', '/tmp/next.deb'], 300_000);
    assert.equal(ok(root, ['harbor-assistant', '--version']).trim(), `harbor-assistant ${next.version}`);
    assert.equal(readFileSync(join(root, 'etc/harbor-assistant/.env'), 'utf8'), env, 'the conffile keeps the operator’s values');

    // Harbor's data on its mount point and a journal in the state directory
    mkdirSync(join(root, 'data/harbor/registry'), { recursive: true });
    writeFileSync(join(root, 'data/harbor/registry/blob'), 'pushed image');
    mkdirSync(join(root, 'var/lib/harbor-assistant'), { recursive: true });
    writeFileSync(join(root, 'var/lib/harbor-assistant/journal.jsonl'), '{}\n');

    ok(root, ['apt-get', 'remove', '-y', '-q', 'harbor-assistant']);
    assert.equal(existsSync(join(root, 'usr/lib/harbor-assistant/runtime/node')), false);
    assert.ok(existsSync(join(root, 'etc/harbor-assistant/.env')), 'remove keeps the configuration');

    ok(root, ['apt-get', 'purge', '-y', '-q', 'harbor-assistant']);
    assert.equal(existsSync(join(root, 'etc/harbor-assistant')), false, 'purge deletes the configuration');
    assert.equal(existsSync(join(root, 'etc/keepalived/harbor-assistant.conf')), false, "and setup's keepalived configuration");
    assert.equal(existsSync(join(root, 'var/lib/harbor-assistant')), false, 'and the state directory');
    assert.equal(existsSync(join(root, 'etc/systemd/system/multi-user.target.wants/harbor-assistant.service')), false, 'and the enablement');
    assert.equal(readFileSync(join(root, 'data/harbor/registry/blob'), 'utf8'), 'pushed image', "Harbor's data is untouched");
  });
});

describe('the tarball on another clean root (no dpkg install: unpacked under /opt)', () => {
  const root = rootUp('tar-root');

  test('unpacked under /opt it runs on its own runtime; setup refuses bad answers, then places units and links', () => {
    execFileSync('tar', ['-xzf', pkg.tarball, '-C', join(root, 'opt')], { timeout: 120_000 });
    const bin = '/opt/harbor-assistant/bin/harbor-assistant';
    assert.equal(ok(root, [bin, '--version']).trim(), `harbor-assistant ${pkg.version}`);
    assert.match(ok(root, [bin, 'validate-config', '--example']), /^node:$/m);
    ok(root, ['systemd-analyze', 'verify', '--man=no', '/opt/harbor-assistant/share/systemd/harbor-assistant.service']);

    prepareAnswers(root);
    assertRefusedBeforeWriting(root, bin, ['etc/harbor-assistant', 'etc/systemd/system', 'usr/local/bin']);

    const first = inRoot(root, [bin, 'setup', ...answers()], { timeoutMs: 180_000 });
    assertNoKey(first);
    // keepalived, Ceph and Docker are not installed here: configured, and the blockers named with their fix
    assert.equal(first.status, 3, `${first.stdout}${first.stderr}`);
    assert.match(first.stdout + first.stderr, /keepalived/);
    for (const p of ['harbor-assistant', 'harborctl', 'keepalivedctl'])
      assert.equal(readlinkSync(join(root, 'usr/local/bin', p)), `/opt/harbor-assistant/bin/${p}`);
    for (const u of ['harbor-assistant.service', 'harbor-assistant-keepalived.service']) assert.ok(existsSync(join(root, 'etc/systemd/system', u)), u);
    assert.match(
      readFileSync(join(root, 'etc/harbor-assistant/harbor-assistant.yaml'), 'utf8'),
      /checkScript: "?\/opt\/harbor-assistant\/bin\/harbor-assistant-check"?/,
    );
    assert.equal(statSync(join(root, 'etc/harbor-assistant/.env')).mode & 0o777, 0o600);
    assert.equal(ok(root, ['harbor-assistant', '--version']).trim(), `harbor-assistant ${pkg.version}`, 'on PATH through the link');
    ok(root, ['systemd-analyze', 'verify', '--man=no', '/etc/systemd/system/harbor-assistant.service']);

    const before = snapshot(join(root, 'etc'));
    const second = inRoot(root, [bin, 'setup', ...answers()], { timeoutMs: 180_000 });
    assert.equal(second.status, 3);
    assert.deepEqual(snapshot(join(root, 'etc')), before, 'the second run changes nothing');
  });
});
