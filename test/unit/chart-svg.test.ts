import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { activeStateIds, chartOf, chartSvg, layoutChart } from '../../src/chart/index.js';
import { nodeMachine } from '../../src/machine/index.js';

const chart = chartOf(nodeMachine);

test('the SVG chart draws every state inside its parent and every transition with a target', async () => {
  const layout = await layoutChart(chart);
  const ids = chart.stateIds.filter((id) => id !== chart.root.id);
  assert.deepEqual(layout.states.map((s) => s.id).sort(), [...ids].sort());
  const byId = new Map(layout.states.map((s) => [s.id, s]));
  for (const s of layout.states) {
    assert.ok(s.width > 0 && s.height > 0, s.id);
    const parentId = s.id.slice(0, s.id.lastIndexOf('.'));
    const p = byId.get(parentId);
    if (!p) continue;
    assert.ok(s.x >= p.x && s.y >= p.y && s.x + s.width <= p.x + p.width && s.y + s.height <= p.y + p.height, `${s.id} lies outside ${p.id}`);
  }
  // siblings never overlap
  for (const a of layout.states) {
    for (const b of layout.states) {
      if (a.id >= b.id || a.id.slice(0, a.id.lastIndexOf('.')) !== b.id.slice(0, b.id.lastIndexOf('.'))) continue;
      const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
      assert.ok(apart, `${a.id} overlaps ${b.id}`);
    }
  }
  const pairs = new Set<string>();
  const walk = (n: typeof chart.root) => {
    for (const t of n.transitions) for (const target of t.targets) pairs.add(`${n.id}->${target}`);
    n.states.forEach(walk);
  };
  walk(chart.root);
  assert.deepEqual(new Set(layout.transitions.map((t) => `${t.source}->${t.target}`)), pairs);
  for (const t of layout.transitions) assert.ok(t.points.length >= 2, `${t.id} has a route`);

  const svg = chartSvg(layout);
  for (const id of ids) assert.ok(svg.includes(`data-state-id="${id}"`), id);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.doesNotMatch(svg, /https?:\/\/(?!www\.w3\.org)/, 'nothing to fetch from anywhere');
});

test('activeStateIds maps the service state name to the chart ids, outermost first', () => {
  assert.deepEqual(activeStateIds(chart, 'active.serving.healthy'), ['node.active', 'node.active.serving', 'node.active.serving.healthy']);
  assert.deepEqual(activeStateIds(chart, 'idle'), ['node.idle']);
  assert.deepEqual(activeStateIds(chart, 'nonsense.x'), []);
});

test('chart --format svg prints the SVG; an unknown format names the allowed ones', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'chart', '--format', 'svg'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^<svg /);
  assert.match(r.stdout, /data-state-id="node\.active\.fencing\.blocklisting\.running"/);
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'chart', '--format', 'png'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--format: must be one of json, mermaid, markdown, svg, got "png"/);
});
