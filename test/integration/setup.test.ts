import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { createRunner } from '../../src/actions/exec.js';
import { silentLogger } from '../../src/log/logger.js';
import { runSetup, type Step } from '../../src/install/setup.js';
import type { Systemctl } from '../../src/install/systemd.js';
import { goodEnv } from '../support/config.js';

const KEY = goodEnv.CEPH_USER_KEY;
const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'ha-setup-it-'));
after(() => rmSync(root, { recursive: true, force: true }));

const hasKeepalived = existsSync('/usr/sbin/keepalived');
// with systemd running this host, the real systemctl would enable and start units on it: only the
// "no systemd here" path is safe to run for real
const systemdRunsHost = existsSync('/run/systemd/system');
// keepalived -t refuses lo ("cannot use a loopback interface") and names it doesn't know: the VIP goes on a real one
const operstate = (n: string) => (existsSync(`/sys/class/net/${n}/operstate`) ? readFileSync(`/sys/class/net/${n}/operstate`, 'utf8').trim() : '');
const nics = readdirSync('/sys/class/net').filter((n) => n !== 'lo');
const nic = nics.find((n) => operstate(n) === 'up') ?? nics[0];

/** A YAML file that keeps everything the service, keepalived and doctor touch inside `dir`. */
function yamlIn(dir: string): string {
  return [
    '# kept by setup',
    'node:',
    `  stateDir: ${dir}/state`,
    `  runDir: ${dir}/run`,
    'filesystem:',
    `  mountPoint: ${dir}/mnt`,
    'keepalived:',
    '  checkScript: /usr/bin/true',
    `  confPath: ${dir}/keepalived/harbor-assistant.conf`,
    `  fifoPath: ${dir}/run/keepalived.fifo`,
    `  fitnessFile: ${dir}/run/fitness`,
    `  pidDir: ${dir}/run/keepalived`,
    '',
  ].join('\n');
}

function cli(args: string[], input = '') {
  return spawnSync(process.execPath, ['--import', 'tsx', main, 'setup', ...args], { encoding: 'utf8', input, timeout: 120_000 });
}

test(
  'the real thing on this host: key from stdin, files written, keepalived -t, doctor in-process; no Ceph here, so blocked (exit 3); again: unchanged',
  {
    skip: !hasKeepalived
      ? 'no /usr/sbin/keepalived'
      : systemdRunsHost
        ? 'systemd runs this host: setup would enable units on it'
        : nic === undefined
          ? 'no network interface but lo'
          : false,
  },
  () => {
    const dir = join(root, 'real');
    const etc = join(dir, 'etc');
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, 'harbor-assistant.yaml'), yamlIn(dir));
    const args = [
      '--config',
      join(etc, 'harbor-assistant.yaml'),
      '--env',
      join(etc, '.env'),
      '--vip',
      '10.0.0.100',
      // nothing listens on port 1: doctor's Ceph checks fail fast and for sure
      '--mon-host',
      '127.0.0.1:1',
      '--ceph-user',
      'harbor',
      '--ceph-key-file',
      '-',
      '--pool',
      'rbd',
      '--image',
      'harbor',
      '--role',
      'backup',
      '--interface',
      nic ?? 'eth0',
      '--harbor-version',
      'v2.6.2',
    ];
    const r = cli(args, `[client.harbor]\n\tkey = ${KEY}\n\tcaps mon = "profile rbd"\n`);
    assert.equal(r.status, 3, `${r.stdout}\n${r.stderr}`);
    assert.ok(!r.stdout.includes(KEY) && !r.stderr.includes(KEY), 'the key is never printed');
    assert.match(r.stdout, new RegExp(`^wrote {7}${etc}/\\.env$`, 'm'));
    assert.match(r.stdout, new RegExp(`^unchanged {3}${etc}/harbor-assistant\\.yaml$`, 'm'));
    assert.match(r.stdout, new RegExp(`^wrote {7}${dir}/keepalived/harbor-assistant\\.conf \\(keepalived -t: ok\\)$`, 'm'));
    assert.match(
      r.stdout,
      /^systemd: not used here \(.*\); run these where systemd manages this host:\n {2}systemctl enable harbor-assistant\.service harbor-assistant-keepalived\.service\n/m,
    );
    assert.match(r.stdout, /^doctor: \d+ checks/m);
    assert.match(r.stdout, /^blocks a takeover:\n/m);
    assert.match(r.stdout, /- harbor can rbd status: .*\n {4}fix: /);
    assert.equal(statSync(join(etc, '.env')).mode & 0o777, 0o600);
    assert.match(readFileSync(join(etc, '.env'), 'utf8'), /^KEEPALIVED_ROLE=backup$/m);
    assert.match(readFileSync(join(dir, 'keepalived', 'harbor-assistant.conf'), 'utf8'), new RegExp(`10\\.0\\.0\\.100/32 dev ${nic ?? ''}\\n`));
    // doctor wrote the keyring the service would use, from the .env setup wrote
    assert.equal(statSync(join(dir, 'state', 'ceph.client.harbor.keyring')).mode & 0o777, 0o600);

    const mtimes = [join(etc, '.env'), join(etc, 'harbor-assistant.yaml'), join(dir, 'keepalived', 'harbor-assistant.conf')].map((p) => [
      p,
      statSync(p).mtimeMs,
    ]);
    const again = cli(['--config', join(etc, 'harbor-assistant.yaml'), '--env', join(etc, '.env')]);
    assert.equal(again.status, 3, again.stderr);
    const changed = again.stdout.split('\n').filter((l) => /^(wrote|created|fixed|linked|enabled|started|reloaded) /.test(l));
    assert.deepEqual(changed, []);
    assert.deepEqual(
      mtimes.map(([p]) => [p, statSync(p as string).mtimeMs]),
      mtimes,
    );
  },
);

