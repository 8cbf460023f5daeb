/** What the nodes wrote down, read back: keepalived's log, the journal, the engine's log (transitions, phases, fences). */

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJournal, type JournalEntry } from '../src/observe/journal.js';
import { engineLog, nodeDir, type NodeName } from './topology.js';

/** What the node's keepalived has logged (its state changes, its track_script's verdicts). */
export function keepalivedLog(n: NodeName): string {
  const path = join(nodeDir(n), 'keepalived.log');
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** A node's journal (transitions, commands, takeover/release summaries). */
export function journal(n: NodeName): JournalEntry[] {
  const path = join(nodeDir(n), 'state', 'journal.jsonl');
  return existsSync(path) ? parseJournal(readFileSync(path, 'utf8')) : [];
}

/** The fence operations a node's engine ran (from its own log). */
export function fenceCount(n: NodeName): number {
  if (!existsSync(engineLog(n))) return 0;
  return readFileSync(engineLog(n), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"what":"ceph osd blocklist add"') || l.includes('"what":"ceph osd blacklist add"')).length;
}

/** Transitions a node's engine logged after `since` (ms epoch). */
export function transitions(n: NodeName, since: number): Array<{ at: number; to: string; from: string }> {
  if (!existsSync(engineLog(n))) return [];
  return readFileSync(engineLog(n), 'utf8')
    .split('\n')
    .flatMap((l) => {
      try {
        const j = JSON.parse(l) as { message?: string; at?: string; to?: string; from?: string };
        return j.message === 'transition' && j.at && j.to ? [{ at: Date.parse(j.at), to: j.to, from: j.from ?? '' }] : [];
      } catch {
        return [];
      }
    })
    .filter((t) => t.at >= since);
}

/** Per-phase durations of the takeover a node logged after `since`. */
export function phases(n: NodeName, since: number): Record<string, number> {
  const ts = transitions(n, since);
  const first = (prefix: string) => ts.find((t) => t.to.startsWith(prefix))?.at;
  const marks: Array<[string, string]> = [
    ['detect', 'active.acquiring-rbd'],
    ['fence', 'active.fencing'],
    ['map', 'active.mounting.mapping'],
    ['probe', 'active.mounting.probing'],
    ['fsck', 'active.mounting.checking'],
    ['mount', 'active.mounting.mounting-fs'],
    ['composeUp', 'active.starting.composing'],
    ['healthy', 'active.starting.waiting-healthy'],
    ['serving', 'active.serving'],
  ];
  const out: Record<string, number> = {};
  const detectAt = first('active.acquiring-rbd');
  if (detectAt !== undefined) out.detect = detectAt - since;
  for (let i = 1; i < marks.length - 1; i++) {
    const [name, prefix] = marks[i] ?? ['', ''];
    const start = first(prefix);
    const next = marks
      .slice(i + 1)
      .map(([, p]) => first(p))
      .find((t) => t !== undefined && start !== undefined && t >= start);
    if (start !== undefined && next !== undefined) out[name] = next - start;
  }
  return out;
}

/** When the node's engine first entered mapping after `since` (ms epoch), from its log. */
export function mappedAt(n: NodeName, since: number): number | null {
  return transitions(n, since).find((t) => t.to.startsWith('active.mounting.mapping'))?.at ?? null;
}

/** compose up and down as the engines ran them since `since` (ms epoch), from both journals: ms each. */
export function composeTimes(since: number): { up: number[]; down: number[] } {
  const times = { up: [] as number[], down: [] as number[] };
  for (const n of ['a', 'b'] as const) {
    for (const e of journal(n)) {
      if (e.kind !== 'command' || !e.ok || Date.parse(e.at) < since) continue;
      if (e.what === 'compose up') times.up.push(e.durationMs);
      if (e.what === 'compose down') times.down.push(e.durationMs);
    }
  }
  return times;
}
