/**
 * V8 flags the long-running `run` service wants, for whoever starts it: the systemd unit puts them
 * on node's command line (config/harbor-assistant.service, `ExecStart=/usr/bin/env node <flags>
 * …`; a unit test keeps the two equal; --no-opt is one Node refuses in NODE_OPTIONS) and the lab
 * does the same (lab/node-package.ts engineArgv), so the bench measures what production runs. They cannot
 * be set from inside: V8 sizes its heap before any script runs (v8.setFlagsFromString at start
 * changes nothing for the heap, measured, and Node warns it may crash for the rest), and Node 20
 * has no execve to restart itself in place.
 *
 * --max-semi-space-size=1 (MiB): Node 20 lets the young generation grow to 16 MiB semi-spaces, and
 * start-up (config, the chart, journal tail, the first transitions) allocates enough to grow it.
 * bench/rss-sim.ts: at the moment the node serves 64.5 MiB with the flag against 77.7 MiB without.
 *
 * --no-opt: no TurboFan. Its compiled code and compiler zones were most of what the serving
 * process grew by; the engine is event-driven and idle nearly all the time. bench/rss-sim.ts, 4 min
 * serving, second-half mean (max): 75.8 (78.6) MiB without it, 60.5 (62.5) with it; --lite-mode
 * 59.1 (62.9), --optimize-for-size 69.5 (71.6). Its price, bench/engine-only.ts on an idle machine:
 * a takeover + release cycle with journal and metrics 915 µs → 2030 µs (about 1 ms per failover,
 * against seconds of Ceph, mount and Harbor).
 *
 * No --max-old-space-size: the old generation is sized by what is live, and a cap would turn a
 * leak or a burst (a takeover's logs) into a crash of the failover engine instead of a bigger process.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--no-opt'];

/** Are the flags in effect for this process (on node's command line or in NODE_OPTIONS)? */
export function serviceNodeFlagsMissing(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)]);
  return SERVICE_NODE_FLAGS.filter((f) => !given.has(f));
}
