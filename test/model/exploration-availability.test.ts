import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeMachine } from '../../src/machine/index.js';
import { testTiming } from '../support/timing.js';
import { explore } from '../explore/explorer.js';
import { defaultModelOptions } from '../explore/model.js';

/*
 * Bounded unavailability: the serving node loses its data path (storage link cut) on its own or
 * during a hand-over it began for another reason (Harbor down, a switchover), and the fault stays.
 * The peer is healthy, so somebody must serve again without waiting out any step's timeout: the
 * bound is below the shortest one. The rule that makes it hold: the holder watch runs through
 * the release, so a release on a dead path makes the node unfit at once.
 */
const shortestStepTimeout = Math.min(...(Object.values(testTiming.timeouts) as number[]));
const bound = {
  maxDepth: 4,
  livenessEvery: 1,
  livenessSteps: 120,
  maxViolations: 1,
  timeLimitMs: 120_000,
  roots: ['steady' as const],
  onlyFaults: /^a: (storage link cut|Harbor unhealthy|operator switchover)$/,
  // from every state where the serving node's storage is gone; the peer's stays
  availability: { maxOutageMs: shortestStepTimeout - 1, when: (w: { hosts: { a: { cut: boolean } } }) => w.hosts.a.cut },
};

test('availability: a node whose data path dies, also in the middle of a hand-over, lets go at once; the peer serves without a timeout passing', () => {
  const r = explore({ ...defaultModelOptions(nodeMachine, testTiming, 2), ...bound });
  const v = r.violations[0];
  assert.equal(r.violations.length, 0, v ? `${v.path.join(' → ')}\n  ${v.message}` : '');
  assert.ok(r.livenessChecked > 10, `continuations checked: ${r.livenessChecked}`);
});

test('availability: with the holder watch stopping when a release begins (the old rule), a hand-over on a dead path keeps everyone waiting', () => {
  const r = explore({ ...defaultModelOptions(nodeMachine, testTiming, 2), ...bound, watchdogInRelease: false });
  const v = r.violations[0];
  assert.ok(v, 'the explorer must find the wait');
  assert.match(v.message, /nobody served for \d+ ms of model time/);
  assert.match(v.path.join(' → '), /storage link cut/);
  console.log(`old rule found: ${v.path.join(' → ')}\n  ${v.message.slice(0, 600)}`);
});

/*
 * Bounded unavailability after a yield: at a cold start both nodes are MASTER, a claims the image
 * and b yields to that claim; then a's engine and keepalived die before a mapped anything. Nobody
 * serves until b gives up on the claim, so the bound is the holder grace plus one look, not the
 * fenced cool-down. A claimant whose watch is on the image is a live peer and is waited out.
 */
const yieldBound = {
  maxDepth: 18,
  livenessEvery: 1,
  livenessSteps: 200,
  maxViolations: 1,
  timeLimitMs: 120_000,
  roots: ['cold' as const],
  onlyFaults: /^a: engine and keepalived crash$/,
  availability: {
    maxOutageMs: 2 * testTiming.holderGraceMs - 1,
    when: (w: { hosts: { a: { keepalived: boolean; client: unknown } } }) => !w.hosts.a.keepalived && w.hosts.a.client === null,
  },
};

test('availability: a claimant that dies before it maps is given up on after the holder grace; the yielding peer serves', () => {
  assert.ok(2 * testTiming.holderGraceMs < testTiming.fencedCooldownMs);
  const r = explore({ ...defaultModelOptions(nodeMachine, testTiming, 1), ...yieldBound });
  const v = r.violations[0];
  assert.equal(r.violations.length, 0, v ? `${v.path.join(' → ')}\n  ${v.message}` : '');
  assert.ok(r.complete && r.livenessChecked > 100, `continuations checked: ${r.livenessChecked}`);
});

test('availability: a yield that waits out the whole cool-down (the old rule) leaves nobody serving after the claimant died', () => {
  const waitsOut = nodeMachine.provide({ guards: { claimDead: () => false } });
  const r = explore({ ...defaultModelOptions(waitsOut, testTiming, 1), ...yieldBound });
  const v = r.violations[0];
  assert.ok(v, 'the explorer must find the wait');
  assert.match(v.message, /nobody served for \d+ ms of model time/);
  assert.match(v.path.join(' → '), /a: claim done \(claimed\) → a: engine and keepalived crash/);
});
