import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fromPromise } from 'xstate';
import type { Config } from '../config/index.js';
import type { NodeActors } from '../machine/index.js';
import type { FenceInput, UnmapInput, UnmountInput, DeviceInput } from '../machine/actors.js';
import type { FilesystemProbe, HolderObservation, WorldSnapshot } from '../machine/types.js';
import { stopHarbor } from '../actions/harbor-installer.js';
import { readMarkers } from './state-files.js';
import type { World } from './world.js';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

/** What this node holds and sees right now, after aborted commands have died. */
export async function readWorldNow(config: Config, world: World, signal?: AbortSignal): Promise<WorldSnapshot> {
  await world.runner.settled();
  const [vipHere, device, mountedSource, composeRunning] = await Promise.all([
    world.vip.present(signal),
    world.mapper.current(signal),
    world.fs.mountedSource(signal),
    // compose cannot run without its project on the mounted image
    existsSync(join(config.file.harbor.projectDir, 'docker-compose.yml')) ? world.compose.running(signal) : Promise.resolve(false),
  ]);
  const markers = readMarkers(config);
  return {
    vipHere,
    device,
    mounted: mountedSource !== null,
    composeRunning,
    failedMarker: markers.failed,
    maintenanceMarker: markers.maintenance,
  };
}

/**
 * The real implementations of every invoked step, for `nodeMachine.provide({ actors })`. Each
 * passes the invoke's AbortSignal down, so leaving a state kills its commands.
 */
export function realActors(config: Config, world: World, now: () => number = Date.now): NodeActors {
  return {
    readWorld: fromPromise<WorldSnapshot, Record<string, never>>(({ signal }) => readWorldNow(config, world, signal)),
    readHolders: fromPromise<HolderObservation, Record<string, never>>(async ({ signal }) => ({
      holders: await world.rbd.status(signal),
      observedAt: now(),
    })),
    fenceHolders: fromPromise<{ fenced: string[] }, FenceInput>(async ({ input, signal }) => {
      for (const addr of input.addresses) await world.blocklist.add(addr, config.file.ceph.blocklistExpirySeconds, signal);
      return { fenced: [...input.addresses] };
    }),
    // fencing verifies instead of sleeping: poll rbd status until the fenced watchers are gone
    verifyFenced: fromPromise<HolderObservation, FenceInput>(async ({ input, signal }) => {
      const deadline = now() + config.file.timeouts.verifyFence - 500;
      for (;;) {
        const holders = await world.rbd.status(signal);
        const remaining = holders.filter((h) => input.addresses.includes(h.address));
        if (remaining.length === 0 || now() >= deadline || signal.aborted) return { holders, observedAt: now() };
        await sleep(200, signal);
      }
    }),
    mapImage: fromPromise<{ device: string }, Record<string, never>>(async ({ signal }) => ({ device: await world.mapper.map(signal) })),
    probeFilesystem: fromPromise<FilesystemProbe, DeviceInput>(async ({ input, signal }) => {
      const [fsType, formattedBefore] = await Promise.all([world.fs.probe(input.device, signal), world.rbd.wasFormatted(signal)]);
      return { fsType, formattedBefore };
    }),
    formatFilesystem: fromPromise<void, DeviceInput>(async ({ input, signal }) => {
      await world.fs.format(input.device, signal);
      await world.rbd.recordFormatted(new Date(now()), signal);
    }),
    checkFilesystem: fromPromise<void, DeviceInput>(({ input, signal }) => world.fs.check(input.device, signal)),
    mountFilesystem: fromPromise<void, DeviceInput>(({ input, signal }) => world.fs.mount(input.device, signal)),
    composeUp: fromPromise<void, Record<string, never>>(async ({ signal }) => {
      await world.installer.ensureInstalled(signal);
      await world.compose.up(signal);
    }),
    composeDown: fromPromise<void, Record<string, never>>(({ signal }) => stopHarbor(world.runner, world.compose, config.file.timeouts.composeDown, signal)),
    unmountFilesystem: fromPromise<void, UnmountInput>(({ input, signal }) => world.fs.unmount(input, signal)),
    unmapImage: fromPromise<void, UnmapInput>(async ({ input, signal }) => {
      const device = input.device ?? (await world.mapper.current(signal));
      if (device === null) return;
      // S3, checked where it matters: never unmap under a mounted filesystem
      if ((await world.fs.mountedSource(signal)) === device) throw new Error(`refusing to unmap ${device}: it is still mounted`);
      await world.mapper.unmap(device, { force: input.force, fenced: input.fenced }, signal);
    }),
  };
}
