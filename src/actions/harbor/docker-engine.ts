import { request as httpRequest } from 'node:http';
import type { Logger } from '../../log/logger.js';
import { CommandError, type CommandObserver } from '../exec.js';
import { isRecord, parseJson } from '../json.js';

/** An answer larger than this is not the Engine API's (a container list of a host is a few KiB). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** The Docker Engine's socket: `DOCKER_HOST=unix://PATH` as docker and compose read it, else the default. */
export function dockerSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST ?? '';
  if (host === '') return '/var/run/docker.sock';
  if (!host.startsWith('unix://')) throw new Error(`DOCKER_HOST=${host}: only a unix socket (unix:///path) is supported`);
  return host.slice('unix://'.length);
}

export interface EngineContainer {
  id: string;
  /** Without the leading slash. */
  name: string;
  /** `com.docker.compose.service`, or null for a container compose did not create. */
  service: string | null;
  /** `created`, `running`, `exited`, … */
  state: string;
  /** `com.docker.compose.oneoff`: a `compose run` container, never part of the stack. */
  oneoff: boolean;
  /** Host paths it bind-mounts (`Mounts[].Source` of type bind). */
  binds: string[];
}

function bindSources(mounts: unknown): string[] {
  if (!Array.isArray(mounts)) return [];
  return mounts.flatMap((m) => (isRecord(m) && m.Type === 'bind' && typeof m.Source === 'string' ? [m.Source] : []));
}

/** `GET /containers/json` → the containers, strictly enough that a surprise is an error, not a guess. */
export function parseContainerList(text: string): EngineContainer[] {
  const doc = parseJson('docker engine: containers', text);
  if (!Array.isArray(doc)) throw new Error('docker engine: the container list is not an array');
  return doc.map((c) => {
    if (!isRecord(c) || typeof c.Id !== 'string' || typeof c.State !== 'string') throw new Error('docker engine: a container without Id or State');
    const labels = isRecord(c.Labels) ? c.Labels : {};
    const names = Array.isArray(c.Names) ? c.Names.filter((n): n is string => typeof n === 'string') : [];
    const service = labels['com.docker.compose.service'];
    return {
      id: c.Id,
      name: (names[0] ?? c.Id).replace(/^\//, ''),
      service: typeof service === 'string' ? service : null,
      state: c.State,
      oneoff: labels['com.docker.compose.oneoff'] === 'True',
      binds: bindSources(c.Mounts),
    };
  });
}

export type RestartPolicy = 'no' | 'always' | 'unless-stopped' | 'on-failure';

/**
 * The Docker Engine API over its unix socket, for the few calls a takeover and a release make on
 * containers that already exist: no process start per call (docker-compose v1 is a Python start,
 * 1–2.5 s under load). node:http rather than a client library: five endpoints, nothing to bundle.
 * Every call has a deadline and is aborted with its caller; each is one `command` log line and one
 * command record, like a process the runner starts.
 */
export class DockerEngine {
  constructor(
    private readonly socketPath: string,
    private readonly logger: Logger,
    private readonly observe: CommandObserver = () => undefined,
  ) {}

  async containersOf(project: string, timeoutMs: number, signal?: AbortSignal): Promise<EngineContainer[]> {
    const filters = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
    const body = await this.call('docker containers', 'GET', `/containers/json?all=1&filters=${filters}`, null, timeoutMs, signal, [200]);
    return parseContainerList(body);
  }

  /** 304: already running, the goal is reached. */
  async start(c: EngineContainer, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    await this.call(`docker start ${c.name}`, 'POST', `/containers/${c.id}/start`, null, timeoutMs, signal, [204, 304]);
  }

  /** SIGTERM, then SIGKILL after `graceSeconds` (the daemon does both); 304: already stopped. */
  async stop(c: EngineContainer, graceSeconds: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    await this.call(`docker stop ${c.name}`, 'POST', `/containers/${c.id}/stop?t=${graceSeconds}`, null, timeoutMs, signal, [204, 304]);
  }

  async setRestartPolicy(c: EngineContainer, policy: RestartPolicy, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    await this.call(
      `docker update ${c.name} restart=${policy}`,
      'POST',
      `/containers/${c.id}/update`,
      { RestartPolicy: { Name: policy } },
      timeoutMs,
      signal,
      [200],
    );
  }

  private async call(
    what: string,
    method: string,
    path: string,
    body: unknown,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    ok: number[],
  ): Promise<string> {
    const command = `docker-engine ${method} ${path.split('?')[0] ?? path}`;
    const started = Date.now();
    const finish = (result: string, good: boolean, failure: CommandError['failure'] | null) => {
      const durationMs = Date.now() - started;
      this.logger.log(good ? 'info' : 'warn', 'command', { what, command, durationMs, result });
      this.observe({ what, command, durationMs, ok: good, result, failure });
      return durationMs;
    };
    const deadline = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    try {
      const answer = await this.send(method, path, body, combined);
      if (!ok.includes(answer.status)) {
        const durationMs = finish(`http ${answer.status}`, false, 'exit');
        throw new CommandError(what, command, answer.status, engineMessage(answer.body), '', durationMs, 'exit');
      }
      finish(`http ${answer.status}`, true, null);
      return answer.body;
    } catch (error) {
      if (error instanceof CommandError) throw error;
      const failure = deadline.aborted ? 'timeout' : signal?.aborted ? 'aborted' : 'spawn';
      const durationMs = finish(failure === 'spawn' ? 'connect failed' : failure, false, failure);
      throw new CommandError(what, command, null, error instanceof Error ? error.message : String(error), '', durationMs, failure);
    }
  }

  private send(method: string, path: string, body: unknown, signal: AbortSignal): Promise<{ status: number; body: string }> {
    const payload = body === null ? null : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          socketPath: this.socketPath,
          path,
          method,
          headers: payload === null ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
          // the request and its socket are destroyed on abort: the deadline is a timer, never a wait
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) res.destroy(new Error(`answer larger than ${MAX_BODY_BYTES} bytes`));
            else chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', reject);
      req.end(payload ?? undefined);
    });
  }
}

/** The Engine's error body is `{"message":"…"}`. */
function engineMessage(body: string): string {
  try {
    const doc: unknown = JSON.parse(body);
    if (isRecord(doc) && typeof doc.message === 'string') return doc.message;
  } catch {
    // not JSON: the body as it is
  }
  return body.slice(0, 2_000);
}
