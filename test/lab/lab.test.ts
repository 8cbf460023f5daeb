import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { forwardIntoNamespace } from '../../lab/forward.js';
import { LAB, Lab, type NodeName } from '../../lab/lab.js';
import {
  crashMaster,
  harborUnhealthy,
  inspectImageAfterRelease,
  other,
  pushSome,
  runScenario,
  unavailability,
  waitServing,
  type ScenarioResult,
} from '../../lab/scenarios.js';
import { currentPackage, nextPackage } from '../support/packages.js';
import { sample } from '../support/http-probe.js';

// Real parts end to end: Ceph (mon, memstore OSD, mgr), keepalived in namespaces, the registry,
// skopeo. Each scenario builds a fresh lab and always tears it down.
const results: ScenarioResult[] = [];

after(async () => {
  await Lab.cleanLeftovers();
  mkdirSync('reports', { recursive: true });
  writeFileSync('reports/lab.json', `${JSON.stringify(results, null, 2)}\n`);
  const rows = results.map(
    (r) =>
      `${r.passed ? 'PASS' : 'FAIL'}  ${r.name.padEnd(28)} rto ${String(r.rto_ms ?? '-').padStart(6)} ms  pushed ${r.pushed}  lost ${r.lost}  fences ${r.fences}  ${Object.entries(
        r.phases,
      )
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}${
        r.oldMasterRelease
          ? `  old master's release: ${Object.entries(r.oldMasterRelease)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')}`
          : ''
      }${r.compose?.up.length ? `  compose up ${r.compose.up.join('/')} ms, down ${r.compose.down.join('/') || '-'} ms` : ''}${r.lateWrites !== undefined ? `  lateWrites ${r.lateWrites}` : ''}${r.fsck !== undefined ? `  fsck ${r.fsck}` : ''}${
        r.measured && Object.keys(r.measured).length
          ? `  ${Object.entries(r.measured)
              .filter(([k]) => !/At$/.test(k))
              .map(([k, v]) => `${k}=${String(v).slice(0, 80)}`)
              .join(' ')}`
          : ''
      }${r.error ? `\n      error: ${r.error.slice(0, 300)}` : ''}`,
  );
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
  const r = await scenario('master crash', crashMaster, {
    after: async (lab, next) => {
      // the journal ends the takeover with its phases, fencing among them
      const summary = lab.journal(next).findLast((e) => e.kind === 'summary' && e.operation === 'takeover');
      assert.ok(summary?.kind === 'summary' && summary.ok && summary.outcome === 'serving', JSON.stringify(summary));
      assert.ok(
        summary.phases.some((p) => p.phase === 'fencing' && p.durationMs > 0),
        JSON.stringify(summary.phases),
      );
      assert.ok(
        lab.journal(next).some((e) => e.kind === 'command' && e.what.startsWith('ceph osd bl') && e.ok),
        'the fence command is journaled',
      );
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
        const snap = (await (await fetch(`http://127.0.0.1:${port}/api/snapshot`)).json()) as {
          status: { state: string; node: string };
          activeIds: string[];
        };
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

test("4 Harbor unhealthy on the master (registry stopped): failover within fall × interval plus takeover; the registry's last lines journaled before compose down", async () => {
  await scenario('harbor unhealthy', harborUnhealthy, {
    after: (lab, next, result) => {
      // compose down removed the container and its log; the old master kept its last lines
      const words = lab.journal(other(next)).find((e) => e.kind === 'log' && e.service === 'registry' && /before compose down/.test(e.about ?? ''));
      assert.ok(words?.kind === 'log', "the old master's journal has the registry's last lines");
      assert.ok(words.lines.length > 0, 'with lines in it');
      result.measured = { ...result.measured, registryLastLines: words.lines.length };
      return Promise.resolve();
    },
  });
});

test('8 busy umount: a process holding the master mount is killed within the timeout and the release completes', async () => {
  let holder = 0;
  let lab: Lab | null = null;
  await scenario(
    'busy umount',
    async (l, serving) => {
      lab = l;
      holder = l.holdMount(serving);
      const ack = await l.request(serving, { cmd: 'switchover' });
      assert.ok(ack.ok);
      return other(serving);
    },
    {
      after: async () => {
        assert.ok(lab && !lab.isRunning(holder), 'the holder was killed');
      },
    },
  );
});

test('7 the crashed master comes back: it stays standby (fenced, then idle), no flapping', async () => {
  await scenario('crashed master returns', crashMaster, {
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

test('6 split brain: VRRP cut on the standby; the old master is fenced, gets I/O errors and leaves; one serves after the heal; no fencing war; fsck clean; unavailability within the bound', async () => {
  let loop: ReturnType<Lab['startPullLoop']> | null = null;
  await scenario(
    'split brain',
    async (lab, serving) => {
      const probe = lab.pushed[0];
      assert.ok(probe);
      loop = lab.startPullLoop(probe.ref);
      lab.cutVrrp(other(serving));
      // both are MASTER now; clients may reach either until the fenced one gives the VIP up
      await lab.waitFor(
        `${serving} to leave after the fence`,
        async () => {
          const s = (await lab.status(serving).catch(() => null))?.state ?? '';
          return s === 'fenced';
        },
        90_000,
      );
      // ... and its keepalived, told UNFIT, has dropped the VIP (clients then follow the survivor's ARP)
      // on the Docker stack the cut master often leaves serving first because its Harbor goes down
      // (PostgreSQL cannot write): then it releases as a hand-over, keeps the VIP while its release
      // hangs on the dead path, and gives it up when the release fails or the fenced client shows
      await lab.waitFor(`the VIP to leave ${serving}`, async () => !lab.vipOn(serving), 150_000);
      return other(serving);
    },
    {
      after: async (lab, next, result) => {
        const old = other(next);
        const fencedReason = (await lab.status(old)).reason;
        const outage = unavailability((await loop?.stop()) ?? []);
        result.measured = { ...result.measured, unavailabilityMs: outage.longestMs, pullsFailed: outage.failed, outages: outage.outages };
        assert.ok(outage.longestMs <= UNAVAILABILITY_BOUND_MS, `pulls through the VIP failed for ${outage.longestMs} ms (bound ${UNAVAILABILITY_BOUND_MS})`);
        lab.healVrrp(next);
        await new Promise((r) => setTimeout(r, 10_000));
        const s = await lab.states();
        assert.ok(
          s[next].startsWith('active.serving') && !s[old].startsWith('active'),
          `exactly ${next} serves after the heal: ${JSON.stringify(s)} (${fencedReason})`,
        );
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
    },
  );
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Any single fault: clients fail for at most detection plus one takeover. */
const UNAVAILABILITY_BOUND_MS = 10_000;
/** A Ceph cut during a hand-over: the watchdog's deadline plus one takeover, with room for a loaded machine. */
const DEAD_RELEASE_BOUND_MS = 15_000;
/** The lab's `timeouts.composeDown` (lab/config-render.ts): what a graceful compose down on a dead path waits out. */
const LAB_COMPOSE_DOWN_TIMEOUT_MS = 20_000;

/** When the node's status says unfit, polled every 100 ms: ms since `since`. */
async function unfitAfter(lab: Lab, n: 'a' | 'b', since: number, timeoutMs: number): Promise<number> {
  await lab.waitFor(`${n} unfit`, async () => (await lab.status(n).catch(() => null))?.fitness.fit === false, timeoutMs);
  return Date.now() - since;
}

test('9 storage partition, VIP moves after the watch expired: the new master fences the recorded owner before mapping; no late writes', async () => {
  const r = await scenario(
    'storage partition, VIP moves',
    async (lab, serving, result) => {
      const next = other(serving);
      lab.startWriter(serving);
      await sleep(1_000);
      const cutAt = Date.now();
      lab.cutCeph(serving);
      // Ceph drops the master's watch after osd_client_watch_timeout (30 s): the watcher list is empty
      await lab.waitFor(`${serving}'s watch to expire`, async () => ((await lab.status(next).catch(() => null))?.imageHolders.length ?? 1) === 0, 90_000);
      result.measured = { ...result.measured, watchExpiredAfterMs: Date.now() - cutAt };
      lab.cutVrrp(serving);
      await waitServing(lab, next, 60_000);
      // the path heals: the old master's client comes back, blocklisted; it finds the record names the peer
      lab.healCeph(serving);
      await lab.waitFor(`${serving} to leave`, async () => !((await lab.status(serving).catch(() => null))?.state.startsWith('active') ?? false), 60_000);
      const s = await lab.status(serving).catch(() => null);
      result.measured = { ...result.measured, oldMasterState: s?.state ?? 'down', oldMasterReason: s?.reason ?? '' };
      // on the Docker stack the cut master often leaves serving first because its Harbor goes down
      // (PostgreSQL cannot write): then it releases as a hand-over, keeps the VIP while its release
      // hangs on the dead path, and gives it up when the release fails or the fenced client shows
      await lab.waitFor(`the VIP to leave ${serving}`, async () => !lab.vipOn(serving), 150_000);
      lab.healVrrp(serving);
      result.measured = { ...result.measured, cutAt };
      return next;
    },
    {
      // the master keeps its VIP until the lab moves it: its own deadline is longer than the watch timeout
      extraYaml: ['watchdog: { intervalMs: 1000, deadlineMs: 90000 }'],
      after: async (lab, next, result) => {
        const cutAt = Number(result.measured?.cutAt);
        const fences = lab.journal(next).filter((e) => e.kind === 'command' && e.what.startsWith('ceph osd bl') && Date.parse(e.at) >= cutAt);
        assert.ok(fences.length >= 1, 'the new master fenced the recorded owner although it no longer watched');
        const mappedAt = lab.mappedAt(next, cutAt);
        assert.ok(mappedAt !== null);
        result.measured = { ...result.measured, writerEnded: await lab.stopWriter(other(next)) };
        await inspectImageAfterRelease(lab, next, mappedAt, result);
      },
    },
  );
  assert.equal(r.lateWrites, 0);
  assert.equal(r.fsck, 0);
});

test('10 storage partition, VIP stays: the master goes unfit within its deadline, the standby fences and serves; no late writes', async () => {
  const r = await scenario(
    'storage partition, VIP stays',
    async (lab, serving, result) => {
      lab.startWriter(serving);
      await sleep(1_000);
      const cutAt = Date.now();
      lab.cutCeph(serving);
      const unfitMs = await unfitAfter(lab, serving, cutAt, 30_000);
      result.measured = { ...result.measured, unfitAfterMs: unfitMs, cutAt };
      return other(serving);
    },
    {
      after: async (lab, next, result) => {
        const old = other(next);
        const cutAt = Number(result.measured?.cutAt);
        assert.ok(
          Number(result.measured?.unfitAfterMs) < 5_000 + 2_000,
          `unfit within the 5 s deadline (+ 2 s of polling): ${String(result.measured?.unfitAfterMs)} ms`,
        );
        const lost = lab.journal(old).find((e) => e.kind === 'transition' && Date.parse(e.at) >= cutAt && e.event === 'ceph.lost');
        assert.ok(lost, 'the old master released as a node that lost Ceph (not as fenced)');
        lab.healCeph(old);
        await lab.waitFor(`${old} out of active`, async () => !((await lab.status(old).catch(() => null))?.state.startsWith('active') ?? false), 60_000);
        const mappedAt = lab.mappedAt(next, cutAt);
        assert.ok(mappedAt !== null);
        result.measured = { ...result.measured, writerEnded: await lab.stopWriter(old) };
        await inspectImageAfterRelease(lab, next, mappedAt, result);
      },
    },
  );
  assert.equal(r.lateWrites, 0);
});

test('11 pause: every process of the master frozen 40 s; one takeover; the resumed node yields and never makes the new master release; no late writes', async () => {
  const r = await scenario(
    'pause 40 s',
    async (lab, serving, result) => {
      const next = other(serving);
      lab.startWriter(serving);
      await sleep(1_000);
      const pausedAt = Date.now();
      const pids = lab.pauseNode(serving);
      await waitServing(lab, next, 30_000);
      result.measured = { ...result.measured, takeoverDuringPauseMs: Date.now() - pausedAt, pausedAt };
      await sleep(Math.max(0, pausedAt + 40_000 - Date.now()));
      const resumedAt = Date.now();
      lab.resumeNode(serving, pids);
      // how long the resumed node holds the VIP (keepalived resumes as MASTER with the higher priority)
      let vipMs = 0;
      for (let t = Date.now(); Date.now() - t < 8_000; await sleep(50)) if (lab.vipOn(serving)) vipMs += 50;
      await lab.waitFor(`${serving} out of active`, async () => !((await lab.status(serving).catch(() => null))?.state.startsWith('active') ?? false), 30_000);
      result.measured = { ...result.measured, resumedVipHeldMs: vipMs, resumedAt, oldMasterLeftAfterResumeMs: Date.now() - resumedAt };
      await lab.waitFor(`the VIP back on ${next}`, async () => lab.vipOn(next) && !lab.vipOn(serving), 30_000);
      return next;
    },
    {
      after: async (lab, next, result) => {
        const pausedAt = Number(result.measured?.pausedAt);
        const since = lab.transitions(next, pausedAt);
        const takeovers = since.filter((t) => t.to.startsWith('active.acquiring-rbd') && !t.from.startsWith('active'));
        assert.equal(takeovers.length, 1, `one takeover only: ${JSON.stringify(since.map((t) => t.to))}`);
        const servedAt = since.find((t) => t.to.startsWith('active.serving'))?.at ?? 0;
        const left = since.filter((t) => t.at > servedAt && !t.to.startsWith('active'));
        assert.deepEqual(left, [], 'the new master never left active after the resume');
        const mappedAt = lab.mappedAt(next, pausedAt);
        assert.ok(mappedAt !== null);
        result.measured = { ...result.measured, writerEnded: await lab.stopWriter(other(next)) };
        await inspectImageAfterRelease(lab, next, mappedAt, result);
      },
    },
  );
  assert.equal(r.lateWrites, 0);
});

test('12 both MASTER at cold start (VRRP cut before the engines start): one node serves; the other yields, or fences the winner once before it maps (no-slow-mode trade-off); never two writers', async () => {
  await scenario(
    'both MASTER at cold start',
    // nothing more to break: the start itself was the fault, checked and healed in whenFirstServing
    (_lab, serving) => Promise.resolve(serving),
    {
      lab: { vrrpCutAtStart: 'b' },
      noSteadyState: true,
      // checked and healed at once: the loser's cool-down (60 s in the lab) may end while clients
      // push, and with VRRP still cut it would be MASTER again beside the winner (that is split
      // brain, scenario 6, not this one)
      whenFirstServing: async (lab, serving, result) => {
        const loser = other(serving);
        const mapped = (['a', 'b'] as const).filter((n) => lab.mappedAt(n, 0) !== null);
        const loserStatus = await lab.status(loser);
        const fences = lab.fenceCount('a') + lab.fenceCount('b');
        const wentThrough = (state: string): boolean => lab.transitions(loser, 0).some((t) => t.to === state || t.to.startsWith(`${state}.`));
        assert.ok(!loserStatus.state.startsWith('active'), `${loser} is not active beside ${serving}: ${loserStatus.state}`);
        result.measured = { ...result.measured, loserState: loserStatus.state, loserReason: loserStatus.reason, mapped: mapped.join(','), fences };
        if (mapped.length === 1) {
          // the designed outcome: the later MASTER sees a claim younger than the grace and yields
          assert.deepEqual(mapped, [serving]);
          // the cool-down (60 s) may already be over on a slow cold start: the history says it yielded
          assert.ok(wentThrough('yielding'), `${loser} yielded: ${loserStatus.state}: ${loserStatus.reason}`);
          assert.equal(fences, 0, 'nobody was fenced');
        } else {
          // the trade-off (docs/lab.md): the later MASTER's standby poll saw the winner's claim a
          // moment before its own MASTER, so the claim counts as known (a dead owner's) and is
          // fenced, as a master that crashed right after its takeover must be (no slow mode). Safe:
          // fenced before it mapped, once.
          assert.equal(fences, 1, 'the winner was fenced exactly once');
          assert.ok(wentThrough('fenced'), `the fenced winner cooled down: ${loserStatus.state}`);
          const servingMappedAt = lab.mappedAt(serving, 0) ?? 0;
          const loserLeftAt = lab.transitions(loser, 0).find((t) => t.to.startsWith('releasing'))?.at ?? Infinity;
          assert.ok(loserLeftAt <= servingMappedAt + 2_000, 'the fenced node was releasing when the other mapped');
        }
        lab.healVrrp('b');
      },
    },
  );
});

test('13 foreign mount at start-up: nothing unmounted, nothing killed, the node says why it will not serve; the peer serves', async () => {
  let foreign: { device: string; holderPid: number } | null = null;
  await scenario(
    'foreign mount at start-up',
    async (lab, serving, result) => {
      assert.equal(serving, 'b', 'a refuses to serve over a foreign mount');
      const s = await lab.status('a');
      result.measured = { ...result.measured, aState: s.state, aReason: s.reason };
      assert.equal(s.state, 'failed');
      assert.match(s.reason, new RegExp(`${foreign?.device ?? 'x'}.*mounted at the mount point`));
      assert.equal(s.fitness.fit, false);
      return serving;
    },
    {
      lab: { beforeEngines: (lab) => void (foreign = lab.mountForeign('a')) },
      noSteadyState: true,
      after: async (lab) => {
        assert.ok(foreign);
        assert.equal(lab.mountSource('a'), foreign.device, 'the foreign filesystem is still mounted');
        assert.ok(lab.isRunning(foreign.holderPid), 'its user was not killed');
        const umounts = lab.journal('a').filter((e) => e.kind === 'command' && /umount/.test(e.what));
        assert.deepEqual(umounts, [], 'a never ran umount');
      },
    },
  );
});

test('14 engine restarted under a MASTER keepalived: the VIP of a running keepalived promotes it, it takes over and serves', async () => {
  await scenario('engine restart under MASTER', async (lab, serving, result) => {
    const next = other(serving);
    // the standby's engine stops (detached); its keepalived keeps running with the last fitness
    await lab.stopEngine(next, false);
    lab.crashNode(serving);
    await lab.waitFor(`the VIP on ${next} (keepalived MASTER, no engine)`, () => lab.vipOn(next), 30_000);
    const startedAt = Date.now();
    // keepalived told its MASTER to nobody and will not repeat it: the new engine must learn it itself
    await lab.startEngine(next);
    result.measured = { ...result.measured, bootedInto: (await lab.status(next)).state };
    await lab.waitFor(`${next} to leave idle`, async () => !((await lab.status(next).catch(() => null))?.state ?? 'idle').startsWith('idle'), 30_000);
    result.measured = { ...result.measured, promotedAfterMs: Date.now() - startedAt };
    return next;
  });
});

test('15 database survives failover: rows committed through the VIP before a master crash are all there after the takeover; PostgreSQL recovered', async () => {
  const committed: string[] = [];
  let faultAt = 0;
  await scenario(
    'database survives failover',
    async (lab, serving, result) => {
      // rows through the VIP (nginx, core, harbor-db on the master), the last one just before the crash
      for (let i = 0; i < 40; i++) {
        const name = `before-crash-${i}`;
        if (lab.createProject(name)) committed.push(name);
      }
      assert.ok(committed.length >= 35, `Harbor committed only ${committed.length} of 40 rows before the fault`);
      faultAt = Date.now();
      // the master's PostgreSQL keeps running on its blocklisted mapping: nothing it does reaches Ceph
      lab.crashNode(serving);
      result.measured = { ...result.measured, rowsBefore: committed.length };
      return other(serving);
    },
    {
      after: async (lab, next, result) => {
        for (let i = 0; i < 5; i++) if (lab.createProject(`after-takeover-${i}`)) committed.push(`after-takeover-${i}`);
        const present = new Set(lab.projectNames());
        const lost = committed.filter((n) => !present.has(n));
        result.measured = { ...result.measured, rowsCommitted: committed.length, lostRows: lost.length };
        assert.deepEqual(lost, [], 'rows Harbor acknowledged before the crash are gone');
        // PostgreSQL's own account of the takeover: crash recovery from the old master's last commit
        const recovery = await lab.waitFor(
          `${next}'s journal to hold harbor-db's start-up log`,
          () => lab.journal(next).some((e) => e.kind === 'log' && e.service === 'postgresql' && Date.parse(e.at) >= faultAt),
          30_000,
        );
        const log = lab.journal(next).find((e) => e.kind === 'log' && e.service === 'postgresql' && Date.parse(e.at) >= faultAt);
        assert.ok(log?.kind === 'log');
        const text = log.lines.join('\n');
        assert.match(text, /database system was (interrupted|not properly shut down)/, text.slice(0, 2000));
        assert.match(text, /redo (starts|done) at|automatic recovery in progress/, text.slice(0, 2000));
        assert.match(text, /ready to accept connections/);
        result.measured = {
          ...result.measured,
          logAfterMs: recovery,
          recovery: log.lines
            .filter((l) => /interrupted|recovery|redo/.test(l))
            .map((l) => l.replace(/^.*?(LOG|FATAL):\s+/, ''))
            .join(' | ')
            .slice(0, 300),
        };
      },
    },
  );
});

test('16 dockerd restart on the old master (a host reboot): no Harbor container runs there, the bare mount point stays empty', async () => {
  await scenario('dockerd restart on old master', crashMaster, {
    after: async (lab, next, result) => {
      const old = other(next);
      const before = lab.harborContainers(old);
      assert.ok(
        before.some((c) => c.state === 'running' && c.restartPolicy === 'always'),
        `Harbor ran on ${old} with restart: always: ${JSON.stringify(before)}`,
      );
      await lab.hostRebootsStorageAndDocker(old);
      assert.equal(lab.mountSource(old), null, 'the reboot left nothing mounted');
      // the daemon comes back first, as at boot, before harbor-assistant: restart: always tries them all
      lab.startDockerd(old);
      const runningSeen = new Set<string>();
      for (const end = Date.now() + 10_000; Date.now() < end;) {
        for (const c of lab.harborContainers(old)) if (c.state === 'running' || c.state === 'restarting') runningSeen.add(c.name);
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.deepEqual([...runningSeen], [], `Harbor containers ran on ${old}, which does not hold the image`);
      const defined = lab.harborContainers(old);
      assert.ok(
        defined.length >= 5 && defined.every((c) => c.restartPolicy === 'always'),
        `the containers survived the daemon stop: ${JSON.stringify(defined)}`,
      );
      const bare = lab.bareMountPoint(old);
      assert.deepEqual(bare.entries, [], 'nothing was written into the bare mount point');
      // then its service and keepalived start: a standby, still nothing running, the mount point guarded
      await lab.restartNode(old);
      await lab.waitFor(
        `${old} out of booting, not taking over`,
        async () => {
          const state = (await lab.status(old).catch(() => null))?.state ?? 'booting';
          return !state.startsWith('booting') && !state.startsWith('active');
        },
        60_000,
      );
      result.measured = { ...result.measured, oldMasterState: (await lab.status(old)).state };
      const after = lab.bareMountPoint(old);
      assert.deepEqual(after.entries, []);
      assert.equal(after.immutable, true, 'the engine guards the bare mount point');
      assert.deepEqual(
        lab.harborContainers(old).filter((c) => c.state === 'running'),
        [],
      );
      result.measured = {
        ...result.measured,
        containersDefined: defined.length,
        startError:
          defined
            .concat(lab.harborContainers(old))
            .find((c) => c.error !== '')
            ?.error.slice(0, 160) ?? '',
        bareMountPointImmutable: after.immutable,
      };
    },
  });
});

test('17 damaged compose file on the master: the switchover stops Harbor by name; the peer has prepare write the file again and serves', async () => {
  let faultAt = 0;
  await scenario(
    'damaged compose file',
    async (lab, serving) => {
      lab.damageComposeFile(serving);
      faultAt = Date.now();
      const r = await lab.request(serving, { cmd: 'switchover' });
      assert.ok(r.ok, JSON.stringify(r));
      return other(serving);
    },
    {
      after: async (lab, next, result) => {
        const old = other(next);
        const commands = (n: typeof old, what: string) =>
          lab.journal(n).flatMap((e) => (e.kind === 'command' && e.what === what && Date.parse(e.at) >= faultAt ? [e] : []));
        const stops = commands(old, 'docker stop (compose file unusable)');
        assert.equal(stops.length, 1, 'the old master stopped Harbor by name once');
        const stop = stops.at(0);
        assert.ok(stop !== undefined && stop.ok, JSON.stringify(stop));
        assert.deepEqual(
          lab.harborContainers(old).filter((c) => c.state === 'running'),
          [],
          'nothing of Harbor runs on the old master',
        );
        assert.ok(commands(next, 'harbor prepare').length >= 1, 'the new master ran prepare on the damaged file');
        result.measured = { ...result.measured, stoppedByNameMs: stop.durationMs };
      },
    },
  );
});

test('18 rolling upgrade: both nodes on N, the standby upgraded, one switchover, the other upgraded; pulls fail only inside the switchover; each journal shows both versions', async () => {
  const current = currentPackage();
  const next = nextPackage();
  let faultAt = 0;
  const r = await scenario(
    'rolling upgrade',
    async (lab, serving, result) => {
      faultAt = Date.now();
      const standby = other(serving);
      const versionsBefore = { a: lab.installedVersion('a'), b: lab.installedVersion('b') };
      assert.deepEqual(versionsBefore, { a: current.version, b: current.version });
      const probe = lab.pushed[0];
      assert.ok(probe, 'an image to pull');
      const stateOf = async (n: NodeName) => (await lab.status(n).catch(() => null))?.state ?? 'down';
      // the operator's cue before the next step: the node is a ready standby again (`status` says fit)
      const readyStandby = async (n: NodeName) => {
        const s = await lab.status(n).catch(() => null);
        return s?.state === 'idle' && s.fitness.fit;
      };
      const faults = (n: NodeName) =>
        lab
          .keepalivedLog(n)
          .split('\n')
          .filter((l) => /Entering FAULT STATE/i.test(l)).length;
      const window = { from: 0, to: 0 };
      const loop = lab.startPullLoop(probe.ref);
      let attempts: Array<{ start: number; end: number; ok: boolean }> = [];
      try {
        // the standby first: its service restarts on the new version and stands by again
        const standbyFaults = faults(standby);
        await lab.upgradeNode(standby, next.deb);
        await lab.waitFor(`${standby} standing by on ${next.version}`, () => readyStandby(standby), 60_000);
        // a restarted ready standby stays a candidate throughout: keepalived never saw it unfit
        await new Promise((res) => setTimeout(res, 3_000));
        assert.equal(faults(standby), standbyFaults, `${standby}'s keepalived went FAULT during its upgrade restart`);
        pushSome(lab, 1);
        // the one hand-over
        window.from = Date.now();
        const ack = await lab.request(serving, { cmd: 'switchover' });
        assert.ok(ack.ok, JSON.stringify(ack));
        await lab.waitFor(`${standby} serving`, async () => (await stateOf(standby)).startsWith('active.serving'), 120_000);
        await lab.waitPullable(60_000);
        window.to = Date.now();
        // then the old master, now standing by
        await lab.waitFor(`${serving} idle after the switchover`, async () => (await stateOf(serving)) === 'idle', 90_000);
        await lab.upgradeNode(serving, next.deb);
        await lab.waitFor(`${serving} standing by on ${next.version}`, () => readyStandby(serving), 60_000);
        pushSome(lab, 1);
        // clients keep pulling a little after the last restart
        await new Promise((res) => setTimeout(res, 3_000));
      } finally {
        attempts = await loop.stop();
      }
      const failed = attempts.filter((a) => !a.ok);
      const outside = failed.filter((a) => a.end < window.from || a.start > window.to);
      result.measured = {
        ...result.measured,
        versionsBefore: `a=${versionsBefore.a} b=${versionsBefore.b}`,
        versionsAfter: `a=${lab.installedVersion('a')} b=${lab.installedVersion('b')}`,
        pulls: attempts.length,
        pullsFailed: failed.length,
        pullsFailedOutsideSwitchover: outside.length,
        switchoverWindowMs: window.to - window.from,
        firstToLastFailedPullMs: failed.length > 0 ? Math.max(...failed.map((a) => a.end)) - Math.min(...failed.map((a) => a.start)) : 0,
      };
      assert.ok(attempts.length >= 10, `clients pulled all along (${attempts.length} pulls)`);
      assert.deepEqual(outside, [], 'no pull failed outside the switchover');
      assert.equal(lab.installedVersion('a'), next.version);
      assert.equal(lab.installedVersion('b'), next.version);
      return standby;
    },
    {
      after: async (lab, serving) => {
        for (const n of ['a', 'b'] as const) {
          const versions = lab.journal(n).flatMap((e) => (e.kind === 'service' && e.message === 'starting' ? [String(e.detail?.version)] : []));
          assert.deepEqual(versions, [current.version, next.version], `${n}'s journal: started on N, then on N+1`);
        }
        const summaries = (operation: 'takeover' | 'release') =>
          (['a', 'b'] as const).flatMap((n) => lab.journal(n).filter((e) => e.kind === 'summary' && e.operation === operation && Date.parse(e.at) >= faultAt));
        assert.equal(summaries('takeover').length, 1, 'one hand-over: one takeover');
        assert.equal(summaries('release').length, 1, 'and one release');
        assert.ok((await lab.status(serving)).state.startsWith('active.serving'));
      },
    },
  );
  assert.equal(r.fences, 0, 'a rolling upgrade fences nobody');
});

test('19 Ceph cut during a hand-over: the master releases because Harbor went down, then loses Ceph; it turns unfit at once and the peer serves within the bound', async () => {
  let loop: ReturnType<Lab['startPullLoop']> | null = null;
  let cutAt = 0;
  await scenario(
    'ceph cut during hand-over',
    async (lab, serving, result) => {
      const probe = lab.pushed[0];
      assert.ok(probe);
      loop = lab.startPullLoop(probe.ref);
      // Harbor down: a graceful hand-over begins
      lab.stopRegistry(serving);
      await lab.waitFor(`${serving} releasing`, async () => (await lab.status(serving).catch(() => null))?.state.startsWith('releasing') ?? false, 30_000);
      // and its storage goes while it hands over
      lab.cutCeph(serving);
      cutAt = Date.now();
      const unfitMs = await unfitAfter(lab, serving, cutAt, 30_000);
      result.measured = { ...result.measured, unfitAfterCutMs: unfitMs, unfitWhy: (await lab.status(serving).catch(() => null))?.fitness.why ?? '' };
      return other(serving);
    },
    {
      after: async (lab, next, result) => {
        const old = other(next);
        const servedAt = lab.transitions(next, cutAt).find((t) => t.to.startsWith('active.serving'))?.at ?? Date.now();
        const outage = unavailability((await loop?.stop()) ?? []);
        result.measured = {
          ...result.measured,
          peerServingAfterCutMs: servedAt - cutAt,
          unavailabilityMs: outage.longestMs,
          pullsFailed: outage.failed,
          oldMasterState: (await lab.status(old).catch(() => null))?.state ?? 'down',
        };
        result.measured.withinGoal = servedAt - cutAt <= UNAVAILABILITY_BOUND_MS;
        // the goal is 10 s (measured 6.6-7.6 s on an idle lab: the watchdog's 5 s deadline, then VRRP
        // and one takeover); the test holds the line at what tells the dead release from the old
        // graceful one (which waited out compose down's 20 s on the dead path) without failing on a
        // loaded machine's slower compose up
        assert.ok(servedAt - cutAt <= DEAD_RELEASE_BOUND_MS, `${next} served ${servedAt - cutAt} ms after the cut (bound ${DEAD_RELEASE_BOUND_MS})`);
        // unfit because its hand-over lost its data path, not because a step timed out
        assert.match(String(result.measured.unfitWhy), /lost Ceph|fenced/, 'the old master escalated its hand-over to a dead release');
        // the graceful compose down under way when Ceph went is not waited out: the release starts
        // over on the dead path and kills Harbor (the old rule ran it to its 20 s deadline)
        const waitUntil = cutAt + LAB_COMPOSE_DOWN_TIMEOUT_MS + 10_000;
        await lab.waitFor(
          `${old} out of the release while its storage is still cut`,
          async () => !((await lab.status(old).catch(() => null))?.state ?? 'releasing').startsWith('releasing'),
          Math.max(1_000, waitUntil - Date.now()),
        );
        const releasedAt = lab.transitions(old, cutAt).find((t) => t.from.startsWith('releasing') && !t.to.startsWith('releasing'))?.at ?? Date.now();
        result.measured.oldReleaseEndedAfterCutMs = releasedAt - cutAt;
        assert.ok(releasedAt - cutAt < LAB_COMPOSE_DOWN_TIMEOUT_MS, `the dead release took ${releasedAt - cutAt} ms after the cut`);
        lab.healCeph(old);
        // it was fenced by the peer meanwhile: once healed it stays out, never takes the image back
        assert.ok((await lab.status(next)).state.startsWith('active.serving'));
      },
    },
  );
});

test('20 standby host reboot with Harbor kept: a switchover leaves the old master its stopped containers (restart policy no); its daemon restarts and none runs; the switchover back starts them without docker-compose', async () => {
  await scenario(
    'standby reboot, kept stack',
    async (lab, serving) => {
      const ack = await lab.request(serving, { cmd: 'switchover' });
      assert.ok(ack.ok, JSON.stringify(ack));
      return other(serving);
    },
    {
      after: async (lab, next, result) => {
        const standby = other(next);
        await lab.waitFor(
          `${standby} released`,
          async () => ((await lab.status(standby).catch(() => null))?.state ?? '').match(/^(idle|standing-down)/) !== null,
          60_000,
        );
        const kept = lab.harborContainers(standby);
        assert.ok(kept.length >= 5, `the release kept Harbor's containers on ${standby}: ${JSON.stringify(kept)}`);
        assert.deepEqual(
          kept.filter((c) => c.state === 'running' || c.restartPolicy !== 'no'),
          [],
          'stopped, restart policy no, before anything else',
        );
        // the standby host reboots: everything on it stops (its engine and keepalived too), its
        // daemon comes back first, as at boot
        lab.crashNode(standby);
        await lab.hostRebootsStorageAndDocker(standby);
        lab.startDockerd(standby);
        const runningSeen = new Set<string>();
        for (const end = Date.now() + 10_000; Date.now() < end;) {
          for (const c of lab.harborContainers(standby)) if (c.state === 'running' || c.state === 'restarting') runningSeen.add(c.name);
          await new Promise((r) => setTimeout(r, 500));
        }
        assert.deepEqual([...runningSeen], [], `Harbor ran on ${standby}, which does not hold the image`);
        assert.ok((await lab.status(next)).state.startsWith('active.serving'), `${next} kept serving`);
        await lab.restartNode(standby);
        await lab.waitFor(`${standby} ready`, async () => (await lab.status(standby).catch(() => null))?.fitness.fit === true, 90_000);
        // the switchover back: the kept stack is started through the Engine API, no compose up
        const backAt = Date.now();
        const ack = await lab.request(next, { cmd: 'switchover' });
        assert.ok(ack.ok, JSON.stringify(ack));
        await waitServing(lab, standby, 120_000);
        await lab.waitPullable(60_000);
        const commands = lab.journal(standby).filter((e) => e.kind === 'command' && Date.parse(e.at) >= backAt);
        const composeUps = commands.filter((e) => e.kind === 'command' && e.what === 'compose up');
        const starts = commands.filter((e) => e.kind === 'command' && e.what.startsWith('docker start ') && e.ok);
        assert.deepEqual(composeUps, [], 'no docker-compose on the way back');
        assert.ok(starts.length >= 5, `the kept containers were started: ${starts.length}`);
        const running = lab.harborContainers(standby).filter((c) => c.state === 'running');
        assert.ok(running.length >= 5 && running.every((c) => c.restartPolicy === 'always'), `restart: always back on: ${JSON.stringify(running)}`);
        const steps = lab
          .journal(standby)
          .filter((e) => e.kind === 'summary' && e.operation === 'takeover' && Date.parse(e.at) >= backAt)
          .at(0);
        result.measured = {
          ...result.measured,
          switchoverBackToPullMs: Date.now() - backAt,
          keptStarts: starts.length,
          startingMs: steps?.kind === 'summary' ? steps.steps.filter((s) => s.phase.startsWith('starting')).reduce((a, s) => a + s.durationMs, 0) : -1,
        };
      },
    },
  );
});

test('21 a claimant that died before its map: the peer that yielded to its fresh claim looks again after the holder grace, fences it and serves, well inside the cool-down', async () => {
  await scenario('dead claimant', async (lab, serving, result) => {
    const next = other(serving);
    // the standby may become MASTER only once the claim is there (its keepalived waits)
    await lab.stopKeepalived(next);
    await lab.stopEngine(serving, true);
    await lab.stopKeepalived(serving);
    const generation = lab.nextGeneration(serving);
    // right after one of the standby's polls (every 3 s): when it reads as MASTER the claim is new to it
    const polls = () => lab.journal(next).filter((e) => e.kind === 'command' && e.what === 'rbd status').length;
    const before = polls();
    await lab.waitFor(`a standby poll on ${next}`, () => polls() > before, 10_000);
    const since = Date.now();
    // the lock is the claim; keepalived starts at once, the record follows
    const claim = lab.leaveDeadClaim(serving, generation, () => lab.startKeepalived(next));
    const claimedAt = Date.now();
    await waitServing(lab, next, 60_000);
    const servedAfterMs = Date.now() - claimedAt;
    const seen = lab.transitions(next, since);
    result.measured = { ...result.measured, claim: claim.lockId, claimWrittenMs: claimedAt - since, servedAfterMs, path: seen.map((t) => t.to).join(' > ') };
    assert.ok(
      seen.some((t) => t.to.startsWith('yielding')),
      `${next} yielded to the fresh claim: ${seen.map((t) => t.to).join(' > ')}`,
    );
    const gaveUp = seen.find((t) => t.from.startsWith('yielding.looking') && t.to === 'idle');
    assert.ok(gaveUp, `the claim was given up after a look, not after the cool-down: ${seen.map((t) => `${t.from}>${t.to}`).join(' ')}`);
    // the lab's cool-down is 60 s: the old rule served only after it
    assert.ok(servedAfterMs < 30_000, `served ${String(servedAfterMs)} ms after the claim`);
    assert.equal(lab.fenceCount(next), 1, 'the dead claim was fenced, once');
    assert.equal(lab.fenceCount(serving), 0);
    return next;
  });
});
