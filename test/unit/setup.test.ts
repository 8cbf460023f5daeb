import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, test } from 'node:test';
import type { Finding } from '../../src/cli/doctor.js';
import { setupCommand } from '../../src/cli/setup.js';
import type { Config } from '../../src/config/index.js';
import { cephKeyFromText, type SetupFlags } from '../../src/install/answers.js';
import type { InstallLayout } from '../../src/install/layout.js';
import { editYaml } from '../../src/install/plan.js';
import { runSetup, type SetupOptions, type Step } from '../../src/install/setup.js';
import { runnerSystemctl, systemdAbsence, type Systemctl } from '../../src/install/systemd.js';
import { goodEnv } from '../support/config.js';
import { ScriptedRunner, type Reply } from '../support/fake-runner.js';

const KEY = goodEnv.CEPH_USER_KEY;
const OTHER_KEY = 'AQCZ0dxjAAAAABAAm1m1m1m1m1m1m1m1m1m1mw==';
const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A fresh host under a temp root: the places setup writes, and a key file. */
function host(): { root: string; etc: string; keyFile: string; units: string; bin: string } {
  const root = mkdtempSync(join(tmpdir(), 'ha-setup-'));
  roots.push(root);
  const keyFile = join(root, 'harbor.key');
  writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
  return { root, etc: join(root, 'etc', 'harbor-assistant'), keyFile, units: join(root, 'etc', 'systemd', 'system'), bin: join(root, 'usr', 'local', 'bin') };
}

/** A YAML file that keeps every path the service and doctor would touch inside the temp root. */
function existingYaml(root: string, extra = ''): string {
  return [
    '# the operator wrote this; setup must leave it be',
    'node:',
    `  stateDir: ${root}/state # state stays here`,
    `  runDir: ${root}/run`,
    'keepalived:',
    '  # a root-owned script in root-owned directories: passes script security',
    '  checkScript: /usr/bin/true',
    `  fifoPath: ${root}/run/k.fifo`,
    `  fitnessFile: ${root}/run/fitness`,
    `  pidDir: ${root}/run/keepalived`,
    '  priorityMaster: 140 # lower than the default on purpose',
    extra,
  ].join('\n');
}

const checkout: InstallLayout = { kind: 'checkout', prefix: '/src/harbor-assistant', bin: null, checkScript: null, unitsDir: null, shareDir: null };

function tarball(root: string): InstallLayout {
  const prefix = join(root, 'opt', 'harbor-assistant');
  const unitsDir = join(prefix, 'share', 'systemd');
  mkdirSync(unitsDir, { recursive: true });
  mkdirSync(join(prefix, 'bin'), { recursive: true });
  for (const unit of ['harbor-assistant.service', 'harbor-assistant-keepalived.service']) writeFileSync(join(unitsDir, unit), `[Unit]\nDescription=${unit}\n`);
  // the check script must pass keepalived's script security: a root-owned file in root-owned directories
  return { kind: 'tarball', prefix, bin: join(prefix, 'bin'), checkScript: '/usr/bin/true', unitsDir, shareDir: join(prefix, 'share') };
}

/** systemd as a fake: unit states, and every call it was asked. */
function fakeSystemd(state: { enabled?: string[]; active?: string[]; absent?: boolean } = {}) {
  const enabled = new Set(state.enabled ?? []);
  const active = new Set(state.active ?? []);
  const calls: string[][] = [];
  const systemctl: Systemctl = async (args) => {
    calls.push([...args]);
    const ok = (stdout = '') => ({ exitCode: 0, stdout, stderr: '' });
    // systemd not running (a chroot, an image build): systemctl still reads and places unit links, but nothing starts
    if (state.absent && args[0] !== 'is-enabled' && args[0] !== 'enable') return { exitCode: 1, stdout: 'offline\n', stderr: '' };
    const unit = args[1] ?? '';
    switch (args[0]) {
      case 'is-system-running':
        return ok('running\n');
      case 'is-enabled':
        return enabled.has(unit) ? ok('enabled\n') : { exitCode: 1, stdout: 'disabled\n', stderr: '' };
      case 'is-active':
        return active.has(unit) ? ok('active\n') : { exitCode: 3, stdout: 'inactive\n', stderr: '' };
      case 'enable':
        for (const u of args.slice(1)) enabled.add(u);
        return ok();
      case 'start':
        for (const u of args.slice(1)) active.add(u);
        return ok();
      default:
        return ok();
    }
  };
  return { systemctl, calls, changing: () => calls.filter((c) => ['enable', 'start', 'daemon-reload'].includes(c[0] ?? '')) };
}

