import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { controlRequest } from '../src/cli/control-client.js';

/**
 * The service's RSS while serving, without the lab: bench/rss-serve.ts (the compiled service on
 * instant fake steps) runs in a child `node [V8 flags]`; this process plays keepalived (the MASTER
 * notification, a `check` every second), Harbor (its health endpoint) and Prometheus (a scrape
 * every 15 s), and samples the child's VmRSS every 10 s.
 *
 *   node --import tsx bench/rss-sim.ts [--minutes 3] [--dist dist] [-- <node flags for the service>]
 *
 * Build first (npm run build). Prints one JSON line: RSS at serving and every sample, in MiB.
 */
const args = process.argv.slice(2);
const dash = args.indexOf('--');
const own = dash === -1 ? args : args.slice(0, dash);
const nodeFlags = dash === -1 ? [] : args.slice(dash + 1);
const opt = (name: string, fallback: string) => {
  const i = own.indexOf(`--${name}`);
  return i === -1 ? fallback : (own[i + 1] ?? fallback);
};
const minutes = Number(opt('minutes', '3'));
const repo = resolve(import.meta.dirname, '..');
const dist = resolve(repo, opt('dist', 'dist'));
const SAMPLE_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : NaN;
};

// the child is plain JS next to the service it loads (its `xstate` import resolves from there)
const child = join(dist, 'rss-serve.mjs');
const source = readFileSync(join(repo, 'bench', 'rss-serve.ts'), 'utf8');
writeFileSync(child, ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);

const health = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    '{"status":"healthy","components":[{"name":"core","status":"healthy"},{"name":"database","status":"healthy"},{"name":"jobservice","status":"healthy"},{"name":"portal","status":"healthy"},{"name":"redis","status":"healthy"},{"name":"registry","status":"healthy"},{"name":"registryctl","status":"healthy"}]}',
  );
});
await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
const healthPort = (health.address() as AddressInfo).port;

const dir = mkdtempSync(join(tmpdir(), 'ha-rss-'));
const metricsPort = 20_000 + Math.floor(Math.random() * 20_000);
// production defaults, except for paths and ports: probes every 2 s, the watchdog's dd every second, VIP polls every 2 s
writeFileSync(
  join(dir, 'config.yaml'),
  [
    'node:',
    `  stateDir: ${dir}/state`,
    `  runDir: ${dir}/run`,
    '  cephAddresses: [127.0.0.2]',
    'filesystem:',
    `  mountPoint: ${dir}/mnt`,
    'ceph:',
    '  session: "off"',
    'harbor:',
    '  composeCommand: ["true"]',
    `  healthUrl: http://127.0.0.1:${healthPort}/api/v2.0/health`,
    'keepalived:',
    `  fifoPath: ${dir}/run/keepalived.fifo`,
    `  fitnessFile: ${dir}/run/fitness`,
    `metrics: { listen: "127.0.0.1:${metricsPort}" }`,
    'viewer: { listen: "127.0.0.1:0" }',
    '',
  ].join('\n'),
);
writeFileSync(
  join(dir, 'env'),
  [
    'HARBOR_VERSION=v2.11.0',
    'HARBOR_VIP=127.0.0.1',
    'CEPH_MON_HOST=127.0.0.1',
    'CEPH_USER=harbor',
    'CEPH_USER_KEY=AQBsSHhjAAAAABAAiXWqnJHl7oKJ3aFfzVVlnw==',
    'CEPH_POOL_NAME=rbd',
    'CEPH_IMAGE_NAME=harbor',
    'KEEPALIVED_ROLE=master',
    'INTERFACE=lo',
    '',
  ].join('\n'),
);
const socket = join(dir, 'run', 'control.sock');
const log = openSync(join(dir, 'service.log'), 'a');
const memFile = join(dir, 'memory.json');
const proc = spawn(process.execPath, [...nodeFlags, child, dist, join(dir, 'config.yaml'), join(dir, 'env')], {
  stdio: ['ignore', log, log],
  env: { ...process.env, RSS_SIM_MEMORY_FILE: memFile },
});
const MiB = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
/** The child's heap (written every 5 s), in MiB: used/total. */
const heap = (): string => {
  try {
    const m = JSON.parse(readFileSync(memFile, 'utf8')) as { heapUsed: number; heapTotal: number };
    return `${MiB(m.heapUsed)}/${MiB(m.heapTotal)}`;
  } catch {
    return '?';
  }
};
const pid = proc.pid;
if (pid === undefined) throw new Error('the service did not start');

const state = async () => {
  const r = await controlRequest(socket, { cmd: 'status' }, 1_000).catch(() => null);
  return r?.ok && 'status' in r ? r.status.state : '';
};
const waitState = async (prefix: string) => {
  for (const end = Date.now() + 20_000; Date.now() < end; await sleep(50)) if ((await state()).startsWith(prefix)) return;
  throw new Error(`the service did not reach ${prefix}: ${readFileSync(join(dir, 'service.log'), 'utf8').slice(-2000)}`);
};

try {
  const t0 = Date.now();
  await waitState('idle');
  writeFileSync(join(dir, 'run', 'keepalived.fifo'), 'INSTANCE "VI_HARBOR" MASTER 150\n');
  await waitState('active.serving.healthy');
  const startMs = Date.now() - t0;
  const samples = [rssMiB(pid)];
  const heaps = [heap()];
  // keepalived's track script (`check`) every second, a Prometheus scrape every 15 s
  const check = setInterval(() => void controlRequest(socket, { cmd: 'check' }, 2_000).catch(() => undefined), 1_000);
  const scrape = setInterval(
    () =>
      void fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
        (r) => r.text(),
        () => '',
      ),
    15_000,
  );
  for (let i = 1; i <= (minutes * 60_000) / SAMPLE_MS; i++) {
    await sleep(SAMPLE_MS);
    const s = await state();
    if (!s.startsWith('active.serving')) throw new Error(`left serving: ${s}`);
    samples.push(rssMiB(pid));
    heaps.push(heap());
    process.stderr.write(`${(i * SAMPLE_MS) / 1000} s: ${samples.at(-1) ?? NaN} MiB, heap used/total ${heaps.at(-1) ?? '?'} MiB\n`);
  }
  clearInterval(check);
  clearInterval(scrape);
  const tail = samples.slice(Math.floor(samples.length / 2));
  console.log(
    JSON.stringify({
      flags: nodeFlags.join(' '),
      dist,
      minutes,
      servingAfterMs: startMs,
      atServingMiB: samples[0],
      endMiB: samples.at(-1),
      maxMiB: Math.max(...samples),
      secondHalfMeanMiB: Math.round((tail.reduce((a, b) => a + b, 0) / tail.length) * 10) / 10,
      samplesMiB: samples,
      heapUsedTotalMiB: heaps,
    }),
  );
} finally {
  await controlRequest(socket, { cmd: 'shutdown', release: false }, 2_000).catch(() => undefined);
  for (const end = Date.now() + 5_000; proc.exitCode === null && Date.now() < end;) await sleep(100);
  if (proc.exitCode === null) proc.kill('SIGKILL');
  health.close();
  spawnSync('chattr', ['-i', join(dir, 'mnt')], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
  rmSync(child, { force: true });
}
