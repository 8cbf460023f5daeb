import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeMachine } from '../../src/machine/index.js';
import { testTiming } from '../support/timing.js';
import { explore } from '../explore/explorer.js';
import { defaultModelOptions } from '../explore/model.js';

/*
 * A liveness gap the explorer found in the real service: keepalived only notifies changes, so an
 * engine restarted while its keepalived is MASTER, before it held anything, booted into idle with
 * VRRP UNKNOWN, kept the VIP and never took over, and the peer stayed BACKUP. The VIP reconciler
 * promoted only an engine keepalived had spoken to since its start. It now also trusts a VIP while
 * our keepalived's VRRP process runs (src/actions/keepalived/process.ts).
 */
const bound = { maxDepth: 4, livenessEvery: 1, livenessSteps: 80, maxViolations: 1, timeLimitMs: 60_000, roots: ['cold' as const] };

test('liveness: an engine restarted under a MASTER keepalived takes over (the reconciler trusts a running keepalived)', () => {
  const r = explore({ ...defaultModelOptions(nodeMachine, testTiming, 1), ...bound });
  const v = r.violations[0];
  assert.equal(r.violations.length, 0, v ? `${v.path.join(' → ')}\n  ${v.message}` : '');
});

test('liveness: the reconciler as it was (promote only after keepalived spoke) leaves nobody serving', () => {
  const r = explore({ ...defaultModelOptions(nodeMachine, testTiming, 1), trustRunningKeepalived: false, ...bound });
  const v = r.violations[0];
  assert.ok(v, 'the explorer must find the gap');
  assert.match(v.path.join(' → '), /engine crashes|restart/);
  console.log(`liveness gap found with the old reconciler: ${v.path.join(' → ')}\n  ${v.message}`);
});
