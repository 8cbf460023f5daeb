import { BADGE_TEXT, badgeWidth, gotoText, type ChartLayout, type LaidOutLabel, type LaidOutState, type LaidOutTransition, type StepDetail } from './layout.js';
import { FONT, LABEL_LINE } from './text.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n = (v: number) => String(Math.round(v * 10) / 10);

/**
 * The CSS ids and classes the live viewer relies on are part of this output's contract:
 * `g.state[data-state-id]`, `g.transition[data-source][data-target]`, `g.step-detail[data-step-id]`,
 * and the `active`, `current`, `taken`, `open` classes the viewer sets.
 */
const STYLE = `
  .state > rect { fill: #ffffff; stroke: #5b6b7f; stroke-width: 1.2; }
  .state.compound > rect { fill: #f4f6f9; }
  .state.depth-1.compound > rect { fill: #eaeef4; }
  .state.tag-takeover.compound > rect { fill: #eef4ff; }
  .state.tag-release.compound > rect, .state.depth-0.tag-release > rect { fill: #fff7ed; }
  .state.tag-serving > rect { fill: #ecfdf5; }
  .state.depth-0.tag-unfit > rect { fill: #f3f4f6; }
  .state.final > rect { stroke-width: 3; }
  .state text { font: ${FONT.state}px sans-serif; fill: #1d2733; }
  .state.compound > text.name { font: bold ${FONT.title}px sans-serif; }
  .state.step > text.name { font-weight: bold; }
  .state text.actor { font-size: ${FONT.small}px; fill: #5b6b7f; }
  .state .badge rect { fill: #e0e7ff; stroke: #6366f1; stroke-width: 0.8; }
  .state .badge text { font-size: ${FONT.small}px; fill: #3730a3; }
  .state.folded { cursor: pointer; }
  .state.folded.open .badge rect { fill: #c7d2fe; }
  .state .initial-dot { fill: #1d2733; }
  .state.active > rect { stroke: #c2410c; stroke-width: 2.5; fill: #fff1e6; }
  .state.active.current > rect { fill: #fdba74; }
  .goto rect { fill: #f8fafc; stroke: #7a8797; stroke-dasharray: 2 2; }
  .goto text { font: bold ${FONT.small}px sans-serif; fill: #3b4857; }
  .anywhere rect { fill: #fefce8; stroke: #a16207; stroke-dasharray: 3 2; }
  .anywhere text { font: bold ${FONT.small}px sans-serif; fill: #713f12; }
  .transition path { fill: none; stroke: #7a8797; stroke-width: 1.2; marker-end: url(#arrow); }
  .transition.kind-after path { stroke-dasharray: 5 3; }
  .transition .label rect { fill: #fbfcfd; fill-opacity: 0.92; stroke: none; }
  .transition .label text { font: ${FONT.label}px sans-serif; fill: #3b4857; }
  .transition.taken path { stroke: #c2410c; stroke-width: 2.2; marker-end: url(#arrow-taken); }
  .transition.taken .label text { fill: #c2410c; font-weight: bold; }
  .step-detail { display: none; }
  .step-detail.open { display: inline; }
  .step-detail > rect.card { fill: #ffffff; stroke: #6366f1; stroke-width: 1.2; filter: drop-shadow(0 2px 3px rgba(0,0,0,0.25)); }
  .step-detail > text { font: ${FONT.small}px sans-serif; fill: #3730a3; }
  .legend text { font: ${FONT.small}px sans-serif; fill: #5b6b7f; }
`;

function stateClasses(s: LaidOutState): string {
  return [
    'state',
    `depth-${s.depth}`,
    s.compound ? 'compound' : 'leaf',
    ...(s.step !== null ? ['step'] : []),
    ...(s.folded ? ['folded'] : []),
    ...(s.type === 'final' ? ['final'] : []),
    ...s.tags.map((t) => `tag-${t}`),
  ].join(' ');
}

/** A folded step: its name, the actor it runs, and the badge that opens its retry loop. */
function foldedStepBody(s: LaidOutState): string {
  const bw = badgeWidth();
  const bx = s.x + s.width - 10 - bw;
  const by = s.y + 26;
  return [
    `<text class="name" x="${n(s.x + 12)}" y="${n(s.y + 19)}">${esc(s.key)}</text>`,
    `<text class="actor" x="${n(s.x + 12)}" y="${n(s.y + 38)}">${esc(s.step ?? '')}</text>`,
    `<g class="badge"><rect x="${n(bx)}" y="${n(by)}" width="${n(bw)}" height="16" rx="8"/><text x="${n(bx + bw / 2)}" y="${n(by + 12)}" text-anchor="middle">${esc(BADGE_TEXT)}</text></g>`,
  ].join('');
}

