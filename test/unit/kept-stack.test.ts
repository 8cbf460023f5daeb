import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Compose } from '../../src/actions/harbor/compose.js';
import { DockerEngine, dockerSocketPath, parseContainerList, type EngineContainer } from '../../src/actions/harbor/docker-engine.js';
import { bindsAny, composeFingerprint, composeServices, keptStack, pathsOverlap, startLevels } from '../../src/actions/harbor/kept-stack.js';
import { CommandError, type CommandRecord } from '../../src/actions/exec.js';
import { silentLogger } from '../../src/log/logger.js';
import { ScriptedRunner } from '../support/fake-runner.js';

// Harbor 2.x's shape: log first, everything depends on it, nginx last
const HARBOR = `
version: '2.3'
services:
  log: { image: goharbor/harbor-log, restart: always }
  registry: { image: goharbor/registry-photon, restart: always, depends_on: [log] }
  postgresql: { image: goharbor/harbor-db, restart: always, depends_on: [log] }
  redis: { image: goharbor/redis-photon, restart: always, depends_on: [log] }
  core: { image: goharbor/harbor-core, restart: always, depends_on: { log: { condition: service_started }, registry: {}, redis: {}, postgresql: {} } }
  proxy: { image: goharbor/nginx-photon, restart: always, depends_on: [registry, core] }
  jobservice: { image: goharbor/harbor-jobservice, depends_on: [core] }
`;

const container = (service: string, state = 'exited', extra: Partial<EngineContainer> = {}): EngineContainer => ({
  id: `id-${service}`,
  name: service,
  service,
  state,
  oneoff: false,
  binds: [],
  ...extra,
});

test("compose file → services, their dependencies (list or map) and restart policies; start levels as compose's", () => {
  const services = composeServices(HARBOR);
  assert.deepEqual(
    services.map((s) => [s.name, s.restart]),
    [
      ['log', 'always'],
      ['registry', 'always'],
      ['postgresql', 'always'],
      ['redis', 'always'],
      ['core', 'always'],
      ['proxy', 'always'],
      ['jobservice', 'no'],
    ],
  );
  assert.deepEqual(startLevels(services), [['log'], ['registry', 'postgresql', 'redis'], ['core'], ['proxy', 'jobservice']]);
  assert.throws(() => startLevels(composeServices('services:\n  a: { depends_on: [b] }\n  b: { depends_on: [a] }\n')), /cycle/);
  assert.throws(() => startLevels(composeServices('services:\n  a: { depends_on: [ghost] }\n')), /a depends on ghost, which is not a service/);
  assert.throws(() => composeServices('services: [this is not: a compose file\n'), /compose file/);
  assert.throws(() => composeServices('services:\n  a: { restart: sometimes }\n'), /restart "sometimes" is not a restart policy/);
});

test('a kept stack is started only when it is exactly what the compose file would create', () => {
  const services = composeServices(HARBOR);
  const fp = composeFingerprint(HARBOR, ['docker-compose'], 'harbor');
  const all = services.map((s) => container(s.name));
  assert.equal(keptStack(services, all, fp, fp).constructor, Object);
  assert.ok('containers' in keptStack(services, all, fp, fp));
  assert.deepEqual(keptStack(services, all, fp, null), { why: 'no compose up recorded on this host' });
  const edited = composeFingerprint(`${HARBOR}# edited\n`, ['docker-compose'], 'harbor');
  assert.deepEqual(keptStack(services, all, edited, fp), { why: 'the compose file changed since its containers were created' });
  assert.notEqual(composeFingerprint(HARBOR, ['docker', 'compose'], 'harbor'), fp, 'another compose program may create other containers');
  assert.deepEqual(keptStack(services, all.slice(1), fp, fp), { why: 'no container for service log' });
  assert.deepEqual(keptStack(services, [...all, container('core', 'exited', { id: 'id-core-2' })], fp, fp), { why: '2 containers for service core' });
  assert.deepEqual(keptStack(services, [...all, container('trivy')], fp, fp), { why: 'containers of services the compose file no longer has: trivy' });
  // a `compose run` container is never part of the stack
  assert.ok('containers' in keptStack(services, [...all, container('core', 'exited', { id: 'x', oneoff: true })], fp, fp));
});

