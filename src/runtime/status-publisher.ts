import { readFileSync, writeFileSync } from 'node:fs';
import type { Actor } from 'xstate';
import type { ComponentHealth } from '../actions/harbor/compose.js';
import type { Config } from '../config/index.js';
import { fitnessOf, type Fitness, type StandbyReadiness } from '../guards/fitness.js';
import type { Logger } from '../log/logger.js';
import { fitnessInputOf, stateName, type NodeMachine } from '../machine/index.js';
import type { Observability } from '../observe/observability.js';
import { writeFileAtomic } from '../actions/host/atomic-file.js';
import { statusOf, type NodeStatus, type TransitionRecord } from './status.js';

/** A standby polls the image this often: who holds it (for the takeover) and whether Ceph answers (for `check`). */
export const STANDBY_POLL_MS = 3_000;

/**
 * What a restarted service may keep of the run before it: a ready standby that detached less than
 * `graceMs` ago (an upgrade's restart) had Ceph answering when it stopped, and `check` trusted that
 * for the grace while no service ran. The new run keeps trusting it, aged from the detach, until
 * its own first Ceph poll answers; without it a restarted standby reads unfit until then, and
 * keepalived's track_file puts it in FAULT at the moment its peer may be handing over.
 */
export function inheritedReadiness(stored: unknown, now: number, graceMs: number): StandbyReadiness | null {
  if (typeof stored !== 'object' || stored === null) return null;
  const { detachedAt, tags, fitness } = stored as { detachedAt?: unknown; tags?: unknown; fitness?: unknown };
  if (typeof detachedAt !== 'string') return null;
  const at = Date.parse(detachedAt);
  if (!Number.isFinite(at) || at > now || now - at >= graceMs) return null;
  if (!Array.isArray(tags) || !tags.includes('fit-when-ready')) return null;
  if (typeof fitness !== 'object' || fitness === null || (fitness as { fit?: unknown }).fit !== true) return null;
  return { ok: true, checkedAt: at, error: null };
}

/** The previous run's status file, read before this run writes its own; null when there is none. */
export function readPreviousStatus(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch {
    return null;
  }
}

/**
 * What the node tells the world: status (control socket, file, viewer) and fitness (keepalived's
 * track_file). Holds what status shows beyond the snapshot: recent transitions, Harbor's
 * components, the standby's last look at Ceph.
 */
export class StatusPublisher {
  readonly transitions: TransitionRecord[] = [];
  healthComponents: ComponentHealth[] = [];
  readiness: StandbyReadiness | null = null;
  private since = new Date();
  private publishing = true;
  private fitnessWritten: string | null = null;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly actor: () => Actor<NodeMachine>,
    private readonly observe: Observability,
    private readonly abandoned: () => ReadonlyArray<{ what: string; pid: number; since: number }>,
  ) {}

  transitioned(record: TransitionRecord): void {
    this.transitions.push(record);
    if (this.transitions.length > 200) this.transitions.shift();
    this.since = new Date();
  }

  fitness(): Fitness {
    const maxAge = 3 * STANDBY_POLL_MS + this.config.file.ceph.commandTimeoutMs;
    return fitnessOf(fitnessInputOf(this.actor().getSnapshot()), this.readiness, Date.now(), maxAge);
  }

  status(): NodeStatus {
    return statusOf(this.actor().getSnapshot(), {
      node: this.config.nodeName,
      role: this.config.env.role,
      since: this.since,
      transitions: this.transitions,
      healthComponents: this.healthComponents,
      fitness: this.fitness(),
      endpoints: this.observe.endpoints,
      lastOperations: this.observe.lastOperations(),
      abandoned: this.abandoned(),
    });
  }

  stateName(): string {
    return stateName(this.actor().getSnapshot().value);
  }

  /** After every snapshot and on every poll: status to the observers and the file, fitness to keepalived. */
  readonly publish = (): void => {
    if (!this.publishing) return;
    const s = this.status();
    this.observe.status(s);
    this.writeFitness(s.fitness);
    try {
      writeFileAtomic(this.config.paths.statusFile, `${JSON.stringify(s, null, 2)}\n`, 0o600);
    } catch (e) {
      this.logger.warn('cannot write status', { error: String(e) });
    }
  };

  /** The last status stays as it was, marked detached: `check` trusts it for the restart grace. Returns it. */
  detach(): NodeStatus {
    this.publishing = false;
    const status = this.status();
    try {
      writeFileAtomic(this.config.paths.statusFile, `${JSON.stringify({ ...status, detachedAt: new Date().toISOString() }, null, 2)}\n`, 0o600);
    } catch {
      // best effort: without it `check` reports unfit during the restart, which is safe
    }
    return status;
  }

  // keepalived's track_file: written in place (inotify), only when it changes
  private writeFitness(fitness: Fitness): void {
    const value = fitness.fit ? '0\n' : '1\n';
    if (value === this.fitnessWritten) return;
    try {
      writeFileSync(this.config.file.keepalived.fitnessFile, value, { mode: 0o600 });
      this.fitnessWritten = value;
    } catch (e) {
      this.logger.warn('cannot write the fitness file', { error: String(e) });
    }
  }
}
