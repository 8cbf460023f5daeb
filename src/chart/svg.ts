import type { ChartLayout, LaidOutState, LaidOutTransition } from './layout.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n = (v: number) => String(Math.round(v * 10) / 10);

/** The CSS ids and classes the live viewer relies on are part of this output's contract. */
const STYLE = `
  .state rect { fill: #ffffff; stroke: #5b6b7f; stroke-width: 1.2; }
  .state.compound > rect { fill: #f4f6f9; }
  .state.depth-1.compound > rect { fill: #eef1f6; }
  .state.depth-2.compound > rect { fill: #e7ebf2; }
  .state.final > rect { stroke-width: 3; stroke: #5b6b7f; }
  .state text { font: 12px sans-serif; fill: #1d2733; }
  .state.compound > text { font-weight: bold; }
  .state .initial-dot { fill: #1d2733; }
  .state.active > rect { stroke: #c2410c; stroke-width: 2.5; fill: #fff1e6; }
  .state.active.current > rect { fill: #fdba74; }
  .transition path { fill: none; stroke: #8a96a6; stroke-width: 1; marker-end: url(#arrow); }
  .transition.kind-after path { stroke-dasharray: 4 3; }
  .transition.kind-error path { stroke: #c88; }
  .transition text { font: 10px sans-serif; fill: #5b6b7f; }
  .transition.taken path { stroke: #c2410c; stroke-width: 2; }
  .transition.taken text { fill: #c2410c; font-weight: bold; }
`;

function stateSvg(s: LaidOutState): string {
  const classes = ['state', `depth-${s.depth}`, s.compound ? 'compound' : 'leaf', ...(s.type === 'final' ? ['final'] : [])];
  const label = s.compound
    ? `<text x="${n(s.x + 8)}" y="${n(s.y + 16)}">${esc(s.key)}</text>`
    : `<text x="${n(s.x + s.width / 2)}" y="${n(s.y + s.height / 2 + 4)}" text-anchor="middle">${esc(s.key)}</text>`;
  const dot = s.initial ? `<circle class="initial-dot" cx="${n(s.x + 1)}" cy="${n(s.y + 1)}" r="3.5"/>` : '';
  const title = `<title>${esc(s.id)}${s.description ? `: ${esc(s.description)}` : ''}</title>`;
  return `<g class="${classes.join(' ')}" data-state-id="${esc(s.id)}">${title}<rect x="${n(s.x)}" y="${n(s.y)}" width="${n(s.width)}" height="${n(s.height)}" rx="6"/>${label}${dot}</g>`;
}

function transitionSvg(t: LaidOutTransition): string {
  if (t.points.length < 2) return '';
  const d = t.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${n(p.x)},${n(p.y)}`).join(' ');
  const label = t.labelBox ? `<text x="${n(t.labelBox.x)}" y="${n(t.labelBox.y + t.labelBox.height - 3)}">${esc(t.label)}</text>` : '';
  const title = `<title>${esc(t.label)}: ${esc(t.source)} → ${esc(t.target)}</title>`;
  return `<g class="transition kind-${t.kind}" data-source="${esc(t.source)}" data-target="${esc(t.target)}">${title}<path d="${d}"/>${label}</g>`;
}

/**
 * A standalone SVG of the laid-out chart. Every state is a `<g class="state" data-state-id=…>`
 * (the viewer marks the current ones `active`), every transition a `<g class="transition">`.
 */
export function chartSvg(layout: ChartLayout): string {
  // parents first, so children are drawn on top of their parent's box
  const states = [...layout.states].sort((a, b) => a.depth - b.depth);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="statechart" data-machine="${esc(layout.machine)}" viewBox="0 0 ${layout.width} ${layout.height}" width="${layout.width}" height="${layout.height}">`,
    `<style>${STYLE}</style>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#8a96a6"/></marker></defs>',
    `<rect width="100%" height="100%" fill="#fbfcfd"/>`,
    ...states.map(stateSvg),
    ...layout.transitions.map(transitionSvg),
    '</svg>',
    '',
  ].join('\n');
}
