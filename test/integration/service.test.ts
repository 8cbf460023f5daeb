import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { fromPromise } from 'xstate';
import type { Config } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { runService } from '../../src/runtime/service.js';
import { checkCommand, statusCommand } from '../../src/cli/operator.js';
import { controlRequest } from '../../src/cli/control-client.js';
import type { NodeStatus } from '../../src/runtime/status.js';
import { HEALTHY, REGISTRY_DOWN, startHealthServer } from '../support/harbor-health-server.js';
import { memoryLogger } from '../support/memory-logger.js';
import { configFor, instantService, io, removeServiceDirs, startServing, stopAfterTest, waitState } from '../support/service-harness.js';

after(removeServiceDirs);

test('the service: keepalived fifo → takeover → Harbor health → switchover over the socket → check → stop', async () => {
  const health = await startHealthServer();
  health.set(HEALTHY);
  const config = configFor(health.url);
  const calls: string[] = [];
  const running = runService(config, silentLogger(), instantService(calls, config));
  try {
    await waitState(config, 'idle');
    // the keyring is the only place the key is written, 0600; the socket is root-only
    assert.equal(statSync(config.paths.keyring).mode & 0o777, 0o600);
    assert.equal(statSync(config.paths.controlSocket).mode & 0o777, 0o600);
    assert.equal(statSync(config.file.node.runDir).mode & 0o777, 0o700);

    const followed: string[] = [];
    void controlRequest(config.paths.controlSocket, { cmd: 'events' }, 0, (r) => {
      if (r.ok && 'transition' in r) followed.push(r.transition.to);
    }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(config.file.keepalived.fifoPath, 'INSTANCE "VI_HARBOR" MASTER 150\n');
    const serving = await waitState(config, 'active.serving.healthy');
    assert.ok(followed.includes('active.acquiring-rbd.reading.running') && followed.includes('active.serving.healthy'), followed.join(', '));
    assert.equal(serving.vrrp, 'MASTER');
    assert.deepEqual(calls.slice(1), ['readHolders', 'claim', 'map', 'record', 'probeFilesystem', 'fsck', 'mount', 'composeUp']);
    assert.ok(serving.healthComponents.some((c) => c.name === 'registry'));

    assert.equal(readFileSync(config.file.keepalived.fitnessFile, 'utf8'), '0\n', 'keepalived track_file: fit');
    const fit = io();
    assert.equal(await checkCommand(config, fit.io), 0, fit.out.join(''));
    assert.match(fit.out.join(''), /^fit: serving/);

    const s = io();
    assert.equal(await statusCommand(config, false, s.io), 0);
    assert.match(s.out.join(''), /state {5}active\.serving\.healthy/);
    assert.doesNotMatch(s.out.join('') + readFileSync(config.paths.statusFile, 'utf8'), /AQBsSHhj/);

    const ack = await controlRequest(config.paths.controlSocket, { cmd: 'switchover' }, 2_000);
    assert.ok(ack.ok && 'accepted' in ack);
    await waitState(config, 'standing-down');
    assert.deepEqual(calls.slice(-5), ['readWorld', 'composeDown', 'unmount', 'unmap', 'disown']);
    assert.equal(readFileSync(config.file.keepalived.fitnessFile, 'utf8'), '1\n', 'keepalived track_file: unfit at once');
    const unfit = io();
    assert.equal(await checkCommand(config, unfit.io), 1);
    assert.match(unfit.out.join(''), /^unfit: standing-down: operator switchover/);

    writeFileSync(config.file.keepalived.fifoPath, 'INSTANCE "VI_HARBOR" FAULT 150\nINSTANCE "OTHER" MASTER 100\n');
    await waitState(config, 'idle');

    await controlRequest(config.paths.controlSocket, { cmd: 'maintenance', on: true }, 2_000);
    await waitState(config, 'maintenance');
    assert.ok(existsSync(config.paths.maintenanceMarker));
    const held = io();
    assert.equal(await checkCommand(config, held.io), 1);
    await controlRequest(config.paths.controlSocket, { cmd: 'maintenance', on: false }, 2_000);
    await waitState(config, 'idle');
    assert.ok(!existsSync(config.paths.maintenanceMarker));

    await controlRequest(config.paths.controlSocket, { cmd: 'shutdown', release: true }, 2_000);
    await running;
    const final = JSON.parse(readFileSync(config.paths.statusFile, 'utf8')) as NodeStatus;
    assert.equal(final.state, 'stopped');
  } finally {
    await stopAfterTest(config, running);
    await health.close();
  }
});

/** Instant steps, except compose up: it takes `ms`, calling `half` halfway and `end` as it returns (Harbor coming up meanwhile). */
function slowComposeService(calls: string[], config: Config, ms: number, hooks: { half?: () => void; end?: () => void }) {
  const service = instantService(calls, config);
  return {
    ...service,
    actors: {
      ...service.actors,
      composeUp: fromPromise<void, Record<string, never>>(async () => {
        calls.push('composeUp');
        await new Promise((r) => setTimeout(r, ms / 2));
        hooks.half?.();
        await new Promise((r) => setTimeout(r, ms / 2));
        hooks.end?.();
        calls.push('composeUp returned');
      }),
    },
  };
}

test('Harbor healthy while compose up still runs: the takeover serves as compose up returns, without waiting-healthy', async () => {
  const health = await startHealthServer();
  health.set('starting', 502);
  const config = configFor(health.url);
  const calls: string[] = [];
  const running = runService(config, silentLogger(), slowComposeService(calls, config, 800, { half: () => health.set(HEALTHY) }));
  try {
    await waitState(config, 'idle');
    const followed: string[] = [];
    void controlRequest(config.paths.controlSocket, { cmd: 'events' }, 0, (r) => {
      if (r.ok && 'transition' in r) followed.push(r.transition.to);
    }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(config.file.keepalived.fifoPath, 'INSTANCE "VI_HARBOR" MASTER 150\n');
    await waitState(config, 'active.serving.healthy');
    assert.ok(calls.includes('composeUp returned'));
    assert.ok(followed.includes('active.starting.composing.running'), followed.join(', '));
    assert.ok(!followed.some((t) => t.startsWith('active.starting.waiting-healthy')), followed.join(', '));
    await controlRequest(config.paths.controlSocket, { cmd: 'shutdown', release: true }, 2_000);
    await running;
  } finally {
    await stopAfterTest(config, running);
    await health.close();
  }
});

test('refusals while compose up starts Harbor are not verdicts: no "harbor health down" before its first answer', async () => {
  const health = await startHealthServer();
  health.set('starting', 502);
  const config = configFor(health.url);
  const calls: string[] = [];
  const { logger, lines } = memoryLogger();
  let hitsWhileComposing = 0;
  const service = slowComposeService(calls, config, 800, {
    end: () => {
      hitsWhileComposing = health.hits;
      health.set(HEALTHY);
    },
  });
  const running = runService(config, logger, service);
  try {
    await waitState(config, 'idle');
    writeFileSync(config.file.keepalived.fifoPath, 'INSTANCE "VI_HARBOR" MASTER 150\n');
    await waitState(config, 'active.serving.healthy');
    // the prober asked all along (every 50 ms, three 502s would be a verdict of down): only the answer counts
    assert.ok(hitsWhileComposing >= 5, `health hits while compose up ran: ${String(hitsWhileComposing)}`);
    const verdicts = lines.filter((l) => l.message === 'harbor health').map((l) => l.verdict);
    assert.deepEqual(verdicts, ['healthy']);
    await controlRequest(config.paths.controlSocket, { cmd: 'shutdown', release: true }, 2_000);
    await running;
  } finally {
    await stopAfterTest(config, running);
    await health.close();
  }
});

test('Harbor reported down after the fall threshold hands over to the peer', async () => {
  const health = await startHealthServer();
  health.set(HEALTHY);
  const config = configFor(health.url);
  const calls: string[] = [];
  const { running } = await startServing(config, calls);
  try {
    health.set(REGISTRY_DOWN);
    const down = await waitState(config, 'standing-down');
    assert.match(down.reason, /Harbor reported down/);
    assert.equal(down.health, 'down');
    assert.ok(calls.includes('composeDown'));
    await controlRequest(config.paths.controlSocket, { cmd: 'shutdown', release: true }, 2_000);
    await running;
  } finally {
    await stopAfterTest(config, running);
    await health.close();
  }
  assert.ok(!existsSync(config.paths.failedMarker));
});

test('the control socket refuses anyone but root', async () => {
  const health = await startHealthServer();
  const config = configFor(health.url);
  const running = runService(config, silentLogger(), instantService([], config));
  try {
    await waitState(config, 'idle');
    const probe = `require('net').connect(${JSON.stringify(config.paths.controlSocket)}).on('connect',()=>{console.log('CONNECTED');process.exit(0)}).on('error',e=>{console.log(e.code);process.exit(0)})`;
    const asNobody = spawnSync(process.execPath, ['-e', probe], { uid: 65534, gid: 65534, encoding: 'utf8' });
    assert.equal(asNobody.stdout.trim(), 'EACCES', asNobody.stderr);
    const asRoot = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
    assert.equal(asRoot.stdout.trim(), 'CONNECTED');
    await controlRequest(config.paths.controlSocket, { cmd: 'shutdown', release: false }, 2_000);
    await running;
  } finally {
    await stopAfterTest(config, running);
    await health.close();
  }
});

test('check while the service restarts: a serving node or a ready standby stays fit for the grace, then not', async () => {
  const health = await startHealthServer();
  const config = configFor(health.url);
  await health.close();
  mkdirSync(config.file.node.runDir, { recursive: true });
  const detached: Partial<NodeStatus> = { state: 'active.serving.healthy', tags: ['fit', 'serving'], detachedAt: new Date().toISOString() };
  writeFileSync(config.paths.statusFile, JSON.stringify(detached));
  const a = io();
  assert.equal(await checkCommand(config, a.io), 0);
  // a status file of a version without tags (an upgrade restart): the chart knows the state's tags
  writeFileSync(config.paths.statusFile, JSON.stringify({ state: 'active.serving.healthy', detachedAt: new Date().toISOString() }));
  const old = io();
  assert.equal(await checkCommand(config, old.io), 0);
  writeFileSync(config.paths.statusFile, JSON.stringify({ state: 'active.mounting.mapping.running', detachedAt: new Date().toISOString() }));
  assert.equal(await checkCommand(config, io().io), 1, 'a takeover in progress gets no restart grace');
  const b = io();
  assert.equal(await checkCommand(config, b.io, Date.now() + config.file.keepalived.restartGraceMs + 1), 1);
  writeFileSync(config.paths.statusFile, JSON.stringify({ state: 'idle', detachedAt: new Date().toISOString() }));
  const c = io();
  assert.equal(await checkCommand(config, c.io), 1, 'a standby whose fitness is unknown gets no grace');
  // a ready standby being restarted stays a candidate for the grace; one that was not ready does not
  const standby = (fit: boolean) => ({ state: 'idle', tags: ['fit-when-ready'], fitness: { fit, why: fit ? 'standby ready' : 'standby: Ceph unreachable' } });
  writeFileSync(config.paths.statusFile, JSON.stringify({ ...standby(true), detachedAt: new Date().toISOString() }));
  const ready = io();
  assert.equal(await checkCommand(config, ready.io), 0, ready.out.join(''));
  assert.match(ready.out.join(''), /ready standby; the service is restarting/);
  assert.equal(await checkCommand(config, io().io, Date.now() + config.file.keepalived.restartGraceMs + 1), 1, 'the grace ends');
  writeFileSync(config.paths.statusFile, JSON.stringify({ ...standby(false), detachedAt: new Date().toISOString() }));
  assert.equal(await checkCommand(config, io().io), 1, 'an unready standby stays unfit');
  writeFileSync(config.paths.statusFile, JSON.stringify(standby(true)));
  assert.equal(await checkCommand(config, io().io), 1, 'a status that was not detached (a crash) gets no grace');
});

test('failed (budget exhausted) is sticky across a service restart until an operator resumes', async () => {
  const health = await startHealthServer();
  health.set(HEALTHY);
  const config = configFor(health.url, ['failureBudget: 1']);
  let first: Promise<void> | undefined;
  let second: Promise<void> | undefined;
  try {
    ({ running: first } = await startServing(config));
    health.set(REGISTRY_DOWN);
    const failed = await waitState(config, 'failed');
    assert.match(failed.reason, /failure budget exhausted \(1\)/);
    assert.ok(existsSync(config.paths.failedMarker));
    await controlRequest(config.paths.controlSocket, { cmd: 'shutdown', release: false }, 2_000);
    await first;

    health.set(HEALTHY);
    second = runService(config, silentLogger(), instantService([], config));
    const again = await waitState(config, 'failed');
    assert.match(again.reason, /failure budget exhausted/);
    await controlRequest(config.paths.controlSocket, { cmd: 'resume' }, 2_000);
    await waitState(config, 'idle');
    assert.ok(!existsSync(config.paths.failedMarker));
    await controlRequest(config.paths.controlSocket, { cmd: 'shutdown', release: true }, 2_000);
    await second;
  } finally {
    await stopAfterTest(config, first, second);
    await health.close();
  }
});
