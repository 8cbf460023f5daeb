import { rmSync, utimes, utimesSync, writeFileSync } from 'node:fs';
import { writeFileAtomic } from '../host/atomic-file.js';

/**
 * The files keepalived's track_script (config/harbor-assistant-check) reads, beside the track_file:
 * the service's heartbeat, the script's own last look, and the restart grace a service leaves
 * when it detaches fit.
 */
export interface LivenessFiles {
  heartbeat: string;
  seen: string;
  grace: string;
}

export function livenessFiles(fitnessFile: string): LivenessFiles {
  return { heartbeat: `${fitnessFile}.heartbeat`, seen: `${fitnessFile}.seen`, grace: `${fitnessFile}.grace` };
}

/** Twice per check interval at the smallest (1 s): one late tick never reads as a stuck loop. */
export const HEARTBEAT_MS = 500;

/**
 * Touches the heartbeat from the event loop: a loop that stops turning (or a process that is gone)
 * stops it, and the check fails after `checkFall` runs.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly files: LivenessFiles,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    // the first beat lands before the old grace goes: no track_script run falls between the two
    this.beatNow();
    // alive now: a grace left by an earlier detach must not outlive this run
    rmSync(this.files.grace, { force: true });
    this.timer = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Detaching fit: keepalived keeps this node fit until `untilMs` while no service runs. */
  leaveGrace(untilMs: number): void {
    this.stop();
    writeFileAtomic(this.files.grace, `${String(Math.floor(untilMs / 1000))}\n`, 0o600);
  }

  private beatNow(): void {
    try {
      const now = new Date();
      utimesSync(this.files.heartbeat, now, now);
    } catch {
      this.createHeartbeat();
    }
  }

  private beat(): void {
    const now = new Date();
    utimes(this.files.heartbeat, now, now, (error) => {
      if (error) this.createHeartbeat();
    });
  }

  /** The heartbeat file is missing (first start, or removed): create it, which is a beat too. */
  private createHeartbeat(): void {
    try {
      writeFileSync(this.files.heartbeat, '', { mode: 0o600 });
    } catch (e) {
      this.onError(e);
    }
  }
}
