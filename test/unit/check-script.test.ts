import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Heartbeat, HEARTBEAT_MS, livenessFiles } from '../../src/actions/keepalived/liveness.js';
import { staysFitWhileRestarting } from '../../src/guards/restart-grace.js';

// keepalived's track_script itself, run with dash as keepalived runs it (sh), against real files
const SCRIPT = new URL('../../config/harbor-assistant-check', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'ha-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const files = (name: string) => livenessFiles(join(dir, name));
const check = (f: ReturnType<typeof livenessFiles>) => spawnSync('sh', [SCRIPT, f.heartbeat, f.seen, f.grace], { encoding: 'utf8' }).status;
const nowS = () => Math.floor(Date.now() / 1000);

test('no heartbeat and no grace: not alive', () => {
  assert.equal(check(files('none')), 1);
});

test('a heartbeat newer than the last run: alive, once per beat', () => {
  const f = files('beat');
  writeFileSync(f.heartbeat, '');
  assert.equal(check(f), 0, 'first run: a heartbeat it has not seen');
  assert.equal(check(f), 1, 'no beat since the last run: the loop is stuck or the service gone');
  const later = new Date(Date.now() + 50);
  utimesSync(f.heartbeat, later, later);
  assert.equal(check(f), 0, 'a newer beat');
});

test('the grace a fit service left on detaching: fit until its second, then not', () => {
  const f = files('grace');
  writeFileSync(f.grace, `${String(nowS() + 30)}\n`);
  assert.equal(check(f), 0);
  writeFileSync(f.grace, `${String(nowS() - 1)}\n`);
  assert.equal(check(f), 1, 'expired');
  writeFileSync(f.grace, '99999999999; rm -rf /\n');
  assert.equal(check(f), 1, 'anything but digits is no grace');
});

test('wrong arguments: exit 2 with the usage, never 0', () => {
  const r = spawnSync('sh', [SCRIPT, 'only-one'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage: harbor-assistant-check HEARTBEAT SEEN GRACE/);
});

test("an earlier version's form (`check --socket …`) runs the bundled Node check with the same arguments", () => {
  const prefix = join(dir, 'prefix');
  mkdirSync(join(prefix, 'runtime'), { recursive: true });
  writeFileSync(join(prefix, 'runtime', 'node'), '#!/bin/sh\necho "node $*"\nexit 7\n', { mode: 0o755 });
  const rendered = join(dir, 'rendered-check');
  writeFileSync(rendered, readFileSync(SCRIPT, 'utf8').replaceAll('@PREFIX@', prefix), { mode: 0o755 });
  const r = spawnSync('sh', [rendered, 'check', '--socket', '/s', '--status-file', '/f', '--grace', '20000'], { encoding: 'utf8' });
  assert.equal(r.status, 7, 'the Node check decides');
  assert.equal(r.stdout.trim(), `node ${prefix}/app/main.mjs check --socket /s --status-file /f --grace 20000`);
});

test('the service heartbeat keeps the script finding it alive, and its grace outlives it', async () => {
  const f = files('service');
  writeFileSync(f.grace, `${String(nowS() + 60)}\n`);
  const errors: unknown[] = [];
  const heartbeat = new Heartbeat(f, (e) => errors.push(e));
  heartbeat.start();
  assert.equal(existsSync(f.grace), false, 'a running service clears an old grace');
  // the first beat is already there when the grace goes: the next run finds the service alive
  assert.equal(existsSync(f.heartbeat), true, 'beaten before start() returns');
  assert.equal(check(f), 0, 'the first run after start: alive');
  try {
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, HEARTBEAT_MS + 100));
      assert.equal(check(f), 0, `run ${String(i + 1)}: a beat since the last run`);
    }
    assert.equal(statSync(f.heartbeat).mode & 0o777, 0o600);
  } finally {
    heartbeat.stop();
  }
  await new Promise((r) => setTimeout(r, HEARTBEAT_MS + 100));
  check(f);
  assert.equal(check(f), 1, 'stopped: no new beat');
  heartbeat.leaveGrace(Date.now() + 20_000);
  assert.equal(check(f), 0, 'detached fit: the grace holds');
  const until = Number(readFileSync(f.grace, 'utf8'));
  assert.ok(until <= nowS() + 20 && until >= nowS() + 19, `grace ends in 20 s, got ${String(until - nowS())}`);
  assert.deepEqual(errors, []);
});

test('who stays fit while its service restarts: serving, or a standby that was ready', () => {
  assert.equal(staysFitWhileRestarting(['serving', 'fit'], false), true);
  assert.equal(staysFitWhileRestarting(['fit-when-ready'], true), true);
  assert.equal(staysFitWhileRestarting(['fit-when-ready'], false), false);
  assert.equal(staysFitWhileRestarting(['takeover', 'fit'], true), false);
  assert.equal(staysFitWhileRestarting(['unfit', 'release'], false), false);
});
