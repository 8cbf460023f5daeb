import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { chartOf, chartSvg, layoutChart, operatorView, type ChartNode, type LaidOutState } from '../../src/chart/index.js';
import { combineLabels } from '../../src/chart/view.js';
import { nodeMachine } from '../../src/machine/index.js';

const chart = chartOf(nodeMachine);
const layoutPromise = layoutChart(chart);
const parentOf = (id: string) => id.slice(0, id.lastIndexOf('.'));
const TAKEOVER = ['acquiring-rbd', 'fencing', 'claiming', 'mounting', 'starting', 'serving'].map((k) => `node.active.${k}`);
const RELEASE = ['surveying', 'stopping-harbor', 'unmounting', 'unmapping', 'disowning', 'released'].map((k) => `node.releasing.${k}`);

/** `b` comes after `a` when reading: on a later row, or to the right on the same row. */
function readsAfter(a: LaidOutState, b: LaidOutState): boolean {
  const below = b.y >= a.y + a.height - 1;
  const sameRow = b.y < a.y + a.height && a.y < b.y + b.height;
  return below || (sameRow && b.x >= a.x + a.width - 1);
}

function stepStates(n: ChartNode): ChartNode[] {
  return [...(n.step !== null && n.states.length > 0 ? [n] : []), ...n.states.flatMap(stepStates)];
}

test('every state is drawn: as a box inside its parent, or folded into its step (meta.step) with its own card', async () => {
  const layout = await layoutPromise;
  const ids = chart.stateIds.filter((id) => id !== chart.root.id);
  const states = layout.states.filter((s) => s.kind === 'state' || s.kind === 'step');
  assert.deepEqual(states.map((s) => s.id).sort(), [...ids].sort());
  const byId = new Map(states.map((s) => [s.id, s]));
  const steps = stepStates(chart.root);
  assert.ok(steps.length >= 15, `${steps.length} steps`);
  for (const step of steps) {
    assert.equal(byId.get(step.id)?.folded, true, `${step.id} is one box`);
    for (const c of step.states) assert.equal(byId.get(c.id)?.detailOf, step.id, `${c.id} is in ${step.id}'s card`);
  }
  const drawn = states.filter((s) => s.detailOf === null);
  for (const s of drawn) {
    assert.ok(s.width > 0 && s.height > 0, s.id);
    const p = byId.get(parentOf(s.id));
    if (!p) continue;
    assert.ok(s.x >= p.x && s.y >= p.y && s.x + s.width <= p.x + p.width && s.y + s.height <= p.y + p.height, `${s.id} lies outside ${p.id}`);
  }
  // siblings never overlap, nor do the markers of the top level
  const boxes = layout.states.filter((s) => s.detailOf === null);
  for (const a of boxes) {
    for (const b of boxes) {
      if (a.id >= b.id || a.depth !== b.depth || (a.depth > 0 && parentOf(a.id) !== parentOf(b.id))) continue;
      const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
      assert.ok(apart, `${a.id} overlaps ${b.id}`);
    }
  }
});

