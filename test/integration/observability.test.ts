import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { controlRequest } from '../../src/cli/control-client.js';
import { eventsCommand, statusCommand } from '../../src/cli/operator.js';
import { silentLogger } from '../../src/log/logger.js';
import { parseJournal } from '../../src/observe/journal.js';
import { runService } from '../../src/runtime/service.js';
import { HEALTHY, startHealthServer } from '../support/harbor-health-server.js';
import { sample, statusWithHost } from '../support/http-probe.js';
import { configFor, instantService, io, removeServiceDirs, stopAfterTest, waitState } from '../support/service-harness.js';

after(removeServiceDirs);

const scrape = async (url: string) => {
  const r = await fetch(`${url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
  return r.text();
};

test('metrics and the journal follow a takeover and a switchover; `events` prints the summaries', async () => {
  const health = await startHealthServer();
  health.set(HEALTHY);
  const config = configFor(health.url);
  const running = runService(config, silentLogger(), instantService([], config));
  try {
    const idle = await waitState(config, 'idle');
    const metricsUrl = idle.endpoints.metrics ?? '';
    assert.ok(metricsUrl.startsWith('http://127.0.0.1:'), `metrics on loopback: ${metricsUrl}`);
    assert.ok(idle.endpoints.viewer?.startsWith('http://127.0.0.1:'));
    assert.equal(idle.endpoints.inspector, undefined, 'the inspector is off unless asked for');

    const before = await scrape(metricsUrl);
    assert.equal(sample(before, 'harbor_assistant_state', { state: 'idle' }), 1);
    assert.equal(sample(before, 'harbor_assistant_state', { state: 'active.serving.healthy' }), 0);
    assert.equal(sample(before, 'harbor_assistant_transitions_total', { from: 'idle', event: 'vrrp' }), null);
    assert.equal(sample(before, 'harbor_assistant_phase_duration_seconds_count', { operation: 'takeover', phase: 'mounting' }), null);

    writeFileSync(config.file.keepalived.fifoPath, 'INSTANCE "VI_HARBOR" MASTER 150\n');
    await waitState(config, 'active.serving.healthy');
    // health gauges are set on the next status publication after the probe
    const until = Date.now() + 3_000;
    let serving = await scrape(metricsUrl);
    while (sample(serving, 'harbor_assistant_harbor_component_healthy', { component: 'registry' }) !== 1 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      serving = await scrape(metricsUrl);
    }
    assert.equal(sample(serving, 'harbor_assistant_state', { state: 'idle' }), 0);
    assert.equal(sample(serving, 'harbor_assistant_state', { state: 'active.serving.healthy' }), 1);
    assert.equal(sample(serving, 'harbor_assistant_transitions_total', { from: 'idle', to: 'active.acquiring-rbd.reading.running', event: 'vrrp' }), 1);
    assert.equal(sample(serving, 'harbor_assistant_phase_duration_seconds_count', { operation: 'takeover', phase: 'mounting' }), 1);
    assert.equal(sample(serving, 'harbor_assistant_operation_duration_seconds_count', { operation: 'takeover', outcome: 'serving' }), 1);
    assert.equal(sample(serving, 'harbor_assistant_harbor_health', { verdict: 'healthy' }), 1);
    assert.equal(sample(serving, 'harbor_assistant_harbor_component_healthy', { component: 'registry' }), 1);
    assert.equal(sample(serving, 'harbor_assistant_vrrp_state', { state: 'MASTER' }), 1);
    assert.equal(sample(serving, 'harbor_assistant_fit'), 1);
    assert.equal(sample(serving, 'harbor_assistant_ownership_generation'), 1, 'the generation this node holds');

    await controlRequest(config.paths.controlSocket, { cmd: 'switchover' }, 2_000);
    await waitState(config, 'standing-down');
    const after = await scrape(metricsUrl);
    assert.equal(sample(after, 'harbor_assistant_state', { state: 'active.serving.healthy' }), 0);
    assert.equal(sample(after, 'harbor_assistant_state', { state: 'standing-down' }), 1);
    assert.equal(sample(after, 'harbor_assistant_operation_duration_seconds_count', { operation: 'release', outcome: 'standing-down' }), 1);
    assert.equal(sample(after, 'harbor_assistant_fit'), 0);
    assert.equal(sample(after, 'harbor_assistant_ownership_generation'), 0, 'released: holds none');

    // status sums up the last takeover and release
    const shown = io();
    assert.equal(await statusCommand(config, false, shown.io), 0);
    assert.match(shown.out.join(''), /^last takeover ok → serving in \d+\.\d s at \S+ \(why: VRRP MASTER: taking the image\)$/m);
    assert.match(shown.out.join(''), /^last release {2}ok → standing-down in \d+\.\d s at \S+ \(why: operator switchover\)$/m);

    const journal = parseJournal(readFileSync(config.paths.journal, 'utf8'));
    const summaries = journal.filter((e) => e.kind === 'summary');
    assert.deepEqual(
      summaries.map((s) => [s.operation, s.outcome, s.ok]),
      [
        ['takeover', 'serving', true],
        ['release', 'standing-down', true],
      ],
    );
    const takeover = summaries[0];
    assert.ok(takeover?.kind === 'summary');
    assert.deepEqual(
      takeover.phases.map((p) => p.phase),
      ['acquiring-rbd', 'claiming', 'mounting', 'starting'],
    );
    assert.equal(
      takeover.totalMs,
      takeover.phases.reduce((a, p) => a + p.durationMs, 0),
    );
    const transitions = journal.filter((e) => e.kind === 'transition');
    assert.ok(transitions.some((e) => e.from === 'idle' && e.to === 'active.acquiring-rbd.reading.running' && e.event === 'vrrp'));
    assert.ok(transitions.every((e) => e.inStateMs >= 0));
    // the ownership generation this node held is on every transition line: 1 while serving, none after the release
    assert.ok(
      transitions.some((e) => e.to === 'active.serving.healthy' && e.generation === 1),
      'serving holds generation 1',
    );
    assert.ok(
      transitions.some((e) => e.to === 'standing-down' && e.generation === null),
      'released: no generation',
    );
    assert.doesNotMatch(readFileSync(config.paths.journal, 'utf8'), /AQBsSHhj/);

    const printed = io();
    assert.equal(await eventsCommand(config, { lines: 50, follow: false, json: false }, printed.io), 0);
    const text = printed.out.join('');
    assert.match(text, /== takeover done → serving in \d+\.\d+ s: acquiring-rbd /);
    assert.match(text, /== release done → standing-down in .*\(why: operator switchover; switchover\)/);
    assert.match(text, /== takeover done → serving in .*\(why: VRRP MASTER: taking the image; vrrp\)/);
    assert.match(text, /idle → active\.acquiring-rbd\.reading\.running {2}\(vrrp; /);
    assert.match(text, /\$ chattr \+i \(mount point guard\): exit 0 in \d+ ms/, 'commands are listed');
    const brief = io();
    assert.equal(await eventsCommand(config, { lines: 3, follow: false, json: false, brief: true }, brief.io), 0);
    const briefLines = brief.out.join('').trim().split('\n');
    assert.equal(briefLines.length, 3);
    assert.doesNotMatch(brief.out.join(''), /\$ chattr \+i \(mount point guard\)/, '--brief leaves out commands that worked');
    assert.match(briefLines[2] ?? '', /== release done → standing-down/);

    // `events` follows: a transition written after it started shows up
    const followed = io();
    const stop = new AbortController();
    const following = eventsCommand(config, { lines: 0, follow: true, json: true }, followed.io, stop.signal);
    await new Promise((r) => setTimeout(r, 300));
    writeFileSync(config.file.keepalived.fifoPath, 'INSTANCE "VI_HARBOR" BACKUP 150\n');
    await waitState(config, 'idle');
    const end = Date.now() + 3_000;
    while (!followed.out.join('').includes('"to":"idle"') && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    await following;
    assert.match(followed.out.join(''), /"kind":"transition","at":"[^"]+","from":"standing-down","to":"idle"/);

    // the viewer is read-only and answers only to IP literals or localhost (DNS rebinding)
    const viewer = idle.endpoints.viewer ?? '';
    const snap = (await (await fetch(`${viewer}/api/snapshot`)).json()) as { status: { state: string }; activeIds: string[]; recent: Array<{ kind: string }> };
    assert.equal(snap.status.state, 'idle');
    assert.deepEqual(snap.activeIds, ['node.idle']);
    assert.ok(snap.recent.some((e) => e.kind === 'summary'));
    assert.doesNotMatch(JSON.stringify(snap), /AQBsSHhj/);
    assert.equal((await fetch(`${viewer}/api/snapshot`, { method: 'POST' })).status, 405);
    assert.equal(await statusWithHost(`${viewer}/`, 'rebound.example:9470'), 421);
    assert.equal(await statusWithHost(`${viewer}/`, 'localhost:9470'), 200);
    const page = await fetch(`${viewer}/`);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);

    await controlRequest(config.paths.controlSocket, { cmd: 'shutdown', release: true }, 2_000);
    await running;
    await assert.rejects(fetch(`${metricsUrl}/metrics`), 'the metrics server is closed with the service');
    await assert.rejects(fetch(`${viewer}/`), 'so is the viewer');
  } finally {
    await stopAfterTest(config, running);
    await health.close();
  }
});

test('a metrics port already in use is reported and the service runs without metrics', async () => {
  const health = await startHealthServer();
  const blocker = (await import('node:net')).createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  const config = configFor(health.url, [], { metrics: `127.0.0.1:${port}` });
  const running = runService(config, silentLogger(), instantService([], config));
  try {
    const s = await waitState(config, 'idle');
    assert.equal(s.endpoints.metrics, undefined);
    assert.ok(s.endpoints.viewer);
    await controlRequest(config.paths.controlSocket, { cmd: 'shutdown', release: false }, 2_000);
    await running;
  } finally {
    await stopAfterTest(config, running);
    blocker.close();
    await health.close();
  }
});
