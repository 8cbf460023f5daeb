import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HealthVerdict } from '../../domain/types.js';
import type { Logger } from '../../log/logger.js';
import { writeFileAtomic } from '../host/atomic-file.js';
import type { Runner } from '../exec.js';
import type { DockerEngine, EngineContainer } from './docker-engine.js';
import { bindsAny, composeFingerprint, composeServices, keptStack, startLevels, type ComposeService } from './kept-stack.js';
import { getText } from '../http-get.js';
import { rememberLast } from '../remember-last.js';
import { isRecord, parseJson } from '../json.js';

export interface ComposeOptions {
  /** The compose program as argv, e.g. ['docker', 'compose'] or ['docker-compose']. */
  command: string[];
  /** Directory holding Harbor's docker-compose.yml (on the mounted image). */
  projectDir: string;
  projectName: string;
  timeouts: { up: number; down: number; ps: number };
  /**
   * Harbor's containers are kept between tenures: a release stops them through the Docker Engine
   * API (restart policy `no` first) and the next takeover on this host starts them again in
   * dependency order, without docker-compose, when the compose file is the one they were created
   * from (`fingerprintFile`, written at each compose up). Null: compose up and down only.
   */
  keep?: { engine: DockerEngine; fingerprintFile: string; logger: Logger } | null;
}

/** compose's own default stop grace (SIGTERM, then SIGKILL), kept for a release that stops Harbor. */
export const STOP_GRACE_SECONDS = 10;

export function composeArgv(o: ComposeOptions, ...verb: string[]): string[] {
  return [...o.command, '--project-directory', o.projectDir, '-p', o.projectName, ...verb];
}

/**
 * `compose ps --format json`: Compose v2 prints one JSON array, newer releases one object per
 * line. True when any container is running.
 */
export function parseComposePs(text: string): boolean {
  const trimmed = text.trim();
  if (trimmed === '') return false;
  const docs: unknown[] = trimmed.startsWith('[')
    ? (parseJson('compose ps', trimmed) as unknown[])
    : trimmed
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => parseJson('compose ps', l));
  return docs.some((d) => isRecord(d) && (d.State === 'running' || (typeof d.Status === 'string' && d.Status.startsWith('Up'))));
}

/** docker-compose v1 answers `ps --format json` with its usage text on stderr, nothing on stdout, and exit 0. */
export function rejectedFormatJson(stdout: string, stderr: string): boolean {
  return stdout.trim() === '' && /^\s*Usage:/m.test(stderr);
}

/** `ps --services --filter status=running` (v1): one running service name per line. */
export function parseRunningServices(text: string): boolean {
  return text.split('\n').some((l) => /^[A-Za-z0-9][\w.-]*$/.test(l.trim()));
}

const LOG_LINE = /^(?:[^|]*\|\s)?(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))\s?(.*)$/;

/**
 * `compose logs --timestamps` (v1 and v2: `container  | <RFC 3339> message`): the messages
 * logged at or after `sinceMs`, at most the last `max`. Lines without a timestamp are left out.
 */
export function parseComposeLogs(text: string, sinceMs: number, max: number): string[] {
  const lines = text.split('\n').flatMap((line) => {
    const m = LOG_LINE.exec(line.trimEnd());
    if (!m?.[1]) return [];
    return Date.parse(m[1]) >= sinceMs ? [m[2] ?? ''] : [];
  });
  return lines.slice(-max);
}

/**
 * Work on the image that some containers must not start before: a container that binds one of
 * `paths` (or a directory inside or above one) waits for `ready`; the others start meanwhile.
 * `ready` failing fails the start (it is not a reason to try compose up instead).
 */
export interface StartGate {
  paths: readonly string[];
  ready: Promise<void>;
}

/** The gate's failure, carried through the kept stack's fallback to compose up. */
class GateFailed extends Error {
  constructor(readonly reason: unknown) {
    super('the work on the image before the start failed');
  }
}

/** The compose file's services and start order, parsed once per text. */
const parsedCompose = rememberLast((text): { services: readonly ComposeService[]; levels: readonly (readonly string[])[] } => {
  const services = composeServices(text);
  return { services, levels: startLevels(services) };
});

export class Compose {
  private formatJsonRejected = false;

  constructor(
    private readonly runner: Runner,
    private readonly options: ComposeOptions,
  ) {}

  /** Harbor up: the containers kept from this host's last tenure when they fit, else compose up. */
  async up(signal?: AbortSignal, gate?: StartGate): Promise<'kept' | 'compose up'> {
    if (await this.startKept(signal, gate)) return 'kept';
    await gate?.ready;
    await this.runner.run({ what: 'compose up', argv: composeArgv(this.options, 'up', '-d'), timeoutMs: this.options.timeouts.up, signal });
    const keep = this.options.keep;
    if (keep) {
      const text = this.composeText();
      writeFileAtomic(keep.fingerprintFile, `${this.fingerprint(text)}\n`, 0o600);
      await this.restoreRestartPolicies(text, signal);
    }
    return 'compose up';
  }

