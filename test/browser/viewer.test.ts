/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import { chartOf } from '../../src/chart/index.js';
import { controlRequest } from '../../src/cli/control-client.js';
import { silentLogger } from '../../src/log/logger.js';
import { nodeMachine } from '../../src/machine/index.js';
import { runService } from '../../src/runtime/service.js';
import { HEALTHY, startHealthServer } from '../support/harbor-health-server.js';
import { configFor, instantService, removeServiceDirs, waitState } from '../support/service-harness.js';

after(removeServiceDirs);

/** Debian's Chromium, nothing downloaded; the flags keep it from calling anywhere by itself. */
const CHROMIUM = {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};

/** The smallest text the fitted chart may show, in screen pixels, with the whole chart in a 1920×1080 window. */
const MIN_TEXT_PX = 10;
const TAKEOVER = ['acquiring-rbd', 'fencing', 'claiming', 'mounting', 'starting', 'serving'].map((k) => `node.active.${k}`);

type Box = { x: number; y: number; width: number; height: number };
/** `b` comes after `a` when reading: on a later row, or to the right on the same row. */
function readsAfter(a: Box, b: Box): boolean {
  const sameRow = b.y < a.y + a.height && a.y < b.y + b.height;
  return b.y >= a.y + a.height - 1 || (sameRow && b.x >= a.x + a.width - 1);
}

/**
 * With the whole chart in the window: every text big enough, every edge with its label, no two
 * arrowheads on one point, the takeover phases in reading order, nothing outside the window.
 */
async function checkReadable(page: Page): Promise<string> {
  const fit = await page.evaluate(() => {
    const svg = document.querySelector('#chart svg') as SVGSVGElement;
    const scale = svg.getScreenCTM()?.a ?? 0;
    const view = svg.viewBox.baseVal;
    const origin = svg.getScreenCTM();
    const drawing = { left: origin?.e ?? 0, top: origin?.f ?? 0, right: (origin?.e ?? 0) + view.width * scale, bottom: (origin?.f ?? 0) + view.height * scale };
    const shown = (e: Element) => e.getBoundingClientRect().width > 0;
    const texts = Array.from(svg.querySelectorAll('text'))
      .filter(shown)
      .map((t) => ({ text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * scale, height: t.getBoundingClientRect().height }));
    const edges = Array.from(svg.querySelectorAll('g.transition')).filter((g) => shown(g.querySelector('path') as Element));
    const unlabelled = edges
      .filter((g) => !Array.from(g.querySelectorAll('.label text')).some((t) => shown(t) && t.textContent.trim() !== ''))
      .map((g) => `${g.getAttribute('data-source') ?? ''}->${g.getAttribute('data-target') ?? ''}`);
    const ends = edges.map((g) => {
      const path = g.querySelector('path') as SVGPathElement;
      const p = path.getPointAtLength(path.getTotalLength()).matrixTransform(path.getScreenCTM() ?? undefined);
      return { id: `${g.getAttribute('data-source') ?? ''}->${g.getAttribute('data-target') ?? ''}`, x: p.x, y: p.y };
    });
    const boxes = Object.fromEntries(
      Array.from(svg.querySelectorAll('g.state')).map((g) => {
        const r = (g.querySelector('rect') as SVGRectElement).getBoundingClientRect();
        return [g.getAttribute('data-state-id') ?? '', { x: r.x, y: r.y, width: r.width, height: r.height }];
      }),
    );
    return { scale, drawing, window: { width: innerWidth, height: innerHeight }, texts, unlabelled, ends, boxes };
  });
  assert.ok(
    fit.drawing.left >= 0 && fit.drawing.top >= 0 && fit.drawing.right <= fit.window.width + 0.5 && fit.drawing.bottom <= fit.window.height + 0.5,
    `the whole chart is in the window: ${JSON.stringify(fit.drawing)}`,
  );
  const smallest = fit.texts.reduce((a, b) => (b.px < a.px ? b : a));
  assert.ok(
    fit.texts.length > 100 && smallest.px >= MIN_TEXT_PX && fit.texts.every((t) => t.height >= MIN_TEXT_PX),
    `smallest text "${smallest.text}" at ${smallest.px.toFixed(1)} px (scale ${fit.scale.toFixed(3)})`,
  );
  assert.deepEqual(fit.unlabelled, [], 'every edge shows its label');
  assert.ok(fit.ends.length > 40);
  for (const a of fit.ends)
    for (const b of fit.ends) if (a.id < b.id) assert.ok(Math.hypot(a.x - b.x, a.y - b.y) >= 4, `${a.id} and ${b.id} end on the same point`);
  for (let i = 1; i < TAKEOVER.length; i++) {
    const [a, b] = [fit.boxes[TAKEOVER[i - 1] ?? ''], fit.boxes[TAKEOVER[i] ?? '']];
    assert.ok(a && b && readsAfter(a, b), `${TAKEOVER[i] ?? '?'} reads after ${TAKEOVER[i - 1] ?? '?'}`);
  }
  return `smallest text "${smallest.text}" at ${smallest.px.toFixed(2)} px (scale ${fit.scale.toFixed(3)})`;
}

