import type { Chart, ChartNode, ChartTransition, TransitionKind } from './walk.js';

/**
 * The operator's view of the chart: what the SVG and the live viewer draw.
 *
 * - A step (a state whose `meta.step` names the actor it runs) is one box; its `running` and
 *   `backoff` states are folded into it (the viewer shows them on demand) unless `expandSteps`.
 * - Every edge joins two siblings, so each compound can be laid out on its own: a transition
 *   from deep inside `active` to `releasing` is drawn once from `active` (like Mermaid). Parallel
 *   transitions between the same two boxes become one edge listing every event.
 * - A transition that every top-level state takes to the same target (`shutdown` → `stopped`) is
 *   drawn once, from an "any state" marker, instead of an arrow from each state.
 */

export interface ViewEdge {
  id: string;
  source: string;
  target: string;
  /** The state the edge leads to, when `target` is a `goto` marker standing for it. */
  to?: string;
  kind: TransitionKind;
  /** What takes it, short: `done`, `error/timeout [else]`, `vrrp [vrrpLost]`, `done [servingIntact] → serving`. */
  labels: string[];
  /** Every transition it stands for, `reading → yielding: done [concurrentClaim]`: the hover title. */
  detail: string[];
}

export type ViewNodeKind = 'state' | 'step' | 'anywhere' | 'goto';

export interface ViewNode {
  id: string;
  key: string;
  kind: ViewNodeKind;
  type: string;
  description: string | null;
  tags: string[];
  /** The actor a step runs. */
  step: string | null;
  /** A `goto` marker: the state it stands for. */
  goto: string | null;
  /** A `goto` marker back to an earlier state (`↩ idle`), not on to a later one (`→ releasing`). */
  back?: boolean;
  initial: boolean;
  /** 0 for the top-level states. */
  depth: number;
  children: ViewNode[];
  /** Edges between `children`. */
  edges: ViewEdge[];
  /** A folded step's own states (running, backoff) and the edges between them: drawn on demand. */
  folded: ViewNode[];
  foldedEdges: ViewEdge[];
}

export interface OperatorView {
  machine: string;
  root: ViewNode;
  /** Events every state handles in place (recorded in context): the "any state" marker's note. */
  recordedAnywhere: string[];
}

export interface ViewOptions {
  /** Draw each step's running and backoff states instead of one box. */
  expandSteps?: boolean;
}

/** The id of the "any state" marker: not a state of the machine. */
export const ANYWHERE_ID = 'anywhere';

/** `after mapTimeout` of the step `map` is its timeout (the name `timeoutDelay()` in src/machine gives it). */
const isStepTimeout = (delay: string, step: string | null) => step !== null && delay === `${step}Timeout`;

function guardText(t: ChartTransition): string {
  if (!t.guard) return '';
  const params = t.guardParams ? Object.values(t.guardParams).map(String) : [];
  return [t.guard, ...params].join(' ');
}

/** The event as the operator's chart names it; `step` is the step the transition belongs to. */
function eventText(t: ChartTransition, step: string | null): string {
  switch (t.kind) {
    case 'done':
      return 'done';
    case 'error':
      return 'error';
    case 'always':
      return '';
    case 'after': {
      const delay = t.eventType.split('.')[2] ?? '';
      return isStepTimeout(delay, step) ? 'timeout' : `after ${delay}`;
    }
    default:
      return t.eventType;
  }
}

/**
 * `[else]` marks the unguarded last choice after guarded ones for the same event: without it
 * `done` to releasing would read as if every `done` went there.
 */
function labelOf(t: ChartTransition, fallback: boolean, step: string | null): string {
  const guard = guardText(t);
  const condition = guard ? `[${guard}]` : fallback ? '[else]' : '';
  const event = eventText(t, step);
  if (!event) return condition || 'always';
  return condition ? `${event} ${condition}` : event;
}

/** `[a]`, `[b]` → `[a | b]`: the conditions of one event on one edge, read together. */
function mergeGuards(labels: string[]): string[] {
  const out: Array<{ event: string; guards: string[] }> = [];
  for (const label of labels) {
    const m = /^(.*?) ?\[(.*)\]$/.exec(label);
    const event = m ? (m[1] ?? '') : label;
    const guard = m ? m[2] : undefined;
    const same = out.find((o) => o.event === event && (guard === undefined) === (o.guards.length === 0));
    if (same && guard !== undefined && !same.guards.includes(guard)) same.guards.push(guard);
    else if (!same) out.push({ event, guards: guard === undefined ? [] : [guard] });
  }
  return out.map((o) => (o.guards.length === 0 ? o.event : `${o.event}${o.event ? ' ' : ''}[${o.guards.join(' | ')}]`));
}

/**
 * One label per way through: duplicates dropped, `error X` and `timeout X` (every step fails
 * the same way on both) as `error/timeout X`, the guards of one event together.
 */
export function combineLabels(labels: string[]): string[] {
  const unique = [...new Set(labels)];
  const paired = unique.flatMap((label) => {
    if (label.startsWith('timeout') && unique.includes(`error${label.slice('timeout'.length)}`)) return [];
    if (label.startsWith('error') && unique.includes(`timeout${label.slice('error'.length)}`)) return [`error/timeout${label.slice('error'.length)}`];
    return [label];
  });
  return mergeGuards(paired);
}

