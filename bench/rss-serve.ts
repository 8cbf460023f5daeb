import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { fromPromise } from 'xstate';
import type * as ConfigModule from '../src/config/index.js';
import type * as LoggerModule from '../src/log/logger.js';
import type {
  ClaimInput,
  ClaimOutput,
  ComposeDownInput,
  DisownInput,
  ReadWorldInput,
  RecordInput,
  RecordOutput,
  UnmapInput,
  UnmountInput,
} from '../src/machine/actors.js';
import type { FilesystemProbe, ImageObservation, NodeActors, OwnershipView, WorldSnapshot } from '../src/machine/index.js';
import type * as ServiceModule from '../src/runtime/service.js';

/**
 * The service process of bench/rss-sim.ts: the compiled service (dist/, what `run` loads) on
 * instant fake steps, so it reaches serving without Ceph or Harbor and then does what a serving
 * node does (health probes, the I/O watchdog's dd, VIP polls, status publishing, metrics). Not
 * run by tsx: rss-sim transpiles this file into dist/ so the measured process has no loader.
 *
 * argv: <dist dir> <config yaml> <env file>
 */
const [distDir = '', configPath = '', envFile = ''] = process.argv.slice(2);
const load = async <M>(path: string): Promise<M> => (await import(pathToFileURL(`${distDir}/${path}`).href)) as M;
const { loadConfig } = await load<typeof ConfigModule>('config/index.js');
const { createLogger } = await load<typeof LoggerModule>('log/logger.js');
const { runService } = await load<typeof ServiceModule>('runtime/service.js');

const config = loadConfig({ configPath, envFile });
const w = { device: null as string | null, mounted: false, composeRunning: false, generation: 0, released: true };
const ownership = (): OwnershipView => ({
  record: w.released
    ? null
    : { node: config.nodeName, generation: w.generation, hosts: ['127.0.0.1'], clients: ['127.0.0.1:0/1'], at: new Date().toISOString() },
  lock: w.released ? null : { id: `harbor-assistant/${config.nodeName}/${w.generation}`, locker: 'client.1', address: '127.0.0.1:0/2' },
  lastGeneration: w.generation,
});
const step = <O, I>(effect: (input: I) => O) =>
  fromPromise<O, I>(
    ({ input }) =>
      new Promise<O>((resolve) => {
        resolve(effect(input));
      }),
  );
const actors: Partial<NodeActors> = {
  readWorld: step<WorldSnapshot, ReadWorldInput>(() => ({
    vipHere: false,
    device: w.device,
    mounted: w.mounted,
    composeRunning: w.composeRunning,
    foreignMount: null,
    ownership: w.device !== null || w.mounted || w.composeRunning ? 'ours' : 'unknown',
    owner: ownership().record,
    failedMarker: null,
    maintenanceMarker: false,
  })),
  readHolders: step<ImageObservation, Record<string, never>>(() => ({ holders: [], observedAt: Date.now(), ownership: ownership() })),
  claim: step<ClaimOutput, ClaimInput>((input) => {
    w.generation = input.generation;
    w.released = false;
    return { claimed: true, holder: null };
  }),
  record: step<RecordOutput, RecordInput>(() => ({ clients: ['127.0.0.1:0/1'] })),
  disown: step<void, DisownInput>(() => void (w.released = true)),
  map: step<{ device: string }, Record<string, never>>(() => ((w.device = '/dev/rbd0'), { device: '/dev/rbd0' })),
  probeFilesystem: step<FilesystemProbe, { device: string }>(() => ({ fsType: 'ext4', formattedBefore: true })),
  fsck: step<void, { device: string }>(() => undefined),
  mount: step<void, { device: string }>(() => {
    // the service made the bare mount point immutable; a real mount would cover it, so the watchdog's dd can write
    spawnSync('chattr', ['-i', config.file.filesystem.mountPoint], { stdio: 'ignore' });
    w.mounted = true;
  }),
  composeUp: step<void, Record<string, never>>(() => void (w.composeRunning = true)),
  composeDown: step<void, ComposeDownInput>(() => void (w.composeRunning = false)),
  unmount: step<void, UnmountInput>(() => void (w.mounted = false)),
  unmap: step<void, UnmapInput>(() => void (w.device = null)),
};

// the heap as V8 sees it, for rss-sim's report next to VmRSS (one small write every 10 s)
const memFile = process.env.RSS_SIM_MEMORY_FILE;
if (memFile !== undefined) {
  setInterval(() => {
    const m = process.memoryUsage();
    writeFileSync(memFile, JSON.stringify({ heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers }));
  }, 5_000).unref();
}

await runService(config, createLogger({ level: config.file.log.level, tty: false }), {
  actors,
  ownershipReader: () => Promise.resolve(ownership()),
});
