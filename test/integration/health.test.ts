import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { probeHealth } from '../../src/actions/harbor/compose.js';
import { HealthHysteresis } from '../../src/runtime/health-prober.js';
import { HEALTHY, PORTAL_DOWN, REGISTRY_DOWN, startHealthServer } from '../support/harbor-health-server.js';

let server: Awaited<ReturnType<typeof startHealthServer>>;
before(async () => {
  server = await startHealthServer();
});
after(() => server.close());

test('the prober reads the body: HTTP 200 with "unhealthy" registry is down, portal only is degraded', async () => {
  server.set(HEALTHY);
  assert.equal((await probeHealth(server.url, 1000)).verdict, 'healthy');
  server.set(REGISTRY_DOWN);
  const down = await probeHealth(server.url, 1000);
  assert.equal(down.verdict, 'down');
  assert.equal(down.components.find((c) => c.name === 'registry')?.status, 'unhealthy');
  server.set(PORTAL_DOWN);
  assert.equal((await probeHealth(server.url, 1000)).verdict, 'degraded');
  server.set('{"status":"unknown status"}');
  assert.equal((await probeHealth(server.url, 1000)).verdict, 'down');
  server.set('gateway error', 502);
  assert.equal((await probeHealth(server.url, 1000)).detail, 'HTTP 502');
});

test('an unreachable Harbor is down, within the probe timeout', async () => {
  const started = Date.now();
  const r = await probeHealth('http://127.0.0.1:9/api/v2.0/health', 500);
  assert.equal(r.verdict, 'down');
  assert.ok(Date.now() - started < 2000);
});

test('the prober follows redirects (as fetch did), and a Harbor that hangs is down at the timeout', async () => {
  const silent: string[] = [];
  const other = createServer((req, res) => {
    if (req.url === '/hang') {
      silent.push('hang');
      return;
    }
    res.writeHead(req.url === '/loop' ? 302 : 308, { location: req.url === '/loop' ? '/loop' : server.url });
    res.end();
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  try {
    server.set(HEALTHY);
    assert.equal((await probeHealth(`${base}/api/v2.0/health`, 1000)).verdict, 'healthy');
    const loop = await probeHealth(`${base}/loop`, 1000);
    assert.equal(loop.verdict, 'down');
    assert.match(loop.detail, /redirects/);
    const started = Date.now();
    const hung = await probeHealth(`${base}/hang`, 300);
    assert.equal(hung.status, 'unreachable');
    assert.ok(Date.now() - started < 1500, `answered after ${Date.now() - started} ms`);
    assert.deepEqual(silent, ['hang']);
  } finally {
    other.closeAllConnections();
    await new Promise((r) => other.close(r));
  }
});

test('rise/fall hysteresis over real probes: one bad probe is not a failover', async () => {
  const h = new HealthHysteresis(2, 3);
  const feed = async (body: string) => h.observe(await probeHealth((server.set(body), server.url), 1000));
  assert.equal(await feed(HEALTHY), null);
  assert.equal(await feed(HEALTHY), 'healthy');
  assert.equal(await feed(REGISTRY_DOWN), null);
  assert.equal(await feed(HEALTHY), null, 'a single failure is forgotten');
  assert.equal(await feed(REGISTRY_DOWN), null);
  assert.equal(await feed(REGISTRY_DOWN), null);
  assert.equal(await feed(REGISTRY_DOWN), 'down');
  assert.equal(await feed(PORTAL_DOWN), null);
  assert.equal(await feed(PORTAL_DOWN), 'degraded');
  assert.equal(h.current, 'degraded');
});

test('a takeover takes the first healthy answer (rise 1 while starting); serving keeps the configured rise', async () => {
  const h = new HealthHysteresis(2, 3);
  const probe = async (body: string) => probeHealth((server.set(body), server.url), 1000);
  assert.equal(h.observe(await probe(HEALTHY), 1), 'healthy');
  assert.equal(h.observe(await probe(REGISTRY_DOWN)), null);
  assert.equal(h.observe(await probe(REGISTRY_DOWN)), null);
  assert.equal(h.observe(await probe(REGISTRY_DOWN)), 'down');
  assert.equal(h.observe(await probe(HEALTHY)), null, 'the configured rise of 2');
  assert.equal(h.observe(await probe(HEALTHY)), 'healthy');
});
