import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { forwardIntoNamespace } from '../../lab/forward.js';
import { LAB, Lab } from '../../lab/lab.js';
import { other, runScenario, type ScenarioResult } from '../../lab/scenarios.js';
import { sample } from '../support/http-probe.js';

// Real parts end to end: Ceph (mon, memstore OSD, mgr), keepalived in namespaces, the registry,
// skopeo. Each scenario builds a fresh lab and always tears it down.
const results: ScenarioResult[] = [];

after(async () => {
  await Lab.cleanLeftovers();
  mkdirSync('reports', { recursive: true });
  writeFileSync('reports/lab.json', `${JSON.stringify(results, null, 2)}\n`);
  const rows = results.map((r) => `${r.passed ? 'PASS' : 'FAIL'}  ${r.name.padEnd(28)} rto ${String(r.rto_ms ?? '-').padStart(6)} ms  pushed ${r.pushed}  lost ${r.lost}  fences ${r.fences}  ${Object.entries(r.phases).map(([k, v]) => `${k}=${v}`).join(' ')}${r.oldMasterRelease ? `  old master's release: ${Object.entries(r.oldMasterRelease).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}`);
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

test('2 master crash: engine and keepalived SIGKILLed; the standby fences and serves; its journal, metrics and viewer show it', async () => {
  const r = await scenario('master crash', async (lab, serving) => {
    lab.crashNode(serving);
    return other(serving);
  }, {
    after: async (lab, next) => {
      // the journal ends the takeover with its phases, fencing among them
      const summary = lab.journal(next).findLast((e) => e.kind === 'summary' && e.operation === 'takeover');
      assert.ok(summary?.kind === 'summary' && summary.ok && summary.outcome === 'serving', JSON.stringify(summary));
      assert.ok(summary.phases.some((p) => p.phase === 'fencing' && p.durationMs > 0), JSON.stringify(summary.phases));
      assert.ok(lab.journal(next).some((e) => e.kind === 'command' && e.what.startsWith('ceph osd bl') && e.ok), 'the fence command is journaled');
      // metrics on the node's loopback (default listen address)
      const metrics = lab.httpGet(next, 'http://127.0.0.1:9469/metrics');
      assert.equal(sample(metrics, 'harbor_assistant_state', { state: 'active.serving.healthy', node: next }), 1);
      assert.ok((sample(metrics, 'harbor_assistant_fence_operations_total', { step: 'blocklist', result: 'ok' }) ?? 0) >= 1);
      assert.ok((sample(metrics, 'harbor_assistant_phase_duration_seconds_count', { operation: 'takeover', phase: 'fencing' }) ?? 0) >= 1);
      assert.ok((sample(metrics, 'harbor_assistant_commands_total', { command: 'rbd status', result: 'ok' }) ?? 0) >= 1, 'outside commands are counted');
      // and the viewer answers with the same state, here through the demo's forwarder (a tunnel)
      const tunnel = await forwardIntoNamespace(`${LAB.prefix}-${next}`, 9470, 0);
      try {
        const port = (tunnel.address() as AddressInfo).port;
        const snap = (await (await fetch(`http://127.0.0.1:${port}/api/snapshot`)).json()) as { status: { state: string; node: string }; activeIds: string[] };
        assert.equal(snap.status.node, next);
        assert.equal(snap.status.state.startsWith('active.serving'), true);
        assert.ok(snap.activeIds.includes('node.active.serving'));
        assert.match(await (await fetch(`http://127.0.0.1:${port}/chart.svg`)).text(), /data-state-id="node\.active\.fencing"/);
      } finally {
        tunnel.close();
      }
    },
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

test('8 busy umount: a process holding the master mount is killed within the timeout and the release completes', async () => {
  let holder = 0;
  let lab: Lab | null = null;
  await scenario('busy umount', async (l, serving) => {
    lab = l;
    holder = l.holdMount(serving);
    const ack = await l.request(serving, { cmd: 'switchover' });
    assert.ok(ack.ok);
    return other(serving);
  }, {
    after: async () => {
      assert.ok(lab && !lab.isRunning(holder), 'the holder was killed');
    },
  });
});

test('7 the crashed master comes back: it stays standby (fenced, then idle), no flapping', async () => {
  await scenario('crashed master returns', async (lab, serving) => {
    lab.crashNode(serving);
    return other(serving);
  }, {
    after: async (lab, next) => {
      const old = other(next);
      const since = Date.now();
      await lab.restartNode(old);
      await new Promise((r) => setTimeout(r, 15_000));
      const s = await lab.states();
      assert.ok(s[next].startsWith('active.serving'), `the new master keeps serving: ${JSON.stringify(s)}`);
      assert.ok(!s[old].startsWith('active'), `the old master stays out: ${JSON.stringify(s)}`);
      const left = lab.transitions(next, since).filter((t) => !t.to.startsWith('active.serving'));
      assert.deepEqual(left, [], 'no flapping on the new master');
    },
  });
});

test('6 split brain: VRRP cut on the standby; the old master is fenced, gets I/O errors and leaves; one serves after the heal; no fencing war; fsck clean', async () => {
  await scenario('split brain', async (lab, serving) => {
    lab.cutVrrp(other(serving));
    // both are MASTER now; clients may reach either until the fenced one gives the VIP up
    await lab.waitFor(`${serving} to leave after the fence`, async () => {
      const s = (await lab.status(serving).catch(() => null))?.state ?? '';
      return s === 'fenced';
    }, 90_000);
    // ... and its keepalived, told UNFIT, has dropped the VIP (clients then follow the survivor's ARP)
    await lab.waitFor(`the VIP to leave ${serving}`, async () => !lab.vipOn(serving), 30_000);
    return other(serving);
  }, {
    after: async (lab, next) => {
      const old = other(next);
      const fencedReason = (await lab.status(old)).reason;
      lab.healVrrp(next);
      await new Promise((r) => setTimeout(r, 10_000));
      const s = await lab.states();
      assert.ok(s[next].startsWith('active.serving') && !s[old].startsWith('active'), `exactly ${next} serves after the heal: ${JSON.stringify(s)} (${fencedReason})`);
      assert.equal(lab.fenceCount(old), 0, 'the fenced node fenced nobody');
      assert.ok(lab.fenceCount(next) <= 1, `one fence, no war (got ${lab.fenceCount(next)})`);
      // e2fsck -n once everything is released
      const lost = lab.lostImages();
      assert.deepEqual(lost, []);
      await lab.request(next, { cmd: 'shutdown', release: true });
      await lab.waitFor(`${next} released`, async () => (await lab.status(next).catch(() => null)) === null, 60_000);
      const fsck = await lab.fsckImage();
      assert.equal(fsck.code, 0, fsck.out);
      // the scenario's own check wants one node active: bring the engine back
      await lab.startEngine(next);
      await lab.waitOneServing(60_000);
    },
  });
});
