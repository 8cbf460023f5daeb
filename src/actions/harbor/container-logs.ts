import type { Runner } from '../exec.js';
import type { HealthReport } from './compose.js';

/** Harbor's health components and the containers its compose file gives them. */
const COMPONENT_CONTAINERS: Readonly<Record<string, string>> = {
  core: 'harbor-core',
  database: 'harbor-db',
  jobservice: 'harbor-jobservice',
  portal: 'harbor-portal',
  redis: 'redis',
  registry: 'registry',
  registryctl: 'registryctl',
  trivy: 'trivy-adapter',
};

/** What answers `/api/v2.0/health` at all: when it does not, these are the ones to read. */
const HEALTH_PATH_CONTAINERS = ['nginx', 'harbor-core'] as const;

/**
 * The containers worth reading when Harbor is not healthy: those of the components the report
 * names unhealthy, or, when there is no component list (nothing answered, or not JSON), the
 * containers on the health endpoint's path. Names not in the map are taken as container names.
 */
export function suspectContainers(report: HealthReport): string[] {
  const failing = report.components.filter((c) => c.status !== 'healthy').map((c) => COMPONENT_CONTAINERS[c.name] ?? c.name);
  return [...new Set(failing.length > 0 ? failing : HEALTH_PATH_CONTAINERS)];
}

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z\s?/;

/**
 * `docker logs --timestamps` prints the container's stdout and stderr on our stdout and stderr:
 * one list, in time order (RFC 3339 with up to nanoseconds; lines without a stamp keep their place
 * after the one before), the last `max`.
 */
export function mergeTimestampedLogs(stdout: string, stderr: string, max: number): string[] {
  const keyed = [stdout, stderr].flatMap((text, stream) => {
    let key = '';
    return text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((line, i) => {
        const m = TIMESTAMP.exec(line);
        if (m) key = `${m[1] ?? ''}.${(m[2] ?? '').padEnd(9, '0')}`;
        return { key, stream, i, line: line.trimEnd() };
      });
  });
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.stream - b.stream || a.i - b.i));
  return keyed.slice(-max).map((k) => k.line);
}

/** The last `max` lines a container logged (the docker CLI: one short Go process, no compose start-up). */
export async function containerLogTail(runner: Runner, container: string, max: number, timeoutMs: number, signal?: AbortSignal): Promise<string[]> {
  const r = await runner.run({
    what: `docker logs ${container}`,
    argv: ['docker', 'logs', '--timestamps', '--tail', String(max), '--', container],
    timeoutMs,
    signal,
  });
  return mergeTimestampedLogs(r.stdout, r.stderr, max);
}
