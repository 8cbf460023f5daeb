import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fromPromise } from 'xstate';
import { buildConfig, type Config } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import type { FilesystemProbe, HolderObservation, NodeActors, WorldSnapshot } from '../../src/machine/index.js';
import { runService } from '../../src/runtime/service.js';
import { readMarkers } from '../../src/runtime/state-files.js';
import { checkCommand, statusCommand } from '../../src/cli/operator.js';
import { controlRequest } from '../../src/cli/control-client.js';
import type { NodeStatus } from '../../src/runtime/status.js';
import { HEALTHY, REGISTRY_DOWN, startHealthServer } from '../support/harbor-health-server.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function configFor(healthUrl: string, extraYaml: string[] = []): Config {
  const dir = mkdtempSync(join(tmpdir(), 'ha-svc-'));
  dirs.push(dir);
  const yaml = [
    'node:',
    `  stateDir: ${dir}/state`,
    `  runDir: ${dir}/run`,
    '  cephAddresses: [127.0.0.2]',
    'harbor:',
    '  composeCommand: ["true"]',
    `  healthUrl: ${healthUrl}`,
    '  probe: { intervalMs: 100, timeoutMs: 80, rise: 1, fall: 2 }',
    'keepalived:',
    `  fifoPath: ${dir}/run/keepalived.fifo`,
    `  fitnessFile: ${dir}/run/fitness`,
    // the VIP poll's first look only counts one disagreement; the fifo must drive this test
    '  vipPollMs: 600000',
    'standDownMs: 600000',
    ...extraYaml,
  ].join('\n');
  return buildConfig({
    env: {
      HARBOR_VERSION: 'v2.11.0', HARBOR_VIP: '127.0.0.1', CEPH_MON_HOST: '127.0.0.1', CEPH_USER: 'harbor',
      CEPH_USER_KEY: 'AQBsSHhjAAAAABAAiXWqnJHl7oKJ3aFfzVVlnw==', CEPH_POOL_NAME: 'rbd', CEPH_IMAGE_NAME: 'harbor', KEEPALIVED_ROLE: 'master', INTERFACE: 'lo',
    },
    yaml: { text: yaml, source: 'test' },
  });
}

/** Instant steps over a tiny in-memory world, so the service's own plumbing is what is tested. */
function instantActors(calls: string[], config: Config): Partial<NodeActors> {
  const w = { device: null as string | null, mounted: false, composeRunning: false };
  const step = <I, O>(name: string, effect: (input: I) => O) =>
    fromPromise<O, I>(async ({ input }) => {
      calls.push(name);
      return effect(input);
    });
  return {
    readWorld: step<Record<string, never>, WorldSnapshot>('readWorld', () => {
      const markers = readMarkers(config);
      return { vipHere: false, ...w, failedMarker: markers.failed, maintenanceMarker: markers.maintenance };
    }),
    readHolders: step<Record<string, never>, HolderObservation>('readHolders', () => ({ holders: [], observedAt: Date.now() })),
    mapImage: step<Record<string, never>, { device: string }>('mapImage', () => ((w.device = '/dev/rbd0'), { device: '/dev/rbd0' })),
    probeFilesystem: step<{ device: string }, FilesystemProbe>('probeFilesystem', () => ({ fsType: 'ext4', formattedBefore: true })),
    checkFilesystem: step<{ device: string }, void>('checkFilesystem', () => undefined),
    mountFilesystem: step<{ device: string }, void>('mountFilesystem', () => void (w.mounted = true)),
    composeUp: step<Record<string, never>, void>('composeUp', () => void (w.composeRunning = true)),
    composeDown: step<Record<string, never>, void>('composeDown', () => void (w.composeRunning = false)),
    unmountFilesystem: step<{ fenced: boolean }, void>('unmountFilesystem', () => void (w.mounted = false)),
    unmapImage: step<{ device: string | null; force: boolean; fenced: boolean }, void>('unmapImage', () => void (w.device = null)),
  };
}

