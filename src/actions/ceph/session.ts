import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { Logger } from '../../log/logger.js';
import { CommandError, type CommandObserver } from '../exec.js';
import type { CephConnection } from './connection.js';
import { isRecord, type JsonValue } from '../json.js';

/** Debian's interpreter: python3-rados and python3-rbd are built for it (another python3 on PATH may have neither). */
export const SESSION_PYTHON = '/usr/bin/python3';
/** The helper next to this module (src/actions in development, dist/actions once built). */
export const SESSION_SCRIPT = fileURLToPath(new URL('./ceph-session.py', import.meta.url));
/** The helper's exit code when python3-rados or python3-rbd is missing: the CLI does everything then. */
const EXIT_NO_BINDINGS = 3;
/** How much of the helper's stderr goes into an error. */
const STDERR_TAIL_CHARS = 2_000;

export type SessionOp =
  'mon' | 'watchers' | 'info' | 'lockers' | 'lock_add' | 'lock_rm' | 'meta_list' | 'meta_set' | 'meta_remove' | 'look' | 'claim' | 'relinquish';

export interface SessionCall {
  /** Short name for logs and errors, the CLI's (`rbd lock add`), so both paths read the same. */
  what: string;
  op: SessionOp;
  args?: Record<string, JsonValue>;
  /** The call for logs and errors, e.g. `lock_add harbor/harbor_data harbor-assistant/a/3`; never a secret. */
  describe: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * It changes the cluster (blocklist add, lock, metadata): an abort kills the helper, so an
   * abandoned write cannot land later, as an aborted CLI command's process is killed.
   */
  mutates: boolean;
}

/** The helper cannot run on this host (no python3-rados/python3-rbd): use the CLI instead. */
export class SessionUnavailable extends Error {
  constructor(readonly reason: string) {
    super(`ceph session unavailable: ${reason}`);
    this.name = 'SessionUnavailable';
  }
}

export interface SessionOptions {
  /** How to start the helper (default: SESSION_PYTHON SESSION_SCRIPT); tests run it in a lab namespace. */
  command?: readonly string[];
  /** librados' own mon/osd op and connect timeouts, in seconds (the caller's timer is the deadline). */
  opTimeoutSeconds: number;
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

interface Helper {
  child: ChildProcess;
  ready: Promise<void>;
  pending: Map<number, Pending>;
  exited: boolean;
  stderr: string;
}

type Answer = { id: number; ok: true; result: unknown } | { id: number; ok: false; errno: number; error: string };

function parseAnswer(line: string): Answer | null {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isRecord(doc) || typeof doc.id !== 'number') return null;
  if (doc.ok === true) return { id: doc.id, ok: true, result: doc.result };
  return { id: doc.id, ok: false, errno: typeof doc.errno === 'number' ? doc.errno : 5, error: typeof doc.error === 'string' ? doc.error : 'failed' };
}

/** ESHUTDOWN: this client instance is blocklisted; only a new one (a new helper) can work again. */
const BLOCKLISTED_ERRNO = 108;

/**
 * One librados client kept open (`ceph-session.py`), for the Ceph calls a takeover makes several
 * of: blocklist, lock, owner record, watchers. Each call has the caller's timeout; a timeout
 * kills the helper's process group (a hung librados call is a hung connection) and the next call
 * starts a new one. Each call is one `command` log line and one command record, like the CLI's.
 */
export class CephSession {
  private helper: Helper | null = null;
  private nextId = 1;
  private unavailableReason: string | null = null;
  private clientAddress: string | null = null;

  constructor(
    private readonly conn: CephConnection,
    private readonly logger: Logger,
    private readonly observe: CommandObserver,
    private readonly options: SessionOptions,
  ) {}

  /** Null while the session can be used; else why not (then every call goes through the CLI). */
  get unavailable(): string | null {
    return this.unavailableReason;
  }

