export { activeStateIds, chartOf, eventLabel, type Chart, type ChartNode, type ChartTransition } from './walk.js';
export { statechartMarkdown, toMermaid } from './mermaid.js';
export { layoutChart, type ChartLayout } from './layout.js';
export { chartSvg } from './svg.js';
