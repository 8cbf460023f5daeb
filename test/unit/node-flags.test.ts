import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SERVICE_NODE_FLAGS, serviceNodeFlagsMissing } from '../../src/cli/node-flags.js';

test('the systemd unit starts the service with SERVICE_NODE_FLAGS in NODE_OPTIONS', () => {
  const unit = readFileSync(new URL('../../config/harbor-assistant.service', import.meta.url), 'utf8');
  const options = /^Environment=NODE_OPTIONS=(.*)$/m.exec(unit)?.[1];
  assert.equal(options, SERVICE_NODE_FLAGS.join(' '));
  assert.deepEqual(serviceNodeFlagsMissing([], options), []);
});

test('flags missing from both the command line and NODE_OPTIONS are named', () => {
  assert.deepEqual(serviceNodeFlagsMissing([], ''), [...SERVICE_NODE_FLAGS]);
  assert.deepEqual(serviceNodeFlagsMissing([...SERVICE_NODE_FLAGS], ''), []);
  assert.deepEqual(serviceNodeFlagsMissing([], `--trace-warnings ${SERVICE_NODE_FLAGS.join(' ')}`), []);
});