test('the takeover and the release read in order, and the drawing is about the shape of a screen', async () => {
  const layout = await layoutPromise;
  const at = (id: string) => layout.states.find((s) => s.id === id) ?? assert.fail(id);
  for (const flow of [TAKEOVER, RELEASE]) {
    for (let i = 1; i < flow.length; i++) assert.ok(readsAfter(at(flow[i - 1] ?? ''), at(flow[i] ?? '')), `${flow[i] ?? ''} reads after ${flow[i - 1] ?? ''}`);
  }
  // the release is drawn after the takeover, start-up in a band above it, the holding states under the release
  const [active, releasing] = [at('node.active'), at('node.releasing')];
  assert.ok(releasing.x > active.x + active.width - 1);
  for (const id of ['node.booting', 'node.idle']) assert.ok(at(id).y + at(id).height <= active.y && at(id).x + at(id).width <= active.x + active.width, id);
  for (const id of ['node.failed', 'node.stopped', 'node.fenced', 'node.maintenance', 'node.standing-down', 'node.yielding'])
    assert.ok(at(id).y >= releasing.y + releasing.height && at(id).x >= releasing.x, id);
  // fitted into 1920×1010 (a 1080 px window under the viewer's header) the 11 px text stays at 10 px
  const ratio = layout.width / layout.height;
  assert.ok(ratio > 1.5 && ratio < 2.1, `${layout.width}×${layout.height}: ratio ${ratio.toFixed(2)} (it was 8.2, then 2.3)`);
  const scale = Math.min(1920 / layout.width, 1010 / layout.height);
  assert.ok(11 * scale >= 10, `${layout.width}×${layout.height}: 11 px text at ${(11 * scale).toFixed(1)} px`);
});

test('every transition with a target is drawn, on an edge that shows its event; parallel ones share one edge', async () => {
  const layout = await layoutPromise;
  const edges = layout.transitions.filter((t) => t.detailOf === null);
  const keyOf = new Map<string, string>();
  const index = (n: ChartNode) => {
    keyOf.set(n.id, n.key);
    n.states.forEach(index);
  };
  index(chart.root);
  const details = new Set(layout.transitions.flatMap((t) => t.detail.map((d) => d.slice(0, d.indexOf(':')))));
  const anywhere = edges.filter((t) => t.source === 'anywhere');
  const walk = (n: ChartNode) => {
    for (const t of n.transitions) {
      for (const target of t.targets) {
        const drawn =
          details.has(`${keyOf.get(n.id) ?? ''} → ${keyOf.get(target) ?? ''}`) || anywhere.some((a) => a.target === target && a.labels.includes(t.eventType));
        assert.ok(drawn, `${n.id} → ${target} on ${t.eventType}`);
      }
    }
    n.states.forEach(walk);
  };
  walk(chart.root);
  const pairs = edges.map((t) => `${t.source}->${t.target}`);
  assert.equal(new Set(pairs).size, pairs.length, 'one edge per pair of boxes');
  for (const t of layout.transitions) {
    assert.ok(t.points.length >= 2, `${t.id} has a route`);
    assert.ok(t.label && t.label.lines.length > 0 && t.label.lines.every((l) => l.trim() !== ''), `${t.id} has a label`);
  }
  // shutdown → stopped is drawn once, not from every state
  assert.deepEqual(
    anywhere.map((t) => `${t.target}: ${t.labels.join()}`),
    ['node.stopped: shutdown'],
  );
  const byLabel = (label: string) => edges.filter((t) => t.labels.includes(label)).map((t) => `${t.source}->${t.to}`);
  assert.deepEqual(byLabel('vrrp [vrrpLost]'), ['node.active->node.releasing']);
  assert.ok(edges.some((t) => t.source === 'node.active.mounting.mapping' && t.labels.includes('done')));
});

test('no two arrowheads end on the same point, and no label sits on another', async () => {
  const layout = await layoutPromise;
  const ends = layout.transitions.filter((t) => t.detailOf === null).map((t) => ({ id: t.id, p: t.points[t.points.length - 1] ?? { x: 0, y: 0 } }));
  for (const a of ends) {
    for (const b of ends) {
      if (a.id >= b.id) continue;
      assert.ok(Math.hypot(a.p.x - b.p.x, a.p.y - b.p.y) >= 4, `${a.id} and ${b.id} end at the same point`);
    }
  }
  const labels = layout.transitions.filter((t) => t.detailOf === null).flatMap((t) => (t.label ? [{ id: t.id, ...t.label }] : []));
  for (const a of labels) {
    for (const b of labels) {
      if (a.id >= b.id) continue;
      const apart = a.x + a.width <= b.x + 1 || b.x + b.width <= a.x + 1 || a.y + a.height <= b.y + 1 || b.y + b.height <= a.y + 1;
      assert.ok(apart, `the labels of ${a.id} and ${b.id} overlap`);
    }
  }
});

