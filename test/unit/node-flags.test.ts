import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SERVICE_NODE_FLAGS, serviceNodeFlagsMissing } from '../../src/cli/node-flags.js';

test("the systemd unit starts the service with SERVICE_NODE_FLAGS on node's command line", () => {
  const unit = readFileSync(new URL('../../config/harbor-assistant.service', import.meta.url), 'utf8');
  const flags = /^ExecStart=@PREFIX@\/runtime\/node ((?:--\S+ )*)@PREFIX@\/app\/main\.mjs run$/m.exec(unit)?.[1]?.trim().split(' ');
  assert.deepEqual(flags, [...SERVICE_NODE_FLAGS]);
  assert.deepEqual(serviceNodeFlagsMissing(flags, ''), []);
  assert.doesNotMatch(unit, /^Environment=NODE_OPTIONS=/m, 'node refuses --no-opt in NODE_OPTIONS');
});

test('node accepts the service flags on its command line', () => {
  const r = spawnSync(process.execPath, [...SERVICE_NODE_FLAGS, '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'ok');
  assert.equal(r.stderr, '');
});

test('flags missing from both the command line and NODE_OPTIONS are named', () => {
  assert.deepEqual(serviceNodeFlagsMissing([], ''), [...SERVICE_NODE_FLAGS]);
  assert.deepEqual(serviceNodeFlagsMissing([...SERVICE_NODE_FLAGS], ''), []);
  assert.deepEqual(serviceNodeFlagsMissing([], `--trace-warnings ${SERVICE_NODE_FLAGS.join(' ')}`), []);
});
