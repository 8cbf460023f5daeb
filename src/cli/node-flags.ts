/**
 * V8 flags the long-running `run` service wants, for whoever starts it: the systemd unit passes
 * them as NODE_OPTIONS (config/harbor-assistant.service; a unit test keeps the two equal) and the
 * lab puts them on the `node` command line (lab/lab.ts engineArgv), so the bench measures what
 * production runs. They cannot be set from inside: V8 sizes its heap before any script runs
 * (v8.setFlagsFromString('--max-semi-space-size=1') at start changes nothing, measured), and
 * Node 20 has no execve to restart itself in place.
 *
 * --max-semi-space-size=1 (MiB): Node 20 lets the young generation grow to 16 MiB semi-spaces, and
 * start-up (config, the chart, journal tail, the first transitions) allocates enough to grow it.
 * bench/rss-sim.ts, after the fetch/zx/inspector trim: at the moment the node serves 64.5 MiB with
 * the flag against 77.7 MiB without (80.5 MiB 10 s later); while serving both are the same
 * sawtooth of old-generation collections (live heap ~13 MiB after each): 69–79 MiB over 10 min
 * with it, 65–77 MiB over 5 min without; --max-semi-space-size=2 did no better (72–80 MiB).
 * On the untrimmed service it started lower (78 against 95 MiB) but climbed to 91 MiB in 3 min.
 * No --max-old-space-size: the old generation is sized by what is live, and a cap would turn a
 * leak or a burst (a takeover's logs) into a crash of the failover engine instead of a bigger process.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/** Are the flags in effect for this process (on node's command line or in NODE_OPTIONS)? */
export function serviceNodeFlagsMissing(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)]);
  return SERVICE_NODE_FLAGS.filter((f) => !given.has(f));
}