test('DOCKER_HOST: a unix socket as docker reads it; anything else is refused by name', () => {
  assert.equal(dockerSocketPath({}), '/var/run/docker.sock');
  assert.equal(dockerSocketPath({ DOCKER_HOST: 'unix:///run/halab/a/docker.sock' }), '/run/halab/a/docker.sock');
  assert.throws(() => dockerSocketPath({ DOCKER_HOST: 'tcp://10.0.0.1:2375' }), /DOCKER_HOST=tcp:\/\/10\.0\.0\.1:2375: only a unix socket/);
});

/** A Docker Engine stand-in on a real unix socket: records every request, answers from `reply`. */
async function fakeEngine(reply: (req: IncomingMessage, body: string) => { status: number; body?: unknown; delayMs?: number } | 'hang') {
  const dir = mkdtempSync(join(tmpdir(), 'ha-engine-'));
  const socket = join(dir, 'docker.sock');
  const seen: Array<{ method: string; url: string; body: string; at: number }> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body, at: Date.now() });
      const r = reply(req, body);
      if (r === 'hang') return;
      res.statusCode = r.status;
      const answer = () => res.end(r.body === undefined ? '' : JSON.stringify(r.body));
      if (r.delayMs !== undefined) setTimeout(answer, r.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    seen,
    dir,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        rmSync(dir, { recursive: true, force: true });
      }),
  };
}

const engineList = (services: string[], state = 'exited', binds: Record<string, string[]> = {}) =>
  services.map((s) => ({
    Id: `id-${s}`,
    Names: [`/${s}`],
    State: state,
    Labels: { 'com.docker.compose.project': 'harbor', 'com.docker.compose.service': s, 'com.docker.compose.oneoff': 'False' },
    Mounts: [
      ...(binds[s] ?? []).map((Source) => ({ Type: 'bind', Source, Destination: '/x', RW: true })),
      { Type: 'volume', Name: 'v', Source: '/var/lib/docker/volumes/v/_data', Destination: '/v' },
    ],
  }));

test('bind sources from the container list; which containers a path concerns', () => {
  const [redis] = parseContainerList(JSON.stringify(engineList(['redis'], 'exited', { redis: ['/data/redis', '/etc/redis.conf'] })));
  assert.deepEqual(redis?.binds, ['/data/redis', '/etc/redis.conf'], 'bind mounts only, not volumes');
  assert.deepEqual(parseContainerList(JSON.stringify([{ Id: 'x', State: 'created' }]))[0]?.binds, []);
  assert.ok(pathsOverlap('/d/data', '/d/data/redis') && pathsOverlap('/d/data/redis/', '/d/data') && pathsOverlap('/d/data', '/d/data'));
  assert.ok(!pathsOverlap('/d/data2', '/d/data') && !pathsOverlap('/d/data/registry', '/d/data/redis'));
  assert.ok(pathsOverlap('/', '/d/data/redis'));
  assert.ok(bindsAny(container('core', 'exited', { binds: ['/d/data'] }), ['/d/data/redis']));
  assert.ok(!bindsAny(container('log', 'exited', { binds: ['/var/log/harbor', '/d/installer/common/config/log'] }), ['/d/data/redis']));
});