  /**
   * compose up starts an unchanged container as it is, with the `no` a release gave it: the compose
   * file's policy goes back on, so the daemon restarts a crashed container while this host serves.
   */
  private async restoreRestartPolicies(text: string, signal?: AbortSignal): Promise<void> {
    const keep = this.options.keep;
    if (!keep) return;
    try {
      const policy = new Map(parsedCompose(text).services.map((s): [string, ComposeService['restart']] => [s.name, s.restart]));
      const stack = await keep.engine.containersOf(this.options.projectName, this.options.timeouts.ps, signal);
      await Promise.all(
        stack
          .filter((c) => !c.oneoff && c.service !== null && policy.has(c.service))
          .map((c) => keep.engine.setRestartPolicy(c, policy.get(c.service ?? '') ?? 'no', this.options.timeouts.ps, signal)),
      );
    } catch (error) {
      if (signal?.aborted) throw error;
      keep.logger.warn("Harbor's restart policies could not be restored after compose up", { error: error instanceof Error ? error.message : String(error) });
    }
  }

  private composeText(): string {
    return readFileSync(join(this.options.projectDir, 'docker-compose.yml'), 'utf8');
  }

  private fingerprint(text: string): string {
    return composeFingerprint(text, this.options.command, this.options.projectName);
  }

