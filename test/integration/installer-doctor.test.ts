import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createRunner } from '../../src/actions/exec.js';
import { HarborInstaller } from '../../src/actions/harbor/installer.js';
import { buildConfig } from '../../src/config/index.js';
import { Filesystem } from '../../src/actions/host/filesystem.js';
import { e2fsckVersion, exposureFindings, kernelVersion, mountPointFinding, runDoctor } from '../../src/cli/doctor.js';
import { silentLogger } from '../../src/log/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'ha-inst-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('first start unpacks the local offline installer onto the image, patches harbor.yml, runs prepare once', async () => {
  // an offline installer shaped like Harbor's: harbor/{prepare, harbor.yml.tmpl, install.sh}
  const src = join(dir, 'src', 'harbor');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'harbor.yml.tmpl'), 'hostname: reg.mydomain.com\ndata_volume: /data\n');
  writeFileSync(
    join(src, 'prepare'),
    '#!/bin/sh\necho "prepared $(grep hostname harbor.yml)" >> prepare.log\nprintf "services:\\n  registry:\\n    image: registry\\n" > docker-compose.yml\n',
  );
  chmodSync(join(src, 'prepare'), 0o755);
  const tgz = join(dir, 'harbor-offline-installer-v2.11.0.tgz');
  execFileSync('tar', ['-czf', tgz, '-C', join(dir, 'src'), 'harbor']);
  const userYml = join(dir, 'harbor.yml');
  writeFileSync(userYml, '# ours\nhostname: old\ndata_volume: /data # default\n');
  const mount = join(dir, 'mnt');
  mkdirSync(mount);
  const projectDir = join(mount, 'installer');
  const ran: string[] = [];
  const installer = new HarborInstaller(
    createRunner(silentLogger(), [], (r) => ran.push(r.what)),
    {
      projectDir,
      mountPoint: mount,
      installerTgz: tgz,
      harborYml: userYml,
      hostname: '10.0.0.100',
      prepareCommand: ['./prepare'],
      timeoutMs: 30_000,
    },
  );
  await installer.ensureInstalled();
  assert.ok(existsSync(join(projectDir, 'harbor.yml.tmpl')));
  assert.equal(readFileSync(join(projectDir, 'harbor.yml'), 'utf8'), `# ours\nhostname: 10.0.0.100\ndata_volume: ${mount}/data # default\n`);
  assert.ok(existsSync(join(projectDir, 'docker-compose.yml')));
  assert.deepEqual(ran, ['unpack Harbor installer', 'harbor prepare', 'sync installer'], 'what tar and prepare wrote is flushed to the image');
  ran.length = 0;
  await installer.ensureInstalled();
  assert.deepEqual(ran, [], 'nothing written, nothing flushed');
  assert.equal(readFileSync(join(projectDir, 'prepare.log'), 'utf8').trim().split('\n').length, 1, 'prepare runs again only when harbor.yml changes');
  writeFileSync(userYml, '# ours\nhostname: old\ndata_volume: /data # default\nhttp:\n  port: 8080\n');
  // a takeover flushes beside Harbor's start: told so, it says it wrote and leaves the flush
  assert.equal(await installer.ensureInstalled(undefined, { flush: false }), true);
  assert.deepEqual(ran, ['harbor prepare']);
  assert.equal(await installer.ensureInstalled(undefined, { flush: false }), false);
  ran.length = 0;
  assert.equal(readFileSync(join(projectDir, 'prepare.log'), 'utf8').trim().split('\n').length, 2);
  // a damaged compose file (unchanged harbor.yml) is written again by prepare
  writeFileSync(join(projectDir, 'docker-compose.yml'), 'services: [this is not: a compose file\n');
  await installer.ensureInstalled();
  assert.equal(readFileSync(join(projectDir, 'prepare.log'), 'utf8').trim().split('\n').length, 3);
  assert.match(readFileSync(join(projectDir, 'docker-compose.yml'), 'utf8'), /^services:\n {2}registry:/);
  assert.ok(!existsSync(join(mount, '.harbor-installer.tmp')));
  // a crash before writeback left the installer's files empty: prepare prepares nothing, so the
  // installer is unpacked again (the damaged one kept aside) and prepared
  writeFileSync(join(projectDir, 'prepare'), '');
  writeFileSync(join(projectDir, 'docker-compose.yml'), '');
  writeFileSync(join(projectDir, 'site-notes.txt'), 'kept');
  ran.length = 0;
  await installer.ensureInstalled();
  assert.deepEqual(
    ran.map((w: string) => w.replace(/ \(.*$/, '')),
    ['harbor prepare', 'unpack Harbor installer again', 'harbor prepare', 'sync installer'],
  );
  assert.match(readFileSync(join(projectDir, 'docker-compose.yml'), 'utf8'), /^services:\n {2}registry:/);
  const aside = readdirSync(mount).filter((n) => n.startsWith('installer.damaged-'));
  assert.equal(aside.length, 1);
  assert.equal(readFileSync(join(mount, aside[0] ?? '', 'site-notes.txt'), 'utf8'), 'kept', 'nothing of the damaged installer is deleted');
  assert.equal(readFileSync(join(projectDir, 'harbor.yml'), 'utf8').includes('port: 8080'), true, 'harbor.yml patched again');
});