test('the SVG has every state, every label as text, the folded steps hidden until opened, nothing to fetch', async () => {
  const layout = await layoutPromise;
  const svg = chartSvg(layout);
  for (const id of chart.stateIds.filter((i) => i !== chart.root.id)) assert.ok(svg.includes(`data-state-id="${id}"`), id);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.doesNotMatch(svg, /https?:\/\/(?!www\.w3\.org)/, 'nothing to fetch from anywhere');
  for (const t of layout.transitions)
    for (const line of t.label?.lines ?? [])
      assert.ok(svg.includes(`>${line.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</text>`), line);
  assert.match(svg, /<g class="step-detail" data-step-id="node\.active\.mounting\.mapping">.*data-state-id="node\.active\.mounting\.mapping\.running"/);
  assert.match(svg, /\.step-detail \{ display: none; \}/);
  assert.match(svg, /↻ retries/);
  // every text is 11 px or more: fitted into 1920×1010 at ~0.99 it stays at 10 px
  const sizes = [...svg.matchAll(/(?:font-size: |font: (?:bold )?)(\d+)px/g)].map((m) => Number(m[1]));
  assert.ok(sizes.length >= 6 && sizes.every((px) => px >= 11), sizes.join());
});

test('expandSteps draws each step with its running and backoff states and the retry loop between them', async () => {
  const layout = await layoutChart(chart, { expandSteps: true });
  const map = layout.states.find((s) => s.id === 'node.active.mounting.mapping');
  assert.equal(map?.compound, true);
  assert.ok(layout.states.some((s) => s.id === 'node.active.mounting.mapping.running' && s.detailOf === null));
  const loop = layout.transitions.filter((t) => t.source.startsWith('node.active.mounting.mapping.'));
  assert.deepEqual(loop.map((t) => `${t.source.split('.').pop() ?? ''}->${t.target.split('.').pop() ?? ''}: ${t.labels.join()}`).sort(), [
    'backoff->running: after retryBackoff',
    'running->backoff: error/timeout [canRetry]',
  ]);
});

test('labels: error and timeout of a step read as one, guards of one event together, [else] for the fallback', () => {
  assert.deepEqual(combineLabels(['error [else]', 'vrrp', 'timeout [else]', 'error [else]']), ['error/timeout [else]', 'vrrp']);
  assert.deepEqual(combineLabels(['done [a]', 'done [b]', 'vrrp', 'done [a]']), ['done [a | b]', 'vrrp']);
  const view = operatorView(chart);
  const active = view.root.children.find((c) => c.id === 'node.active') ?? assert.fail('active');
  const fencing = active.edges.find((e) => e.source === 'node.active.fencing' && e.target === 'node.active.acquiring-rbd');
  assert.deepEqual(fencing?.labels, ['done [canFenceAgain]']);
});

test('chart --format svg prints the SVG (--expand-steps: the retry loops too); an unknown format names the allowed ones', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'chart', '--format', 'svg'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^<svg /);
  assert.match(r.stdout, /data-state-id="node\.active\.fencing\.blocklisting\.running"/);
  assert.match(r.stdout, /<g class="state depth-2 leaf step folded[^"]*" data-state-id="node\.active\.fencing\.blocklisting"/);
  const full = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'chart', '--format', 'svg', '--expand-steps'], { encoding: 'utf8' });
  assert.equal(full.status, 0, full.stderr);
  assert.match(full.stdout, /<g class="state depth-2 compound step[^"]*" data-state-id="node\.active\.fencing\.blocklisting"/);
  assert.doesNotMatch(full.stdout, /class="step-detail"/);
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'chart', '--format', 'png'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--format: must be one of json, mermaid, markdown, svg, got "png"/);
});
