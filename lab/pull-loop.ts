/** Clients pulling through the VIP all along (a shell loop in the client namespace), for the unavailability they saw. */

import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, spawnDetached } from './exec.js';
import { LAB } from './topology.js';

/**
 * Clients that keep pulling through the VIP while the lab does something else: a process in the
 * client namespace pulls `ref` back to back (a fresh copy each time, 200 ms apart) and records
 * each attempt's start, end and result. `stop()` ends it and returns the attempts (epoch ms).
 */
export function startPullLoop(ref: string): { stop: () => Promise<Array<{ start: number; end: number; ok: boolean }>> } {
  const dir = join(LAB.root, 'pull-loop');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const log = join(dir, 'attempts.log');
  // the ref and paths are positional parameters, never spliced into the script
  const script = [
    'while :; do',
    '  start=$(date +%s%3N)',
    '  rm -rf "$3/img"',
    '  if skopeo --policy "$2" copy --retry-times 0 --src-tls-verify=false "docker://$1" "oci:$3/img:x" >/dev/null 2>&1; then r=ok; else r=fail; fi',
    '  echo "$start $(date +%s%3N) $r" >> "$4"',
    '  sleep 0.2',
    'done',
  ].join('\n');
  const pid = spawnDetached(
    'the pull loop',
    ['nsenter', `--net=/run/netns/${LAB.prefix}-client`, '--', 'sh', '-c', script, 'pull-loop', ref, join(LAB.root, 'policy.json'), dir, log],
    { pidFile: join(dir, 'pid') },
  );
  return {
    stop: async () => {
      // the loop's shell and the skopeo it runs: the process group the lab started
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
      await sleep(100);
      const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
      return text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => {
          const [start = '0', end = '0', result = 'fail'] = l.split(' ');
          return { start: Number(start), end: Number(end), ok: result === 'ok' };
        });
    },
  };
}
