import { labelSize, packLines } from './text.js';
import { ANYWHERE_ID, isFlow, isHolding, type ViewEdge, type ViewNode } from './view.js';

/**
 * The top level of the chart, placed by hand (the inside of each block is ELK's): a band of
 * start-up states above the first flow block, the blocks and the holding states in a tree that
 * reads left to right, each state right of the one whose arrow enters it.
 *
 * ```
 *  booting ─┬─ ↩ failed, ↩ maintenance, → releasing
 *     │     └─ idle ── ↩ maintenance
 *     ↓          ↓
 *  ┌ active ┐ ─── releasing ─┬─ failed, stopped ← any state, fenced ─ ↩ …
 *  │        │               └─ …
 *  └────────┘ ─── yielding ── ↩ …
 * ```
 *
 * A state's exits form a fan: its targets stacked in a column right of it, each arrow straight
 * when the target's middle is level with the source, else along a short trunk; the label just
 * before the arrowhead. So a label costs width only in its own column, and the chart comes out
 * about as wide as a screen rather than one long row.
 */

export interface Point {
  x: number;
  y: number;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Route {
  edge: ViewEdge;
  points: Point[];
  label: Box & { lines: string[] };
}

export interface Composed {
  /** Every top-level node (states, chips, the "any state" marker), by id. */
  boxes: Map<string, Box>;
  routes: Route[];
}

type Size = { width: number; height: number };

/** Between the rows of a fan. */
const ROW_GAP = 8;
/** Between a label and what is either side of it. */
const LABEL_MARGIN = 8;
/** The trunk of a fan, right of its source. */
const TRUNK = 8;
/** A self-loop's height above its box. */
const LOOP = 12;
/** Where the trunk of a fan below a box leaves it, from its left side. */
const HANG = 16;
/** Characters per label line: the band has width to spare, the blocks' columns do not. */
const WIDE = 48;
const NARROW = 24;

interface Row {
  edge: ViewEdge;
  tree: Tree;
  /** The arrow runs from the row's node to the fan's source (the "any state" marker). */
  reverse: boolean;
  lines: string[];
  label: Size;
}

interface Tree {
  node: ViewNode;
  size: Size;
  /** Blocks keep their exits level with their top part; small states sit in the middle of theirs. */
  top: boolean;
  /** Its fan hangs below it (a later block's holding states), on a trunk down its left side. */
  below: boolean;
  rows: Row[];
}

function labelled(lines: string[]): { lines: string[]; label: Size } {
  return { lines, label: labelSize(lines) };
}

function measure(t: Tree): Size & { fan: number; column: number } {
  const rows = t.rows.map((r) => ({ r, sub: measure(r.tree) }));
  const rowHeight = rows.map(({ r, sub }) => Math.max(r.label.height, sub.height));
  const fan = rowHeight.reduce((a, b) => a + b, 0) + ROW_GAP * Math.max(0, rows.length - 1);
  const column = rows.length === 0 ? 0 : TRUNK + Math.max(...rows.map(({ r }) => r.label.width)) + 2 * LABEL_MARGIN;
  const widest = Math.max(0, ...rows.map(({ sub }) => sub.width));
  if (t.below) {
    const under = rows.length === 0 ? 0 : 2 * ROW_GAP + fan;
    return { width: Math.max(t.size.width, HANG + column + widest), height: t.size.height + under, fan, column };
  }
  return { width: t.size.width + column + widest, height: Math.max(t.size.height, fan), fan, column };
}

/**
 * Lays the top level of `root` out; `sizeOf` gives each top-level node's size (a block's as ELK
 * laid its inside out).
 */
export function compose(root: ViewNode, sizeOf: (n: ViewNode) => Size): Composed {
  const tops = root.children;
  const byId = new Map(tops.map((n) => [n.id, n]));
  const firstBlock = tops.find(isFlow);
  const isBand = (n: ViewNode) => !isFlow(n) && !isHolding(n) && n.kind !== 'anywhere' && n.kind !== 'goto';
  const bandRoot = tops.find((n) => n.initial && isBand(n)) ?? tops.find(isBand);
  const boxes = new Map<string, Box>();
  const routes: Route[] = [];

  const loops = root.edges.filter((e) => e.source === e.target);
  const drops = root.edges.filter((e) => e.source !== e.target && e.target === firstBlock?.id && isBand(byId.get(e.source) ?? root));
  const reverse = root.edges.filter((e) => e.source === ANYWHERE_ID);
  const special = new Set([...loops, ...drops, ...reverse]);

  // each node in the fan of the first arrow into it, band first, then the flow
  const placed = new Set<string>();
  const trees = new Map<string, Tree>();
  const treeOf = (n: ViewNode): Tree => {
    placed.add(n.id);
    const t: Tree = { node: n, size: sizeOf(n), top: isFlow(n), below: isFlow(n) && n !== firstBlock, rows: [] };
    trees.set(n.id, t);
    return t;
  };
  const grow = (start: Tree) => {
    const queue = [start];
    for (let t = queue.shift(); t; t = queue.shift()) {
      const width = isBand(t.node) ? WIDE : NARROW;
      for (const e of root.edges) {
        if (special.has(e) || e.source !== t.node.id || placed.has(e.target)) continue;
        const target = byId.get(e.target);
        if (!target) continue;
        const sub = treeOf(target);
        t.rows.push({ edge: e, tree: sub, reverse: false, ...labelled(packLines(e.labels, width)) });
        queue.push(sub);
      }
      for (const e of reverse) {
        const marker = byId.get(e.source);
        if (e.target !== t.node.id || !marker || placed.has(marker.id)) continue;
        t.rows.push({ edge: e, tree: treeOf(marker), reverse: true, ...labelled(packLines(e.labels, NARROW)) });
      }
    }
  };
  const band = bandRoot ? treeOf(bandRoot) : null;
  if (band) grow(band);
  const flow = firstBlock ? treeOf(firstBlock) : null;
  if (flow) grow(flow);
  // whatever no arrow along the shape enters (none in this machine): in a column of its own
  const rest = tops.filter((n) => !placed.has(n.id)).map(treeOf);
  rest.forEach(grow);

  /** `fanTop`: where the fan may start, above the box (beside the band). */
  const place = (t: Tree, x: number, top: number, fanTop = top): void => {
    const m = measure(t);
    const node: Box = { x, y: t.top || t.below ? top : top + (m.height - t.size.height) / 2, ...t.size };
    boxes.set(t.node.id, node);
    let y = t.below ? top + t.size.height + 2 * ROW_GAP : t.top ? fanTop : top + (m.height - m.fan) / 2;
    const from = t.below ? x + HANG : x + t.size.width;
    const column = from + m.column;
    for (const r of t.rows) {
      const sub = measure(r.tree);
      const height = Math.max(r.label.height, sub.height);
      place(r.tree, column, y + (height - sub.height) / 2);
      y += height + ROW_GAP;
      const target = boxes.get(r.tree.node.id);
      if (!target) continue;
      // straight across where the two boxes are level, else along the trunk
      const [lo, hi] = [Math.max(target.y, node.y) + 4, Math.min(target.y + target.height, node.y + node.height) - 4];
      const centre = target.y + target.height / 2;
      const level = centre >= lo && centre <= hi ? centre : target.height > node.height && lo <= hi ? (lo + hi) / 2 : centre;
      const straight = !t.below && level >= lo && level <= hi;
      const middle = node.y + node.height / 2;
      const points = t.below
        ? [
            { x: from, y: node.y + node.height },
            { x: from, y: level },
            { x: column, y: level },
          ]
        : straight
          ? [
              { x: from, y: level },
              { x: column, y: level },
            ]
          : [
              { x: from, y: middle },
              { x: from + TRUNK, y: middle },
              { x: from + TRUNK, y: level },
              { x: column, y: level },
            ];
      if (r.reverse) points.reverse();
      const labelX = r.reverse ? from + LABEL_MARGIN : column - LABEL_MARGIN - r.label.width;
      routes.push({ edge: r.edge, points, label: { lines: r.lines, x: labelX, y: level - r.label.height / 2, ...r.label } });
    }
  };

  const bottomOf = (ids: Iterable<string>) => Math.max(...[...ids].map((id) => boxes.get(id)).map((b) => (b ? b.y + b.height : -Infinity)));
  let flowTop = 0;
  let bandTop = 0;
  let bandRight = 0;
  if (band) {
    place(band, 0, 0);
    const bandIds = [...boxes.keys()];
    bandTop = Math.min(...bandIds.map((id) => boxes.get(id)?.y ?? 0), ...routes.map((r) => r.label.y));
    bandRight = Math.max(...bandIds.map((id) => boxes.get(id)).map((b) => (b ? b.x + b.width : 0)), ...routes.map((r) => r.label.x + r.label.width));
    const labelBottom = Math.max(...routes.map((r) => r.label.y + r.label.height));
    const bandBottom = Math.max(bottomOf(bandIds), labelBottom);
    // the arrows down into the first block, their labels between the band and the block
    const dropLabels = drops.map((e) => labelled(packLines(e.labels, WIDE)));
    const gap = Math.max(0, ...dropLabels.map((l) => l.label.height)) + 2 * LABEL_MARGIN;
    flowTop = bandBottom + gap;
    drops.forEach((e, i) => {
      const from = boxes.get(e.source);
      const l = dropLabels[i];
      if (!from || !l) return;
      const x = from.x + Math.min(from.width / 2, 40);
      routes.push({
        edge: e,
        points: [
          { x, y: from.y + from.height },
          { x, y: flowTop },
        ],
        label: { lines: l.lines, x: x + 6, y: bandBottom + LABEL_MARGIN, ...l.label },
      });
    });
  }
  // the blocks after the first beside the band when it leaves room
  if (flow) place(flow, 0, flowTop, bandRight < flow.size.width ? bandTop : flowTop);
  let restTop = Math.max(0, ...[...boxes.values()].map((b) => b.y + b.height)) + 24;
  for (const t of rest) {
    place(t, 0, restTop);
    restTop += measure(t).height + 24;
  }

  // a state's transitions to itself: a loop over its box, the label above it
  for (const e of loops) {
    const box = boxes.get(e.source);
    if (!box) continue;
    const l = labelled(packLines(e.labels, NARROW));
    const [left, right] = [box.x + 14, box.x + box.width - 14];
    const points = [
      { x: right, y: box.y },
      { x: right, y: box.y - LOOP },
      { x: left, y: box.y - LOOP },
      { x: left, y: box.y },
    ];
    const labelX = Math.min(box.x + (box.width - l.label.width) / 2, box.x + box.width - l.label.width);
    routes.push({ edge: e, points, label: { lines: l.lines, x: labelX, y: box.y - LOOP - 2 - l.label.height, ...l.label } });
  }
  return { boxes, routes };
}

/** Room round a block's rows: its name above them. */
const BLOCK_PAD = 14;
const BLOCK_TOP = 30;

interface Lane {
  edge: ViewEdge;
  from: string;
  to: string;
  /** Leaves the bottom of its source (into the channel below its row), else the top. */
  down: boolean;
  lines: string[];
  label: Size;
}

/**
 * A block of many phases (`active`) as rows of its phases in reading order, each phase's box as
 * ELK laid its inside out (`sizes`). An arrow between neighbours on a row runs straight across
 * the gap between them; any other runs through the channel above the row it enters, on a lane of
 * its own, its label on the lane.
 */
export function rowsBlock(
  block: ViewNode,
  sizes: Map<string, Size>,
  maxWidth: number,
): { width: number; height: number; boxes: Map<string, Box>; routes: Route[] } {
  const kids = block.children;
  const sizeOf = (id: string): Size => sizes.get(id) ?? { width: 0, height: 0 };
  const position = new Map(kids.map((c, i) => [c.id, i]));
  const between = (a: number, b: number) =>
    block.edges.filter((e) => [e.source, e.target].sort().join() === [kids[a]?.id ?? '', kids[b]?.id ?? ''].sort().join());
  const gapOf = (i: number) => {
    const labels = between(i - 1, i).map((e) => labelSize(packLines(e.labels, NARROW)).width);
    return labels.length === 0 ? 24 : Math.max(...labels) + 2 * LABEL_MARGIN + 8;
  };

  // rows, filled in reading order
  const rows: number[][] = [];
  let width = 0;
  kids.forEach((c, i) => {
    const row = rows[rows.length - 1];
    const w = sizeOf(c.id).width;
    if (row && width + gapOf(i) + w <= maxWidth) {
      row.push(i);
      width += gapOf(i) + w;
    } else {
      rows.push([i]);
      width = w;
    }
  });
  const rowOf = new Map(rows.flatMap((r, k) => r.map((i) => [kids[i]?.id ?? '', k] as const)));

  // neighbours on a row: straight; the rest on lanes, in the channel above the row they enter
  const side: ViewEdge[] = [];
  const channels: Lane[][] = rows.map(() => []);
  for (const e of block.edges) {
    const [rs, rt] = [rowOf.get(e.source) ?? 0, rowOf.get(e.target) ?? 0];
    const [ps, pt] = [position.get(e.source) ?? 0, position.get(e.target) ?? 0];
    if (rs === rt && Math.abs(ps - pt) === 1) {
      side.push(e);
      continue;
    }
    const lines = packLines(e.labels, WIDE);
    channels[rt > rs ? rt : rs]?.push({ edge: e, from: e.source, to: e.target, down: rt > rs, lines, label: labelSize(lines) });
  }
  const laneHeight = (l: Lane) => l.label.height + 4;
  const channelHeight = (k: number) => (channels[k] ?? []).reduce((h, l) => h + laneHeight(l), 0) + (k === 0 ? 0 : 16);

  const boxes = new Map<string, Box>();
  let y = BLOCK_TOP + channelHeight(0);
  const rowTop: number[] = [];
  let right = 0;
  rows.forEach((row, k) => {
    if (k > 0) y += channelHeight(k);
    rowTop.push(y);
    const height = Math.max(...row.map((i) => sizeOf(kids[i]?.id ?? '').height));
    let x = BLOCK_PAD;
    row.forEach((i, j) => {
      const id = kids[i]?.id ?? '';
      if (j > 0) x += gapOf(i);
      const s = sizeOf(id);
      boxes.set(id, { x, y: y + (height - s.height) / 2, ...s });
      x += s.width;
    });
    right = Math.max(right, x);
    y += height;
  });

  const routes: Route[] = [];
  // across a gap: the arrows one above the other round the middle of the lower box
  const gaps = new Map<string, ViewEdge[]>();
  for (const e of side) {
    const key = [position.get(e.source) ?? 0, position.get(e.target) ?? 0].sort((a, b) => a - b).join();
    gaps.set(key, [...(gaps.get(key) ?? []), e]);
  }
  for (const edges of gaps.values()) {
    edges.forEach((e, i) => {
      const [a, b] = [boxes.get(e.source), boxes.get(e.target)];
      if (!a || !b) return;
      const [left, rightBox] = a.x < b.x ? [a, b] : [b, a];
      const lower = a.height < b.height ? a : b;
      const level = lower.y + lower.height / 2 + (i - (edges.length - 1) / 2) * 12;
      const [x1, x2] = [left.x + left.width, rightBox.x];
      const points =
        a.x < b.x
          ? [
              { x: x1, y: level },
              { x: x2, y: level },
            ]
          : [
              { x: x2, y: level },
              { x: x1, y: level },
            ];
      const lines = packLines(e.labels, NARROW);
      const size = labelSize(lines);
      const labelY = edges.length === 1 ? level - size.height / 2 : i < edges.length / 2 ? level - 2 - size.height : level + 2;
      routes.push({ edge: e, points, label: { lines, x: (x1 + x2) / 2 - size.width / 2, y: labelY, ...size } });
    });
  }

  // where lanes meet their boxes: spread along the side, in the order of the other ends
  const ends = new Map<string, Array<{ lane: Lane; other: string }>>();
  const attach = (box: string, side: 'top' | 'bottom', lane: Lane, other: string) =>
    ends.set(`${box}\t${side}`, [...(ends.get(`${box}\t${side}`) ?? []), { lane, other }]);
  for (const lane of channels.flat()) {
    attach(lane.from, lane.down ? 'bottom' : 'top', lane, lane.to);
    const intoTop = lane.down || (rowOf.get(lane.to) ?? 0) === (rowOf.get(lane.from) ?? 0);
    attach(lane.to, intoTop ? 'top' : 'bottom', lane, lane.from);
  }
  const xOf = (box: string, side: 'top' | 'bottom', lane: Lane): number => {
    const b = boxes.get(box);
    const list = [...(ends.get(`${box}\t${side}`) ?? [])].sort((p, q) => (boxes.get(p.other)?.x ?? 0) - (boxes.get(q.other)?.x ?? 0));
    const k = list.findIndex((p) => p.lane === lane);
    if (!b) return 0;
    const span = Math.min(b.width, 160);
    return b.x + (b.width - span) / 2 + (span * (k + 1)) / (list.length + 1);
  };
  channels.forEach((lanes, k) => {
    let laneY = (rowTop[k] ?? 0) - channelHeight(k) + (k === 0 ? 0 : 8);
    for (const lane of lanes) {
      const level = laneY + laneHeight(lane) / 2;
      laneY += laneHeight(lane);
      const [a, b] = [boxes.get(lane.from), boxes.get(lane.to)];
      if (!a || !b) continue;
      const xs = xOf(lane.from, lane.down ? 'bottom' : 'top', lane);
      const intoTop = lane.down || (rowOf.get(lane.to) ?? 0) === (rowOf.get(lane.from) ?? 0);
      const xt = xOf(lane.to, intoTop ? 'top' : 'bottom', lane);
      const points = [
        { x: xs, y: lane.down ? a.y + a.height : a.y },
        { x: xs, y: level },
        { x: xt, y: level },
        { x: xt, y: intoTop ? b.y : b.y + b.height },
      ];
      const [lo, hi] = [Math.min(xs, xt), Math.max(xs, xt)];
      const labelX = Math.max(BLOCK_PAD, Math.min((lo + hi) / 2 - lane.label.width / 2, right - lane.label.width));
      routes.push({ edge: lane.edge, points, label: { lines: lane.lines, x: labelX, y: level - lane.label.height / 2, ...lane.label } });
    }
  });
  return { width: right + BLOCK_PAD, height: y + BLOCK_PAD, boxes, routes };
}
