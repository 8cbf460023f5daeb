import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { NodeTag } from '../domain/tags.js';
import { staysFitWhileRestarting } from '../guards/restart-grace.js';
import type { StoredStatus } from '../runtime/status.js';
import { controlRequest } from './control-client.js';

// What an operator (or a monitoring system) asks; keepalived itself runs the shell track_script
// over the service's heartbeat (config/harbor-assistant-check) and reaches the same verdict. Only
// node built-ins and the socket client load here (no xstate, no config): it answers fast.

export interface CheckPaths {
  socket: string;
  statusFile: string;
  graceMs: number;
}

export interface CheckIo {
  out: (s: string) => void;
}

/** The check itself, from explicit paths: what keepalived runs every second, without loading the config. */
export async function checkFitness(p: CheckPaths, io: CheckIo, now = Date.now()): Promise<number> {
  try {
    const r = await controlRequest(p.socket, { cmd: 'check' }, 2_000);
    if (r.ok && 'fitness' in r) {
      io.out(`${r.fitness.fit ? 'fit' : 'unfit'}: ${r.fitness.why}\n`);
      return r.fitness.fit ? 0 : 1;
    }
    io.out(`unfit: ${r.ok ? 'unexpected answer' : r.error}\n`);
    return 1;
  } catch {
    if (!existsSync(p.statusFile)) {
      io.out('unfit: the service is not running\n');
      return 1;
    }
    const s = JSON.parse(readFileSync(p.statusFile, 'utf8')) as StoredStatus;
    const detachedAt = s.detachedAt ? Date.parse(s.detachedAt) : NaN;
    if (now - detachedAt < p.graceMs) {
      const tags = s.tags ?? (await tagsOfOldStatus(s.state));
      if (staysFitWhileRestarting(tags, s.fitness?.fit === true)) {
        io.out(`fit: ${tags.includes('serving') ? 'serving' : 'ready standby'}; the service is restarting\n`);
        return 0;
      }
    }
    io.out(`unfit: the service is not running (last state ${s.state})\n`);
    return 1;
  }
}

/** A status written before statuses carried tags (an upgrade restart): the chart names its tags. */
async function tagsOfOldStatus(state: string): Promise<readonly NodeTag[]> {
  const { tagsOfStateName } = await import('../machine/view.js');
  return tagsOfStateName(state);
}

/** `check --socket PATH --status-file PATH --grace MS`: the track_script keepalived runs. */
export async function fastCheck(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { socket: { type: 'string' }, 'status-file': { type: 'string' }, grace: { type: 'string' } } });
  const graceMs = Number(values.grace ?? '0');
  if (!values.socket || !values['status-file'] || !Number.isFinite(graceMs)) {
    process.stdout.write('unfit: check needs --socket, --status-file and --grace\n');
    return 1;
  }
  return checkFitness({ socket: values.socket, statusFile: values['status-file'], graceMs }, { out: (s) => process.stdout.write(s) });
}
