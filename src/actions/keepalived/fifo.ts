import { closeSync, constants, existsSync, openSync, statSync } from 'node:fs';
import { Socket } from 'node:net';
import type { VrrpState } from '../../domain/types.js';
import type { Runner } from '../exec.js';

export type VrrpNotification =
  | { kind: 'state'; instance: string; state: VrrpState; priority: number | null }
  | { kind: 'priority'; instance: string; what: string; priority: number | null };

const STATES: readonly string[] = ['MASTER', 'BACKUP', 'FAULT', 'STOP'];

/**
 * One line of keepalived's `vrrp_notify_fifo`: `INSTANCE "VI_1" MASTER 150`, or with
 * `vrrp_notify_priority_changes` `INSTANCE "VI_1" MASTER_PRIORITY 120` / `MASTER_RX_LOWER_PRI 150`.
 * Groups and anything unknown give null.
 */
export function parseNotifyLine(line: string): VrrpNotification | null {
  const m = /^INSTANCE\s+"([^"]+)"\s+([A-Z_]+)(?:\s+(\d+))?\s*$/.exec(line.trim());
  if (!m?.[1] || !m[2]) return null;
  const priority = m[3] !== undefined ? Number(m[3]) : null;
  if (STATES.includes(m[2])) return { kind: 'state', instance: m[1], state: m[2] as VrrpState, priority };
  return { kind: 'priority', instance: m[1], what: m[2], priority };
}

/**
 * Reads the fifo for as long as the service lives. Opened read-write (and non-blocking) so a
 * keepalived restart is not end-of-file, and so opening never waits for a writer.
 */
export class NotifyFifoReader {
  private socket: Socket | null = null;
  private buffer = '';

  constructor(
    private readonly path: string,
    private readonly onNotification: (n: VrrpNotification, line: string) => void,
  ) {}

  /** Create the fifo (0600) when keepalived has not yet, then start reading. */
  async start(runner: Runner): Promise<void> {
    if (!existsSync(this.path)) {
      await runner.run({ what: 'mkfifo', argv: ['mkfifo', '-m', '600', this.path], timeoutMs: 5_000 });
    }
    if (!statSync(this.path).isFIFO()) throw new Error(`${this.path} exists and is not a fifo`);
    const fd = openSync(this.path, constants.O_RDWR | constants.O_NONBLOCK);
    try {
      this.socket = new Socket({ fd, readable: true, writable: false });
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    this.socket.setEncoding('utf8');
    this.socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        const n = parseNotifyLine(line);
        if (n) this.onNotification(n, line);
      }
    });
  }

  stop(): void {
    this.socket?.destroy();
    this.socket = null;
  }
}
