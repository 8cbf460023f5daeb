import type { Logger } from '../../log/logger.js';
import { CommandError } from '../exec.js';
import { clientAround, OPERATION_NAMES, type CephClient } from './client.js';

/** ETIMEDOUT: librados (and the CLIs) gave up waiting on the cluster, which is no answer at all. */
const ETIMEDOUT = 110;

export interface CephLoss {
  since: number;
  reason: string;
}

/** Did Ceph answer this call, even with an error (a busy lock, a blocklisted client)? */
function cephAnswered(error: unknown): boolean {
  return error instanceof CommandError && error.failure === 'exit' && error.exitCode !== ETIMEDOUT;
}

/**
 * Fail fast once this node knows it lost Ceph (its watchdog's deadline passed): a call that would
 * only wait out its timeout against monitors that do not answer is refused at once, so a release,
 * a standby poll or a start-up on a cut host does not queue behind timeouts. One call at a time is
 * let through as the probe (a poll's next look); the first answer from Ceph, even an error,
 * lifts the state, and the calls go through again.
 */
export class CephReachability {
  private loss: CephLoss | null = null;
  private probing = false;

  constructor(
    private readonly logger: Logger | null = null,
    private readonly now: () => number = Date.now,
  ) {}

  /** Null while Ceph is taken as reachable; else since when and why not. */
  get lost(): CephLoss | null {
    return this.loss;
  }

  markLost(reason: string): void {
    if (this.loss !== null) return;
    this.loss = { since: this.now(), reason };
    this.logger?.warn('Ceph marked unreachable: its calls fail fast, one at a time probes it', { reason });
  }

  markReached(): void {
    if (this.loss === null) return;
    this.logger?.info('Ceph answers again', { unreachableMs: this.now() - this.loss.since });
    this.loss = null;
  }

  /** `client` with every call refused while Ceph is lost and another call already probes it. */
  guard(client: CephClient): CephClient {
    return clientAround(async (operation, call) => {
      const loss = this.loss;
      if (loss === null) return this.observe(call(client));
      if (this.probing) {
        const detail = `Ceph unreachable for ${this.now() - loss.since} ms (${loss.reason}); another call is probing it`;
        throw new CommandError(OPERATION_NAMES[operation], `ceph-client ${operation}`, null, detail, '', 0, 'unreachable');
      }
      this.probing = true;
      try {
        return await this.observe(call(client));
      } finally {
        this.probing = false;
      }
    });
  }

  private async observe<T>(result: Promise<T>): Promise<T> {
    try {
      const value = await result;
      this.markReached();
      return value;
    } catch (error) {
      if (cephAnswered(error)) this.markReached();
      throw error;
    }
  }
}