test('the real CLI refuses --ceph-key by name, shows no key, writes nothing', () => {
  const dir = join(root, 'refused');
  const r = cli(['--env', join(dir, '.env'), '--config', join(dir, 'c.yaml'), `--ceph-key=${KEY}`, '--vip', '10.0.0.100']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--ceph-key: refused: a key on the command line is visible to every user of this host/);
  assert.ok(!r.stdout.includes(KEY) && !r.stderr.includes(KEY));
  assert.ok(!existsSync(dir));
});

test(
  'a tarball install, in-process with the real runner: units, links, the tarball check script, keepalived -t',
  { skip: !hasKeepalived ? 'no /usr/sbin/keepalived' : nic === undefined ? 'no network interface but lo' : false },
  async () => {
    const dir = join(root, 'tarball');
    const prefix = join(dir, 'opt', 'harbor-assistant');
    const unitsDir = join(prefix, 'share', 'systemd');
    mkdirSync(unitsDir, { recursive: true });
    mkdirSync(join(prefix, 'bin'), { recursive: true });
    for (const unit of ['harbor-assistant.service', 'harbor-assistant-keepalived.service']) {
      writeFileSync(join(unitsDir, unit), readFileSync(new URL(`../../config/${unit}`, import.meta.url), 'utf8').replaceAll('@PREFIX@', prefix));
    }
    const etc = join(dir, 'etc', 'harbor-assistant');
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, 'harbor-assistant.yaml'), yamlIn(dir));
    const calls: string[][] = [];
    const systemctl: Systemctl = async (args) => {
      calls.push([...args]);
      return args[0] === 'is-enabled'
        ? { exitCode: 1, stdout: 'disabled\n', stderr: '' }
        : args[0] === 'is-active'
          ? { exitCode: 3, stdout: 'inactive\n', stderr: '' }
          : { exitCode: 0, stdout: 'running\n', stderr: '' };
    };
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, KEY);
    const steps: Step[] = [];
    const out = await runSetup(
      {
        vip: '10.0.0.100',
        'mon-host': '10.0.0.10',
        'ceph-user': 'harbor',
        'ceph-key-file': keyFile,
        pool: 'rbd',
        image: 'harbor',
        role: 'master',
        interface: nic ?? 'eth0',
        'harbor-version': 'v2.6.2',
      },
      {
        etcDir: etc,
        unitsDir: join(dir, 'etc', 'systemd', 'system'),
        binDir: join(dir, 'usr', 'local', 'bin'),
        // script security needs a root-owned path: the temp root is under /tmp (1777)
        layout: { kind: 'tarball', prefix, bin: join(prefix, 'bin'), checkScript: '/usr/bin/true', unitsDir, shareDir: join(prefix, 'share') },
        runner: createRunner(silentLogger(), [KEY]),
        systemctl,
        doctor: async () => [{ check: 'docker', verdict: 'ok', detail: '', fix: '' }],
      },
      (s) => steps.push(s),
    );
    assert.equal(out.status, 'ready', JSON.stringify(out));
    assert.match(readFileSync(join(dir, 'etc', 'systemd', 'system', 'harbor-assistant.service'), 'utf8'), new RegExp(`ExecStart=${prefix}/runtime/node`));
    assert.equal(readlinkSync(join(dir, 'usr', 'local', 'bin', 'harborctl')), join(prefix, 'bin', 'harborctl'));
    assert.ok(steps.some((s) => s.what === join(dir, 'keepalived', 'harbor-assistant.conf') && s.note === 'keepalived -t: ok'));
    assert.deepEqual(
      calls.filter((c) => c[0] !== 'is-enabled' && c[0] !== 'is-active'),
      [
        ['is-system-running'],
        ['daemon-reload'],
        ['enable', 'harbor-assistant.service', 'harbor-assistant-keepalived.service'],
        ['start', 'harbor-assistant.service', 'harbor-assistant-keepalived.service'],
      ],
    );
  },
);

test(
  'keepalived -t for real: a VIP on lo is refused, the reason is the blocker, nothing is started',
  { skip: !hasKeepalived && 'no /usr/sbin/keepalived' },
  async () => {
    const dir = join(root, 'loopback');
    const etc = join(dir, 'etc');
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, 'harbor-assistant.yaml'), yamlIn(dir));
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, KEY);
    const calls: string[][] = [];
    const out = await runSetup(
      {
        ...{ vip: '10.0.0.100', 'mon-host': '10.0.0.10', 'ceph-user': 'harbor', pool: 'rbd', image: 'harbor', role: 'master', 'harbor-version': 'v2.6.2' },
        'ceph-key-file': keyFile,
        interface: 'lo',
      },
      {
        etcDir: etc,
        layout: { kind: 'checkout', prefix: dir, bin: null, checkScript: null, unitsDir: null, shareDir: null },
        runner: createRunner(silentLogger(), [KEY]),
        systemctl: async (args) => (calls.push([...args]), { exitCode: 0, stdout: 'running\n', stderr: '' }),
        doctor: async () => [],
      },
    );
    assert.equal(out.status, 'blocked');
    const first = out.blockers[0];
    assert.equal(first?.check, 'keepalived');
    assert.match(first.detail, /keepalived -t rejects .*harbor-assistant\.conf\.new: .*loopback interface \(lo\)/);
    assert.ok(!existsSync(join(dir, 'keepalived', 'harbor-assistant.conf')), 'the refused text never becomes the one in use');
    assert.ok(!calls.some((c) => c[0] === 'start'));
  },
);
