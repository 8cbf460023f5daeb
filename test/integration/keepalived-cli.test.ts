import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const dir = mkdtempSync(join(tmpdir(), 'ha-kcli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const env = {
  ...process.env,
  HARBOR_VERSION: 'v2.6.2',
  HARBOR_VIP: '10.0.0.100',
  CEPH_MON_HOST: '10.0.0.10',
  CEPH_USER: 'harbor',
  CEPH_USER_KEY: 'AQBsSHhjAAAAABAAiXWqnJHl7oKJ3aFfzVVlnw==',
  CEPH_POOL_NAME: 'rbd',
  CEPH_IMAGE_NAME: 'harbor',
  KEEPALIVED_ROLE: 'backup',
  INTERFACE: 'eth0',
};
const cli = (yaml: string, ...args: string[]) => {
  const path = join(dir, 'c.yaml');
  writeFileSync(path, yaml);
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args, '--config', path, '--env', '/dev/null'], { encoding: 'utf8', env });
};

test('keepalived render refuses a check script keepalived would silently disable', () => {
  const script = join(dir, 'check.sh');
  writeFileSync(script, '#!/bin/sh\n', { mode: 0o777 });
  const r = cli(`keepalived:\n  checkScript: ${script}\n  confPath: ${dir}/k.conf\n`, 'keepalived', 'render');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /refusing to render: keepalived would silently disable the check script/);
  assert.match(r.stderr, /writable by group or others/);
});

test('keepalived render --stdout: backup role, its priority, the check with our config', () => {
  const r = cli(`keepalived:\n  priorityBackup: 90\n  advertInt: 0.5\n`, 'keepalived', 'render', '--stdout');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /priority 90\n/);
  assert.match(r.stdout, /advert_int 0.5\n/);
  assert.match(
    r.stdout,
    /script "\/usr\/lib\/harbor-assistant\/bin\/harbor-assistant-check \/run\/harbor-assistant\/fitness.heartbeat \/run\/harbor-assistant\/fitness.seen \/run\/harbor-assistant\/fitness.grace"/,
  );
  assert.doesNotMatch(r.stdout, /AQBsSHhj/);
});

test('VRRPv2 with a fractional advert interval is refused by name', () => {
  const r = cli('keepalived:\n  vrrpVersion: 2\n  advertInt: 0.1\n', 'keepalived', 'render', '--stdout');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /keepalived.advertInt: VRRPv2 takes whole seconds, got 0.1/);
  assert.ok(readFileSync(join(dir, 'c.yaml'), 'utf8').length > 0);
});

test('keepalivedctl start|status|stop runs the Debian keepalived with its own pid files (in a namespace)', async () => {
  const { createNetns, deleteNetns } = await import('../support/netns.js');
  const ns = createNetns('kc', '10.232.0.1');
  try {
    const yaml = [
      'keepalived:',
      '  checkScript: /usr/bin/true',
      `  confPath: ${dir}/run.conf`,
      `  fifoPath: ${dir}/run.fifo`,
      `  pidDir: ${dir}/pids`,
      '  advertInt: 0.1',
      'node:',
      `  runDir: ${dir}/run`,
      `  stateDir: ${dir}/state`,
    ].join('\n');
    const path = join(dir, 'ns.yaml');
    writeFileSync(path, yaml);
    const nsEnv = { ...env, INTERFACE: 'eth0', HARBOR_VIP: '10.232.0.100', KEEPALIVED_ROLE: 'master' };
    const inNs = (bin: string, ...args: string[]) =>
      spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', bin, ...args, '--config', path, '--env', '/dev/null'], {
        encoding: 'utf8',
        env: nsEnv,
      });
    const render = inNs('src/cli/main.ts', 'keepalived', 'render');
    assert.equal(render.status, 0, render.stderr);
    assert.match(render.stdout, /keepalived -t: ok/);
    const start = inNs('src/cli/keepalivedctl.ts', 'start');
    assert.equal(start.status, 0, start.stderr);
    let status = inNs('src/cli/keepalivedctl.ts', 'status');
    for (let i = 0; i < 50 && !/VIP 10\.232\.0\.100 is on eth0/.test(status.stdout); i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = inNs('src/cli/keepalivedctl.ts', 'status');
    }
    assert.match(status.stdout, /keepalived running \(pid \d+\); VIP 10\.232\.0\.100 is on eth0/);
    const again = inNs('src/cli/keepalivedctl.ts', 'start');
    assert.match(again.stdout, /already running/);
    const stop = inNs('src/cli/keepalivedctl.ts', 'stop');
    assert.equal(stop.status, 0, stop.stderr);
    assert.match(inNs('src/cli/keepalivedctl.ts', 'status').stdout, /keepalived not running/);
  } finally {
    deleteNetns(ns);
  }
});