const keepalivedOk = (argv: readonly string[]): Reply =>
  argv[0] === 'keepalived' ? { stdout: '', stderr: 'Keepalived v2.2.7\n' } : { fail: { exitCode: 1, stderr: 'unexpected' } };

function doctorSaying(findings: Finding[]) {
  const seen: Config[] = [];
  return { doctor: async (config: Config) => (seen.push(config), findings), seen };
}

const answers = (keyFile: string, more: SetupFlags = {}): SetupFlags => ({
  vip: goodEnv.HARBOR_VIP,
  'mon-host': goodEnv.CEPH_MON_HOST,
  'ceph-user': goodEnv.CEPH_USER,
  'ceph-key-file': keyFile,
  pool: goodEnv.CEPH_POOL_NAME,
  image: goodEnv.CEPH_IMAGE_NAME,
  role: goodEnv.KEEPALIVED_ROLE,
  interface: goodEnv.INTERFACE,
  'harbor-version': goodEnv.HARBOR_VERSION,
  ...more,
});

function options(h: ReturnType<typeof host>, more: Partial<SetupOptions> = {}): Partial<SetupOptions> & { steps: Step[] } {
  return {
    etcDir: h.etc,
    unitsDir: h.units,
    binDir: h.bin,
    keepalivedConf: join(h.root, 'keepalived', 'harbor-assistant.conf'),
    layout: checkout,
    runner: new ScriptedRunner(keepalivedOk),
    systemctl: fakeSystemd().systemctl,
    doctor: doctorSaying([{ check: 'docker', verdict: 'ok', detail: 'fine', fix: '' }]).doctor,
    readStdin: () => assert.fail('stdin read without --ceph-key-file -'),
    cwd: h.root,
    steps: [],
    ...more,
  };
}

async function setup(flags: SetupFlags, o: Partial<SetupOptions> & { steps: Step[] }) {
  return runSetup(flags, o, (s) => o.steps.push(s));
}

function withYaml(h: ReturnType<typeof host>, extra = ''): void {
  mkdirSync(h.etc, { recursive: true, mode: 0o700 });
  writeFileSync(join(h.etc, 'harbor-assistant.yaml'), existingYaml(h.root, extra));
}

