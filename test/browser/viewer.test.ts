/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { chromium } from 'playwright-core';
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
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};

test('the offline viewer in headless Chromium: loopback only, every state drawn, the highlight follows the running node', async () => {
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
    assert.ok(viewer?.startsWith('http://127.0.0.1:'), `viewer on loopback: ${viewer}`);

    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
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

    await page.goto(viewer);
    await page.waitForSelector('body[data-chart="ready"]', { timeout: 20_000 });
    await page.waitForFunction(() => document.getElementById('live')?.textContent === 'live', null, { timeout: 10_000 });

    const chart = chartOf(nodeMachine);
    const drawn = await page.$$eval('#chart g.state', (gs) => gs.map((g) => g.getAttribute('data-state-id') ?? ''));
    assert.deepEqual([...drawn].sort(), chart.stateIds.filter((id) => id !== chart.root.id).sort(), 'every state of the machine is drawn');
    // drawn means laid out with a size, not merely present in the DOM
    const sizes = await page.$$eval('#chart g.state rect', (rs) => rs.map((r) => (r as SVGGraphicsElement).getBBox()).map((b) => b.width * b.height));
    assert.ok(sizes.every((a) => a > 0));

    const current = () => page.$eval('#chart g.state.current', (g) => g.getAttribute('data-state-id')).catch(() => null);
    const active = () => page.$$eval('#chart g.state.active', (gs) => gs.map((g) => g.getAttribute('data-state-id')));
    assert.equal(await page.textContent('#state'), 'idle');
    assert.equal(await current(), 'node.idle');

    writeFileSync(config.file.keepalived.fifoPath, 'INSTANCE "VI_HARBOR" MASTER 150\n');
    await waitState(config, 'active.serving.healthy');
    await page.waitForFunction(() => document.querySelector('#chart g.state.current')?.getAttribute('data-state-id') === 'node.active.serving.healthy', null, { timeout: 10_000 });
    assert.deepEqual((await active()).sort(), ['node.active', 'node.active.serving', 'node.active.serving.healthy']);
    assert.equal(await page.textContent('#state'), 'active.serving.healthy');
    const rows = await page.$$eval('#events tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    assert.ok(rows.some((r) => r.includes('idle → active.acquiring-rbd.reading.running')), 'the transition is listed');
    assert.ok(rows.some((r) => /takeover → serving: acquiring-rbd [\d.]+ s/.test(r)), 'with the takeover summary and its phase durations');

    // and back: a switchover moves the highlight off serving
    await controlRequest(config.paths.controlSocket, { cmd: 'switchover' }, 2_000);
    await page
      .waitForFunction(() => document.querySelector('#chart g.state.current')?.getAttribute('data-state-id') === 'node.standing-down', null, { timeout: 10_000 })
      .catch(async (e: unknown) => {
        throw new Error(`${String(e)}; page shows ${await page.textContent('#state')}, current ${await current()}, live ${await page.textContent('#live')}`);
      });
    assert.deepEqual(await active(), ['node.standing-down']);
    assert.match((await page.textContent('#last-takeover')) ?? '', /^ok → serving in [\d.]+ s at .* \(VRRP MASTER: taking the image\)$/);
    await page.waitForFunction(() => document.getElementById('last-release')?.textContent?.includes('operator switchover'), null, { timeout: 5_000 });

    // "whole chart in the window" scales the drawing to the page width
    const wide = await page.$eval('#chart svg', (svg) => svg.getBoundingClientRect().width);
    await page.check('#fit-chart');
    const fitted = await page.$eval('#chart svg', (svg) => svg.getBoundingClientRect().width);
    assert.ok(wide > 1600 && fitted <= 1600, `chart ${wide}px wide, fitted ${fitted}px`);
    await page.uncheck('#fit-chart');

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
