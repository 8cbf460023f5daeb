import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, type NetworkInterfaceInfo } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createRunner } from '../../src/actions/exec.js';
import { NotifyFifoReader, type VrrpNotification } from '../../src/actions/keepalived/fifo.js';
import {
  keepalivedPids,
  keepalivedStartArgv,
  CHECK_TIMEOUT_FLOOR_SECONDS,
  renderKeepalivedConf,
  scriptSecurityProblems,
  type KeepalivedSettings,
} from '../../src/actions/keepalived/conf.js';
import { Vip } from '../../src/actions/keepalived/vip.js';
import { silentLogger } from '../../src/log/logger.js';
import { createNetns, deleteNetns } from '../support/netns.js';

const runner = createRunner(silentLogger());
const work = mkdtempSync(join(tmpdir(), 'ha-kl-'));
const fitFile = join(work, 'fit');
const VIP = '10.231.0.100';

const settings = (role: 'master' | 'backup', over: Partial<KeepalivedSettings> = {}): KeepalivedSettings => ({
  role,
  nodeName: `node-${role}`,
  interface: 'eth0',
  vip: VIP,
  vipPrefix: 32,
  instance: 'VI_HARBOR',
  virtualRouterId: 51,
  priority: role === 'master' ? 150 : 100,
  vrrpVersion: 3,
  advertInt: 0.1,
  unicastSrcIp: '',
  unicastPeers: [],
  // /usr/bin/test is root-owned on a root-owned path: script security accepts it
  checkScript: '/usr/bin/test',
  checkArgs: ['-e', fitFile],
  checkIntervalSeconds: 1,
  checkFall: 1,
  checkRise: 1,
  garpRefreshSeconds: 5,
  fitnessFile: join(work, 'fitness'),
  fifoPath: join(work, 'notify.fifo'),
  ...over,
});

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

test('rendered configs for both roles pass `keepalived -t` (in a namespace with the interface)', async () => {
  const ns = createNetns('kt', '10.231.0.1');
  try {
    for (const role of ['master', 'backup'] as const) {
      for (const over of [{}, { vrrpVersion: 2, advertInt: 1 }, { unicastSrcIp: '10.231.0.1', unicastPeers: ['10.231.0.2'] }]) {
        const conf = join(work, `${role}.conf`);
        const text = renderKeepalivedConf(settings(role, over));
        writeFileSync(conf, text);
        assert.match(text, /state BACKUP\n {4}nopreempt/);
        assert.match(text, new RegExp(`priority ${role === 'master' ? 150 : 100}`));
        assert.match(text, new RegExp(`timeout ${CHECK_TIMEOUT_FLOOR_SECONDS}\n`), 'a slow check start under load is not a failure');
        assert.match(text, /vrrp_notify_fifo /);
        await runner.run({ what: 'keepalived -t', argv: ['ip', 'netns', 'exec', ns, 'keepalived', '-t', '-f', conf], timeoutMs: 15_000 });
      }
    }
    // and a broken one is refused (rc 5)
    const bad = join(work, 'bad.conf');
    writeFileSync(bad, renderKeepalivedConf(settings('master')).replace('advert_int', 'advert_intx'));
    await assert.rejects(
      runner.run({ what: 'keepalived -t', argv: ['ip', 'netns', 'exec', ns, 'keepalived', '-t', '-f', bad], timeoutMs: 15_000 }),
      /exited with code 5/,
    );
  } finally {
    deleteNetns(ns);
  }
});

test('script paths that keepalived would silently disable are refused with the reason', () => {
  assert.deepEqual(scriptSecurityProblems('/usr/bin/test'), []);
  const unsafe = join(work, 'check.sh');
  writeFileSync(unsafe, '#!/bin/sh\nexit 0\n');
  chmodSync(unsafe, 0o777);
  const problems = scriptSecurityProblems(unsafe);
  assert.ok(
    problems.some((p) => p.startsWith(`${unsafe}: writable by group or others`)),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => /^\/tmp: writable by group or others/.test(p)),
    problems.join('\n'),
  );
  assert.deepEqual(scriptSecurityProblems('/nonexistent/check'), ['/nonexistent/check: does not exist']);
});

test('the fifo reader follows a real keepalived: MASTER, FAULT when unfit, and survives a keepalived restart', async () => {
  const ns = createNetns('kf', '10.231.0.1');
  const pidDir = join(work, 'pids');
  mkdirSync(pidDir, { recursive: true });
  const conf = join(work, 'run.conf');
  writeFileSync(conf, renderKeepalivedConf(settings('master')));
  writeFileSync(fitFile, '');
  const seen: VrrpNotification[] = [];
  const reader = new NotifyFifoReader(settings('master').fifoPath, (n) => seen.push(n));
  await reader.start(runner);
  // the in-process read (getifaddrs) as the service does it, from a process inside the namespace
  const vip = new Vip('eth0', VIP, () => {
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', 'process.stdout.write(JSON.stringify(require("node:os").networkInterfaces()))'], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    return Promise.resolve(JSON.parse(r.stdout) as NodeJS.Dict<NetworkInterfaceInfo[]>);
  });
  const startKeepalived = () => {
    const argv = keepalivedStartArgv(conf, keepalivedPids(pidDir));
    const child = spawn('ip', ['netns', 'exec', ns, ...argv, '--dont-fork', '--log-console'], { stdio: 'ignore' });
    children.push(child);
    return child;
  };
  const waitFor = async (pred: () => boolean | Promise<boolean>, ms: number, what: string) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await pred()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`timed out waiting for ${what}; saw ${JSON.stringify(seen)}`);
  };
  const states = () => seen.filter((n) => n.kind === 'state').map((n) => n.state);
  try {
    let k = startKeepalived();
    await waitFor(() => states().includes('MASTER'), 10_000, 'MASTER');
    await waitFor(() => vip.present(), 5_000, 'the VIP on eth0');
    rmSync(fitFile);
    await waitFor(() => states().includes('FAULT'), 10_000, 'FAULT after the check fails');
    await waitFor(async () => !(await vip.present()), 5_000, 'the VIP to leave');
    // restart keepalived: the reader must not see end-of-file
    k.kill('SIGTERM');
    await new Promise((r) => k.once('exit', r));
    writeFileSync(fitFile, '');
    const before = seen.length;
    k = startKeepalived();
    await waitFor(() => seen.slice(before).some((n) => n.kind === 'state' && n.state === 'MASTER'), 10_000, 'MASTER after the restart');
    const first = seen.find((n) => n.kind === 'state');
    assert.equal(first?.kind === 'state' ? first.instance : '', 'VI_HARBOR');
    k.kill('SIGTERM');
    await new Promise((r) => k.once('exit', r));
  } finally {
    reader.stop();
    deleteNetns(ns);
  }
});
