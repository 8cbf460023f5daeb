import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandError, createRunner, type CommandRecord } from '../../src/actions/exec.js';
import { chartOf } from '../../src/chart/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { nodeMachine } from '../../src/machine/index.js';
import { NodeMetrics, leafStateNames } from '../../src/observe/metrics.js';
import { sample } from '../support/http-probe.js';

test('every outside command reaches the observer with its result; failures are counted by command and how', async () => {
  const records: CommandRecord[] = [];
  const metrics = new NodeMetrics('n1', leafStateNames(chartOf(nodeMachine)));
  const runner = createRunner(silentLogger(), ['s3cr3t-key'], (r) => {
    records.push(r);
    metrics.command(r);
  });
  await runner.run({ what: 'say', argv: ['echo', 's3cr3t-key'], timeoutMs: 5_000 });
  await assert.rejects(runner.run({ what: 'fail', argv: ['false'], timeoutMs: 5_000 }), CommandError);
  await assert.rejects(runner.run({ what: 'hang', argv: ['sleep', '10'], timeoutMs: 100 }), /timed out/);
  await assert.rejects(runner.run({ what: 'missing', argv: ['/nonexistent/binary'], timeoutMs: 5_000 }), CommandError);
  assert.deepEqual(
    records.map((r) => [r.what, r.ok, r.failure]),
    [
      ['say', true, null],
      ['fail', false, 'exit'],
      ['hang', false, 'timeout'],
      ['missing', false, 'exit'],
    ],
  );
  assert.equal(records[0]?.command, 'echo ***', 'the argv shown is redacted');
  const text = await metrics.registry.metrics();
  assert.equal(sample(text, 'harbor_assistant_commands_total', { command: 'say', result: 'ok' }), 1);
  assert.equal(sample(text, 'harbor_assistant_command_failures_total', { command: 'fail', failure: 'exit' }), 1);
  assert.equal(sample(text, 'harbor_assistant_command_failures_total', { command: 'hang', failure: 'timeout' }), 1);
  assert.equal(sample(text, 'harbor_assistant_command_failures_total', { command: 'say' }), null);
  assert.equal(sample(text, 'harbor_assistant_command_duration_seconds_count', { command: 'hang' }), 1);
});

test('state, health and fencing metrics: one current state, every leaf state listed from the start', async () => {
  const states = leafStateNames(chartOf(nodeMachine));
  assert.ok(states.includes('active.serving.healthy') && states.includes('releasing.unmapping.backoff') && states.includes('idle'));
  const m = new NodeMetrics('n1', states);
  let text = await m.registry.metrics();
  for (const s of states) assert.equal(sample(text, 'harbor_assistant_state', { state: s }), 0, s);
  m.transition('(start)', 'idle', 'xstate.init', 1_700_000_000_000);
  m.transition('idle', 'active.fencing.blocklisting.running', 'vrrp', 1_700_000_001_000);
  m.actorEvent('xstate.done.actor.fence');
  m.actorEvent('xstate.error.actor.verifyFence');
  m.actorEvent('xstate.done.actor.map');
  m.health('degraded', [
    { name: 'core', status: 'healthy' },
    { name: 'trivy', status: 'unhealthy' },
  ]);
  m.operationDone({
    operation: 'takeover',
    outcome: 'serving',
    ok: true,
    startedAt: 0,
    cause: { event: 'vrrp', reason: 'r' },
    totalMs: 2_500,
    phases: [{ phase: 'fencing', durationMs: 600 }],
    steps: [],
  });
  text = await m.registry.metrics();
  assert.equal(sample(text, 'harbor_assistant_state', { state: 'idle' }), 0);
  assert.equal(sample(text, 'harbor_assistant_state', { state: 'active.fencing.blocklisting.running' }), 1);
  assert.equal(sample(text, 'harbor_assistant_state_since_seconds'), 1_700_000_001);
  assert.equal(sample(text, 'harbor_assistant_transitions_total', { from: 'idle', to: 'active.fencing.blocklisting.running', event: 'vrrp' }), 1);
  assert.equal(sample(text, 'harbor_assistant_fence_operations_total', { step: 'blocklist', result: 'ok' }), 1);
  assert.equal(sample(text, 'harbor_assistant_fence_operations_total', { step: 'verify', result: 'failed' }), 1);
  assert.equal(sample(text, 'harbor_assistant_harbor_health', { verdict: 'degraded' }), 1);
  assert.equal(sample(text, 'harbor_assistant_harbor_component_healthy', { component: 'trivy' }), 0);
  assert.equal(sample(text, 'harbor_assistant_harbor_component_healthy', { component: 'core' }), 1);
  assert.equal(sample(text, 'harbor_assistant_phase_duration_seconds_sum', { operation: 'takeover', phase: 'fencing' }), 0.6);
  assert.equal(sample(text, 'harbor_assistant_operation_duration_seconds_count', { operation: 'takeover', outcome: 'serving' }), 1);
  assert.equal(sample(text, 'harbor_assistant_state', { node: 'n1', state: 'idle' }), 0, 'every series carries the node label');
});

test('alert inputs exist from the start: ceph.lost counts from 0, the takeover histogram shows 0 before the first takeover', async () => {
  const m = new NodeMetrics('n1', leafStateNames(chartOf(nodeMachine)));
  let text = await m.registry.metrics();
  // increase() over a series born at 1 says 0: the alert rules need these at 0 before anything happens
  assert.equal(sample(text, 'harbor_assistant_ceph_lost_total'), 0);
  assert.equal(sample(text, 'harbor_assistant_operation_duration_seconds_count', { operation: 'takeover', outcome: 'serving' }), 0);
  assert.equal(sample(text, 'harbor_assistant_operation_duration_seconds_bucket', { operation: 'takeover', outcome: 'serving', le: '30' }), 0);
  m.actorEvent('ceph.lost');
  m.actorEvent('io.fenced');
  m.actorEvent('xstate.done.actor.fence');
  text = await m.registry.metrics();
  assert.equal(sample(text, 'harbor_assistant_ceph_lost_total'), 1, 'only ceph.lost counts');
  assert.equal(sample(text, 'harbor_assistant_fence_operations_total', { step: 'blocklist', result: 'ok' }), 1);
});