  /**
   * Start the kept stack through the Engine API, level by level (each level's containers at once),
   * each with the compose file's restart policy back. False: nothing kept that fits (or the API
   * failed): compose up does it, and reconciles whatever was started here.
   */
  private async startKept(signal?: AbortSignal, gate?: StartGate): Promise<boolean> {
    const keep = this.options.keep;
    if (!keep) return false;
    // settled into a value: thrown where a gated container awaits it, never unhandled
    const gateError = gate?.ready.then(
      () => null,
      (e: unknown) => new GateFailed(e),
    );
    try {
      const text = this.composeText();
      const { services, levels } = parsedCompose(text);
      const recorded = existsSync(keep.fingerprintFile) ? readFileSync(keep.fingerprintFile, 'utf8').trim() : null;
      const containers = await keep.engine.containersOf(this.options.projectName, this.options.timeouts.ps, signal);
      const kept = keptStack(services, containers, this.fingerprint(text), recorded);
      if ('why' in kept) {
        keep.logger.info('compose up: no kept stack to start', { why: kept.why });
        return false;
      }
      const deadline = Date.now() + this.options.timeouts.up;
      const left = () => Math.max(1_000, deadline - Date.now());
      const policy = new Map(services.map((s): [string, ComposeService['restart']] => [s.name, s.restart]));
      // every policy goes back at once and no start waits for its own: the daemon orders the two
      // calls on one container, a policy set a moment after its start changes nothing that
      // matters (only the daemon's own restarts read it), and all are set before this returns
      const policySet = new Map(
        levels.flat().map((name): [string, Promise<Error | null>] => {
          const c = kept.containers.get(name) as EngineContainer;
          // settled into a value here, thrown where it is awaited: no rejection goes unhandled meanwhile
          return [
            name,
            keep.engine.setRestartPolicy(c, policy.get(name) ?? 'no', left(), signal).then(
              () => null,
              (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
            ),
          ];
        }),
      );
      let policyFailed: Error | undefined;
      try {
        for (const level of levels) {
          await Promise.all(
            level.map(async (name) => {
              const c = kept.containers.get(name) as EngineContainer;
              if (gate && bindsAny(c, gate.paths)) {
                const gateFailed = await gateError;
                if (gateFailed) throw gateFailed;
              }
              await keep.engine.start(c, left(), signal);
            }),
          );
        }
      } finally {
        // nothing of this takeover is still talking to the daemon when it returns or falls back
        policyFailed = (await Promise.all(policySet.values())).find((e) => e !== null) ?? undefined;
      }
      if (policyFailed) throw policyFailed;
      return true;
    } catch (error) {
      if (error instanceof GateFailed) throw error.reason;
      if (signal?.aborted) throw error;
      keep.logger.warn('kept Harbor containers could not be started: compose up instead', { error: error instanceof Error ? error.message : String(error) });
      return false;
    }
  }

  /**
   * A release's stop that keeps the containers: restart policy `no` on every one first (a daemon
   * restart or a host reboot never starts Harbor on a host that no longer holds the image), then
   * stopped in reverse dependency order with compose's grace. Throws when the Engine API fails:
   * the caller falls back to compose down.
   */
  async stopKeeping(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const keep = this.options.keep;
    if (!keep) throw new Error('containers are not kept on this host');
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(1_000, deadline - Date.now());
    // a compose file that cannot be read throws here: compose down (or stopping by name) handles that case
    const levels = [...parsedCompose(this.composeText()).levels].reverse();
    const stack = (await keep.engine.containersOf(this.options.projectName, left(), signal)).filter((c) => !c.oneoff && c.service !== null);
    await Promise.all(stack.map((c) => keep.engine.setRestartPolicy(c, 'no', left(), signal)));
    for (const level of levels) {
      const running = stack.filter((c) => level.includes(c.service ?? '') && c.state !== 'exited' && c.state !== 'created');
      await Promise.all(running.map((c) => keep.engine.stop(c, STOP_GRACE_SECONDS, Math.min(left(), STOP_GRACE_SECONDS * 1_000 + 10_000), signal)));
    }
  }

  get keepsContainers(): boolean {
    return this.options.keep != null;
  }

  /**
   * `kill`: no stop grace (`--timeout 0`: SIGKILL at once), for a node whose data path is dead:
   * containers cannot flush to a fenced or unreachable image, and each would wait out its grace.
   */
  async down(signal?: AbortSignal, kill = false): Promise<void> {
    const argv = kill ? composeArgv(this.options, 'down', '--timeout', '0') : composeArgv(this.options, 'down');
    await this.runner.run({ what: kill ? 'compose down (kill)' : 'compose down', argv, timeoutMs: this.options.timeouts.down, signal });
  }

  /** What `service` logged since `sinceMs` (ms epoch), the last `max` lines: its start-up after a takeover. */
  async logsSince(service: string, sinceMs: number, max: number, signal?: AbortSignal): Promise<string[]> {
    const r = await this.runner.run({
      what: `compose logs ${service}`,
      argv: composeArgv(this.options, 'logs', '--no-color', '--timestamps', '--tail', String(max), service),
      timeoutMs: this.options.timeouts.ps,
      signal,
    });
    return parseComposeLogs(r.stdout, sinceMs, max);
  }

  async running(signal?: AbortSignal): Promise<boolean> {
    if (!this.formatJsonRejected) {
      const r = await this.runner.run({
        what: 'compose ps',
        argv: composeArgv(this.options, 'ps', '--format', 'json'),
        timeoutMs: this.options.timeouts.ps,
        signal,
      });
      if (!rejectedFormatJson(r.stdout, r.stderr)) return parseComposePs(r.stdout);
      // docker-compose v1 (Debian 12's 1.29.2) has no --format: it prints its usage and exits 0.
      // Each v1 call is a Python start (~1 s under load): ask it the v1 way from now on.
      this.formatJsonRejected = true;
    }
    const services = await this.runner.run({
      what: 'compose ps (v1)',
      argv: composeArgv(this.options, 'ps', '--services', '--filter', 'status=running'),
      timeoutMs: this.options.timeouts.ps,
      signal,
    });
    return parseRunningServices(services.stdout);
  }
}

export interface ComponentHealth {
  name: string;
  status: string;
  error?: string;
}

export interface HealthReport {
  verdict: HealthVerdict;
  status: string;
  components: ComponentHealth[];
  /** Why the verdict is not healthy. */
  detail: string;
}

/** Without these Harbor cannot take a push or serve a pull; the rest only degrade it. */
export const CRITICAL_COMPONENTS = ['core', 'registry', 'database', 'redis'] as const;

/**
 * `/api/v2.0/health` → a verdict. Harbor answers HTTP 200 even when unhealthy, so the body
 * decides: `{"status":"healthy|unhealthy","components":[{"name":"core","status":"healthy"},…]}`.
 */
export function classifyHealth(body: string, criticalComponents: readonly string[] = CRITICAL_COMPONENTS): HealthReport {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return { verdict: 'down', status: 'invalid', components: [], detail: `health body is not JSON: ${body.slice(0, 120)}` };
  }
  if (!isRecord(doc) || typeof doc.status !== 'string') {
    return { verdict: 'down', status: 'invalid', components: [], detail: 'health body has no status' };
  }
  const components: ComponentHealth[] = (Array.isArray(doc.components) ? doc.components : []).flatMap((c) =>
    isRecord(c) && typeof c.name === 'string' && typeof c.status === 'string'
      ? [{ name: c.name, status: c.status, ...(typeof c.error === 'string' ? { error: c.error } : {}) }]
      : [],
  );
  if (doc.status === 'healthy') return { verdict: 'healthy', status: doc.status, components, detail: '' };
  const unhealthy = components.filter((c) => c.status !== 'healthy');
  const critical = unhealthy.filter((c) => criticalComponents.includes(c.name));
  const detail = unhealthy.map((c) => `${c.name}: ${c.status}${c.error ? ` (${c.error})` : ''}`).join('; ') || doc.status;
  // "unknown status" before Harbor's first check, or no component list: not usable yet
  const verdict: HealthVerdict = critical.length > 0 || unhealthy.length === 0 ? 'down' : 'degraded';
  return { verdict, status: doc.status, components, detail };
}

/** One probe of Harbor's health endpoint with a timeout; network errors are a `down` verdict. */
export async function probeHealth(url: string, timeoutMs: number, signal?: AbortSignal): Promise<HealthReport> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    const res = await getText(url, combined, { accept: 'application/json' });
    if (res.status < 200 || res.status > 299) return { verdict: 'down', status: `http ${res.status}`, components: [], detail: `HTTP ${res.status}` };
    return classifyHealth(res.body);
  } catch (error) {
    return { verdict: 'down', status: 'unreachable', components: [], detail: error instanceof Error ? error.message : String(error) };
  }
}