function stateSvg(s: LaidOutState): string {
  let body: string;
  if (s.folded) body = foldedStepBody(s);
  else if (s.compound) body = `<text class="name" x="${n(s.x + 10)}" y="${n(s.y + 19)}">${esc(s.key)}</text>`;
  else body = `<text class="name" x="${n(s.x + s.width / 2)}" y="${n(s.y + s.height / 2 + 4.5)}" text-anchor="middle">${esc(s.key)}</text>`;
  const dot = s.initial ? `<circle class="initial-dot" cx="${n(s.x + 1)}" cy="${n(s.y + 1)}" r="4"/>` : '';
  const hint = s.folded ? ' (click: running and backoff)' : '';
  const title = `<title>${esc(s.id)}${s.description ? `: ${esc(s.description)}` : ''}${hint}</title>`;
  const step = s.step !== null ? ` data-step="${esc(s.step)}"` : '';
  return `<g class="${stateClasses(s)}" data-state-id="${esc(s.id)}"${step}>${title}<rect x="${n(s.x)}" y="${n(s.y)}" width="${n(s.width)}" height="${n(s.height)}" rx="6"/>${body}${dot}</g>`;
}

function anywhereSvg(s: LaidOutState, recorded: string[]): string {
  const note = recorded.length > 0 ? `; handled in every state without leaving it: ${recorded.join(', ')}` : '';
  return `<g class="anywhere" data-anywhere="${esc(s.id)}"><title>${esc(s.description ?? '')}${esc(note)}</title><rect x="${n(s.x)}" y="${n(s.y)}" width="${n(s.width)}" height="${n(s.height)}" rx="${n(s.height / 2)}"/><text x="${n(s.x + s.width / 2)}" y="${n(s.y + s.height / 2 + 4)}" text-anchor="middle">${esc(s.key)}</text></g>`;
}

function gotoSvg(s: LaidOutState): string {
  return `<g class="goto" data-goto="${esc(s.goto ?? '')}"><title>${esc(s.description ?? '')}</title><rect x="${n(s.x)}" y="${n(s.y)}" width="${n(s.width)}" height="${n(s.height)}" rx="4"/><text x="${n(s.x + s.width / 2)}" y="${n(s.y + s.height / 2 + 4)}" text-anchor="middle">${esc(gotoText(s.key, s.back))}</text></g>`;
}

function labelSvg(l: LaidOutLabel): string {
  const lines = l.lines.map((line, i) => `<text x="${n(l.x + 4)}" y="${n(l.y + 2 + (i + 1) * LABEL_LINE - 3.5)}">${esc(line)}</text>`);
  return `<g class="label"><rect x="${n(l.x)}" y="${n(l.y)}" width="${n(l.width)}" height="${n(l.height)}" rx="3"/>${lines.join('')}</g>`;
}

function transitionSvg(t: LaidOutTransition): string {
  if (t.points.length < 2) return '';
  const d = t.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${n(p.x)},${n(p.y)}`).join(' ');
  const title = `<title>${esc(t.detail.join('\n'))}</title>`;
  const cls = ['transition', `kind-${t.kind}`, ...(t.detailOf ? ['detail'] : [])].join(' ');
  return `<g class="${cls}" data-source="${esc(t.source)}" data-target="${esc(t.to)}">${title}<path d="${d}"/>${t.label ? labelSvg(t.label) : ''}</g>`;
}

function detailSvg(d: StepDetail, layout: ChartLayout): string {
  const states = layout.states.filter((s) => s.detailOf === d.stepId).map(stateSvg);
  const edges = layout.transitions.filter((t) => t.detailOf === d.stepId).map(transitionSvg);
  return [
    `<g class="step-detail" data-step-id="${esc(d.stepId)}">`,
    `<rect class="card" x="${n(d.x)}" y="${n(d.y)}" width="${n(d.width)}" height="${n(d.height)}" rx="6"/>`,
    `<text x="${n(d.x + 10)}" y="${n(d.y + 17)}">${esc(d.title)}</text>`,
    ...states,
    ...edges,
    '</g>',
  ].join('');
}

/**
 * A standalone SVG of the laid-out chart. Every state is a `<g class="state" data-state-id=…>`
 * (the viewer marks the current ones `active`), every transition a `<g class="transition">` with
 * its label as text. A folded step's running and backoff states are in its
 * `<g class="step-detail">`, hidden until the viewer opens it (`open`).
 */
export function chartSvg(layout: ChartLayout): string {
  // parents first, so children are drawn on top of their parent's box
  const drawn = layout.states.filter((s) => s.detailOf === null);
  const states = drawn.filter((s) => s.kind === 'state' || s.kind === 'step').sort((a, b) => a.depth - b.depth);
  const anywhere = drawn.filter((s) => s.kind === 'anywhere');
  const gotos = drawn.filter((s) => s.kind === 'goto');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="statechart" data-machine="${esc(layout.machine)}" viewBox="0 0 ${layout.width} ${layout.height}" width="${layout.width}" height="${layout.height}">`,
    `<style>${STYLE}</style>`,
    '<defs>',
    '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#7a8797"/></marker>',
    '<marker id="arrow-taken" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c2410c"/></marker>',
    '</defs>',
    `<rect width="100%" height="100%" fill="#fbfcfd"/>`,
    ...states.map(stateSvg),
    ...anywhere.map((s) => anywhereSvg(s, layout.recordedAnywhere)),
    ...gotos.map(gotoSvg),
    ...layout.transitions.filter((t) => t.detailOf === null).map(transitionSvg),
    ...layout.details.map((d) => detailSvg(d, layout)),
    '</svg>',
    '',
  ].join('\n');
}