test('an installer whose fresh unpack still prepares nothing is an error naming the installer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ha-inst-bad-'));
  mkdirSync(join(dir, 'src', 'harbor'), { recursive: true });
  writeFileSync(join(dir, 'src', 'harbor', 'prepare'), '#!/bin/sh\n: > docker-compose.yml\n');
  chmodSync(join(dir, 'src', 'harbor', 'prepare'), 0o755);
  const tgz = join(dir, 'bad.tgz');
  execFileSync('tar', ['-czf', tgz, '-C', join(dir, 'src'), 'harbor']);
  writeFileSync(join(dir, 'harbor.yml'), 'hostname: x\n');
  mkdirSync(join(dir, 'mnt'));
  const installer = new HarborInstaller(createRunner(silentLogger()), {
    projectDir: join(dir, 'mnt', 'installer'),
    mountPoint: join(dir, 'mnt'),
    installerTgz: tgz,
    harborYml: join(dir, 'harbor.yml'),
    hostname: '10.0.0.100',
    prepareCommand: ['./prepare'],
    timeoutMs: 30_000,
  });
  await assert.rejects(installer.ensureInstalled(), (e: Error) => e.message.includes(`wrote no usable docker-compose.yml: check ${tgz}`));
  rmSync(dir, { recursive: true, force: true });
});

test('doctor parses versions the way the original README cases need', () => {
  assert.deepEqual(kernelVersion('4.19.0-18-amd64'), [4, 19]);
  assert.deepEqual(kernelVersion('3.10.0-1160.el7.x86_64'), [3, 10]);
  assert.deepEqual(e2fsckVersion('e2fsck 1.42.9 (28-Dec-2013)\n\tUsing EXT2FS Library version 1.42.9'), [1, 42, 9]);
  assert.deepEqual(e2fsckVersion('e2fsck 1.47.0 (5-Feb-2023)'), [1, 47, 0]);
});

test('doctor warns when metrics or the viewer listen beyond loopback (no authentication)', () => {
  const env = {
    HARBOR_VERSION: 'v2.6.2',
    HARBOR_VIP: '10.0.0.100',
    CEPH_MON_HOST: '127.0.0.1:1',
    CEPH_USER: 'harbor',
    CEPH_USER_KEY: 'AQBsSHhjAAAAABAAiXWqnJHl7oKJ3aFfzVVlnw==',
    CEPH_POOL_NAME: 'rbd',
    CEPH_IMAGE_NAME: 'harbor',
    KEEPALIVED_ROLE: 'master',
    INTERFACE: 'lo',
  };
  const defaults = exposureFindings(buildConfig({ env }));
  assert.deepEqual(
    defaults.map((f) => [f.check, f.verdict]),
    [
      ['metrics endpoint', 'ok'],
      ['viewer endpoint', 'ok'],
    ],
  );
  const open = exposureFindings(buildConfig({ env, yaml: { text: 'metrics: { listen: "0.0.0.0:9469" }\nviewer: { listen: "" }\n', source: 't' } }));
  assert.deepEqual(
    open.map((f) => [f.check, f.verdict, f.detail]),
    [
      ['metrics endpoint', 'warn', '0.0.0.0:9469: reachable from the network without authentication'],
      ['viewer endpoint', 'ok', 'off'],
    ],
  );
  assert.match(open[0]?.fix ?? '', /firewall/);
});

