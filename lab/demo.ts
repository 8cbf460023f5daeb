import type { Server } from 'node:net';
import { formatEntry } from '../src/observe/journal.js';
import { forwardIntoNamespace } from './forward.js';
import { LAB, Lab, type NodeName } from './lab.js';
import { waitServing } from './scenarios.js';

/**
 * `npm run demo`: the two-node lab with a live failover. Brings the lab up, shows both nodes'
 * states live, pushes an image through the VIP, kills the master (engine and keepalived), shows
 * the takeover with its timings, pulls the image back, forwards each node's viewer and metrics to
 * this host's loopback, and tears everything down on Ctrl-C.
 */
const lab = new Lab({ advertInt: 0.1, log: (l) => say(l) });
let stopping = false;
const forwards: Server[] = [];

function say(line: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 23)}  ${line}\n`);
}

async function teardown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('tearing the lab down (processes, mounts, loop devices, namespaces)…');
    forwards.forEach((f) => f.close());
    await lab.down();
    say('done');
  }
  process.exit(code);
}

process.on('SIGINT', () => void teardown(0));
process.on('SIGTERM', () => void teardown(0));

async function watchStates(ms: number): Promise<void> {
  let last = '';
  for (const end = Date.now() + ms; Date.now() < end && !stopping; await new Promise((r) => setTimeout(r, 200))) {
    const s = await lab.states();
    const line = `a: ${s.a.padEnd(40)} b: ${s.b}`;
    if (line !== last) say(line);
    last = line;
  }
}

async function main(): Promise<void> {
  say(
    'bringing the lab up: Ceph (mon, memstore OSD, mgr), two nodes with keepalived and harbor-assistant (the .deb, unpacked per node, on its own Node.js runtime)…',
  );
  await lab.up();
  say(`both nodes run harbor-assistant ${lab.installedVersion('a')} from the package`);
  const serving: NodeName = await lab.waitOneServing(120_000);
  await watchStates(1_000);
  say(`${serving} serves Harbor (the registry) on the VIP; pushing an image with skopeo…`);
  const push = lab.push();
  if (!push.ok) throw new Error(`push failed: ${push.out}`);
  say(`pushed ${push.ref}`);
  const standby: NodeName = serving === 'a' ? 'b' : 'a';
  say(`killing the master ${serving}: SIGKILL to its engine and keepalived (its Harbor keeps running, fenced by ${standby})`);
  const faultAt = Date.now();
  lab.crashNode(serving);
  await waitServing(lab, standby, 120_000);
  const rto = await lab.waitPullable(60_000).then(() => Date.now() - faultAt);
  say(`takeover by ${standby}: image pullable through the VIP ${rto} ms after the crash`);
  const summary = lab.journal(standby).findLast((e) => e.kind === 'summary' && e.operation === 'takeover');
  if (summary) say(`${standby}'s journal: ${formatEntry(summary)}`);
  for (const [phase, ms] of Object.entries(lab.phases(standby, faultAt))) say(`  ${phase.padEnd(10)} ${String(ms).padStart(6)} ms`);
  const lost = lab.lostImages();
  say(lost.length === 0 ? 'pulled every pushed image back: digests match, nothing lost' : `LOST: ${lost.join(', ')}`);
  // each node's viewer and metrics listen on its own loopback, as on a real host: tunnel them here
  for (const [n, port] of [
    ['a', 9480],
    ['b', 9481],
  ] as const) {
    for (const [target, offset, what] of [
      [9470, 0, 'live statechart viewer'],
      [9469, 10, 'metrics'],
    ] as const) {
      const server = await forwardIntoNamespace(`${LAB.prefix}-${n}`, target, port + offset).catch((e: unknown) => {
        say(`cannot forward ${n}'s ${what} to 127.0.0.1:${port + offset}: ${String(e)}`);
        return null;
      });
      if (server) {
        forwards.push(server);
        say(`${n}'s ${what}: http://127.0.0.1:${port + offset}/${target === 9469 ? 'metrics' : ''}`);
      }
    }
  }
  say('watching the states; Ctrl-C tears the lab down');
  await watchStates(Number(process.env.DEMO_WATCH_MS ?? 24 * 3600 * 1000));
  await teardown(lost.length === 0 ? 0 : 1);
}

main().catch(async (e: unknown) => {
  say(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
  await teardown(1);
});
