import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { viewAt } from '../support/views.js';
import { Observability } from '../../src/observe/observability.js';

const dir = mkdtempSync(join(tmpdir(), 'ha-observe-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const config = buildConfig({
  env: {
    HARBOR_VERSION: 'v2.11.0',
    HARBOR_VIP: '10.0.0.100',
    CEPH_MON_HOST: '10.0.0.10',
    CEPH_USER: 'harbor',
    CEPH_USER_KEY: 'AQBsSHhjAAAAABAAiXWqnJHl7oKJ3aFfzVVlnw==',
    CEPH_POOL_NAME: 'rbd',
    CEPH_IMAGE_NAME: 'harbor',
    KEEPALIVED_ROLE: 'master',
    INTERFACE: 'eth0',
  },
  yaml: { text: `node: { stateDir: ${dir}/state, runDir: ${dir}/run }\nmetrics: { listen: "" }\nviewer: { listen: "" }\n`, source: 'test' },
});

test('the recent list keeps the last transitions even under a flood of routine commands, also after a restart', async () => {
  const o = new Observability(config, silentLogger());
  await o.start({ inspect: false });
  const t0 = Date.now() - 60_000;
  o.transition(
    { at: new Date(t0).toISOString(), from: 'idle', to: 'active.acquiring-rbd.reading.running', event: 'vrrp' },
    { reason: 'VRRP MASTER', lastError: null },
    { from: viewAt('idle'), to: viewAt('active.acquiring-rbd.reading.running') },
  );
  o.transition(
    { at: new Date(t0 + 2_000).toISOString(), from: 'active.acquiring-rbd.reading.running', to: 'active.serving.healthy', event: 'health.healthy' },
    { reason: 'serving', lastError: null },
    { from: viewAt('active.acquiring-rbd.reading.running'), to: viewAt('active.serving.healthy') },
  );
  for (let i = 0; i < 1_000; i++) o.command({ what: 'io watchdog', command: 'dd …', durationMs: 3, ok: true, result: 'exit 0', failure: null });
  const kinds = (list: Array<{ kind: string }>) => list.reduce<Record<string, number>>((m, e) => ({ ...m, [e.kind]: (m[e.kind] ?? 0) + 1 }), {});
  const recent = o.recent();
  assert.deepEqual(kinds(recent), { transition: 2, summary: 1, command: 100 });
  assert.ok(
    recent.every((e, i) => i === 0 || (recent[i - 1]?.at ?? '') <= e.at),
    'in time order',
  );
  await o.close();

  const again = new Observability(config, silentLogger());
  assert.deepEqual(kinds(again.recent()), { transition: 2, summary: 1, command: 100 }, 'read back from the journal at start');
  await again.close();
});
