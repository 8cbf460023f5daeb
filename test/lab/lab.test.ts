import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { Lab } from '../../lab/lab.js';
import { other, runScenario, type ScenarioResult } from './scenarios.js';

// Real parts end to end: Ceph (mon, memstore OSD, mgr), keepalived in namespaces, the registry,
// skopeo. Each scenario builds a fresh lab and always tears it down.
const results: ScenarioResult[] = [];

after(async () => {
  await Lab.cleanLeftovers();
  mkdirSync('reports', { recursive: true });
  writeFileSync('reports/lab.json', `${JSON.stringify(results, null, 2)}\n`);
  const rows = results.map((r) => `${r.passed ? 'PASS' : 'FAIL'}  ${r.name.padEnd(28)} rto ${String(r.rto_ms ?? '-').padStart(6)} ms  pushed ${r.pushed}  lost ${r.lost}  fences ${r.fences}  ${Object.entries(r.phases).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  console.log(`lab scenarios (reports/lab.json):\n${rows.join('\n')}`);
});

async function scenario(...args: Parameters<typeof runScenario>): Promise<ScenarioResult> {
  const r = await runScenario(...args);
  results.push(r);
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.lost, 0);
  return r;
}

test('1 cold start: exactly one node serves, pushes and pulls through the VIP', async () => {
  await scenario('cold start', async (_lab, serving) => serving);
});

test('2 master crash: engine and keepalived SIGKILLed; the standby fences and serves', async () => {
  const r = await scenario('master crash', async (lab, serving) => {
    lab.crashNode(serving);
    return other(serving);
  });
  assert.ok(r.fences >= 1, 'the crashed master still held the image: it must have been fenced');
});

test('3 clean stop of the service on the master: hand-over without fencing', async () => {
  const r = await scenario('clean stop', async (lab, serving) => {
    await lab.stopEngine(serving, true);
    return other(serving);
  });
  assert.equal(r.fences, 0, 'a clean stop releases first: nobody is fenced');
});

test('5 planned switchover: no fencing, the peer serves', async () => {
  const r = await scenario('switchover', async (lab, serving) => {
    const ack = await lab.request(serving, { cmd: 'switchover' });
    assert.ok(ack.ok);
    return other(serving);
  });
  assert.equal(r.fences, 0);
});

test('4 Harbor unhealthy on the master (registry stopped): failover within fall × interval plus takeover', async () => {
  await scenario('harbor unhealthy', async (lab, serving) => {
    await lab.stopRegistry(serving);
    return other(serving);
  });
});