test('a takeover on a host that kept its stack starts it through the Engine API, level by level, restart policy back on, no compose', async () => {
  const project = mkdtempSync(join(tmpdir(), 'ha-project-'));
  writeFileSync(join(project, 'docker-compose.yml'), HARBOR);
  const services = composeServices(HARBOR).map((s) => s.name);
  let state = 'exited';
  let updateDelayMs = 0;
  const engine = await fakeEngine((req) =>
    req.method === 'GET'
      ? { status: 200, body: engineList(services, state) }
      : req.url?.endsWith('/update')
        ? { status: 200, delayMs: updateDelayMs }
        : { status: 204 },
  );
  const records: CommandRecord[] = [];
  const runner = new ScriptedRunner(() => ({ stdout: '' }));
  const fingerprintFile = join(project, 'fingerprint');
  const compose = new Compose(runner, {
    command: ['docker-compose'],
    projectDir: project,
    projectName: 'harbor',
    timeouts: { up: 10_000, down: 10_000, ps: 5_000 },
    keep: { engine: new DockerEngine(engine.socket, silentLogger(), (r) => records.push(r)), fingerprintFile, logger: silentLogger() },
  });
  try {
    // first tenure: nothing recorded, compose up creates, the fingerprint is written and policies are set as the file says
    assert.equal(await compose.up(), 'compose up');
    assert.deepEqual(runner.calls, [['docker-compose', '--project-directory', project, '-p', 'harbor', 'up', '-d']]);
    assert.equal(readFileSync(fingerprintFile, 'utf8').trim(), composeFingerprint(HARBOR, ['docker-compose'], 'harbor'));
    const restored = engine.seen.filter((r) => r.url.endsWith('/update')).map((r) => `${r.url.split('/')[2] ?? ''} ${r.body}`);
    assert.ok(restored.includes('id-jobservice {"RestartPolicy":{"Name":"no"}}') && restored.includes('id-core {"RestartPolicy":{"Name":"always"}}'));

    // the next tenure on this host: the kept stack, no docker-compose (the daemon slow to set policies)
    engine.seen.length = 0;
    runner.calls.length = 0;
    updateDelayMs = 150;
    const upAt = Date.now();
    assert.equal(await compose.up(), 'kept');
    assert.ok(Date.now() - upAt >= 150, 'it returns once every policy is back');
    updateDelayMs = 0;
    assert.deepEqual(runner.calls, [], 'no process started');
    const starts = engine.seen.filter((r) => r.url.endsWith('/start')).map((r) => r.url.split('/')[2]);
    assert.deepEqual(starts.slice(0, 1), ['id-log']);
    assert.deepEqual(new Set(starts.slice(1, 4)), new Set(['id-registry', 'id-postgresql', 'id-redis']));
    assert.deepEqual(starts.slice(4, 5), ['id-core']);
    assert.deepEqual(new Set(starts.slice(5)), new Set(['id-proxy', 'id-jobservice']));
    // every policy is asked for at once: the later levels do not wait for theirs after a level started
    const lastUpdate = engine.seen.findLastIndex((r) => r.url.endsWith('/update'));
    const secondLevelStart = engine.seen.findIndex((r) => ['id-registry', 'id-postgresql', 'id-redis'].some((id) => r.url === `/containers/${id}/start`));
    assert.ok(lastUpdate >= 0 && lastUpdate < secondLevelStart, `updates ${String(lastUpdate)} before the second level ${String(secondLevelStart)}`);
    // no start waits for its own policy: the first level starts while the daemon still sets them
    const firstUpdateAt = engine.seen.find((r) => r.url.endsWith('/update'))?.at ?? 0;
    const firstStartAt = engine.seen.find((r) => r.url === '/containers/id-log/start')?.at ?? Infinity;
    assert.ok(firstStartAt - firstUpdateAt < 100, `the first start ${String(firstStartAt - firstUpdateAt)} ms after the first update`);
    assert.ok(
      records.every((r) => r.ok && /^docker /.test(r.what)),
      'each call is one command record',
    );

    // a release keeps them: policy no on every one first, then stopped from the proxy down to the log
    engine.seen.length = 0;
    state = 'running';
    await compose.stopKeeping(30_000);
    const firstStop = engine.seen.findIndex((r) => r.url.includes('/stop'));
    assert.ok(firstStop > 0);
    assert.equal(engine.seen.slice(0, firstStop).filter((r) => r.url.endsWith('/update') && r.body.includes('"no"')).length, services.length);
    const stops = engine.seen.filter((r) => r.url.includes('/stop')).map((r) => r.url.split('/')[2]);
    assert.deepEqual(new Set(stops.slice(0, 2)), new Set(['id-proxy', 'id-jobservice']));
    assert.deepEqual(stops.slice(2, 3), ['id-core']);
    assert.deepEqual(stops.at(-1), 'id-log');
    assert.ok(
      engine.seen.every((r) => !r.url.includes('/stop') || r.url.endsWith('?t=10')),
      "compose's stop grace",
    );
    assert.deepEqual(runner.calls, [], 'no compose down: the containers stay');
  } finally {
    await engine.close();
    rmSync(project, { recursive: true, force: true });
  }
});

