import elkModule, { type ElkExtendedEdge, type ElkLabel, type ElkNode } from 'elkjs/lib/elk.bundled.js';
import { compose, rowsBlock, type Route } from './compose.js';
import { FONT, LABEL_LINE, LABEL_PAD, packLines, textWidth } from './text.js';
import { isHolding, operatorView, type ViewEdge, type ViewNode, type ViewOptions } from './view.js';
import type { Chart, TransitionKind } from './walk.js';

// a CommonJS module whose constructor is both module.exports and its `default`
const ELK = elkModule.default;

/** A box with absolute coordinates: a state, or the "any state" marker (`kind: 'anywhere'`). */
export interface LaidOutState extends Pick<ViewNode, 'id' | 'key' | 'kind' | 'type' | 'description' | 'tags' | 'step' | 'goto' | 'initial' | 'depth'> {
  /** A `goto` marker back to an earlier state (`↩ idle`), not on to a later one (`→ releasing`). */
  back: boolean;
  compound: boolean;
  /** A step drawn as one box, its own states in a detail card shown on demand. */
  folded: boolean;
  /** Set on a folded step's own states: the step whose detail card holds them. */
  detailOf: string | null;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LaidOutLabel {
  lines: string[];
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LaidOutTransition {
  id: string;
  source: string;
  target: string;
  /** The state it leads to when `target` is a `goto` marker. */
  to: string;
  kind: TransitionKind;
  labels: string[];
  /** Every transition the edge stands for (the hover title). */
  detail: string[];
  points: Array<{ x: number; y: number }>;
  label: LaidOutLabel | null;
  detailOf: string | null;
}

/** The card a folded step opens into (the viewer shows it on a click). */
export interface StepDetail {
  stepId: string;
  title: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ChartLayout {
  machine: string;
  width: number;
  height: number;
  states: LaidOutState[];
  transitions: LaidOutTransition[];
  details: StepDetail[];
  /** Events handled in every state without leaving it. */
  recordedAnywhere: string[];
}

const LEAF_HEIGHT = 32;
const STEP_HEIGHT = 48;
const ANYWHERE_HEIGHT = 28;
/** Room for a compound state's name above its children. */
const COMPOUND_TOP = 30;
const BADGE_TEXT = '↻ retries';

export const badgeWidth = () => textWidth(BADGE_TEXT, FONT.small) + 10;
export { BADGE_TEXT };

/** A `goto` marker's text: `↩ idle` back, `→ releasing` on. */
export const gotoText = (key: string, back: boolean) => `${back ? '↩' : '→'} ${key}`;

function leafSize(n: ViewNode): { width: number; height: number } {
  if (n.kind === 'goto') return { width: textWidth(gotoText(n.key, n.back ?? true), FONT.small, true) + 18, height: ANYWHERE_HEIGHT - 4 };
  if (n.kind === 'anywhere') return { width: textWidth(n.key, FONT.small, true) + 24, height: ANYWHERE_HEIGHT };
  if (n.kind === 'step' && n.children.length === 0) {
    const second = textWidth(n.step ?? '', FONT.small) + 8 + badgeWidth();
    return { width: Math.max(textWidth(n.key, FONT.state, true), second) + 24, height: STEP_HEIGHT };
  }
  return { width: Math.max(70, textWidth(n.key, FONT.state, true) + 24), height: LEAF_HEIGHT };
}

function labelOf(e: ViewEdge): ElkLabel & { lines: string[] } {
  const lines = packLines(e.labels);
  const width = Math.max(...lines.map((l) => textWidth(l, FONT.label))) + 2 * LABEL_PAD;
  return { id: `${e.id}:label`, text: lines.join('\n'), lines, width, height: lines.length * LABEL_LINE + LABEL_PAD };
}

/**
 * Inside a block ELK lays out, layers run down (`releasing`'s steps), right inside a phase (its
 * steps); the top level and the rows of `active` and `mounting` are placed by compose.ts.
 */
const directionAt = (depth: number) => (depth % 2 === 0 ? 'DOWN' : 'RIGHT');

/** A holding state with steps of its own (`yielding`) sits in a column of one-line boxes: it runs across, not down. */
const directionOf = (n: ViewNode) => (isHolding(n) && n.depth === 0 ? 'RIGHT' : directionAt(n.depth));

/** A phase with many steps (mounting) wraps its chain into rows, in reading order. */
function wrapping(n: ViewNode): Record<string, string> {
  if (n.depth < 1 || n.children.length <= 4) return {};
  return { 'elk.layered.wrapping.strategy': 'MULTI_EDGE', 'elk.aspectRatio': '1.8' };
}

function containerOptions(n: ViewNode): Record<string, string> {
  const top = n.depth < 0 ? 16 : COMPOUND_TOP;
  return {
    'elk.algorithm': 'layered',
    'elk.direction': directionOf(n),
    // the machine is written in takeover order: keep it, and break cycles against it
    'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
    'elk.layered.cycleBreaking.strategy': 'MODEL_ORDER',
    'elk.layered.crossingMinimization.forceNodeModelOrder': 'false',
    'elk.edgeRouting': 'ORTHOGONAL',
    'elk.edgeLabels.placement': 'CENTER',
    'elk.layered.mergeEdges': 'false',
    'elk.layered.spacing.nodeNodeBetweenLayers': '14',
    'elk.layered.spacing.edgeNodeBetweenLayers': '8',
    'elk.layered.spacing.edgeEdgeBetweenLayers': '6',
    'elk.spacing.nodeNode': '14',
    'elk.spacing.edgeNode': '8',
    'elk.spacing.edgeEdge': '6',
    'elk.spacing.edgeLabel': '4',
    'elk.spacing.labelNode': '4',
    'elk.padding': `[top=${top},left=14,bottom=14,right=14]`,
    'elk.nodeSize.minimum': `(${textWidth(n.key, FONT.title, true) + 30}, 40)`,
    ...wrapping(n),
    // a holding state's steps sit at the chart's right edge, where every pixel widens the drawing
    ...(isHolding(n)
      ? {
          'elk.layered.spacing.nodeNodeBetweenLayers': '8',
          'elk.layered.spacing.edgeNodeBetweenLayers': '4',
          'elk.padding': `[top=${top},left=8,bottom=14,right=8]`,
        }
      : {}),
  };
}

interface Built {
  graph: ElkNode;
  nodes: Map<string, ViewNode>;
  edges: Map<string, ViewEdge>;
  labels: Map<string, string[]>;
}

/** One block of the top level (`active`, `releasing`) as an ELK graph of its own. */
function toElk(block: ViewNode): Built {
  const nodes = new Map<string, ViewNode>();
  const edges = new Map<string, ViewEdge>();
  const labels = new Map<string, string[]>();
  const build = (n: ViewNode): ElkNode => {
    nodes.set(n.id, n);
    if (n.children.length === 0) return { id: n.id, ...leafSize(n) };
    const elkEdges: ElkExtendedEdge[] = n.edges.map((e) => {
      edges.set(e.id, e);
      const label = labelOf(e);
      labels.set(e.id, label.lines);
      return { id: e.id, sources: [e.source], targets: [e.target], labels: [label] };
    });
    return { id: n.id, children: n.children.map(build), edges: elkEdges, layoutOptions: containerOptions(n) };
  };
  const graph = build(block);
  graph.layoutOptions = {
    ...graph.layoutOptions,
    'elk.hierarchyHandling': 'SEPARATE_CHILDREN',
    'elk.json.edgeCoords': 'ROOT',
    'elk.json.shapeCoords': 'ROOT',
  };
  return { graph, nodes, edges, labels };
}

const CARD_PAD = 10;
const CARD_TOP = 26;
const CARD_GAP_MIN = 60;

/**
 * A folded step's own states side by side in a card under its box, the edges between them as
 * two straight arrows (forward above, back below). Fixed geometry: the card opens on top of the
 * chart without moving anything.
 */
function detailCard(step: LaidOutState, n: ViewNode, chartWidth: number): { card: StepDetail; states: LaidOutState[]; transitions: LaidOutTransition[] } {
  const sizes = n.folded.map((c) => ({ c, ...leafSize(c) }));
  const labelled = n.foldedEdges.map((e) => ({ e, lines: packLines(e.labels) }));
  const gap = Math.max(CARD_GAP_MIN, ...labelled.flatMap((l) => l.lines.map((line) => textWidth(line, FONT.label) + 24)));
  const height = CARD_TOP + LEAF_HEIGHT + 2 * LABEL_LINE + CARD_PAD + 6;
  const width = sizes.reduce((w, s) => w + s.width, 0) + gap * Math.max(0, sizes.length - 1) + 2 * CARD_PAD;
  const x = Math.max(0, Math.min(step.x, chartWidth - width));
  const y = step.y + step.height + 6;
  const card: StepDetail = { stepId: step.id, title: `${step.key}: each attempt, and the wait before the next`, x, y, width, height };
  let left = x + CARD_PAD;
  const boxY = y + CARD_TOP + LABEL_LINE;
  const states = sizes.map(({ c, width: w, height: h }): LaidOutState => {
    const s: LaidOutState = { ...stateOf(c, false), detailOf: step.id, x: left, y: boxY, width: w, height: h };
    left += w + gap;
    return s;
  });
  const at = new Map(states.map((s) => [s.id, s]));
  const transitions = labelled.flatMap(({ e, lines }): LaidOutTransition[] => {
    const a = at.get(e.source);
    const b = at.get(e.target);
    if (!a || !b) return [];
    const forward = a.x < b.x;
    const yLine = forward ? boxY + 10 : boxY + LEAF_HEIGHT - 10;
    const [x1, x2] = forward ? [a.x + a.width, b.x] : [a.x, b.x + b.width];
    const labelWidth = Math.max(...lines.map((l) => textWidth(l, FONT.label))) + 2 * LABEL_PAD;
    const labelY = forward ? boxY - LABEL_LINE - 2 : boxY + LEAF_HEIGHT + 2;
    const label = { lines, x: (x1 + x2) / 2 - labelWidth / 2, y: labelY, width: labelWidth, height: lines.length * LABEL_LINE + LABEL_PAD };
    return [
      {
        id: e.id,
        source: e.source,
        target: e.target,
        to: e.target,
        kind: e.kind,
        labels: e.labels,
        detail: e.detail,
        points: [
          { x: x1, y: yLine },
          { x: x2, y: yLine },
        ],
        label,
        detailOf: step.id,
      },
    ];
  });
  return { card, states, transitions };
}

function stateOf(n: ViewNode, compound: boolean): Omit<LaidOutState, 'x' | 'y' | 'width' | 'height' | 'detailOf'> {
  return {
    id: n.id,
    key: n.key,
    kind: n.kind,
    type: n.type,
    description: n.description,
    tags: n.tags,
    step: n.step,
    goto: n.goto,
    back: n.back ?? true,
    compound,
    folded: n.folded.length > 0,
    initial: n.initial,
    depth: n.depth,
  };
}

/** A block laid out by ELK, at its own origin. */
interface Block {
  width: number;
  height: number;
  states: LaidOutState[];
  transitions: LaidOutTransition[];
}

async function layoutBlock(elk: InstanceType<typeof ELK>, block: ViewNode): Promise<Block> {
  const { graph, nodes, edges, labels } = toElk(block);
  const laid = await elk.layout(graph);
  const states: LaidOutState[] = [];
  const transitions: LaidOutTransition[] = [];
  const collect = (e: ElkNode) => {
    const n = nodes.get(e.id);
    if (n && n !== block)
      states.push({ ...stateOf(n, n.children.length > 0), detailOf: null, x: e.x ?? 0, y: e.y ?? 0, width: e.width ?? 0, height: e.height ?? 0 });
    for (const edge of e.edges ?? []) {
      const v = edges.get(edge.id);
      if (!v) continue;
      const points = (edge.sections ?? []).flatMap((s) => [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]);
      const l = edge.labels?.[0];
      const label =
        l && l.x !== undefined && l.y !== undefined ? { lines: labels.get(edge.id) ?? [], x: l.x, y: l.y, width: l.width ?? 0, height: l.height ?? 0 } : null;
      transitions.push({
        id: v.id,
        source: v.source,
        target: v.target,
        to: v.to ?? v.target,
        kind: v.kind,
        labels: v.labels,
        detail: v.detail,
        points,
        label,
        detailOf: null,
      });
    }
    (e.children ?? []).forEach(collect);
  };
  collect(laid);
  return { width: laid.width ?? 0, height: laid.height ?? 0, states, transitions };
}

/** A route of compose.ts as a laid-out transition. */
function routed(r: Route): LaidOutTransition {
  const e = r.edge;
  return {
    id: e.id,
    source: e.source,
    target: e.target,
    to: e.to ?? e.target,
    kind: e.kind,
    labels: e.labels,
    detail: e.detail,
    points: r.points,
    label: r.label,
    detailOf: null,
  };
}

const moveBy = (dx: number, dy: number) => ({
  state: (s: LaidOutState): LaidOutState => ({ ...s, x: s.x + dx, y: s.y + dy }),
  transition: (t: LaidOutTransition): LaidOutTransition => ({
    ...t,
    points: t.points.map((p) => ({ x: p.x + dx, y: p.y + dy })),
    label: t.label ? { ...t.label, x: t.label.x + dx, y: t.label.y + dy } : null,
  }),
});

/** The widest a block of phases (`active`) and a phase of many steps (`mounting`) may be. */
const ROWS_WIDTH = 1200;
const PHASE_WIDTH = 600;

/**
 * A block of phases (`active`) and a phase of many steps (`mounting`) wrap into rows; a block of
 * steps (`releasing`) is ELK's, top to bottom: its steps skip ahead too often to read in rows.
 */
const inRows = (n: ViewNode) => n.children.length > 4 && (n.depth > 0 || n.children.some((c) => c.children.length > 0));

/** A block in rows (see `inRows`): each of its compounds laid out on its own, then the rows (compose.ts). */
async function layoutTop(elk: InstanceType<typeof ELK>, block: ViewNode): Promise<Block> {
  if (!inRows(block)) return layoutBlock(elk, block);
  const inner = new Map<string, Block>();
  for (const c of block.children) if (c.children.length > 0) inner.set(c.id, await layoutTop(elk, c));
  const sizes = new Map(
    block.children.map((c) => {
      const b = inner.get(c.id);
      return [c.id, b ? { width: b.width, height: b.height } : leafSize(c)] as const;
    }),
  );
  const rows = rowsBlock(block, sizes, block.children.some((c) => c.children.length > 0) ? ROWS_WIDTH : PHASE_WIDTH);
  const states: LaidOutState[] = [];
  const transitions: LaidOutTransition[] = rows.routes.map(routed);
  for (const c of block.children) {
    const box = rows.boxes.get(c.id);
    if (!box) continue;
    states.push({ ...stateOf(c, c.children.length > 0), detailOf: null, ...box });
    const b = inner.get(c.id);
    if (!b) continue;
    const move = moveBy(box.x, box.y);
    states.push(...b.states.map(move.state));
    transitions.push(...b.transitions.map(move.transition));
  }
  return { width: rows.width, height: rows.height, states, transitions };
}

/** Room around the drawing. */
const MARGIN = 8;

/**
 * Lays the operator's view of the chart out: the inside of each top-level block (`active`,
 * `releasing`) with ELK (layered, its direction by depth, every edge with its label placed by
 * ELK), the top level by hand (src/chart/compose.ts). Pure computation from the chart: no DOM,
 * no network, so the service, the CLI and the tests produce the same picture.
 */
export async function layoutChart(chart: Chart, options: ViewOptions = {}): Promise<ChartLayout> {
  const view = operatorView(chart, options);
  const elk = new ELK();
  const blocks = new Map<string, Block>();
  for (const n of view.root.children) if (n.children.length > 0) blocks.set(n.id, await layoutTop(elk, n));
  const { boxes, routes } = compose(view.root, (n) => {
    const b = blocks.get(n.id);
    return b ? { width: b.width, height: b.height } : leafSize(n);
  });

  const states: LaidOutState[] = [];
  const transitions: LaidOutTransition[] = [];
  for (const n of view.root.children) {
    const box = boxes.get(n.id);
    if (!box) continue;
    states.push({ ...stateOf(n, n.children.length > 0), detailOf: null, ...box });
    const b = blocks.get(n.id);
    if (!b) continue;
    const move = moveBy(box.x, box.y);
    states.push(...b.states.map(move.state));
    transitions.push(...b.transitions.map(move.transition));
  }
  transitions.push(...routes.map(routed));

  // the drawing's own origin, a margin round it
  const xs = [
    ...states.flatMap((s) => [s.x, s.x + s.width]),
    ...transitions.flatMap((t) => [...t.points.map((p) => p.x), ...(t.label ? [t.label.x, t.label.x + t.label.width] : [])]),
  ];
  const ys = [
    ...states.flatMap((s) => [s.y, s.y + s.height]),
    ...transitions.flatMap((t) => [...t.points.map((p) => p.y), ...(t.label ? [t.label.y, t.label.y + t.label.height] : [])]),
  ];
  const [dx, dy] = [MARGIN - Math.min(...xs), MARGIN - Math.min(...ys)];
  const width = Math.ceil(Math.max(...xs) + dx + MARGIN);
  const height = Math.ceil(Math.max(...ys) + dy + MARGIN);
  const move = moveBy(dx, dy);
  const shifted = states.map(move.state);
  const moved = transitions.map(move.transition);

  // a folded step's card, under its box
  const nodes = new Map<string, ViewNode>();
  const index = (n: ViewNode) => {
    nodes.set(n.id, n);
    n.children.forEach(index);
  };
  index(view.root);
  const details: StepDetail[] = [];
  const all = [...shifted];
  for (const s of shifted) {
    const n = nodes.get(s.id);
    if (!n || n.folded.length === 0) continue;
    const d = detailCard(s, n, width);
    details.push(d.card);
    all.push(...d.states);
    moved.push(...d.transitions);
  }
  return { machine: chart.machine, width, height, states: all, transitions: moved, details, recordedAnywhere: view.recordedAnywhere };
}
