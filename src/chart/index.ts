export { chartOf, eventLabel, type Chart, type ChartNode, type ChartTransition } from './walk.js';
export { statechartMarkdown, toMermaid } from './mermaid.js';
