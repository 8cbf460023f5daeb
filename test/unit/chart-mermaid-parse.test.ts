import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Chart, ChartNode } from '../../src/chart/index.js';
import { mermaidId, mermaidText, toMermaid } from '../../src/chart/mermaid.js';

// The chart is checked with Mermaid's own parser (the one GitHub runs), not a regex of its grammar.
// Mermaid needs a DOM even to parse (DOMPurify binds to `window` when mermaid is imported), so a
// jsdom window is made global first and mermaid is imported after it; the window is closed at the end
// so no timer keeps the test process alive.

interface DomWindow {
  document: unknown;
  close(): void;
}
type MermaidApi = { initialize(config: object): void; parse(text: string): Promise<unknown> };

// each format is asked of the CLI once (a tsx start-up costs seconds)
const outputs = new Map<string, string>();
const cli = (...args: string[]) => {
  const cached = outputs.get(args.join(' '));
  if (cached !== undefined) return cached;
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, HARBOR_VIP: undefined },
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  outputs.set(args.join(' '), r.stdout);
  return r.stdout;
};

const globals = globalThis as Record<string, unknown>;
let dom: { window: DomWindow } | undefined;
let mermaid: MermaidApi;

before(async () => {
  // jsdom ships no types; only its constructor and window.close() are used here
  const jsdomModule = 'jsdom';
  const { JSDOM } = (await import(jsdomModule)) as { JSDOM: new (html: string) => { window: DomWindow } };
  dom = new JSDOM('<!doctype html><html><body></body></html>');
  globals.window = dom.window;
  globals.document = dom.window.document;
  mermaid = (await import('mermaid')).default;
  mermaid.initialize({ startOnLoad: false });
});

after(() => {
  dom?.window.close();
  delete globals.window;
  delete globals.document;
});

/** Resolves when Mermaid accepts the text; the rejection carries Mermaid's own message (line, token). */
async function parses(text: string): Promise<void> {
  await assert.doesNotReject(() => mermaid.parse(text));
}

function mermaidBlock(markdown: string): string {
  const m = /^```mermaid\n([\s\S]*?)\n```$/m.exec(markdown);
  assert.ok(m?.[1], 'docs/statechart.md has a ```mermaid block');
  return `${m[1]}\n`;
}

test('chart --format mermaid is accepted by the Mermaid parser', async () => {
  const text = cli('chart', '--format', 'mermaid');
  assert.match(text, /^stateDiagram-v2\n/);
  await parses(text);
});

test('the mermaid block in docs/statechart.md is accepted by the Mermaid parser', async () => {
  await parses(mermaidBlock(readFileSync(new URL('../../docs/statechart.md', import.meta.url), 'utf8')));
});

test('every state of chart --format json is drawn under its Mermaid id (a folded step under the step)', () => {
  const chart = JSON.parse(cli('chart', '--format', 'json')) as Chart;
  const text = cli('chart', '--format', 'mermaid');
  const declarations = [...text.matchAll(/^\s*state "[^"\n]*" as (\S+)/gm)].map((m) => m[1]);
  const declared = new Set(declarations);
  assert.equal(declared.size, declarations.length, 'each state is declared once');
  // ids stay distinct once sanitized
  assert.equal(new Set(chart.stateIds.map(mermaidId)).size, chart.stateIds.length);
  const isStep = (n: ChartNode) => n.step !== null;
  const walk = (n: ChartNode, drawnAs: string | null) => {
    // the root is the diagram itself; running/backoff inside a step are drawn as the step's box
    if (n !== chart.root) {
      const id = mermaidId(drawnAs ?? n.id);
      assert.ok(declared.has(id), `${n.id} is drawn as ${id}`);
    }
    const fold = drawnAs ?? (isStep(n) ? n.id : null);
    n.states.forEach((c) => walk(c, fold));
  };
  walk(chart.root, null);
  // every edge and note refers to a declared state
  for (const m of text.matchAll(/^\s*(\S+) --> (\S+?)(?::|$)/gm)) {
    for (const end of [m[1] ?? '', m[2] ?? '']) if (end !== '[*]') assert.ok(declared.has(end), `edge end ${end} is a declared state`);
  }
  for (const m of text.matchAll(/^\s*note (?:left|right) of (\S+):/gm)) assert.ok(declared.has(m[1] ?? ''), `note on ${m[1] ?? ''}`);
});

test('labels and notes carry no second colon and none of ; { } # < > " ` (events and guards still shown)', () => {
  const text = cli('chart', '--format', 'mermaid');
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon >= 0) assert.doesNotMatch(line.slice(colon + 1), /[:;{}#<>"`]/, line);
    const name = /state "([^\n]*)" as/.exec(line)?.[1];
    if (name !== undefined) assert.doesNotMatch(name, /[:;{}#<>"`]/, line);
  }
  assert.match(text, /node_active --> node_releasing: vrrp \[vrrpLost\]/);
  assert.match(text, /node_releasing_stopping_harbor --> node_releasing_unmounting: done · composeDown\n/);
  assert.match(text, / error · readHolders \/ after readHoldersTimeout /);
  assert.match(text, /note right of node_booting: anywhere, recorded in context · vrrp, health\.healthy/);
});

test('names, events and guards with characters Mermaid cannot take are spelled safely and still parse', async () => {
  assert.equal(mermaidText('done: map'), 'done · map');
  assert.equal(mermaidText('a;b {c} #1 <x> "q" `m`\nnext'), "a,b (c) ＃1 ‹x› 'q' 'm' next");
  const leaf = (id: string, key: string, extra: Partial<ChartNode> = {}): ChartNode => ({
    id,
    key,
    type: 'atomic',
    description: null,
    tags: [],
    step: null,
    initial: null,
    invoke: [],
    transitions: [],
    states: [],
    ...extra,
  });
  const nasty = 'x: y; {z} #1 <b> "q" `m`\nz';
  const root: ChartNode = {
    ...leaf('m', 'm'),
    type: 'compound',
    initial: 'm.a:1',
    transitions: [{ kind: 'event', label: nasty, eventType: nasty, targets: [], guard: null, actions: [] }],
    states: [
      leaf('m.a:1', 'a "one": 1', {
        invoke: [{ id: 'i', src: 'run: it' }],
        transitions: [
          { kind: 'done', label: 'done: run: it', eventType: 'xstate.done.actor.i', targets: ['m.b-2'], guard: 'ok: {yes}', actions: [] },
          { kind: 'event', label: nasty, eventType: nasty, targets: ['m.b-2'], guard: '#<g>;', actions: [] },
        ],
      }),
      leaf('m.b-2', 'b;2 <final>', { type: 'final' }),
    ],
  };
  const chart: Chart = { machine: 'm', stateIds: ['m', 'm.a:1', 'm.b-2'], root };
  const text = toMermaid(chart);
  assert.match(text, /state "a 'one' · 1 \(run · it\)" as m_a_1/);
  assert.match(text, /m_a_1 --> m_b_2: done · run · it \[ok · \(yes\)\] \/ x · y, \(z\) ＃1 ‹b› 'q' 'm' z \[＃‹g›,\]/);
  await parses(text);
});