/** Start the service on instant steps, tell it keepalived made it MASTER, wait until it serves. */
async function startServing(config: Config, calls: string[] = []): Promise<{ running: Promise<void> }> {
  // wrapped: an async function returning the service's promise would wait for the service to end
  const running = runService(config, silentLogger(), { actors: instantActors(calls, config) });
  await waitState(config, 'idle');
  writeFileSync(config.file.keepalived.fifoPath, 'INSTANCE "VI_HARBOR" MASTER 150\n');
  await waitState(config, 'active.serving.healthy');
  return { running };
}

const io = () => {
  const out: string[] = [];
  return { out, io: { out: (s: string) => out.push(s), err: (s: string) => out.push(s) } };
};

async function waitState(config: Config, prefix: string, ms = 5_000): Promise<NodeStatus> {
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    const r = await controlRequest(config.paths.controlSocket, { cmd: 'status' }, 1_000).catch(() => null);
    if (r?.ok && 'status' in r) {
      last = r.status.state;
      if (last.startsWith(prefix)) return r.status;
    }
    await new Promise((res) => setTimeout(res, 30));
  }
  throw new Error(`state ${prefix} not reached; last ${last}`);
}

test('the service: keepalived fifo → takeover → Harbor health → switchover over the socket → check → stop', async () => {
  const health = await startHealthServer();
  health.set(HEALTHY);
  const config = configFor(health.url);
  const calls: string[] = [];
  const running = runService(config, silentLogger(), { actors: instantActors(calls, config) });
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
    assert.deepEqual(calls.slice(1), ['readHolders', 'mapImage', 'probeFilesystem', 'checkFilesystem', 'mountFilesystem', 'composeUp']);
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
    assert.deepEqual(calls.slice(-4), ['readWorld', 'composeDown', 'unmountFilesystem', 'unmapImage']);
    assert.equal(readFileSync(config.file.keepalived.fitnessFile, 'utf8'), '1\n', 'keepalived track_file: unfit at once');
    const unfit = io();
    assert.equal(await checkCommand(config, unfit.io), 1);
    assert.match(unfit.out.join(''), /^unfit: released: handing the VIP to the peer/);

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
    await health.close();
  }
  assert.ok(!existsSync(config.paths.failedMarker));
});

test('the control socket refuses anyone but root', async () => {
  const health = await startHealthServer();
  const config = configFor(health.url);
  const running = runService(config, silentLogger(), { actors: instantActors([], config) });
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
    await health.close();
  }
});

test('check while the service restarts: a serving node stays fit for the grace, then not', async () => {
  const health = await startHealthServer();
  const config = configFor(health.url);
  await health.close();
  mkdirSync(config.file.node.runDir, { recursive: true });
  const detached: Partial<NodeStatus> = { state: 'active.serving.healthy', detachedAt: new Date().toISOString() };
  writeFileSync(config.paths.statusFile, JSON.stringify(detached));
  const a = io();
  assert.equal(await checkCommand(config, a.io), 0);
  const b = io();
  assert.equal(await checkCommand(config, b.io, Date.now() + config.file.keepalived.restartGraceMs + 1), 1);
  writeFileSync(config.paths.statusFile, JSON.stringify({ state: 'idle', detachedAt: new Date().toISOString() }));
  const c = io();
  assert.equal(await checkCommand(config, c.io), 1);
});

test('failed (budget exhausted) is sticky across a service restart until an operator resumes', async () => {
  const health = await startHealthServer();
  health.set(HEALTHY);
  const config = configFor(health.url, ['failureBudget: 1']);
  try {
    const { running: first } = await startServing(config);
    health.set(REGISTRY_DOWN);
    const failed = await waitState(config, 'failed');
    assert.match(failed.reason, /failure budget exhausted \(1\)/);
    assert.ok(existsSync(config.paths.failedMarker));
    await controlRequest(config.paths.controlSocket, { cmd: 'shutdown', release: false }, 2_000);
    await first;

    health.set(HEALTHY);
    const second = runService(config, silentLogger(), { actors: instantActors([], config) });
    const again = await waitState(config, 'failed');
    assert.match(again.reason, /failure budget exhausted/);
    await controlRequest(config.paths.controlSocket, { cmd: 'resume' }, 2_000);
    await waitState(config, 'idle');
    assert.ok(!existsSync(config.paths.failedMarker));
    await controlRequest(config.paths.controlSocket, { cmd: 'shutdown', release: true }, 2_000);
    await second;
  } finally {
    await health.close();
  }
});
