import type { Chart, ChartNode } from './walk.js';

/** A state id as Mermaid names it: every character other than a letter or digit becomes `_` (`node.active.vip-lost` → `node_active_vip_lost`). */
export const mermaidId = (id: string) => id.replace(/[^A-Za-z0-9]/g, '_');
const mid = mermaidId;

/**
 * Text Mermaid's stateDiagram grammar takes verbatim after the `:` of a transition or note, and
 * inside the quotes of `state "…" as id`. Mermaid 10.9 and 11 (before 11.17) reject a second `:` on
 * a transition line, 11.17 and 12 on a note line, every version a `"` inside a quoted name; `;`, `#`,
 * `<`, `>`, `{`, `}` and backticks parse but are read as statement ends, entity codes, HTML or
 * Markdown strings when drawn. So `done: map` is spelled `done · map`, and the rest are
 * swapped for look-alikes.
 */
export function mermaidText(text: string): string {
  return text
    .replace(/\s*:\s*/g, ' · ')
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/;/g, ',')
    .replace(/\{/g, '(')
    .replace(/\}/g, ')')
    .replace(/#/g, '＃')
    .replace(/</g, '‹')
    .replace(/>/g, '›')
    .replace(/["`]/g, "'")
    .replace(/ {2,}/g, ' ')
    .trim();
}

/** Folds the retry loop of a step (running ⇄ backoff) into one box: the detail is in the JSON chart. */
export function isStep(n: ChartNode): boolean {
  // what `step()` in src/machine declares in `meta`, never guessed from the children's names
  return n.step !== null && n.states.length > 0;
}

/** What a state runs: a folded step's actor is invoked by its `running` state, so its children count. */
function invokesOf(n: ChartNode): ChartNode['invoke'] {
  return isStep(n) ? [...n.invoke, ...n.states.flatMap((c) => c.invoke)] : n.invoke;
}

/**
 * Mermaid stateDiagram-v2. Mermaid cannot draw an edge between states inside different
 * composites, so each edge is lifted to the children of the source's and target's closest
 * common ancestor; its label keeps the event and guard.
 */
export function toMermaid(chart: Chart): string {
  const parentOf = new Map<string, string | null>();
  const byId = new Map<string, ChartNode>();
  const index = (n: ChartNode, parent: string | null) => {
    parentOf.set(n.id, parent);
    byId.set(n.id, n);
    n.states.forEach((c) => index(c, n.id));
  };
  index(chart.root, null);
  const chain = (id: string): string[] => {
    const out: string[] = [];
    for (let cur: string | null | undefined = id; cur; cur = parentOf.get(cur)) out.unshift(cur);
    return out;
  };
  const drawn = (id: string): string => {
    // a folded step is drawn as its step node
    const c = chain(id);
    for (const a of c) {
      const n = byId.get(a);
      if (n && isStep(n)) return a;
    }
    return id;
  };

  const edges = new Map<string, Set<string>>();
  const addEdge = (from: string, to: string, label: string) => {
    const k = `${from}\t${to}`;
    const set = edges.get(k) ?? new Set<string>();
    set.add(label);
    edges.set(k, set);
  };
  const visit = (n: ChartNode) => {
    for (const t of n.transitions) {
      const label = mermaidText(t.guard ? `${t.label} [${t.guard}]` : t.label);
      if (t.targets.length === 0) continue;
      for (const target of t.targets) {
        const s = chain(drawn(n.id));
        const d = chain(drawn(target));
        let i = 0;
        while (i < s.length && i < d.length && s[i] === d[i]) i++;
        // self loops (retries inside a folded step) are left out
        if (i === s.length && i === d.length) continue;
        const from = s[Math.min(i, s.length - 1)] ?? n.id;
        const to = d[Math.min(i, d.length - 1)] ?? target;
        if (from === to) continue;
        addEdge(from, to, label);
      }
    }
    n.states.forEach(visit);
  };
  visit(chart.root);

  const edgeLine = (from: string, to: string, labels: Set<string>): string => {
    const text = [...labels].filter((l) => l !== '').join(' / ');
    return text ? `${mid(from)} --> ${mid(to)}: ${text}` : `${mid(from)} --> ${mid(to)}`;
  };

  const lines = ['stateDiagram-v2'];
  const emit = (n: ChartNode, indent: string) => {
    const id = mid(n.id);
    const invokes = invokesOf(n).map((i) => i.src);
    const label = mermaidText(invokes.length > 0 ? `${n.key} (${invokes.join(', ')})` : n.key);
    const children = isStep(n) ? [] : n.states;
    if (children.length === 0) {
      lines.push(`${indent}state "${label}" as ${id}`);
      if (n.type === 'final') lines.push(`${indent}${id} --> [*]`);
      return;
    }
    lines.push(`${indent}state "${label}" as ${id} {`);
    if (n.initial) lines.push(`${indent}  [*] --> ${mid(n.initial)}`);
    children.forEach((c) => emit(c, `${indent}  `));
    for (const [k, labels] of edges) {
      const [from, to] = k.split('\t') as [string, string];
      if (parentOf.get(from) === n.id) lines.push(`${indent}  ${edgeLine(from, to, labels)}`);
    }
    lines.push(`${indent}}`);
  };
  // the root's children are the top level of the diagram
  const root = chart.root;
  if (root.initial) lines.push(`  [*] --> ${mid(root.initial)}`);
  root.states.forEach((c) => emit(c, '  '));
  for (const [k, labels] of edges) {
    const [from, to] = k.split('\t') as [string, string];
    if (parentOf.get(from) === root.id) lines.push(`  ${edgeLine(from, to, labels)}`);
  }
  const rootEvents = root.transitions.map((t) => t.label).join(', ');
  if (rootEvents) lines.push(`  note right of ${mid(root.initial ?? root.id)}: ${mermaidText(`anywhere, recorded in context: ${rootEvents}`)}`);
  return `${lines.join('\n')}\n`;
}

/** docs/statechart.md: the generated chart and a table of the states with their descriptions. */
export function statechartMarkdown(chart: Chart): string {
  const rows: string[] = [];
  // a step's own states (running, backoff) are the step's row
  const walk = (n: ChartNode, depth: number) => {
    if (depth > 0)
      rows.push(
        `| \`${n.id.replace(/^node\./, '')}\` | ${invokesOf(n)
          .map((i) => `\`${i.src}\``)
          .join(', ')} | ${n.description ?? ''} |`,
      );
    if (!isStep(n)) n.states.forEach((c) => walk(c, depth + 1));
  };
  walk(chart.root, 0);
  return [
    '# The node statechart',
    '',
    '<!-- generated by `harbor-assistant chart --format markdown` from src/machine; do not edit (a test fails when stale) -->',
    '',
    'Each step that runs an outside command has a `running` state (the command, with its named timeout) and a',
    '`backoff` state (waits, then tries again while attempts are left); the diagram folds them into one box.',
    '`harbor-assistant chart --format json` lists every state and transition.',
    '',
    '```mermaid',
    toMermaid(chart).trimEnd(),
    '```',
    '',
    '| state | runs | what it means |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