  /** This session's client instance (`ip:0/nonce`), once connected: what a fence of this node's host covers. */
  get address(): string | null {
    return this.helper && !this.helper.exited ? this.clientAddress : null;
  }

  /** The helper's pid, if one runs. */
  get pid(): number | null {
    return this.helper && !this.helper.exited ? (this.helper.child.pid ?? null) : null;
  }

  /** Start the helper ahead of the first call (service start), so a takeover does not pay for it. */
  async warm(timeoutMs: number): Promise<void> {
    if (this.unavailableReason !== null) return;
    const helper = this.ensure();
    const timer = setTimeout(() => this.kill(helper, 'warm-up timed out'), timeoutMs);
    try {
      await helper.ready;
    } catch (error) {
      if (!(error instanceof SessionUnavailable)) throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async call(c: SessionCall): Promise<unknown> {
    const command = `ceph-session ${c.describe}`;
    const started = Date.now();
    if (this.unavailableReason !== null) throw new SessionUnavailable(this.unavailableReason);
    if (c.signal?.aborted) throw new CommandError(c.what, command, null, '', '', 0, 'aborted');
    const helper = this.ensure();
    const id = this.nextId++;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const finish = (result: string, ok: boolean, failure: CommandError['failure'] | null) => {
      const durationMs = Date.now() - started;
      this.logger.log(ok ? 'info' : 'warn', 'command', { what: c.what, command, durationMs, result });
      this.observe({ what: c.what, command, durationMs, ok, result, failure });
      return durationMs;
    };
    try {
      return await new Promise<unknown>((resolve, reject) => {
        timer = setTimeout(() => {
          helper.pending.delete(id);
          this.kill(helper, `${c.what} timed out`);
          reject(new CommandError(c.what, command, null, this.stderrOf(helper), '', finish('timeout', false, 'timeout'), 'timeout'));
        }, c.timeoutMs);
        onAbort = () => {
          helper.pending.delete(id);
          if (c.mutates) this.kill(helper, `${c.what} aborted`);
          reject(new CommandError(c.what, command, null, '', '', finish('aborted', false, 'aborted'), 'aborted'));
        };
        c.signal?.addEventListener('abort', onAbort, { once: true });
        helper.pending.set(id, {
          resolve: (result) => {
            finish('ok', true, null);
            resolve(result);
          },
          reject: (error) => {
            if (error instanceof SessionUnavailable) {
              finish('unavailable', false, 'spawn');
              reject(error);
              return;
            }
            if (error instanceof CommandError) {
              finish(error.failure === 'exit' ? `errno ${String(error.exitCode)}` : 'session ended', false, error.failure);
              reject(new CommandError(c.what, command, error.exitCode, error.stderr, '', Date.now() - started, error.failure));
              return;
            }
            finish('failed', false, 'spawn');
            reject(error);
          },
        });
        helper.ready.then(
          () => {
            if (!helper.pending.has(id)) return;
            helper.child.stdin?.write(`${JSON.stringify({ id, op: c.op, ...c.args })}\n`);
          },
          (error: unknown) => {
            const waiting = helper.pending.get(id);
            helper.pending.delete(id);
            waiting?.reject(error instanceof Error ? error : new Error(String(error)));
          },
        );
      });
    } finally {
      clearTimeout(timer);
      if (onAbort) c.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Stop the helper (service stop): its stdin closes, then its group is killed. */
  close(): void {
    if (this.helper) this.kill(this.helper, 'session closed');
    this.helper = null;
  }

  private stderrOf(helper: Helper): string {
    return helper.stderr.trim().slice(-STDERR_TAIL_CHARS);
  }

  private ensure(): Helper {
    if (this.helper && !this.helper.exited) return this.helper;
    const started = Date.now();
    const [python = SESSION_PYTHON, ...args] = this.options.command ?? [SESSION_PYTHON, SESSION_SCRIPT];
    // detached: its own process group, so a kill reaches librados' threads and anything it forks
    const child = spawn(python, args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const helper: Helper = { child, ready: Promise.resolve(), pending: new Map(), exited: false, stderr: '' };
    child.stdin.on('error', () => undefined);
    child.stderr.on('data', (d: Buffer) => {
      helper.stderr = (helper.stderr + d.toString()).slice(-STDERR_TAIL_CHARS * 2);
    });
    const lines = createInterface({ input: child.stdout });
    helper.ready = new Promise<void>((resolve, reject) => {
      let isReady = false;
      lines.on('line', (line) => {
        if (!isReady) {
          let doc: unknown = null;
          try {
            doc = JSON.parse(line);
          } catch {
            // librados printed something before the answer: ignore it
          }
          if (!isRecord(doc) || !('ready' in doc)) return;
          if (doc.ready === true) {
            isReady = true;
            this.clientAddress = typeof doc.address === 'string' ? doc.address : null;
            this.logger.info('ceph session started', { pid: child.pid, address: doc.address, durationMs: Date.now() - started });
            resolve();
          } else {
            helper.stderr += typeof doc.error === 'string' ? `${doc.error}\n` : '';
          }
          return;
        }
        const answer = parseAnswer(line);
        if (answer === null) return;
        const waiting = helper.pending.get(answer.id);
        helper.pending.delete(answer.id);
        if (!waiting) return;
        if (answer.ok) {
          waiting.resolve(answer.result);
          return;
        }
        if (answer.errno === BLOCKLISTED_ERRNO) this.kill(helper, 'this client is blocklisted');
        waiting.reject(new CommandError('ceph session', 'ceph-session', answer.errno, answer.error, '', 0, 'exit'));
      });
      child.once('error', (error) => {
        helper.exited = true;
        this.unavailableReason = `${python} cannot be started: ${error.message}`;
        this.logger.warn('ceph session unavailable: the rbd and ceph CLIs do everything', { reason: this.unavailableReason });
        reject(new SessionUnavailable(this.unavailableReason));
        this.failPending(helper, new SessionUnavailable(this.unavailableReason));
      });
      child.once('exit', (code, signal) => {
        helper.exited = true;
        lines.close();
        const said = this.stderrOf(helper);
        if (!isReady && code === EXIT_NO_BINDINGS) {
          this.unavailableReason = said || 'python3-rados and python3-rbd are missing';
          this.logger.warn('ceph session unavailable: the rbd and ceph CLIs do everything', { reason: this.unavailableReason });
          const error = new SessionUnavailable(this.unavailableReason);
          reject(error);
          this.failPending(helper, error);
          return;
        }
        this.logger.info('ceph session ended', { pid: child.pid, code, signal, afterMs: Date.now() - started });
        const error = new CommandError(
          'ceph session',
          'ceph-session',
          code,
          said || `the session helper ended (${signal ?? `exit ${String(code)}`})`,
          '',
          0,
          'exit',
        );
        if (!isReady) reject(error);
        this.failPending(helper, error);
      });
    });
    // an unobserved rejection would crash the service; callers see it through their own call
    helper.ready.catch(() => undefined);
    child.stdin.write(
      `${JSON.stringify({ conf: this.conn.confPath, user: this.conn.user, keyring: this.conn.keyringPath, pool: this.conn.pool, image: this.conn.image, timeoutSeconds: this.options.opTimeoutSeconds })}\n`,
    );
    // neither the helper nor its pipes keep the service alive; pending calls do, through their timers
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();
    this.helper = helper;
    return helper;
  }

  private failPending(helper: Helper, error: Error): void {
    const waiting = [...helper.pending.values()];
    helper.pending.clear();
    for (const w of waiting) w.reject(error);
  }

  private kill(helper: Helper, why: string): void {
    if (this.helper === helper) this.helper = null;
    if (helper.exited) return;
    const pid = helper.child.pid;
    this.logger.info('ceph session stopping', { pid, why });
    helper.child.stdin?.end();
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
