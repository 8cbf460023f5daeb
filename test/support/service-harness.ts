import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromPromise } from 'xstate';
import { buildConfig, type Config } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import type { FilesystemProbe, ImageObservation, NodeActors, OwnershipView, WorldSnapshot } from '../../src/machine/index.js';
import type {
  ClaimInput,
  ClaimOutput,
  ComposeDownInput,
  DisownInput,
  ReadWorldInput,
  RecordInput,
  RecordOutput,
  UnmountInput,
} from '../../src/machine/actors.js';
import { runService } from '../../src/runtime/service.js';
import { readMarkers } from '../../src/runtime/state-files.js';
import { controlRequest } from '../../src/cli/control-client.js';
import type { NodeStatus } from '../../src/runtime/status.js';

/** A service on instant fake steps over a tiny in-memory world: its own plumbing is what is tested. */
const dirs: string[] = [];
/** Remove the directories configFor made (call from an `after` hook). */
export function removeServiceDirs(): void {
  dirs.splice(0).forEach(removeTestDir);
}

/** A test's directory, also when a service it ran made `<dir>/mnt` immutable (its restart-always guard). */
export function removeTestDir(dir: string): void {
  spawnSync('chattr', ['-i', join(dir, 'mnt')], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}

export interface ObserveListen {
  metrics?: string;
  viewer?: string;
  inspector?: string;
  inspectorEnabled?: boolean;
}

export function configFor(healthUrl: string, extraYaml: string[] = [], observe: ObserveListen = {}): Config {
  const dir = mkdtempSync(join(tmpdir(), 'ha-svc-'));
  dirs.push(dir);
  const yaml = [
    'node:',
    `  stateDir: ${dir}/state`,
    `  runDir: ${dir}/run`,
    '  cephAddresses: [127.0.0.2]',
    // the mount point in the test's own directory (the service guards it with chattr +i)
    ...(extraYaml.includes('filesystem:') ? [] : ['filesystem:', `  mountPoint: ${dir}/mnt`]),
    // no cluster here: the rbd/ceph CLIs (scripted or absent) answer, not a librados session
    ...(extraYaml.includes('ceph:') ? [] : ['ceph:', '  session: "off"']),
    'harbor:',
    '  composeCommand: ["true"]',
    `  healthUrl: ${healthUrl}`,
    '  probe: { intervalMs: 100, timeoutMs: 80, rise: 1, fall: 2 }',
    'keepalived:',
    `  fifoPath: ${dir}/run/keepalived.fifo`,
    `  fitnessFile: ${dir}/run/fitness`,
    // the VIP poll's first look only counts one disagreement; the fifo must drive this test
    '  vipPollMs: 600000',
    'standDownMs: 600000',
    // any free port: tests must not collide with a service or a demo on this host
    `metrics: { listen: "${observe.metrics ?? '127.0.0.1:0'}" }`,
    `viewer: { listen: "${observe.viewer ?? '127.0.0.1:0'}" }`,
    `inspector: { listen: "${observe.inspector ?? '127.0.0.1:0'}", enabled: ${observe.inspectorEnabled ?? false} }`,
    ...extraYaml,
  ].join('\n');
  return buildConfig({
    env: {
      HARBOR_VERSION: 'v2.11.0',
      HARBOR_VIP: '127.0.0.1',
      CEPH_MON_HOST: '127.0.0.1',
      CEPH_USER: 'harbor',
      CEPH_USER_KEY: 'AQBsSHhjAAAAABAAiXWqnJHl7oKJ3aFfzVVlnw==',
      CEPH_POOL_NAME: 'rbd',
      CEPH_IMAGE_NAME: 'harbor',
      KEEPALIVED_ROLE: 'master',
      INTERFACE: 'lo',
    },
    yaml: { text: yaml, source: 'test' },
  });
}

/** Instant steps over a tiny in-memory world, so the service's own plumbing is what is tested. */
export function instantActors(calls: string[], config: Config): Partial<NodeActors> {
  return instantService(calls, config).actors;
}

/** The service's options for instant steps: the steps, and the owner record they keep, for its pollers. */
export function instantService(
  calls: string[],
  config: Config,
): { actors: Partial<NodeActors>; ownershipReader: (signal: AbortSignal) => Promise<OwnershipView> } {
  const w = { device: null as string | null, mounted: false, composeRunning: false, generation: 0, released: true };
  const ownership = (): OwnershipView => ({
    record: w.released
      ? null
      : { node: config.nodeName, generation: w.generation, hosts: ['127.0.0.1'], clients: ['127.0.0.1:0/1'], at: new Date().toISOString() },
    lock: w.released ? null : { id: `harbor-assistant/${config.nodeName}/${w.generation}`, locker: 'client.1', address: '127.0.0.1:0/2' },
    lastGeneration: w.generation,
  });
  return { actors: steps(), ownershipReader: () => Promise.resolve(ownership()) };
  function steps(): Partial<NodeActors> {
    const step = <I, O>(name: string, effect: (input: I) => O) =>
      fromPromise<O, I>(
        ({ input }) =>
          new Promise<O>((resolve) => {
            calls.push(name);
            resolve(effect(input));
          }),
      );
    return {
      readWorld: step<ReadWorldInput, WorldSnapshot>('readWorld', () => {
        const markers = readMarkers(config);
        const holding = w.device !== null || w.mounted || w.composeRunning;
        const owner = ownership().record;
        return {
          vipHere: false,
          device: w.device,
          mounted: w.mounted,
          composeRunning: w.composeRunning,
          foreignMount: null,
          ownership: holding ? ('ours' as const) : ('unknown' as const),
          owner,
          failedMarker: markers.failed,
          maintenanceMarker: markers.maintenance,
        };
      }),
      readHolders: step<Record<string, never>, ImageObservation>('readHolders', () => ({ holders: [], observedAt: Date.now(), ownership: ownership() })),
      claim: step<ClaimInput, ClaimOutput>('claim', (input) => {
        w.generation = input.generation;
        w.released = false;
        return { claimed: true, holder: null };
      }),
      record: step<RecordInput, RecordOutput>('record', () => ({ clients: ['127.0.0.1:0/1'] })),
      disown: step<DisownInput, void>('disown', () => void (w.released = true)),
      map: step<Record<string, never>, { device: string }>('map', () => ((w.device = '/dev/rbd0'), { device: '/dev/rbd0' })),
      probeFilesystem: step<{ device: string }, FilesystemProbe>('probeFilesystem', () => ({ fsType: 'ext4', formattedBefore: true })),
      fsck: step<{ device: string }, void>('fsck', () => undefined),
      mount: step<{ device: string }, void>('mount', () => void (w.mounted = true)),
      composeUp: step<Record<string, never>, void>('composeUp', () => void (w.composeRunning = true)),
      composeDown: step<ComposeDownInput, void>('composeDown', () => void (w.composeRunning = false)),
      unmount: step<UnmountInput, void>('unmount', () => void (w.mounted = false)),
      unmap: step<{ device: string | null; force: boolean; fenced: boolean }, void>('unmap', () => void (w.device = null)),
    };
  }
}

/** Start the service on instant steps, tell it keepalived made it MASTER, wait until it serves. */
export async function startServing(config: Config, calls: string[] = []): Promise<{ running: Promise<void> }> {
  // wrapped: an async function returning the service's promise would wait for the service to end
  const running = runService(config, silentLogger(), instantService(calls, config));
  await waitState(config, 'idle');
  writeFileSync(config.file.keepalived.fifoPath, 'INSTANCE "VI_HARBOR" MASTER 150\n');
  await waitState(config, 'active.serving.healthy');
  return { running };
}

/**
 * For `finally`: a failed assertion must not leave the service running (its pollers keep the test
 * file alive, and the runner waits for it forever). Detaches it if it still answers.
 */
export async function stopAfterTest(config: Config, ...running: Array<Promise<void> | undefined>): Promise<void> {
  await controlRequest(config.paths.controlSocket, { cmd: 'shutdown', release: false }, 2_000).catch(() => undefined);
  const bounded = new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref());
  const pending = running.filter((r): r is Promise<void> => r !== undefined).map((r) => r.catch(() => undefined));
  await Promise.race([Promise.all(pending), bounded]);
}

export const io = () => {
  const out: string[] = [];
  return { out, io: { out: (s: string) => out.push(s), err: (s: string) => out.push(s) } };
};

export async function waitState(config: Config, prefix: string, ms = 5_000): Promise<NodeStatus> {
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    const r = await controlRequest(config.paths.controlSocket, { cmd: 'status' }, 1_000).catch(() => null);
    if (r?.ok && 'status' in r) {
      last = r.status.state;
      if (last.startsWith(prefix)) return r.status;
    }
    await new Promise((res) => setTimeout(res, 30));
  }
  throw new Error(`state ${prefix} not reached; last ${last}`);
}
