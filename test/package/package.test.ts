import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DEB_PREFIX, DEPENDS, TARBALL_PREFIX } from '../../scripts/package/layout.js';
import { currentPackage, debianVersionLess, nextPackage } from '../support/packages.js';

// What `npm run package` builds, read back with Debian's own tools: the control fields, the
// tree, the modes, the runtime it brings, and lintian's verdict.
const pkg = currentPackage();
const scratch = mkdtempSync(join(tmpdir(), 'ha-package-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function sh(argv: string[], timeoutMs = 120_000): string {
  const [cmd = '', ...args] = argv;
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
}

const unpacked = join(scratch, 'deb');
sh(['dpkg-deb', '-x', pkg.deb, unpacked]);

test('control: name, version, architecture, and Depends on what it runs with the usual alternatives', () => {
  const field = (f: string) => sh(['dpkg-deb', '-f', pkg.deb, f]).trim();
  assert.equal(field('Package'), 'harbor-assistant');
  assert.equal(field('Version'), pkg.version);
  assert.equal(field('Architecture'), 'amd64');
  const depends = field('Depends');
  for (const d of ['ceph-common', 'keepalived', 'e2fsprogs', 'docker.io | docker-ce | docker-engine', 'docker-compose | docker-compose-plugin'])
    assert.ok(depends.includes(d), `Depends has ${d}: ${depends}`);
  assert.equal(depends, DEPENDS.join(', '));
  assert.doesNotMatch(depends, /nodejs/, 'the runtime is inside the package');
  assert.deepEqual(sh(['dpkg-deb', '-I', pkg.deb, 'conffiles']).trim().split('\n'), [
    '/etc/harbor-assistant/harbor-assistant.yaml',
    '/etc/harbor-assistant/.env',
  ]);
});

test('the tree: programs on PATH, units, check script, conffile modes, man pages, alert rules', () => {
  const listing = sh(['dpkg-deb', '-c', pkg.deb]);
  const entry = (path: string) => listing.split('\n').find((l) => l.endsWith(` ./${path}`) || l.includes(` ./${path} -> `));
  for (const p of ['harbor-assistant', 'harborctl', 'keepalivedctl']) {
    assert.match(entry(`usr/bin/${p}`) ?? '', /^l.* -> \.\.\/lib\/harbor-assistant\/bin\//, `/usr/bin/${p} links into the package`);
    assert.match(entry(`usr/share/man/man8/${p}.8.gz`) ?? '', /^-rw-r--r-- root\/root/, `${p}(8)`);
  }
  assert.match(entry('etc/harbor-assistant/.env') ?? '', /^-rw------- root\/root/, 'the .env template is 0600');
  assert.match(entry('etc/harbor-assistant/') ?? '', /^drwx------ root\/root/, '/etc/harbor-assistant is 0700');
  assert.match(
    entry('usr/lib/harbor-assistant/bin/harbor-assistant-check') ?? '',
    /^-rwxr-xr-x root\/root/,
    'the check script: root-owned, not writable by others',
  );
  assert.ok(entry('lib/systemd/system/harbor-assistant.service'));
  assert.ok(entry('lib/systemd/system/harbor-assistant-keepalived.service'));
  assert.ok(entry('usr/share/harbor-assistant/prometheus/harbor-assistant.rules.yml'));
  const unit = readFileSync(join(unpacked, 'lib/systemd/system/harbor-assistant.service'), 'utf8');
  assert.match(unit, new RegExp(`^ExecStart=${DEB_PREFIX}/runtime/node (--\\S+ )+${DEB_PREFIX}/app/main\\.mjs run$`, 'm'), 'the unit runs the bundled runtime');
  assert.doesNotMatch(unit, /@PREFIX@/);
  const check = readFileSync(join(unpacked, DEB_PREFIX, 'bin/harbor-assistant-check'), 'utf8');
  // keepalived runs it every second: a shell script over the service's heartbeat, no Node start
  assert.match(check, /^#!\/bin\/sh\n/);
  assert.doesNotMatch(check, /@PREFIX@/);
  // a keepalived.conf rendered by an earlier version (`check --socket …`) still reaches the Node check
  assert.match(check, new RegExp(`exec ${DEB_PREFIX}/runtime/node ${DEB_PREFIX}/app/main\\.mjs "\\$@"`));
  writeFileSync(join(scratch, 'hb'), '');
  const alive = spawnSync(join(unpacked, DEB_PREFIX, 'bin/harbor-assistant-check'), [join(scratch, 'hb'), join(scratch, 'seen'), join(scratch, 'grace')], {
    encoding: 'utf8',
  });
  assert.equal(alive.status, 0, 'a heartbeat it has not seen yet: alive');
  const stale = spawnSync(join(unpacked, DEB_PREFIX, 'bin/harbor-assistant-check'), [join(scratch, 'hb'), join(scratch, 'seen'), join(scratch, 'grace')], {
    encoding: 'utf8',
  });
  assert.equal(stale.status, 1, 'the same heartbeat again: not alive');
});

test('the bundled runtime is Node.js 24 and runs the bundled program, whatever node the host has', () => {
  const node = join(unpacked, DEB_PREFIX, 'runtime', 'node');
  assert.match(sh([node, '--version']).trim(), /^v24\.\d+\.\d+$/);
  assert.equal(sh([node, join(unpacked, DEB_PREFIX, 'app', 'main.mjs'), '--version']).trim(), `harbor-assistant ${pkg.version}`);
  // the fast check path answers without a service: unfit, and says why
  const r = spawnSync(
    node,
    [
      join(unpacked, DEB_PREFIX, 'app', 'main.mjs'),
      'check',
      '--socket',
      join(scratch, 'none.sock'),
      '--status-file',
      join(scratch, 'none.json'),
      '--grace',
      '1000',
    ],
    {
      encoding: 'utf8',
      timeout: 20_000,
    },
  );
  assert.equal(r.status, 1);
  assert.match(r.stdout + r.stderr, /unfit/);
  const manifest = JSON.parse(readFileSync(join(unpacked, DEB_PREFIX, 'PACKAGE'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual({ kind: manifest.kind, prefix: manifest.prefix, version: manifest.version }, { kind: 'deb', prefix: DEB_PREFIX, version: pkg.version });
});

test('the tarball holds the same program under harbor-assistant/ for /opt, with its units', () => {
  const dir = join(scratch, 'tar');
  sh(['mkdir', '-p', dir]);
  sh(['tar', '-xzf', pkg.tarball, '-C', dir]);
  const tree = join(dir, 'harbor-assistant');
  for (const p of ['bin/harbor-assistant', 'bin/harborctl', 'bin/keepalivedctl', 'bin/harbor-assistant-check', 'runtime/node'])
    assert.equal(statSync(join(tree, p)).mode & 0o777, 0o755, p);
  const unit = readFileSync(join(tree, 'share/systemd/harbor-assistant.service'), 'utf8');
  assert.match(unit, new RegExp(`^ExecStart=${TARBALL_PREFIX}/runtime/node `, 'm'));
  assert.equal(sh([join(tree, 'runtime/node'), join(tree, 'app/main.mjs'), '--version']).trim(), `harbor-assistant ${pkg.version}`);
  // the same bundle in both artifacts
  assert.equal(readFileSync(join(tree, 'app/main.mjs'), 'utf8'), readFileSync(join(unpacked, DEB_PREFIX, 'app/main.mjs'), 'utf8'));
});

test('the next version sorts after this one for dpkg (upgrades are upgrades)', () => {
  const next = nextPackage();
  assert.ok(debianVersionLess(pkg.version, next.version), `${pkg.version} < ${next.version}`);
  assert.equal(sh(['dpkg-deb', '-f', next.deb, 'Version']).trim(), next.version);
});

test('lintian --pedantic: no tag at any level (overrides are in the package, each with its reason)', () => {
  const r = spawnSync('lintian', ['--pedantic', '--display-info', '--fail-on', 'error,warning,info,pedantic', pkg.deb], { encoding: 'utf8', timeout: 300_000 });
  if (r.error) assert.fail(`lintian: ${r.error.message} (apt-get install lintian)`);
  const tags = r.stdout.split('\n').filter((l) => /^[EWIPX]: /.test(l));
  assert.deepEqual(tags, []);
  assert.equal(r.status, 0, r.stderr);
  const overrides = readFileSync(join(unpacked, 'usr/share/lintian/overrides/harbor-assistant'), 'utf8').split('\n');
  // every override line follows a comment that says why
  overrides.forEach((line, i) => {
    if (line.startsWith('harbor-assistant:'))
      assert.ok(
        overrides.slice(0, i).some((l) => l.startsWith('#')),
        line,
      );
  });
});