/** For each transition of a node: whether it is the unguarded fallback after guarded ones. */
function fallbacks(n: ChartNode): boolean[] {
  const guarded = new Set<string>();
  return n.transitions.map((t) => {
    const fallback = !t.guard && guarded.has(t.eventType);
    if (t.guard) guarded.add(t.eventType);
    return fallback;
  });
}

interface Index {
  byId: Map<string, ChartNode>;
  parentOf: Map<string, string | null>;
}

function indexOf(chart: Chart): Index {
  const byId = new Map<string, ChartNode>();
  const parentOf = new Map<string, string | null>();
  const visit = (n: ChartNode, parent: string | null) => {
    byId.set(n.id, n);
    parentOf.set(n.id, parent);
    n.states.forEach((c) => visit(c, n.id));
  };
  visit(chart.root, null);
  return { byId, parentOf };
}

/** Root first, `id` last. */
function chainOf(index: Index, id: string): string[] {
  const out: string[] = [];
  for (let cur: string | null | undefined = id; cur; cur = index.parentOf.get(cur)) out.unshift(cur);
  return out;
}

/**
 * Where an edge from `from` to `to` is drawn: between the children of their closest common
 * ancestor (`[owner, source, target]`). A state re-entering itself, or one of its own
 * descendants, is a loop on its box.
 */
function siblingsOf(index: Index, from: string, to: string): [string, string, string] {
  const s = chainOf(index, from);
  const d = chainOf(index, to);
  let common = 0;
  while (common < s.length && common < d.length && s[common] === d[common]) common++;
  if (common === s.length || common === d.length) {
    const outer = common === s.length ? from : to;
    return [index.parentOf.get(outer) ?? outer, outer, outer];
  }
  const owner = s[common - 1] ?? from;
  return [owner, s[common] ?? from, d[common] ?? to];
}

const isFoldable = (n: ChartNode) => n.step !== null && n.states.length > 0;

/**
 * Transitions every top-level state (but the target and final states) takes on the same event to
 * the same target, as `event\ttarget` keys: `shutdown\tnode.stopped`.
 */
function globalExits(chart: Chart): Set<string> {
  const tops = chart.root.states.filter((s) => s.type !== 'final');
  const candidates = new Set(
    tops.flatMap((s) => s.transitions.filter((t) => t.kind === 'event').flatMap((t) => t.targets.map((target) => `${t.eventType}\t${target}`))),
  );
  const global = new Set<string>();
  for (const key of candidates) {
    const [event, target] = key.split('\t') as [string, string];
    const takers = tops.filter((s) => s.id !== target);
    if (takers.length >= 3 && takers.every((s) => s.transitions.some((t) => t.eventType === event && t.targets.includes(target)))) global.add(key);
  }
  return global;
}

class EdgeSet {
  private readonly edges = new Map<string, { edge: ViewEdge; labels: string[] }>();
  constructor(private readonly prefix: string) {}

  add(owner: string, source: string, target: string, kind: TransitionKind, label: string, detail: string): void {
    const key = `${owner}\t${source}\t${target}`;
    let e = this.edges.get(key);
    if (!e) {
      e = { edge: { id: `${this.prefix}:${source}->${target}`, source, target, kind, labels: [], detail: [] }, labels: [] };
      this.edges.set(key, e);
    }
    e.labels.push(label);
    e.edge.detail.push(detail);
  }

  ownedBy(owner: string): ViewEdge[] {
    return [...this.edges.entries()].filter(([k]) => k.startsWith(`${owner}\t`)).map(([, e]) => ({ ...e.edge, labels: combineLabels(e.labels) }));
  }
}

/** A state that keeps the node out (unfit): entered only from the flow. */
export const isHolding = (n: ViewNode) => n.tags.includes('unfit');
/** A takeover or a release: the main flow, a block of its own phases or steps. */
export const isFlow = (n: ViewNode) =>
  n.kind !== 'anywhere' && n.kind !== 'goto' && (n.tags.includes('release') || n.children.some((c) => c.tags.includes('takeover')));

/**
 * The top level is drawn as a band of start-up states (`booting`, `idle`) above the flow blocks
 * (`active`, then `releasing`), the holding states right of the block that enters them. Only the
 * arrows that run along that shape are drawn as arrows, each state entered by one of them:
 * start-up to start-up forward, start-up down into the first block, a block to a later block, a
 * block to a holding state, and a state to itself. Every other edge (back to `idle` after a
 * cool-down, to `booting` on resume, from `booting` straight to `releasing`) would run across the
 * chart and pile onto its target: it ends at a small chip naming the target instead, next to
 * where it starts.
 */
