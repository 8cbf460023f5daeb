/**
 * The offline viewer: one HTML page, one script, one stylesheet, all served by the service. The
 * chart is the SVG drawn from the machine (src/chart); the script only marks the active states
 * (the status's `stateIds`), opens a step's retry loop on a click, and keeps the event list, from
 * /api/snapshot and the /api/stream event source.
 */
export const VIEWER_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>harbor-assistant</title>
<link rel="stylesheet" href="viewer.css">
<script src="viewer.js" defer></script>
</head>
<body class="fit-chart">
<header>
  <h1>harbor-assistant <span id="node"></span></h1>
  <dl>
    <div><dt>state</dt><dd id="state">…</dd></div>
    <div><dt>since</dt><dd id="since"></dd></div>
    <div><dt>why</dt><dd id="reason"></dd></div>
    <div><dt>keepalived</dt><dd id="vrrp"></dd></div>
    <div><dt>check</dt><dd id="fitness"></dd></div>
    <div><dt>harbor</dt><dd id="health"></dd></div>
    <div><dt>last takeover</dt><dd id="last-takeover">–</dd></div>
    <div><dt>last release</dt><dd id="last-release">–</dd></div>
    <div><dt>live</dt><dd id="live">connecting</dd></div>
  </dl>
  <p id="error" hidden></p>
</header>
<main>
  <section id="chart" aria-label="statechart"></section>
  <section id="events-box">
    <h2>recent events</h2>
    <label><input type="checkbox" id="show-commands" checked> commands</label>
    <label><input type="checkbox" id="fit-chart" checked> whole chart in the window</label>
    <table id="events"><thead><tr><th>time</th><th>what</th><th>took</th></tr></thead><tbody></tbody></table>
  </section>