test('doctor on this host: a finding per check, each failure with its fix, non-zero exit when a takeover is blocked', async () => {
  const state = join(dir, 'state');
  const config = buildConfig({
    env: {
      HARBOR_VERSION: 'v2.6.2',
      HARBOR_VIP: '10.0.0.100',
      CEPH_MON_HOST: '127.0.0.1:1',
      CEPH_USER: 'harbor',
      CEPH_USER_KEY: 'AQBsSHhjAAAAABAAiXWqnJHl7oKJ3aFfzVVlnw==',
      CEPH_POOL_NAME: 'rbd',
      CEPH_IMAGE_NAME: 'harbor',
      KEEPALIVED_ROLE: 'master',
      INTERFACE: 'lo',
    },
    yaml: {
      text: `node:\n  stateDir: ${state}\n  runDir: ${dir}/run\nceph:\n  commandTimeoutMs: 3000\nkeepalived:\n  confPath: ${dir}/none.conf\n`,
      source: 't',
    },
  });
  const findings = await runDoctor(config);
  const names = findings.map((f) => f.check);
  for (const n of [
    'kernel >= 4.5',
    'rbd kernel module',
    'keyring file mode',
    'harbor can rbd status',
    'osd blocklist ls',
    'docker',
    'compose command',
    'e2fsck supports metadata_csum',
    'kernel keyring reachable',
    'keepalived',
    'keepalived check script',
    'mount point',
  ]) {
    assert.ok(names.includes(n), `missing check ${n}: ${names.join(', ')}`);
  }
  const by = (n: string) => findings.find((f) => f.check === n);
  assert.equal(by('kernel >= 4.5')?.verdict, 'ok');
  assert.equal(by('keyring file mode')?.verdict, 'ok');
  assert.equal(by('e2fsck supports metadata_csum')?.verdict, 'ok');
  // no monitor answers on 127.0.0.1:1: the Ceph checks fail, naming the monitors and the ports, not the caps
  assert.equal(by('harbor can rbd status')?.verdict, 'FAIL');
  assert.match(by('osd blocklist ls')?.detail ?? '', /the monitors cannot be reached: 127\.0\.0\.1:1 /);
  assert.match(by('osd blocklist ls')?.fix ?? '', /TCP 3300 \(msgr2\) and 6789 \(msgr1\)/);
  assert.doesNotMatch(by('osd blocklist ls')?.fix ?? '', /allow command "osd blocklist"/);
  for (const f of findings.filter((x) => x.verdict === 'FAIL')) assert.ok(f.fix.length > 0, `${f.check} has no fix`);
  const yamlPath = join(dir, 'doctor.yaml');
  writeFileSync(yamlPath, `node:\n  stateDir: ${state}\n  runDir: ${dir}/run\nceph:\n  commandTimeoutMs: 3000\nkeepalived:\n  confPath: ${dir}/none.conf\n`);
  const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'doctor', '--json', '--config', yamlPath, '--env', '/dev/null'], {
    encoding: 'utf8',
    env: {
      ...process.env,
      HARBOR_VERSION: 'v2.6.2',
      HARBOR_VIP: '10.0.0.100',
      CEPH_MON_HOST: '127.0.0.1:1',
      CEPH_USER: 'harbor',
      CEPH_USER_KEY: 'AQBsSHhjAAAAABAAiXWqnJHl7oKJ3aFfzVVlnw==',
      CEPH_POOL_NAME: 'rbd',
      CEPH_IMAGE_NAME: 'harbor',
      KEEPALIVED_ROLE: 'master',
      INTERFACE: 'lo',
    },
  });
  assert.equal(cli.status, 1, cli.stderr);
  assert.ok(!cli.stdout.includes('AQBsSHhj'));
});

test("doctor: something mounted at the mount point that is not this node's image blocks a takeover, naming it", async () => {
  const runner = createRunner(silentLogger());
  const mountPoint = join(dir, 'doctor-mnt');
  mkdirSync(mountPoint, { recursive: true });
  const fs = new Filesystem(
    runner,
    { mountPoint, fsck: 'auto', mountOptions: [], mkfsOptions: [], timeouts: { probe: 10_000, format: 60_000, fsck: 60_000, mount: 10_000, unmount: 5_000 } },
    silentLogger(),
  );
  const mapped = (device: string | null) => ({ current: () => Promise.resolve(device) });
  assert.deepEqual(await mountPointFinding(fs, mapped(null), mountPoint), {
    check: 'mount point',
    verdict: 'ok',
    detail: `nothing mounted at ${mountPoint}`,
    fix: '',
  });
  const file = join(dir, 'doctor.raw');
  execFileSync('truncate', ['-s', '32M', file]);
  const loop = execFileSync('losetup', ['-f', '--show', file], { encoding: 'utf8' }).trim();
  try {
    execFileSync('mkfs.ext4', ['-q', loop]);
    execFileSync('mount', [loop, mountPoint]);
    assert.equal((await mountPointFinding(fs, mapped(loop), mountPoint)).verdict, 'ok', 'our own mapped device');
    for (const ours of [null, '/dev/rbd7']) {
      const f = await mountPointFinding(fs, mapped(ours), mountPoint);
      assert.equal(f.verdict, 'FAIL');
      assert.equal(f.detail, `${loop} (ext4) is mounted at ${mountPoint}, not this node's mapped image (${ours ?? 'none mapped'})`);
      assert.equal(f.fix, 'unmount it yourself after checking what it is; harbor-assistant never unmounts what it did not mount');
    }
    assert.equal((await mountPointFinding(fs, { current: () => Promise.reject(new Error('rbd: not found')) }, mountPoint)).verdict, 'warn');
  } finally {
    try {
      execFileSync('umount', [mountPoint], { stdio: 'ignore' });
    } catch {
      // not mounted
    }
    execFileSync('losetup', ['-d', loop]);
  }
});