function jumpsAsGotos(root: ViewNode): void {
  const order = new Map(root.children.map((c, i) => [c.id, i]));
  const byId = new Map(root.children.map((c) => [c.id, c]));
  const firstBlock = root.children.find(isFlow);
  const isBand = (n: ViewNode) => !isFlow(n) && !isHolding(n) && n.kind !== 'anywhere';
  const entered = new Set<string>();
  const drawn = (source: ViewNode, target: ViewNode): boolean => {
    if (source.id === target.id || source.kind === 'anywhere') return true;
    if (isBand(source) && target === firstBlock) return true;
    if (entered.has(target.id)) return false;
    const ahead = (order.get(target.id) ?? 0) > (order.get(source.id) ?? 0);
    const along = (isBand(source) && isBand(target) && ahead) || (isFlow(source) && isFlow(target) && ahead) || (isFlow(source) && isHolding(target));
    if (along) entered.add(target.id);
    return along;
  };
  root.edges = root.edges.map((e) => {
    const target = byId.get(e.target);
    const source = byId.get(e.source);
    if (!target || !source || drawn(source, target)) return e;
    const back = (order.get(target.id) ?? 0) <= (order.get(source.id) ?? 0);
    const id = `goto:${e.source}->${e.target}`;
    root.children.push({
      id,
      key: target.key,
      kind: 'goto',
      type: 'goto',
      description: `${back ? 'back' : 'on'} to ${target.key}`,
      tags: [],
      step: null,
      goto: target.id,
      back,
      initial: false,
      depth: 0,
      children: [],
      edges: [],
      folded: [],
      foldedEdges: [],
    });
    return { ...e, target: id, to: e.target };
  });
}

/** The operator's view of `chart` (see the top of this file). */
export function operatorView(chart: Chart, options: ViewOptions = {}): OperatorView {
  const index = indexOf(chart);
  const expand = options.expandSteps ?? false;
  const keyOf = (id: string) => index.byId.get(id)?.key ?? id;
  /** The box a state is drawn in: a folded step's own states are drawn as the step. */
  const drawnOf = (id: string): string => {
    if (expand) return id;
    for (const a of chainOf(index, id)) {
      const n = index.byId.get(a);
      if (n && isFoldable(n)) return a;
    }
    return id;
  };
  /** The step a state belongs to (itself, or the step whose running/backoff it is). */
  const stepOf = (id: string): string | null => {
    for (const a of chainOf(index, id).reverse()) {
      const s = index.byId.get(a)?.step;
      if (s) return s;
    }
    return null;
  };

  const global = globalExits(chart);
  const edges = new EdgeSet('t');
  const folded = new EdgeSet('f');
  const visit = (n: ChartNode) => {
    const isTop = index.parentOf.get(n.id) === chart.root.id;
    fallbacks(n).forEach((fallback, i) => {
      const t = n.transitions[i];
      if (!t) return;
      const label = labelOf(t, fallback, stepOf(n.id));
      for (const target of t.targets) {
        if (isTop && global.has(`${t.eventType}\t${target}`)) continue;
        const detail = `${keyOf(n.id)} → ${keyOf(target)}: ${label}`;
        const from = drawnOf(n.id);
        const to = drawnOf(target);
        if (from === to && from !== n.id) {
          // a step's retry loop (running ⇄ backoff): the folded detail
          folded.add(from, n.id, target, t.kind, label, detail);
          continue;
        }
        const [owner, source, sibling] = siblingsOf(index, from, to);
        const into = sibling !== to ? ` → ${keyOf(to)}` : '';
        edges.add(owner, source, sibling, t.kind, `${label}${into}`, detail);
      }
    });
    n.states.forEach(visit);
  };
  visit(chart.root);

  const nodeOf = (n: ChartNode, depth: number, initial: boolean): ViewNode => {
    const fold = !expand && isFoldable(n);
    const children = n.states.map((c) => nodeOf(c, depth + 1, n.initial === c.id));
    return {
      id: n.id,
      key: n.key,
      kind: n.step !== null ? 'step' : 'state',
      type: n.type,
      description: n.description,
      tags: n.tags,
      step: n.step,
      goto: null,
      initial,
      depth,
      children: fold ? [] : children,
      edges: fold ? [] : edges.ownedBy(n.id),
      folded: fold ? children : [],
      foldedEdges: fold ? folded.ownedBy(n.id) : [],
    };
  };

  const root = nodeOf(chart.root, -1, false);
  const anywhere = [...global].map((k) => k.split('\t') as [string, string]);
  if (anywhere.length > 0) {
    root.children.push({
      id: ANYWHERE_ID,
      key: 'any state',
      kind: 'anywhere',
      type: 'anywhere',
      description: 'Every state takes these transitions; drawn once instead of an arrow from each state.',
      tags: [],
      step: null,
      goto: null,
      initial: false,
      depth: 0,
      children: [],
      edges: [],
      folded: [],
      foldedEdges: [],
    });
    for (const [event, target] of anywhere) {
      root.edges.push({
        id: `t:${ANYWHERE_ID}->${target}`,
        source: ANYWHERE_ID,
        target,
        kind: 'event',
        labels: [event],
        detail: [`any state → ${keyOf(target)}: ${event}`],
      });
    }
  }
  jumpsAsGotos(root);
  const recordedAnywhere = chart.root.transitions.filter((t) => t.targets.length === 0).map((t) => t.eventType);
  return { machine: chart.machine, root, recordedAnywhere };
}