test('a kept start gated on the synchronous dirs: only the containers that bind one wait; a failed gate fails the start, no compose up', async () => {
  const project = mkdtempSync(join(tmpdir(), 'ha-project-'));
  writeFileSync(join(project, 'docker-compose.yml'), HARBOR);
  const services = composeServices(HARBOR).map((s) => s.name);
  const binds = { log: ['/var/log/harbor', `${project}/common/config/log`], redis: ['/img/data/redis'], core: ['/img/data'], registry: ['/img/data/registry'] };
  const engine = await fakeEngine((req) =>
    req.method === 'GET' ? { status: 200, body: engineList(services, 'exited', binds) } : { status: req.url?.endsWith('/update') ? 200 : 204 },
  );
  const runner = new ScriptedRunner(() => ({ stdout: '' }));
  const fingerprintFile = join(project, 'fingerprint');
  writeFileSync(fingerprintFile, `${composeFingerprint(HARBOR, ['docker-compose'], 'harbor')}\n`);
  const compose = new Compose(runner, {
    command: ['docker-compose'],
    projectDir: project,
    projectName: 'harbor',
    timeouts: { up: 10_000, down: 10_000, ps: 5_000 },
    keep: { engine: new DockerEngine(engine.socket, silentLogger()), fingerprintFile, logger: silentLogger() },
  });
  const started = () => engine.seen.filter((r) => r.url.endsWith('/start')).map((r) => r.url.split('/')[2]);
  try {
    let open = () => undefined as void;
    const ready = new Promise<void>((resolve) => (open = resolve));
    const up = compose.up(undefined, { paths: ['/img/data/redis'], ready });
    for (let i = 0; i < 100 && !started().includes('id-postgresql'); i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(new Set(started()), new Set(['id-log', 'id-registry', 'id-postgresql']), 'the log and the containers beside redis start; redis waits');
    open();
    assert.equal(await up, 'kept');
    assert.deepEqual(started().slice(3, 4), ['id-redis']);
    assert.deepEqual(started().slice(4, 5), ['id-core']);

    engine.seen.length = 0;
    const failed = compose.up(undefined, { paths: ['/img/data/redis'], ready: Promise.reject(new Error('chattr +S: Operation not permitted')) });
    await assert.rejects(failed, /chattr \+S: Operation not permitted/);
    assert.ok(!started().includes('id-redis') && !started().includes('id-core'));
    assert.deepEqual(runner.calls, [], 'no compose up instead');
  } finally {
    await engine.close();
    rmSync(project, { recursive: true, force: true });
  }
});

test('the Engine API: a hung daemon costs the deadline, an error names the call and what the daemon said', async () => {
  const engine = await fakeEngine((req) =>
    req.url?.includes('/start') ? 'hang' : { status: 500, body: { message: 'driver failed programming external connectivity' } },
  );
  const api = new DockerEngine(engine.socket, silentLogger());
  const c = container('registry');
  try {
    const started = Date.now();
    const hung = await api.start(c, 300).catch((e: unknown) => e);
    assert.ok(hung instanceof CommandError && hung.failure === 'timeout', String(hung));
    assert.ok(Date.now() - started < 2_000);
    const refused = await api.stop(c, 10, 5_000).catch((e: unknown) => e);
    assert.ok(refused instanceof CommandError);
    assert.match(
      refused.message,
      /docker stop registry \(docker-engine POST \/containers\/id-registry\/stop\) exited with code 500: driver failed programming/,
    );
    const ac = new AbortController();
    const pending = api.start(c, 60_000, ac.signal).catch((e: unknown) => e);
    ac.abort();
    const aborted = await pending;
    assert.ok(aborted instanceof CommandError && aborted.failure === 'aborted');
  } finally {
    await engine.close();
  }
  const gone = await new DockerEngine('/nonexistent/docker.sock', silentLogger()).containersOf('harbor', 1_000).catch((e: unknown) => e);
  assert.ok(gone instanceof CommandError && /ENOENT/.test(gone.message), String(gone));
});