test('the offline viewer in headless Chromium: loopback only, every state drawn, the highlight follows the running node', async (t) => {
  const health = await startHealthServer();
  health.set(HEALTHY);
  const config = configFor(health.url);
  const browser = await chromium.launch(CHROMIUM).catch(async (e: unknown) => {
    await health.close();
    throw e;
  });
  const running = runService(config, silentLogger(), instantService([], config));
  try {
    const idle = await waitState(config, 'idle');
    const viewer = idle.endpoints.viewer ?? '';
    assert.ok(viewer.startsWith('http://127.0.0.1:'), `viewer on loopback: ${viewer}`);

    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    const requested: string[] = [];
    const refused: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      requested.push(url);
      if (new URL(url).hostname === '127.0.0.1') return route.continue();
      refused.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });

    // tsx names the functions declared inside page.evaluate callbacks with a helper the page lacks
    await page.addInitScript({ content: 'window.__name = (f) => f;' });
    await page.goto(viewer);
    await page.waitForSelector('body[data-chart="ready"]', { timeout: 20_000 });
    await page.waitForFunction(() => document.getElementById('live')?.textContent === 'live', null, { timeout: 10_000 });

    const chart = chartOf(nodeMachine);
    const drawn = await page.$$eval('#chart g.state', (gs) => gs.map((g) => g.getAttribute('data-state-id') ?? ''));
    assert.deepEqual([...drawn].sort(), chart.stateIds.filter((id) => id !== chart.root.id).sort(), 'every state of the machine is drawn');
    // drawn means laid out with a size, not merely present in the DOM: a step's own states once it is opened
    const shown = () => page.$$eval('#chart g.state > rect', (rs) => rs.filter((r) => r.getBoundingClientRect().width > 0).length);
    const folded = await page.$$eval('#chart g.state.folded', (gs) => gs.map((g) => g.getAttribute('data-state-id') ?? ''));
    assert.ok(folded.includes('node.active.mounting.mapping') && folded.length >= 15, folded.join());
    assert.equal(await shown(), drawn.length - 2 * folded.length, 'each step is one box, its running and backoff folded');
    const mapping = '#chart g.state[data-state-id="node.active.mounting.mapping"]';
    await page.click(mapping);
    const opened = await page.$$eval('#chart g.step-detail.open g.state', (gs) =>
      gs.map((g) => `${g.getAttribute('data-state-id') ?? ''} ${g.getBoundingClientRect().width > 0}`),
    );
    assert.deepEqual(opened, ['node.active.mounting.mapping.running true', 'node.active.mounting.mapping.backoff true']);
    await page.click(mapping);
    assert.equal(await shown(), drawn.length - 2 * folded.length, 'a second click folds it again');

    const current = () => page.$eval('#chart g.state.current', (g) => g.getAttribute('data-state-id')).catch(() => null);
    const active = () => page.$$eval('#chart g.state.active', (gs) => gs.map((g) => g.getAttribute('data-state-id')));
    assert.equal(await page.textContent('#state'), 'idle');
    assert.equal(await current(), 'node.idle');
    // a step running inside its folded box: the box is what lights up
    await page.evaluate(() =>
      (window as unknown as { highlight(ids: string[]): void }).highlight([
        'node.active',
        'node.active.mounting',
        'node.active.mounting.mapping',
        'node.active.mounting.mapping.running',
      ]),
    );
    assert.equal(await current(), 'node.active.mounting.mapping');
    await page.evaluate(() => (window as unknown as { highlight(ids: string[]): void }).highlight(['node.idle']));

    t.diagnostic(await checkReadable(page));
    mkdirSync('docs', { recursive: true });
    await page.screenshot({ path: 'docs/viewer.png' });

    writeFileSync(config.file.keepalived.fifoPath, 'INSTANCE "VI_HARBOR" MASTER 150\n');
    await waitState(config, 'active.serving.healthy');
    await page.waitForFunction(() => document.querySelector('#chart g.state.current')?.getAttribute('data-state-id') === 'node.active.serving.healthy', null, {
      timeout: 10_000,
    });
    assert.deepEqual((await active()).sort(), ['node.active', 'node.active.serving', 'node.active.serving.healthy']);
    assert.equal(await page.textContent('#state'), 'active.serving.healthy');
    const rows = await page.$$eval('#events tbody tr', (trs) => trs.map((tr) => tr.textContent));
    assert.ok(
      rows.some((r) => r.includes('idle → active.acquiring-rbd.reading.running')),
      'the transition is listed',
    );
    assert.ok(
      rows.some((r) => /takeover → serving: acquiring-rbd [\d.]+ s/.test(r)),
      'with the takeover summary and its phase durations',
    );

    // and back: a switchover moves the highlight off serving
    await controlRequest(config.paths.controlSocket, { cmd: 'switchover' }, 2_000);
    await page
      .waitForFunction(() => document.querySelector('#chart g.state.current')?.getAttribute('data-state-id') === 'node.standing-down', null, {
        timeout: 10_000,
      })
      .catch(async (e: unknown) => {
        throw new Error(
          `${String(e)}; page shows ${(await page.textContent('#state')) ?? '?'}, current ${(await current()) ?? '?'}, live ${(await page.textContent('#live')) ?? '?'}`,
        );
      });
    assert.deepEqual(await active(), ['node.standing-down']);
    assert.match((await page.textContent('#last-takeover')) ?? '', /^ok → serving in [\d.]+ s at .* \(VRRP MASTER: taking the image\)$/);
    await page.waitForFunction(() => document.getElementById('last-release')?.textContent.includes('operator switchover'), null, { timeout: 5_000 });

    // the whole chart fits the window by default; unticked, it is drawn at its own size
    const fitted = await page.$eval('#chart svg', (svg) => svg.getBoundingClientRect().width);
    await page.uncheck('#fit-chart');
    const [natural, own] = await page.$eval('#chart svg', (svg) => [svg.getBoundingClientRect().width, Number(svg.getAttribute('width'))]);
    assert.ok(Math.abs(natural - own) < 1 && fitted <= 1920, `chart ${natural}px wide (its own ${own}), fitted ${fitted}px`);
    await page.check('#fit-chart');

    mkdirSync('reports', { recursive: true });
    await page.screenshot({ path: 'reports/viewer.png' });
    assert.deepEqual(refused, [], 'nothing outside loopback was requested');
    assert.ok(requested.length >= 5 && requested.every((u) => u.startsWith(viewer)), requested.join('\n'));
    assert.deepEqual(problems, []);
    await context.close();
  } finally {
    // a failed assertion must not leave the service running (the test process would never end)
    await controlRequest(config.paths.controlSocket, { cmd: 'shutdown', release: true }, 2_000).catch(() => undefined);
    await running;
    await browser.close();
    await health.close();
  }
});
