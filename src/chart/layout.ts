import elkModule, { type ElkExtendedEdge, type ElkNode } from 'elkjs/lib/elk.bundled.js';

// a CommonJS module whose constructor is both module.exports and its `default`
const ELK = elkModule.default;
import type { Chart, ChartNode, TransitionKind } from './walk.js';

/** A state box with absolute coordinates. */
export interface LaidOutState {
  id: string;
  key: string;
  type: string;
  description: string | null;
  compound: boolean;
  initial: boolean;
  depth: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LaidOutTransition {
  id: string;
  source: string;
  target: string;
  label: string;
  kind: TransitionKind;
  points: Array<{ x: number; y: number }>;
  labelBox: { x: number; y: number; width: number; height: number } | null;
}

export interface ChartLayout {
  machine: string;
  width: number;
  height: number;
  states: LaidOutState[];
  transitions: LaidOutTransition[];
}

const CHAR_WIDTH = 6.6;
const LEAF_HEIGHT = 26;
/** Room for a compound state's name above its children. */
const COMPOUND_TOP = 26;

const textWidth = (text: string) => Math.ceil(text.length * CHAR_WIDTH);

/**
 * Lays the statechart out with ELK (layered, nested states inside their parents, every state and
 * every transition with a target). Pure computation from the chart: no DOM, no network, so the
 * service, the CLI and the tests produce the same picture.
 */
export async function layoutChart(chart: Chart): Promise<ChartLayout> {
  const info = new Map<string, { node: ChartNode; depth: number; initial: boolean }>();
  const edges: ElkExtendedEdge[] = [];
  const meta = new Map<string, { label: string; kind: TransitionKind; source: string; target: string }>();

  const toElk = (n: ChartNode, depth: number, initial: boolean): ElkNode => {
    info.set(n.id, { node: n, depth, initial });
    // one edge per source and target, its label listing every event that takes it
    for (const t of n.transitions) {
      const label = t.guard ? `${t.label} [${t.guard}]` : t.label;
      for (const target of t.targets) {
        const id = `t:${n.id}->${target}`;
        const known = meta.get(id);
        if (known) {
          if (!known.label.split(' | ').includes(label)) known.label += ` | ${label}`;
          continue;
        }
        meta.set(id, { label, kind: t.kind, source: n.id, target });
        // labels stay out of the layout (they tripled its size); the SVG shows them on hover
        edges.push({ id, sources: [n.id], targets: [target] });
      }
    }
    const children = n.states.map((c) => toElk(c, depth + 1, n.initial === c.id));
    if (children.length === 0) return { id: n.id, width: Math.max(60, textWidth(n.key) + 20), height: LEAF_HEIGHT };
    return {
      id: n.id,
      children,
      layoutOptions: { 'elk.padding': `[top=${COMPOUND_TOP},left=10,bottom=10,right=10]`, 'elk.nodeSize.minimum': `(${textWidth(n.key) + 24}, 40)` },
    };
  };

  const rootChildren = chart.root.states.map((c) => toElk(c, 0, chart.root.initial === c.id));
  const graph: ElkNode = {
    id: '__root__',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '36',
      'elk.spacing.nodeNode': '22',
      'elk.spacing.edgeLabel': '2',
      'elk.edgeLabels.inline': 'false',
      'elk.json.edgeCoords': 'ROOT',
      'elk.json.shapeCoords': 'ROOT',
      'elk.padding': '[top=12,left=12,bottom=12,right=12]',
    },
    children: rootChildren,
    edges,
  };
  const laid = await new ELK().layout(graph);

  const states: LaidOutState[] = [];
  const collect = (n: ElkNode) => {
    const i = info.get(n.id);
    if (i) {
      states.push({
        id: n.id,
        key: i.node.key,
        type: i.node.type,
        description: i.node.description,
        compound: i.node.states.length > 0,
        initial: i.initial,
        depth: i.depth,
        x: n.x ?? 0,
        y: n.y ?? 0,
        width: n.width ?? 0,
        height: n.height ?? 0,
      });
    }
    (n.children ?? []).forEach(collect);
  };
  collect(laid);

  const transitions: LaidOutTransition[] = [];
  const collectEdges = (n: ElkNode) => {
    for (const e of n.edges ?? []) {
      const m = meta.get(e.id);
      if (!m) continue;
      const points = (e.sections ?? []).flatMap((s) => [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]);
      const l = e.labels?.[0];
      transitions.push({
        id: e.id,
        ...m,
        points,
        labelBox: l && l.x !== undefined && l.y !== undefined ? { x: l.x, y: l.y, width: l.width ?? 0, height: l.height ?? 0 } : null,
      });
    }
    (n.children ?? []).forEach(collectEdges);
  };
  collectEdges(laid);
  return { machine: chart.machine, width: Math.ceil(laid.width ?? 0), height: Math.ceil(laid.height ?? 0), states, transitions };
}
