import { existsSync, readFileSync } from 'node:fs';
import type { Config } from '../config/index.js';
import type { ControlRequest, ControlResponse } from '../runtime/control-protocol.js';
import { checkFitness } from './check.js';
import { formatStatus, type StoredStatus } from '../runtime/status.js';
import { controlRequest } from './control-client.js';
import type { JournalEntry } from '../observe/journal.js';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

async function ask(config: Config, request: ControlRequest): Promise<ControlResponse> {
  return controlRequest(config.paths.controlSocket, request, 5_000);
}

function unreachable(config: Config, e: unknown): string {
  return `the service does not answer on ${config.paths.controlSocket} (${e instanceof Error ? e.message : String(e)}): is it running? systemctl status harbor-assistant`;
}

export async function statusCommand(config: Config, json: boolean, io: Io): Promise<number> {
  let status: StoredStatus;
  try {
    const r = await ask(config, { cmd: 'status' });
    if (!r.ok || !('status' in r)) throw new Error(r.ok ? 'unexpected answer' : r.error);
    status = r.status;
  } catch (e) {
    // not running: show the last status it left, clearly marked
    if (!existsSync(config.paths.statusFile)) {
      io.err(`${unreachable(config, e)}\n`);
      return 3;
    }
    status = JSON.parse(readFileSync(config.paths.statusFile, 'utf8')) as StoredStatus;
    if (!json) io.err(`the service is not answering; last status it wrote (${status.updatedAt}):\n`);
  }
  io.out(json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
  return 0;
}

/**
 * keepalived's track_script: exit 0 only when this node is fit. When the service does not
 * answer (a restart), a node that was serving, or a standby that was ready, stays fit for
 * `keepalived.restartGraceMs`.
 */
export async function checkCommand(config: Config, io: Io, now = Date.now()): Promise<number> {
  return checkFitness({ socket: config.paths.controlSocket, statusFile: config.paths.statusFile, graceMs: config.file.keepalived.restartGraceMs }, io, now);
}

export async function commandRequest(config: Config, request: ControlRequest, io: Io): Promise<number> {
  try {
    const r = await ask(config, request);
    if (!r.ok) {
      io.err(`refused: ${r.error}\n`);
      return 1;
    }
    if ('accepted' in r) io.out(`${r.accepted}: sent (node was in ${r.state}); follow it with \`harbor-assistant events\`\n`);
    return 0;
  } catch (e) {
    io.err(`${unreachable(config, e)}\n`);
    return 3;
  }
}

/**
 * The journal: the last entries, then every new one as it is written (across rotations). Reads
 * the file, so it works while the service is down too; Ctrl-C ends it.
 */
export interface EventsOptions {
  lines: number;
  follow: boolean;
  json: boolean;
  /** Leave out commands that succeeded (the watchdog and pollers run several a second). */
  brief?: boolean;
}

export async function eventsCommand(config: Config, options: EventsOptions, io: Io, signal?: AbortSignal): Promise<number> {
  const { followJournal, formatEntry, tailJournal } = await import('../observe/journal.js');
  const path = config.paths.journal;
  const wanted = (e: JournalEntry) => !(options.brief && e.kind === 'command' && e.ok);
  const show = (e: JournalEntry) => {
    if (wanted(e)) io.out(options.json ? `${JSON.stringify(e)}\n` : `${formatEntry(e)}\n`);
  };
  if (!existsSync(path) && !options.follow) {
    io.err(`no journal at ${path} yet: the service writes it from its first start\n`);
    return 3;
  }
  // --lines counts what is shown; --brief reads further back to find that many
  const last = tailJournal(path, options.brief ? options.lines * 20 : options.lines).filter(wanted);
  last.slice(last.length - Math.min(last.length, options.lines)).forEach(show);
  if (!options.follow) return 0;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  signal?.addEventListener('abort', onSignal, { once: true });
  await followJournal(path, show, stop.signal);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return 0;
}
