export { chartOf, eventLabel, type Chart, type ChartNode, type ChartTransition } from './walk.js';
export { statechartMarkdown, toMermaid } from './mermaid.js';
export { layoutChart, type ChartLayout, type LaidOutState, type LaidOutTransition } from './layout.js';
export { operatorView, ANYWHERE_ID, type OperatorView, type ViewEdge, type ViewNode, type ViewOptions } from './view.js';
export { chartSvg } from './svg.js';
