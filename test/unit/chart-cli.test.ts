import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { getStateNodes } from 'xstate/graph';
import { chartOf, statechartMarkdown, toMermaid } from '../../src/chart/index.js';
import { nodeMachine } from '../../src/machine/index.js';

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env: { ...process.env, HARBOR_VIP: undefined } });

test('chart --format json lists every state node by id, read from the machine', () => {
  const r = cli('chart', '--format', 'json');
  assert.equal(r.status, 0, r.stderr);
  const chart = JSON.parse(r.stdout) as { stateIds: string[] };
  const ids = [nodeMachine.root, ...getStateNodes(nodeMachine.root)].map((n) => n.id).sort();
  assert.deepEqual([...chart.stateIds].sort(), ids);
  for (const required of [
    'idle',
    'active.acquiring-rbd',
    'active.fencing',
    'active.mounting',
    'active.starting',
    'active.serving',
    'releasing',
    'fenced',
    'failed',
    'maintenance',
  ]) {
    assert.ok(chart.stateIds.includes(`node.${required}`), required);
  }
});

test('the Mermaid chart has every top-level state and draws edges only between siblings', () => {
  const m = toMermaid(chartOf(nodeMachine));
  assert.match(m, /^stateDiagram-v2\n/);
  for (const s of Object.keys(nodeMachine.root.states)) assert.match(m, new RegExp(`as node_${s.replace(/-/g, '_')}\\b`));
  assert.match(m, /node_active --> node_releasing: vrrp \[vrrpLost\]/);
  assert.match(m, /node_releasing_stopping_harbor --> node_releasing_unmounting: done · composeDown/);
});

test('docs/statechart.md is the chart generated from the machine (regenerate with npm run chart:docs)', () => {
  const committed = readFileSync(new URL('../../docs/statechart.md', import.meta.url), 'utf8');
  assert.equal(committed, statechartMarkdown(chartOf(nodeMachine)), 'docs/statechart.md is stale: run `npm run chart:docs`');
});

test('validate-config names each bad field and exits non-zero; a good config passes', () => {
  const bad = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'validate-config', '--env', 'config/.env.example', '--config', 'config/harbor-assistant.example.yaml'],
    {
      encoding: 'utf8',
      env: { ...process.env, HARBOR_VIP: 'not-an-ip', CEPH_POOL_NAME: 'a;b' },
    },
  );
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /HARBOR_VIP: must be an IPv4 or IPv6 address, got "not-an-ip"/);
  assert.match(bad.stderr, /CEPH_POOL_NAME: must be letters/);
  const good = cli('validate-config', '--env', 'config/.env.example', '--config', 'config/harbor-assistant.example.yaml');
  assert.equal(good.status, 0, good.stderr);
  assert.match(good.stdout, /^configuration OK/);
  assert.doesNotMatch(good.stdout + good.stderr, /AQB/);
  const missing = cli('validate-config', '--env', 'config/.env.example', '--config', '/nonexistent.yaml');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /\/nonexistent\.yaml: configuration file not found/);
});

test('the installed bin answers --help with the commands', () => {
  execFileSync('npm', ['run', '-s', 'build'], { encoding: 'utf8' });
  const out = execFileSync('npx', ['harbor-assistant', '--help'], { encoding: 'utf8' });
  for (const c of ['run', 'status', 'check', 'switchover', 'maintenance', 'resume', 'events', 'doctor', 'chart', 'validate-config', 'keepalived', 'harbor']) {
    assert.match(out, new RegExp(`^  ${c}\\b`, 'm'), c);
  }
});
