import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { controlRequest } from '../../src/cli/control-client.js';
import { ConfigError } from '../../src/config/index.js';
import type { NodeStatus } from '../../src/runtime/status.js';
import { HEALTHY, startHealthServer } from '../support/harbor-health-server.js';
import { statusWithHost } from '../support/http-probe.js';
import { configFor, removeTestDir } from '../support/service-harness.js';

interface Child {
  proc: ChildProcess;
  paths: { socket: string; fifo: string; stateDir: string };
  lines: string[];
  exited: Promise<number | null>;
}

async function startChild(healthUrl: string, mode: 'flag' | 'config' | 'off'): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/support/inspect-child.ts', healthUrl, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const first = new Promise<string>((resolve) => {
    createInterface({ input: proc.stdout }).on('line', (l) => {
      lines.push(l);
      if (lines.length === 1) resolve(l);
    });
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, paths: JSON.parse(await first) as Child['paths'], lines, exited };
}

async function statusOf(socket: string, prefix: string): Promise<NodeStatus> {
  const end = Date.now() + 15_000;
  while (Date.now() < end) {
    const r = await controlRequest(socket, { cmd: 'status' }, 1_000).catch(() => null);
    if (r?.ok && 'status' in r && r.status.state.startsWith(prefix)) return r.status;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`${prefix} not reached`);
}

/** SIGTERM, then how long until the process was gone (it must exit by itself: nothing kills it). */
async function stopAndTime(c: Child): Promise<number> {
  const t0 = Date.now();
  c.proc.kill('SIGTERM');
  const timeout = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000).unref());
  const result = await Promise.race([c.exited, timeout]);
  if (result === 'hung') {
    c.proc.kill('SIGKILL');
    throw new Error('the service did not exit within 10 s of SIGTERM');
  }
  return Date.now() - t0;
}

interface InspectorMessage {
  type: string;
  definition?: string;
  event?: { type: string };
  snapshot?: { value?: unknown; context?: Record<string, unknown> };
}