/** Every file under `dir` with its mode, bytes and mtime: "nothing written" means this is equal before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      out[p] = `${st.mode.toString(8)} ${st.mtimeMs} ${st.isDirectory() ? 'dir' : st.isSymbolicLink() ? readlinkSync(p) : readFileSync(p, 'base64')}`;
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

const mode = (p: string) => statSync(p).mode & 0o777;

test('a fresh host: .env 0600 in a 0700 directory, keepalived.conf checked, units enabled and started, ready', async () => {
  const h = host();
  withYaml(h);
  const sd = fakeSystemd();
  const runner = new ScriptedRunner(keepalivedOk);
  const doc = doctorSaying([{ check: 'docker', verdict: 'ok', detail: 'fine', fix: '' }]);
  const o = options(h, { systemctl: sd.systemctl, runner, doctor: doc.doctor });
  const out = await setup(answers(h.keyFile), o);
  assert.equal(out.status, 'ready');
  assert.equal(mode(h.etc), 0o700);
  const env = readFileSync(join(h.etc, '.env'), 'utf8');
  assert.equal(mode(join(h.etc, '.env')), 0o600);
  assert.match(env, /^# .*mode 0600/);
  assert.match(env, new RegExp(`^CEPH_USER_KEY=${KEY.replace(/[+/=]/g, '\\$&')}$`, 'm'));
  assert.match(env, /^HARBOR_VIP=10\.0\.0\.100$/m);
  const conf = readFileSync(join(h.root, 'keepalived', 'harbor-assistant.conf'), 'utf8');
  assert.match(conf, /virtual_ipaddress \{\n\s+10\.0\.0\.100\/32 dev eth0/);
  assert.match(conf, /priority 140\n/, 'rendered from the YAML file setup left in place');
  assert.ok(
    runner.calls.some((c) => c[0] === 'keepalived' && c[1] === '-t'),
    'keepalived -t ran',
  );
  assert.ok(!existsSync(join(h.root, 'keepalived', 'harbor-assistant.conf.new')));
  assert.deepEqual(sd.changing(), [
    ['enable', 'harbor-assistant.service', 'harbor-assistant-keepalived.service'],
    ['start', 'harbor-assistant.service', 'harbor-assistant-keepalived.service'],
  ]);
  // doctor judged what was written, not the operator's shell environment
  assert.equal(doc.seen[0]?.env.role, 'master');
  assert.equal(doc.seen[0].file.keepalived.priorityMaster, 140);
  const verbs = Object.fromEntries(o.steps.map((s) => [s.what, s.verb]));
  assert.equal(verbs[join(h.etc, '.env')], 'wrote');
  assert.equal(verbs['harbor-assistant.service'], 'started');
  assert.ok(!JSON.stringify(o.steps).includes(KEY), 'the key is in no step');
});

test('the same answers again: everything unchanged, no file rewritten, no systemctl enable or start', async () => {
  const h = host();
  withYaml(h);
  const sd = fakeSystemd();
  await setup(answers(h.keyFile), options(h, { systemctl: sd.systemctl }));
  const before = snapshot(h.root);
  const sd2 = fakeSystemd({
    enabled: ['harbor-assistant.service', 'harbor-assistant-keepalived.service'],
    active: ['harbor-assistant.service', 'harbor-assistant-keepalived.service'],
  });
  const o = options(h, { systemctl: sd2.systemctl });
  await new Promise((r) => setTimeout(r, 20));
  const out = await setup(answers(h.keyFile), o);
  assert.equal(out.status, 'ready');
  assert.deepEqual(snapshot(h.root), before, 'bytes, modes and mtimes as they were');
  assert.deepEqual(sd2.changing(), []);
  assert.deepEqual(
    o.steps.filter((s) => s.verb !== 'unchanged' && s.verb !== 'already'),
    [],
  );
  assert.ok(o.steps.some((s) => s.verb === 'unchanged' && s.note === 'keepalived -t: ok'));
});

test('one changed flag changes one thing: the other answers are kept from the .env there', async () => {
  const h = host();
  withYaml(h);
  await setup(answers(h.keyFile), options(h));
  const first = readFileSync(join(h.etc, '.env'), 'utf8');
  const o = options(h);
  const out = await setup({ role: 'backup' }, o);
  assert.equal(out.status, 'ready');
  const second = readFileSync(join(h.etc, '.env'), 'utf8');
  assert.equal(second, first.replace('KEEPALIVED_ROLE=master', 'KEEPALIVED_ROLE=backup'));
  const verbs = Object.fromEntries(o.steps.map((s) => [s.what, s.verb]));
  assert.equal(verbs[join(h.etc, '.env')], 'wrote');
  assert.equal(verbs[join(h.etc, 'harbor-assistant.yaml')], 'unchanged');
  assert.equal(verbs[join(h.root, 'keepalived', 'harbor-assistant.conf')], 'wrote', 'the backup priority');
});

test('bad answers are refused by field, with what is allowed, and nothing is written or run', async () => {
  const h = host();
  withYaml(h);
  await setup(answers(h.keyFile), options(h));
  const badKey = join(h.root, 'bad.key');
  writeFileSync(badKey, 'not-a-key-SECRETSECRET\n');
  const before = snapshot(h.root);
  const sd = fakeSystemd();
  const doc = doctorSaying([]);
  const runner = new ScriptedRunner(keepalivedOk);
  const out = await setup(
    { vip: '224.0.0.1', role: 'primary', pool: 'my pool', 'mon-host': 'mon1:70000', 'ceph-key-file': badKey },
    options(h, { systemctl: sd.systemctl, doctor: doc.doctor, runner }),
  );
  assert.equal(out.status, 'refused');
  const problems = out.problems;
  const expect = [
    /^HARBOR_VIP \(--vip\): must be a unicast address .*multicast/,
    /^KEEPALIVED_ROLE \(--role\): must be master or backup, got "primary"/,
    /^CEPH_POOL_NAME \(--pool\): must be letters, digits/,
    /^CEPH_MON_HOST \(--mon-host\): monitor "mon1:70000": the port must be from 1 to 65535/,
    new RegExp(`^CEPH_USER_KEY \\(--ceph-key-file ${badKey}\\): must be a cephx key .*value not shown`),
  ];
  for (const e of expect)
    assert.ok(
      problems.some((p) => e.test(p)),
      `${e.source} in ${problems.join(' | ')}`,
    );
  assert.ok(!problems.join('\n').includes('SECRETSECRET'), 'a bad key is not shown either');
  assert.deepEqual(snapshot(h.root), before, 'nothing written');
  assert.deepEqual(sd.calls, []);
  assert.deepEqual(runner.calls, []);
  assert.equal(doc.seen.length, 0);
});

test('a missing answer says which flag gives it', async () => {
  const h = host();
  const out = await setup({ vip: '10.0.0.5' }, options(h));
  assert.equal(out.status, 'refused');
  const problems = out.problems.join('\n');
  assert.match(problems, /KEEPALIVED_ROLE: required \(master or backup\) but not set; give --role, or KEEPALIVED_ROLE in the --from file/);
  assert.match(problems, /CEPH_USER_KEY: required .*give --ceph-key-file PATH or --ceph-key-file - \(stdin\)/);
  assert.ok(!existsSync(h.etc), 'not even the directory');
});

test('--ceph-key is refused with why and what to use; the key it carried is never echoed', async () => {
  const h = host();
  const out = await setup(answers(h.keyFile, { 'ceph-key': OTHER_KEY }), options(h));
  assert.equal(out.status, 'refused');
  const problems = out.problems.join('\n');
  assert.match(problems, /--ceph-key: refused: a key on the command line is visible to every user of this host \(ps/);
  assert.match(problems, /--ceph-key-file PATH/);
  assert.ok(!problems.includes(OTHER_KEY));
  assert.ok(!existsSync(h.etc));
});

test('an answer with a line break cannot smuggle a variable into the .env', async () => {
  const h = host();
  const out = await setup(answers(h.keyFile, { vip: '10.0.0.100\nCEPH_USER=admin' }), options(h));
  assert.equal(out.status, 'refused');
  assert.deepEqual(out.problems, ['HARBOR_VIP (--vip): must be one line of printable characters'], 'and no "required but not set" on top');
  assert.ok(!existsSync(h.etc));
});

test('the key from a keyring as `ceph auth get` prints it, from a bare key, and refused from another user', () => {
  const keyring = `[client.admin]\n\tkey = ${OTHER_KEY}\n[client.harbor]\n\tkey = ${KEY}\n\tcaps mon = "profile rbd"\n\tcaps osd = "profile rbd pool=rbd"\n`;
  assert.deepEqual(cephKeyFromText(keyring, 'harbor', 'K'), { key: KEY });
  assert.deepEqual(cephKeyFromText(keyring, 'admin', 'K'), { key: OTHER_KEY });
  assert.deepEqual(cephKeyFromText(`${KEY}\n`, 'harbor', 'K'), { key: KEY });
  assert.deepEqual(cephKeyFromText(`[client.harbor]\nkey=${KEY}`, undefined, 'K'), { key: KEY });
  const wrongUser = cephKeyFromText(`[client.admin]\n\tkey = ${OTHER_KEY}\n`, 'harbor', 'K');
  assert.ok('problem' in wrongUser);
  assert.match(wrongUser.problem, /K: a keyring for client\.admin, not for client\.harbor/);
  assert.ok(!wrongUser.problem.includes(OTHER_KEY));
  const garbage = cephKeyFromText(`hello ${KEY} world\n`, 'harbor', 'K');
  assert.ok('problem' in garbage && !garbage.problem.includes(KEY));
  assert.ok('problem' in cephKeyFromText('  \n', 'harbor', 'K'));
});

test('--ceph-key-file - reads the keyring from stdin', async () => {
  const h = host();
  withYaml(h);
  const o = options(h, { readStdin: () => `[client.harbor]\n\tkey = ${KEY}\n\tcaps mon = "profile rbd"\n` });
  const out = await setup(answers('-'), o);
  assert.equal(out.status, 'ready');
  assert.match(readFileSync(join(h.etc, '.env'), 'utf8'), new RegExp(`^CEPH_USER_KEY=${KEY.replace(/[+/=]/g, '\\$&')}$`, 'm'));
});

test('--from file answers, flags override it, unknown variables in it are refused', async () => {
  const h = host();
  withYaml(h);
  const from = join(h.root, 'answers.env');
  writeFileSync(
    from,
    Object.entries({ ...goodEnv, KEEPALIVED_ROLE: 'backup' })
      .map(([k, v]) => `${k}=${v}`)
      .join('\n'),
  );
  const out = await setup({ from, vip: '10.0.0.200' }, options(h));
  assert.equal(out.status, 'ready');
  const env = readFileSync(join(h.etc, '.env'), 'utf8');
  assert.match(env, /^HARBOR_VIP=10\.0\.0\.200$/m);
  assert.match(env, /^KEEPALIVED_ROLE=backup$/m);
  writeFileSync(from, `HARBOR_VIPP=10.0.0.1\n`);
  const typo = await setup({ from }, options(h));
  assert.equal(typo.status, 'refused');
  assert.match(typo.problems.join('\n'), /--from .*answers\.env: HARBOR_VIPP: not a setup answer/);
});

test('other variables in an existing .env are kept', async () => {
  const h = host();
  withYaml(h);
  writeFileSync(
    join(h.etc, '.env'),
    `${Object.entries(goodEnv)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\nHTTPS_PROXY=http://proxy:3128\n`,
    { mode: 0o644 },
  );
  const o = options(h);
  const out = await setup({}, o);
  assert.equal(out.status, 'ready');
  assert.match(readFileSync(join(h.etc, '.env'), 'utf8'), /^HTTPS_PROXY=http:\/\/proxy:3128$/m);
  assert.equal(mode(join(h.etc, '.env')), 0o600, 'a world-readable key file is made private');
});

test('the YAML keeps its comments and other fields; only the installer path is set, by absolute path', async () => {
  const h = host();
  withYaml(h);
  const tgz = join(h.root, 'harbor-offline-installer-v2.6.2.tgz');
  writeFileSync(tgz, gzipSync(Buffer.from('tar')));
  const harborYml = join(h.root, 'harbor.yml');
  writeFileSync(harborYml, 'hostname: reg.example.com\nhttp:\n  port: 80\n');
  const o = options(h, { cwd: h.root });
  const out = await setup(answers(h.keyFile, { 'harbor-installer': 'harbor-offline-installer-v2.6.2.tgz', 'harbor-yml': harborYml }), o);
  assert.equal(out.status, 'ready');
  const yaml = readFileSync(join(h.etc, 'harbor-assistant.yaml'), 'utf8');
  assert.match(yaml, /^# the operator wrote this; setup must leave it be$/m);
  assert.match(yaml, /stateDir: .*\/state # state stays here/);
  assert.match(yaml, / {2}# a root-owned script in root-owned directories: passes script security\n {2}checkScript: \/usr\/bin\/true/);
  assert.match(yaml, /priorityMaster: 140 # lower than the default on purpose/);
  assert.match(yaml, new RegExp(`installerTgz: ${tgz}`));
  assert.match(yaml, new RegExp(`harborYml: ${harborYml}`));
  assert.ok(o.steps.some((s) => s.what === join(h.etc, 'harbor-assistant.yaml') && s.note === 'set harbor.installerTgz, harbor.harborYml'));
});

test('an installer that is not there or not a gzip, and a harbor.yml that is not YAML, are refused', async () => {
  const h = host();
  withYaml(h);
  const before = snapshot(h.root);
  const html = join(h.root, 'harbor-offline-installer-v2.6.2.tgz');
  writeFileSync(html, '<html>404</html>');
  const bad = join(h.root, 'harbor.yml');
  writeFileSync(bad, 'hostname: [unclosed\n');
  const after1 = snapshot(h.root);
  const out = await setup(answers(h.keyFile, { 'harbor-installer': html, 'harbor-yml': bad }), options(h));
  assert.equal(out.status, 'refused');
  const problems = out.problems.join('\n');
  assert.match(problems, /--harbor-installer .*: not a gzip file/);
  assert.match(problems, /--harbor-yml .*harbor\.yml line \d+: not valid YAML/);
  const missing = await setup(answers(h.keyFile, { 'harbor-installer': join(h.root, 'nope.tgz') }), options(h));
  assert.equal(missing.status, 'refused');
  assert.match(missing.problems.join('\n'), /--harbor-installer .*nope\.tgz: not found/);
  assert.deepEqual(snapshot(h.root), after1);
  assert.notDeepEqual(before, after1);
});

test('editYaml: an unchanged value keeps the text byte for byte; an empty parent becomes a mapping', () => {
  const text = '# top\nkeepalived:\n  checkScript: "/x" # why\n';
  const same = editYaml(text, [[['keepalived', 'checkScript'], '/x']], 'f');
  assert.deepEqual(same, { text, changed: [] });
  const set = editYaml(text, [[['keepalived', 'checkScript'], '/y']], 'f');
  assert.ok('text' in set);
  assert.equal(set.text, '# top\nkeepalived:\n  checkScript: "/y" # why\n');
  const empty = editYaml('harbor:\n', [[['harbor', 'installerTgz'], '/a.tgz']], 'f');
  assert.ok('text' in empty);
  assert.match(empty.text, /harbor:\n {2}installerTgz: \/a\.tgz/);
  const bad = editYaml('harbor: 3\n', [[['harbor', 'installerTgz'], '/a.tgz']], 'f');
  assert.deepEqual(bad, { problem: 'f: harbor: must be a mapping (setup sets harbor.installerTgz in it)' });
});

test('no YAML yet: the documented example is written, with the tarball check script set', async () => {
  const h = host();
  const layout = tarball(h.root);
  const o = options(h, { layout });
  const out = await setup(answers(h.keyFile), o);
  assert.equal(out.status, 'ready');
  const yaml = readFileSync(join(h.etc, 'harbor-assistant.yaml'), 'utf8');
  assert.match(yaml, /^# harbor-assistant configuration\. Every field is optional/);
  assert.match(yaml, /checkScript: "\/usr\/bin\/true"/);
});

test('tarball: units copied, links placed, systemd reloaded; a second run touches none of it', async () => {
  const h = host();
  withYaml(h);
  const layout = tarball(h.root);
  mkdirSync(h.bin, { recursive: true });
  symlinkSync('/usr/lib/old/harborctl', join(h.bin, 'harborctl'));
  const sd = fakeSystemd();
  const o = options(h, { layout, systemctl: sd.systemctl });
  const out = await setup(answers(h.keyFile), o);
  assert.equal(out.status, 'ready');
  for (const unit of ['harbor-assistant.service', 'harbor-assistant-keepalived.service']) {
    assert.equal(readFileSync(join(h.units, unit), 'utf8'), `[Unit]\nDescription=${unit}\n`);
  }
  for (const name of ['harbor-assistant', 'harborctl', 'keepalivedctl']) assert.equal(readlinkSync(join(h.bin, name)), join(layout.prefix, 'bin', name));
  assert.ok(o.steps.some((s) => s.verb === 'linked' && s.what === join(h.bin, 'harborctl') && /was → \/usr\/lib\/old\/harborctl/.test(s.note ?? '')));
  assert.deepEqual(sd.calls[1], ['daemon-reload']);
  assert.match(readFileSync(join(h.etc, 'harbor-assistant.yaml'), 'utf8'), /checkScript: \/usr\/bin\/true/);

  const before = snapshot(h.root);
  const sd2 = fakeSystemd({ enabled: ['harbor-assistant.service', 'harbor-assistant-keepalived.service'], active: ['harbor-assistant.service'] });
  const o2 = options(h, { layout, systemctl: sd2.systemctl });
  await setup(answers(h.keyFile), o2);
  assert.deepEqual(snapshot(h.root), before);
  assert.deepEqual(sd2.changing(), [['start', 'harbor-assistant-keepalived.service']], 'only the unit that was not active');
});

test('tarball: a regular file where a link goes is named and left alone, and nothing is written', async () => {
  const h = host();
  withYaml(h);
  const layout = tarball(h.root);
  mkdirSync(h.bin, { recursive: true });
  writeFileSync(join(h.bin, 'keepalivedctl'), '#!/bin/sh\necho mine\n', { mode: 0o755 });
  const before = snapshot(h.root);
  const out = await setup(answers(h.keyFile), options(h, { layout }));
  assert.equal(out.status, 'refused');
  assert.match(out.problems.join('\n'), new RegExp(`${join(h.bin, 'keepalivedctl')}: a regular file is in the way of the link`));
  assert.deepEqual(snapshot(h.root), before);
  assert.equal(readFileSync(join(h.bin, 'keepalivedctl'), 'utf8'), '#!/bin/sh\necho mine\n');
});

test('a blocker from doctor: configured and enabled, not started, exit 3 with the fix', async () => {
  const h = host();
  withYaml(h);
  const sd = fakeSystemd();
  const doc = doctorSaying([
    { check: 'docker', verdict: 'FAIL', detail: 'docker missing', fix: 'install Docker Engine' },
    { check: 'metrics endpoint', verdict: 'warn', detail: 'open', fix: 'firewall' },
  ]);
  const out: string[] = [];
  const err: string[] = [];
  const code = await setupCommand(
    answers(h.keyFile),
    [],
    { out: (s) => out.push(s), err: (s) => err.push(s) },
    options(h, { systemctl: sd.systemctl, doctor: doc.doctor }),
  );
  assert.equal(code, 3);
  const text = out.join('');
  assert.match(text, /blocks a takeover:\n {2}- docker: docker missing\n {4}fix: install Docker Engine\n/);
  assert.match(text, /not started harbor-assistant\.service, harbor-assistant-keepalived\.service \(a takeover is blocked, see below/);
  assert.match(text, /doctor: 2 checks, 1 warning/);
  assert.deepEqual(sd.changing(), [['enable', 'harbor-assistant.service', 'harbor-assistant-keepalived.service']]);
  assert.ok(!`${text}${err.join('')}`.includes(KEY));
});

test('keepalived not installed: a blocker with its fix, its configuration not written, nothing started', async () => {
  const h = host();
  withYaml(h);
  const sd = fakeSystemd();
  const runner = new ScriptedRunner(() => ({ fail: { exitCode: 127, stderr: 'bash: line 1: keepalived: command not found' } }));
  const doc = doctorSaying([{ check: 'keepalived', verdict: 'FAIL', detail: 'keepalived --version: not found', fix: 'apt-get install keepalived' }]);
  const out = await setup(answers(h.keyFile), options(h, { runner, systemctl: sd.systemctl, doctor: doc.doctor }));
  assert.equal(out.status, 'blocked');
  const blockers = out.blockers;
  assert.equal(blockers.length, 1, 'setup and doctor both found it: listed once');
  assert.match(blockers[0]?.detail ?? '', /not installed, so its configuration was not written/);
  assert.equal(blockers[0]?.fix, 'apt-get install keepalived');
  assert.ok(!existsSync(join(h.root, 'keepalived')), 'no unchecked keepalived.conf');
  assert.ok(!sd.changing().some((c) => c[0] === 'start'));
});

test('a configuration keepalived -t rejects is left aside, the one in use untouched', async () => {
  const h = host();
  withYaml(h);
  const conf = join(h.root, 'keepalived', 'harbor-assistant.conf');
  mkdirSync(join(h.root, 'keepalived'));
  writeFileSync(conf, '# in use\n');
  const runner = new ScriptedRunner((argv) => (argv[1] === '-t' ? { fail: { exitCode: 5, stderr: 'Unknown keyword x' } } : { stdout: '' }));
  const out = await setup(answers(h.keyFile), options(h, { runner }));
  assert.equal(out.status, 'blocked');
  assert.match(out.blockers[0]?.detail ?? '', /keepalived -t rejects .*\.new: Unknown keyword x/);
  assert.equal(readFileSync(conf, 'utf8'), '# in use\n');
});

test('no systemd on this host: says so, lists the commands to run, and does not fail for it', async () => {
  const h = host();
  withYaml(h);
  const sd = fakeSystemd({ absent: true });
  const out: string[] = [];
  const code = await setupCommand(answers(h.keyFile), [], { out: (s) => out.push(s), err: (s) => out.push(s) }, options(h, { systemctl: sd.systemctl }));
  assert.equal(code, 0);
  const text = out.join('');
  assert.match(text, /systemd: not used here \(systemd is not running this host/);
  // enabling needs no running systemd (links only): done; starting does: left to the operator
  assert.match(text, /enabled +harbor-assistant\.service/);
  assert.doesNotMatch(text, /\n {2}systemctl enable /);
  assert.match(text, /\n {2}systemctl start harbor-assistant\.service harbor-assistant-keepalived\.service\n/);
  assert.match(text, /ready: this host can take over\n$/);
  assert.deepEqual(sd.calls, [
    ['is-system-running'],
    ['is-enabled', 'harbor-assistant.service'],
    ['is-enabled', 'harbor-assistant-keepalived.service'],
    ['enable', 'harbor-assistant.service', 'harbor-assistant-keepalived.service'],
  ]);
});

test('--no-start: enabled, not started, still ready', async () => {
  const h = host();
  withYaml(h);
  const sd = fakeSystemd();
  const out = await setup(answers(h.keyFile, { 'no-start': true }), options(h, { systemctl: sd.systemctl }));
  assert.equal(out.status, 'ready');
  assert.deepEqual(sd.changing(), [['enable', 'harbor-assistant.service', 'harbor-assistant-keepalived.service']]);
});

test('the CLI: refused answers exit 2 on stderr, nothing on stdout but the header, key never shown', async () => {
  const h = host();
  const keyFile = join(h.root, 'k');
  writeFileSync(keyFile, `[client.harbor]\n\tkey = ${KEY}\n`);
  const out: string[] = [];
  const err: string[] = [];
  const code = await setupCommand({ ...answers(keyFile), vip: 'nope' }, [], { out: (s) => out.push(s), err: (s) => err.push(s) }, options(h));
  assert.equal(code, 2);
  assert.match(err.join(''), /^setup refused these answers; nothing was written:\n {2}- HARBOR_VIP \(--vip\): must be an IPv4 or IPv6 address, got "nope"\n$/);
  assert.equal(out.length, 1);
  assert.ok(!`${out.join('')}${err.join('')}`.includes(KEY));
  assert.equal(await setupCommand({}, ['now'], { out: () => undefined, err: () => undefined }, options(h)), 2);
});

test('an unreadable existing .env is a problem, not a reason to start over', async () => {
  const h = host();
  withYaml(h);
  mkdirSync(join(h.etc, '.env'));
  const out = await setup(answers(h.keyFile), options(h));
  assert.equal(out.status, 'refused');
  assert.match(out.problems.join('\n'), /\.env: is a directory, not a file/);
});

test('systemctl through the runner: a non-zero exit is an answer; no systemctl, not booted with systemd and a chroot are told apart from a running one', async () => {
  const replies: Record<string, Reply> = {
    'is-enabled': { fail: { exitCode: 1, stderr: '' } },
    'is-system-running': { stdout: 'degraded\n' },
  };
  const runner = new ScriptedRunner((argv) => replies[argv[1] ?? ''] ?? { stdout: '' });
  const systemctl = runnerSystemctl(runner);
  assert.equal((await systemctl(['is-enabled', 'x.service'])).exitCode, 1);
  assert.deepEqual(runner.calls[0], ['systemctl', 'is-enabled', 'x.service']);
  assert.equal(await systemdAbsence(systemctl), null, 'degraded is still systemd');
  const answering = (r: Reply) => runnerSystemctl(new ScriptedRunner(() => r));
  assert.equal(await systemdAbsence(answering({ fail: { exitCode: 127, stderr: 'bash: line 1: systemctl: command not found' } })), 'no systemctl on this host');
  assert.equal(
    await systemdAbsence(answering({ fail: { exitCode: 1, stderr: "System has not been booted with systemd as init system (PID 1). Can't operate.\n" } })),
    "System has not been booted with systemd as init system (PID 1). Can't operate.",
  );
  const offline: Systemctl = async () => ({ exitCode: 1, stdout: 'offline\n', stderr: '' });
  assert.match((await systemdAbsence(offline)) ?? '', /not running this host/);
});

test('a unit that fails to start, or a systemctl that does not answer, is a blocker with its fix', async () => {
  const h = host();
  withYaml(h);
  const sd = fakeSystemd();
  const failing: Systemctl = async (args) =>
    args[0] === 'start'
      ? { exitCode: 1, stdout: '', stderr: 'Job for harbor-assistant.service failed because the control process exited with error code.\n' }
      : sd.systemctl(args);
  const out = await setup(answers(h.keyFile), options(h, { systemctl: failing }));
  assert.equal(out.status, 'blocked');
  assert.deepEqual(
    out.blockers.map((b) => [b.check, b.fix]),
    [['systemctl start harbor-assistant.service harbor-assistant-keepalived.service', 'journalctl -u harbor-assistant.service -e says why']],
  );
  const hanging: Systemctl = async (args) => {
    if (args[0] === 'start') throw new Error('systemctl start (systemctl start harbor-assistant.service) timed out after 90000 ms');
    return sd.systemctl(args);
  };
  const again = await setup(answers(h.keyFile), options(h, { systemctl: hanging }));
  assert.equal(again.status, 'blocked');
  assert.match(again.blockers[0]?.detail ?? '', /timed out after 90000 ms/);
});

test('a keyring for another user is refused once, naming both users, and the key file is not shown', async () => {
  const h = host();
  const keyring = join(h.root, 'admin.keyring');
  writeFileSync(keyring, `[client.admin]\n\tkey = ${OTHER_KEY}\n`);
  const out = await setup(answers(keyring), options(h));
  assert.equal(out.status, 'refused');
  assert.deepEqual(out.problems, [
    `CEPH_USER_KEY (--ceph-key-file ${keyring}): a keyring for client.admin, not for client.harbor (CEPH_USER is harbor); give the keyring or key of client.harbor`,
  ]);
});
