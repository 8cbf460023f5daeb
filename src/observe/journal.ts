import { closeSync, existsSync, fstatSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync, chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { redact } from '../actions/exec.js';

export interface PhaseDuration {
  phase: string;
  durationMs: number;
}

/** One line of the journal. `at` is ISO time; durations are milliseconds. */
export type JournalEntry =
  | {
      kind: 'transition';
      at: string;
      from: string;
      to: string;
      event: string;
      /** How long the node was in `from`. */
      inStateMs: number;
      reason: string;
      lastError?: string;
      /** The ownership generation this node held after the transition (null: none). */
      generation?: number | null;
      /** The owner record of the node's last look at the image: `node#generation`. */
      owner?: string;
    }
  | { kind: 'command'; at: string; what: string; command: string; durationMs: number; ok: boolean; result: string }
  | {
      kind: 'summary';
      at: string;
      operation: 'takeover' | 'release';
      /** Where it ended: `active.serving…` for a takeover that worked, else the state it left to. */
      outcome: string;
      ok: boolean;
      /** The event that started it and the reason the node gave then. */
      cause: { event: string; reason: string };
      totalMs: number;
      phases: PhaseDuration[];
      /** The same time by step (`mounting.mapping`), retries included. */
      steps: PhaseDuration[];
    }
  | { kind: 'service'; at: string; message: string; detail?: Record<string, string | number | boolean | null> }
  /** What a Harbor service logged while it started in a takeover (PostgreSQL's crash recovery). */
  /** A container's own log lines kept in the journal; `about` says which (default: its start-up after a takeover). */
  | { kind: 'log'; at: string; service: string; lines: string[]; about?: string };

export interface JournalOptions {
  maxBytes: number;
  /** Rotated files kept: journal.jsonl.1 (newest) … journal.jsonl.<keep>. */
  keep: number;
  /** Never written: replaced by *** in every line (commands are redacted already; this is the last net). */
  secrets: readonly string[];
}

/**
 * The journal: one JSON object per line, rotated by size like logrotate's `copytruncate`-free
 * rename scheme. 0600.
 *
 * Lines are appended in order and written together once per macrotask (a `setImmediate` after the
 * first line of a batch), not one `write(2)` each: a takeover + release cycle journals ~22 lines in
 * a handful of macrotasks, and a write per line was most of the journal's cost. Every line still
 * reaches the file, in order: `close()` writes what is pending, and so does an `exit` listener
 * (a normal exit, `process.exit()`, an uncaught exception). What a crash that skips `exit`
 * (SIGKILL, the OOM killer, a fatal V8 error) can lose is the current macrotask's lines only —
 * the transitions of one burst of microsteps, whose effects the next start reads back from the
 * world anyway. Before, a line was in the page cache before the next transition ran; it was never
 * fsynced, so a power loss could lose more than that either way.
 */
export class Journal {
  private fd: number;
  private size: number;
  /** Lines appended and not written yet, in order (their bytes are counted in `size` already). */
  private pending: string[] = [];
  private flushScheduled = false;
  private closed = false;
  /** Writes what is pending; the scheduled flush and the `exit` listener (neither has a caller to throw to). */
  private readonly flushNow = () => {
    try {
      this.flush();
    } catch (e) {
      this.onError(e);
    }
  };

  constructor(
    readonly path: string,
    private readonly options: JournalOptions,
    /** A write that failed in a later macrotask (nobody to throw to): its lines are dropped. */
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.fd = this.open();
    this.size = fstatSync(this.fd).size;
    process.on('exit', this.flushNow);
  }

  append(entry: JournalEntry): void {
    if (this.closed) throw new Error('journal closed');
    const line = `${redact(JSON.stringify(entry), this.options.secrets)}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.options.maxBytes) {
      // the lines before the rotation belong in the file being rotated
      this.flush();
      this.rotate();
    }
    this.pending.push(line);
    this.size += bytes;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushNow);
    }
  }

  /** Write the pending lines now (one write). Throws what the write throws; the lines are gone then. */
  flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0 || this.closed) return;
    const text = this.pending.length === 1 ? (this.pending[0] ?? '') : this.pending.join('');
    this.pending = [];
    const buf = Buffer.from(text);
    for (let off = 0; off < buf.length;) off += writeSync(this.fd, buf, off);
  }

  close(): void {
    if (this.closed) return;
    process.off('exit', this.flushNow);
    try {
      this.flush();
    } finally {
      this.closed = true;
      closeSync(this.fd);
    }
  }

  private open(): number {
    const fd = openSync(this.path, 'a', 0o600);
    chmodSync(this.path, 0o600);
    return fd;
  }

  private rotate(): void {
    closeSync(this.fd);
    const { keep } = this.options;
    const oldest = `${this.path}.${keep}`;
    if (existsSync(oldest)) unlinkSync(oldest);
    for (let i = keep - 1; i >= 1; i--) if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    renameSync(this.path, `${this.path}.1`);
    this.fd = this.open();
    this.size = 0;
  }
}

/** Parse journal text; lines that are not JSON objects (a torn last line) are skipped. */
export function parseJournal(text: string): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as unknown;
      if (typeof v === 'object' && v !== null && 'kind' in v) out.push(v as JournalEntry);
    } catch {
      // a line being written while we read: the follower reads it whole next time
    }
  }
  return out;
}

/** The last `n` complete lines of the journal (reading at most the last few MiB). */
export function tailJournal(path: string, n: number): JournalEntry[] {
  if (!existsSync(path)) return [];
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 4 * 1024 * 1024);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    const text = buf.toString('utf8');
    // drop a partial first line when we did not start at the beginning
    const whole = size > length ? text.slice(text.indexOf('\n') + 1) : text;
    return n <= 0 ? [] : parseJournal(whole.slice(0, whole.lastIndexOf('\n') + 1)).slice(-n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Follow the journal like `tail -F`: every complete new line is handed over, across rotations
 * (the rest of the rotated file is read before the new one). Starts at the current end.
 */
export function followJournal(path: string, onEntry: (e: JournalEntry) => void, signal: AbortSignal, pollMs = 200): Promise<void> {
  return new Promise((resolve) => {
    let fd: number | null = null;
    let ino = -1;
    let offset = 0;
    let partial = '';
    const openCurrent = (atEnd: boolean) => {
      if (!existsSync(path)) return;
      fd = openSync(path, 'r');
      const st = fstatSync(fd);
      ino = st.ino;
      offset = atEnd ? st.size : 0;
      partial = '';
    };
    const drain = () => {
      if (fd === null) return;
      const size = fstatSync(fd).size;
      if (size < offset) offset = 0; // truncated by hand
      while (offset < size) {
        const buf = Buffer.alloc(Math.min(size - offset, 1024 * 1024));
        const read = readSync(fd, buf, 0, buf.length, offset);
        if (read <= 0) break;
        offset += read;
        partial += buf.subarray(0, read).toString('utf8');
      }
      const end = partial.lastIndexOf('\n');
      if (end >= 0) {
        parseJournal(partial.slice(0, end + 1)).forEach(onEntry);
        partial = partial.slice(end + 1);
      }
    };
    const tick = () => {
      try {
        if (fd === null) openCurrent(false);
        drain();
        const now = existsSync(path) ? statSync(path).ino : -1;
        if (fd !== null && now !== ino) {
          closeSync(fd);
          fd = null;
          openCurrent(false);
          drain();
        }
      } catch {
        // the file moved between two calls: the next tick sees the new one
      }
    };
    openCurrent(true);
    const timer = setInterval(tick, pollMs);
    signal.addEventListener(
      'abort',
      () => {
        clearInterval(timer);
        if (fd !== null) closeSync(fd);
        resolve();
      },
      { once: true },
    );
  });
}

/** One journal entry as a line for a terminal. */
export function formatEntry(e: JournalEntry): string {
  const secs = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  switch (e.kind) {
    case 'transition':
      return `${e.at}  ${e.from} → ${e.to}  (${e.event}; ${secs(e.inStateMs)} in ${e.from})${e.lastError ? `  error: ${e.lastError}` : ''}`;
    case 'command':
      return `${e.at}    $ ${e.what}: ${e.result} in ${e.durationMs} ms${e.ok ? '' : `  (${e.command})`}`;
    case 'summary':
      return `${e.at}  == ${e.operation} ${e.ok ? 'done' : 'ended'} → ${e.outcome} in ${secs(e.totalMs)}: ${e.phases.map((p) => `${p.phase} ${secs(p.durationMs)}`).join(', ')}  (why: ${e.cause.reason}; ${e.cause.event})`;
    case 'service':
      return `${e.at}  -- ${e.message}${e.detail ? ` ${JSON.stringify(e.detail)}` : ''}`;
    case 'log':
      return [`${e.at}  -- ${e.service} ${e.about ?? 'start-up log'} (${e.lines.length} lines):`, ...e.lines.map((l) => `${e.at}     ${e.service}| ${l}`)].join(
        '\n',
      );
  }
}