test("run --inspect: a websocket client gets the Stately inspector's actor, event and snapshot messages; the service exits at once", async () => {
  const health = await startHealthServer();
  health.set(HEALTHY);
  const child = await startChild(health.url, 'flag');
  try {
    const idle = await statusOf(child.paths.socket, 'idle');
    const url = idle.endpoints.inspector ?? '';
    assert.ok(url.startsWith('http://127.0.0.1:'), `inspector on loopback: ${url}`);
    const page = await (await fetch(url)).text();
    assert.match(page, /stately\.ai\/inspect/, 'the bridge page for a browser that reaches stately.ai');

    // another site's page in the operator's browser may not read the stream (no CORS for websockets)
    const foreign = new WebSocket(url.replace('http:', 'ws:'), { origin: 'https://evil.example' });
    const refused = await new Promise<string>((resolve) => {
      foreign.once('open', () => resolve('open'));
      foreign.once('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      foreign.once('error', (e) => resolve(e.message));
    });
    assert.match(refused, /401|Unexpected server response: 401/);
    foreign.terminate();
    assert.equal(await statusWithHost(url, 'attacker.example:9471'), 421, 'a DNS name in Host (rebinding) is refused');
    assert.equal(await statusWithHost(url, 'localhost:9471'), 200, 'what an SSH tunnel sends is fine');

    const raw: string[] = [];
    const ws = new WebSocket(url.replace('http:', 'ws:'), { origin: url });
    // binaryType is ws's default, nodebuffer: every message arrives as one Buffer
    ws.on('message', (d) => raw.push((d as Buffer).toString()));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const messages = () => raw.map((m) => JSON.parse(m) as InspectorMessage);
    const waitFor = async (pred: (m: InspectorMessage) => boolean, what: string) => {
      const end = Date.now() + 5_000;
      while (Date.now() < end) {
        const found = messages().find(pred);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(
        `no ${what}; got ${messages()
          .map((m) => m.type)
          .join(', ')}`,
      );
    };
    // replayed from before we connected: the actor with its machine definition
    const actor = await waitFor((m) => m.type === '@xstate.actor' && typeof m.definition === 'string' && m.definition.includes('"id":"node"'), 'actor message');
    assert.ok(actor.definition?.includes('acquiring-rbd'));

    writeFileSync(child.paths.fifo, 'INSTANCE "VI_HARBOR" MASTER 150\n');
    await waitFor((m) => m.type === '@xstate.event' && m.event?.type === 'vrrp', 'vrrp event');
    const serving = await waitFor(
      (m) => m.type === '@xstate.snapshot' && JSON.stringify(m.snapshot?.value) === JSON.stringify({ active: { serving: 'healthy' } }),
      'serving snapshot',
    );
    // sanitized: exactly the operator's fields, no timing, no key anywhere
    assert.deepEqual(Object.keys(serving.snapshot?.context ?? {}).sort(), ['failures', 'health', 'holdings', 'knownHolders', 'lastError', 'reason', 'vrrp']);
    assert.doesNotMatch(raw.join('\n'), /AQBsSHhj/);

    // a watcher cannot inject messages for other watchers: only the service's own client produces
    const other = new WebSocket(url.replace('http:', 'ws:'));
    await new Promise((resolve, reject) => other.once('open', resolve).once('error', reject));
    other.send(JSON.stringify({ type: '@xstate.snapshot', snapshot: { value: 'forged' } }));
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!raw.some((m) => m.includes('forged')), 'a forged message was relayed');
    other.close();

    ws.close();
    const ms = await stopAndTime(child);
    assert.ok(ms < 4_000, `exited ${ms} ms after SIGTERM`);
    assert.equal(child.lines.at(-1), 'returned', 'runService returned: it closed everything itself');
  } finally {
    child.proc.kill('SIGKILL');
    removeTestDir(dirname(child.paths.stateDir));
    await health.close();
  }
});

test('with the inspector switched on in the config and nobody connected, the service still exits within seconds', async () => {
  const health = await startHealthServer();
  const child = await startChild(health.url, 'config');
  try {
    const idle = await statusOf(child.paths.socket, 'idle');
    assert.ok(idle.endpoints.inspector);
    const ms = await stopAndTime(child);
    assert.ok(ms < 4_000, `exited ${ms} ms after SIGTERM`);
    assert.equal(child.lines.at(-1), 'returned');
  } finally {
    child.proc.kill('SIGKILL');
    removeTestDir(dirname(child.paths.stateDir));
    await health.close();
  }
});

test('the inspector refuses any address but loopback, naming the field', () => {
  assert.throws(
    () => configFor('http://127.0.0.1:1/', [], { inspector: '0.0.0.0:9471' }),
    (e: unknown) =>
      e instanceof ConfigError && /inspector\.listen: must be a loopback address and port such as 127\.0\.0\.1:9471, got "0\.0\.0\.0:9471"/.test(e.message),
  );
  assert.throws(() => configFor('http://127.0.0.1:1/', [], { metrics: 'localhost:80' }), /metrics\.listen: must be IP:port/);
});

test('the real CLI: `run --inspect` on real actions attaches the inspector, and SIGTERM ends it within seconds with nothing left open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ha-cli-inspect-'));
  try {
    // the VIP is a documentation address (RFC 5737) that no interface has: booting finds no VIP
    // and nothing is ever sent to it; the monitor does not answer, so standby polls time out
    writeFileSync(
      join(dir, 'env'),
      'HARBOR_VERSION=v2.11.0\nHARBOR_VIP=192.0.2.10\nCEPH_MON_HOST=127.0.0.1\nCEPH_USER=harbor\nCEPH_USER_KEY=AQBsSHhjAAAAABAAiXWqnJHl7oKJ3aFfzVVlnw==\nCEPH_POOL_NAME=rbd\nCEPH_IMAGE_NAME=harbor\nKEEPALIVED_ROLE=master\nINTERFACE=lo\n',
      { mode: 0o600 },
    );
    writeFileSync(
      join(dir, 'config.yaml'),
      [
        `node: { stateDir: ${dir}/state, runDir: ${dir}/run, cephAddresses: [127.0.0.2] }`,
        'harbor: { composeCommand: ["true"], healthUrl: "http://127.0.0.1:9/" }',
        `filesystem: { mountPoint: ${dir}/mnt }`,
        `keepalived: { fifoPath: ${dir}/run/keepalived.fifo, fitnessFile: ${dir}/run/fitness, vipPollMs: 600000 }`,
        'ceph: { commandTimeoutMs: 3000 }',
        'metrics: { listen: "127.0.0.1:0" }',
        'viewer: { listen: "" }',
        'inspector: { listen: "127.0.0.1:0" }',
      ].join('\n'),
    );
    const proc = spawn(process.execPath, ['dist/cli/main.js', 'run', '--inspect', '--config', join(dir, 'config.yaml'), '--env', join(dir, 'env')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    try {
      // booting reads the real world (nothing held here) and lands in idle
      const s = await statusOf(join(dir, 'run', 'control.sock'), 'idle').catch((e: unknown) => {
        throw new Error(`${String(e)}; the service said:\n${stderr.slice(-3000)}`);
      });
      assert.ok(s.endpoints.inspector?.startsWith('http://127.0.0.1:'), JSON.stringify(s.endpoints));
      assert.equal(s.endpoints.viewer, undefined, 'switched off by an empty listen address');
      const ms = await stopAndTime({ proc, paths: { socket: '', fifo: '', stateDir: '' }, lines: [], exited });
      assert.ok(ms < 5_000, `exited ${ms} ms after SIGTERM`);
      assert.equal(await exited, 0);
      assert.doesNotMatch(stderr, /exiting with handles still open/);
      assert.doesNotMatch(stderr, /AQBsSHhj/);
      assert.match(stderr, /"message":"inspector listening"/);
    } finally {
      proc.kill('SIGKILL');
    }
  } finally {
    removeTestDir(dir);
  }
});