</main>
</body>
</html>
`;

export const VIEWER_CSS = `
body { margin: 0; font: 14px sans-serif; color: #1d2733; background: #fbfcfd; }
header { padding: 8px 16px; border-bottom: 1px solid #d5dbe3; background: #fff; }
h1 { font-size: 18px; margin: 4px 0; }
h2 { font-size: 15px; margin: 8px 0; }
dl { display: flex; flex-wrap: wrap; gap: 4px 24px; margin: 4px 0; }
dl div { display: flex; gap: 6px; }
dt { color: #5b6b7f; }
dd { margin: 0; font-weight: bold; }
#state { color: #c2410c; }
#error { color: #b91c1c; }
main { display: flex; flex-direction: column; }
#chart { overflow: auto; max-height: 62vh; border-bottom: 1px solid #d5dbe3; }
#chart svg { display: block; }
body.fit-chart #chart { overflow: hidden; max-height: none; }
body.fit-chart #chart svg { width: 100%; height: calc(100vh - var(--header-height, 120px) - 4px); }
#events-box { padding: 0 16px 16px; }
table { border-collapse: collapse; width: 100%; font: 12px monospace; }
td, th { text-align: left; padding: 2px 8px; border-bottom: 1px solid #eef1f6; vertical-align: top; }
tr.transition td { font-weight: bold; }
tr.summary td { background: #ecfdf5; }
tr.failed td { color: #b91c1c; }
tr.log td { white-space: pre-wrap; font-family: monospace; font-size: 12px; }
body.hide-commands tr.command { display: none; }
`;

export const VIEWER_JS = `'use strict';
const $ = (id) => document.getElementById(id);
const MAX_ROWS = 300;
let chartReady = false;
let pending = null;
let lastIds = null;

function secs(ms) { return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s'; }

/** Drawn and not folded away: a step's running/backoff are shown only while its card is open. */
function visible(g) {
  const card = g.closest('g.step-detail');
  return !card || card.classList.contains('open');
}

function highlight(activeIds) {
  if (!chartReady) { pending = activeIds; return; }
  let current = null;
  for (const g of document.querySelectorAll('#chart g.state')) {
    const on = activeIds.includes(g.getAttribute('data-state-id'));
    g.classList.toggle('active', on);
    g.classList.remove('current');
    // ids come outermost first: the last active one drawn is the innermost shown
    if (on && visible(g) && (!current || g.getAttribute('data-state-id').length > current.getAttribute('data-state-id').length)) current = g;
  }
  if (current) current.classList.add('current');
  if (current && current.scrollIntoView && !document.body.classList.contains('fit-chart')) current.scrollIntoView({ block: 'nearest', inline: 'center' });
}

/** The edges between the boxes left and the boxes entered (the "any state" marker is everywhere). */
function markTaken(before, after) {
  for (const g of document.querySelectorAll('#chart g.transition.taken')) g.classList.remove('taken');
  if (!before) return;
  for (const g of document.querySelectorAll('#chart g.transition')) {
    const source = g.getAttribute('data-source');
    const target = g.getAttribute('data-target');
    const left = source === 'anywhere' || (before.includes(source) && !after.includes(source));
    if (left && after.includes(target) && !before.includes(target)) g.classList.add('taken');
  }
}

function showStatus(s) {
  const activeIds = s.stateIds || [];
  $('node').textContent = s.node + ' (' + s.role + ')';
  $('state').textContent = s.state;
  document.body.dataset.state = s.state;
  $('since').textContent = s.since;
  $('reason').textContent = s.reason + (s.lastError ? ' — ' + s.lastError : '');
  $('vrrp').textContent = s.vrrp;
  $('fitness').textContent = (s.fitness.fit ? 'fit' : 'UNFIT') + ' (' + s.fitness.why + ')';
  $('health').textContent = s.health + (s.healthComponents.length ? ' (' + s.healthComponents.map((c) => c.name + '=' + c.status).join(', ') + ')' : '');
  for (const op of ['takeover', 'release']) {
    const o = (s.lastOperations || []).find((x) => x.operation === op);
    $('last-' + op).textContent = o ? (o.ok ? 'ok' : 'FAILED') + ' → ' + o.outcome + ' in ' + secs(o.totalMs) + ' at ' + o.at.replace('T', ' ').replace('Z', '') + ' (' + o.why + ')' : '–';
  }
  highlight(activeIds);
}

function describe(e) {
  switch (e.kind) {
    case 'transition': return [e.from + ' → ' + e.to + '  (' + e.event + ')' + (e.lastError ? '  error: ' + e.lastError : ''), secs(e.inStateMs) + ' in ' + e.from];
    case 'command': return ['$ ' + e.what + ': ' + e.result + (e.ok ? '' : '  ' + e.command), e.durationMs + ' ms'];
    case 'summary': return [e.operation + ' → ' + e.outcome + ': ' + e.phases.map((p) => p.phase + ' ' + secs(p.durationMs)).join(', ') + '  (why: ' + e.cause.reason + ')', secs(e.totalMs)];
    case 'log': return [e.service + ' ' + (e.about || 'start-up log') + ':\\n' + e.lines.join('\\n'), e.lines.length + ' lines'];
    default: return [e.message + (e.detail ? ' ' + JSON.stringify(e.detail) : ''), ''];
  }
}

function addRow(e) {
  const tbody = $('events').tBodies[0];
  const tr = document.createElement('tr');
  tr.className = e.kind + ((e.kind === 'command' || e.kind === 'summary') && !e.ok ? ' failed' : '');
  const [what, took] = describe(e);
  for (const text of [e.at.replace('T', ' ').replace('Z', ''), what, took]) {
    const td = document.createElement('td');
    td.textContent = text;
    tr.appendChild(td);
  }
  tbody.insertBefore(tr, tbody.firstChild);
  while (tbody.rows.length > MAX_ROWS) tbody.deleteRow(tbody.rows.length - 1);
}

function toggleStep(g) {
  const card = document.querySelector('#chart g.step-detail[data-step-id="' + g.getAttribute('data-state-id') + '"]');
  if (!card) return;
  const open = !card.classList.contains('open');
  card.classList.toggle('open', open);
  g.classList.toggle('open', open);
  // the open card is drawn last, on top of its neighbours
  card.parentNode.appendChild(card);
  if (lastIds) highlight(lastIds);
}

function sizeHeader() {
  document.documentElement.style.setProperty('--header-height', document.querySelector('header').offsetHeight + 'px');
}

async function loadChart() {
  const r = await fetch('chart.svg');
  if (!r.ok) throw new Error('chart.svg: HTTP ' + r.status);
  $('chart').innerHTML = await r.text();
  for (const g of document.querySelectorAll('#chart g.state.folded')) g.addEventListener('click', () => toggleStep(g));
  chartReady = true;
  document.body.dataset.chart = 'ready';
  if (pending) highlight(pending);
}

function update(status) {
  const ids = status.stateIds || [];
  markTaken(lastIds, ids);
  lastIds = ids;
  showStatus(status);
}

function connect() {
  const es = new EventSource('api/stream');
  es.onopen = () => { $('live').textContent = 'live'; };
  es.onerror = () => { $('live').textContent = 'reconnecting'; };
  es.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.entry) addRow(msg.entry);
    if (msg.status) update(msg.status);
  };
}

async function start() {
  $('show-commands').addEventListener('change', (ev) => document.body.classList.toggle('hide-commands', !ev.target.checked));
  $('fit-chart').addEventListener('change', (ev) => document.body.classList.toggle('fit-chart', ev.target.checked));
  sizeHeader();
  window.addEventListener('resize', sizeHeader);
  try {
    const chart = loadChart();
    const snap = await (await fetch('api/snapshot')).json();
    for (const e of snap.recent) addRow(e);
    update(snap.status);
    await chart;
    connect();
  } catch (err) {
    $('error').hidden = false;
    $('error').textContent = String(err);
  }
}
start();
`;
