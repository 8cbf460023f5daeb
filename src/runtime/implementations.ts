import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fromPromise } from 'xstate';
import type { Config } from '../config/index.js';
import type { NodeActors } from '../machine/index.js';
import type {
  ClaimInput,
  ClaimOutput,
  DeviceInput,
  DisownInput,
  FenceInput,
  ReadWorldInput,
  ComposeDownInput,
  RecordInput,
  RecordOutput,
  UnmapInput,
  UnmountInput,
} from '../machine/actors.js';
import type { FilesystemProbe, HolderObservation, ImageObservation, OwnerRecord, OwnershipVerdict, WorldSnapshot } from '../domain/types.js';
import { isHolding, isOwnRecord, ownLockId, survivesFence } from '../guards/index.js';
import { CommandError } from '../actions/exec.js';
import { together } from '../actions/together.js';
import { stopHarbor } from '../actions/harbor/installer.js';
import { sleep } from '../actions/sleep.js';
import type { HarborLastWords } from './last-words.js';
import { readMarkers } from './state-files.js';
import type { World } from './world.js';

/** Who this node is in Ceph: its name in the owner record and the IPs its clients use. */
export interface NodeIdentity {
  nodeName: string;
  ownAddresses: readonly string[];
}

/**
 * Is what this node holds provably its own? The owner record must name this node, our lock must
 * be the one of that generation, and our mapped client must be the recorded one (or none recorded
 * yet: a takeover cut short before it wrote its client). Ceph unreachable: unknown.
 */
export async function ownershipOf(
  world: World,
  identity: NodeIdentity,
  device: string | null,
  signal?: AbortSignal,
): Promise<{ verdict: OwnershipVerdict; owner: OwnerRecord | null }> {
  try {
    const view = await world.ownership.read(signal);
    const record = view.record;
    if (record === null || !isOwnRecord(record, identity.nodeName)) return { verdict: 'not-ours', owner: record };
    if (view.lock?.id !== ownLockId(identity.nodeName, record.generation)) return { verdict: 'not-ours', owner: record };
    if (device === null || record.clients.length === 0) return { verdict: 'ours', owner: record };
    const clients = await world.mapper.clients(device, identity.ownAddresses, signal);
    return { verdict: clients.some((c) => record.clients.includes(c)) ? 'ours' : 'not-ours', owner: record };
  } catch {
    return { verdict: 'unknown', owner: null };
  }
}

/**
 * `compose ps`, or true when compose itself refuses (a damaged compose file exits non-zero): then
 * Harbor may well run, and a release stops it (by name, if compose down refuses too).
 */
async function composeRunningOrAssumed(world: World, signal?: AbortSignal): Promise<boolean> {
  try {
    return await world.compose.running(signal);
  } catch (error) {
    if (error instanceof CommandError && error.failure === 'exit') return true;
    throw error;
  }
}

/** What this node holds and sees right now, after aborted commands have died (or were abandoned). */
export async function readWorldNow(
  config: Config,
  world: World,
  identity: NodeIdentity,
  signal?: AbortSignal,
  known: ReadWorldInput = {},
): Promise<WorldSnapshot> {
  await world.runner.settled();
  // compose cannot run without its project on the mounted image; Harbor the machine started is
  // taken as running without asking (the release's compose down is harmless if it stopped since)
  const hasProject = existsSync(join(config.file.harbor.projectDir, 'docker-compose.yml'));
  const [vipHere, device, mountedAt, composeRunning] = await Promise.all([
    world.vip.present(),
    world.mapper.current(signal),
    world.fs.mountedAt(signal),
    !hasProject ? Promise.resolve(false) : known.composeKnownRunning === true ? Promise.resolve(true) : composeRunningOrAssumed(world, signal),
  ]);
  // only our own device at the mount point counts as mounted; anything else is never touched
  const mounted = mountedAt !== null && device !== null && mountedAt.source === device;
  const foreignMount = mountedAt !== null && !mounted ? `${mountedAt.source} (${mountedAt.fstype || 'unknown type'})` : null;
  const holdings = { device, mounted, composeRunning };
  const { verdict, owner } =
    isHolding(holdings) && known.heldOnly !== true ? await ownershipOf(world, identity, device, signal) : { verdict: 'unknown' as const, owner: null };
  const markers = readMarkers(config);
  return {
    vipHere,
    ...holdings,
    foreignMount,
    ownership: verdict,
    owner,
    failedMarker: markers.failed,
    maintenanceMarker: markers.maintenance,
  };
}

/** Watchers and ownership evidence in one look. */
export async function observeImage(world: World, now: () => number, signal?: AbortSignal): Promise<ImageObservation> {
  const { holders, view } = await world.ownership.observe(signal);
  return { holders, ownership: view, observedAt: now() };
}

/**
 * The real implementations of every invoked step, for `nodeMachine.provide({ actors })`. Each
 * passes the invoke's AbortSignal down, so leaving a state kills its commands.
 */
export function realActors(
  config: Config,
  world: World,
  identity: NodeIdentity,
  now: () => number = Date.now,
  lastWords: HarborLastWords | null = null,
): NodeActors {
  const f = config.file;
  return {
    readWorld: fromPromise<WorldSnapshot, ReadWorldInput>(({ input, signal }) => readWorldNow(config, world, identity, signal, input)),
    readHolders: fromPromise<ImageObservation, Record<string, never>>(({ signal }) => observeImage(world, now, signal)),
    fence: fromPromise<{ fenced: string[] }, FenceInput>(async ({ input, signal }) => {
      // a client instance (`ip:port/nonce`) for years: it never blocks the host's future clients;
      // a whole host (bare IP) only for hours: it does
      for (const addr of input.addresses) {
        await world.blocklist.add(addr, addr.includes('/') ? f.ceph.blocklistExpirySeconds : f.fencing.hostExpirySeconds, signal);
      }
      return { fenced: [...input.addresses] };
    }),
    // fencing verifies instead of sleeping: poll rbd status until the fenced watchers are gone
    verifyFence: fromPromise<HolderObservation, FenceInput>(async ({ input, signal }) => {
      const deadline = now() + config.file.timeouts.verifyFence - 500;
      for (;;) {
        const holders = await world.rbd.status(signal);
        const remaining = holders.filter((h) => survivesFence(h, input.addresses));
        if (remaining.length === 0 || now() >= deadline || signal.aborted) return { holders, observedAt: now() };
        await sleep(200, signal);
      }
    }),
    claim: fromPromise<ClaimOutput, ClaimInput>(async ({ input, signal }) => {
      // the record goes in with the lock, before the map: S2, never mapped without it
      const record = {
        node: identity.nodeName,
        generation: input.generation,
        hosts: [...identity.ownAddresses],
        clients: [],
        at: new Date(now()).toISOString(),
      };
      const taken = await world.ownership.claim(input.lockId, input.breakLock, record, signal);
      return taken.taken ? { claimed: true, holder: null } : { claimed: false, holder: taken.holder };
    }),
    map: fromPromise<{ device: string }, Record<string, never>>(async ({ signal }) => ({ device: await world.mapper.map(signal) })),
    record: fromPromise<RecordOutput, RecordInput>(async ({ input, signal }) => {
      // one look: the lock and record, and the watchers the mapper's client is among
      const { view, holders } = await world.ownership.observe(signal);
      const clients = await world.mapper.clients(input.device, identity.ownAddresses, signal, holders);
      if (view.lock?.id !== input.lockId) {
        throw new Error(`ownership lost: the image lock is ${view.lock ? `${view.lock.id} (${view.lock.locker})` : 'gone'}, not ours (${input.lockId})`);
      }
      if (clients.length === 0) throw new Error(`no client of this node watches the image after mapping ${input.device}`);
      await world.ownership.writeRecord(
        {
          node: identity.nodeName,
          generation: input.generation,
          hosts: [...identity.ownAddresses],
          clients,
          at: view.record?.at ?? new Date(now()).toISOString(),
        },
        signal,
        { generationKey: false },
      );
      return { clients };
    }),
    probeFilesystem: fromPromise<FilesystemProbe, DeviceInput>(async ({ input, signal }) => {
      const [fsType, formattedBefore] = await Promise.all([world.fs.probe(input.device, signal), world.rbd.wasFormatted(signal)]);
      return { fsType, formattedBefore };
    }),
    format: fromPromise<void, DeviceInput>(async ({ input, signal }) => {
      await world.fs.format(input.device, signal);
      await world.rbd.recordFormatted(new Date(now()), signal);
    }),
    fsck: fromPromise<void, DeviceInput>(({ input, signal }) => world.fs.check(input.device, signal)),
    mount: fromPromise<void, DeviceInput>(({ input, signal }) => world.fs.mount(input.device, signal)),
    composeUp: fromPromise<void, Record<string, never>>(async ({ signal }) => {
      // Harbor's installer first (prepare may rewrite the compose file the start reads). The
      // synchronous data directories need only the mount: marked meanwhile, and only a container
      // that binds one waits for them. What the installer wrote is flushed beside the start.
      // (together calls its pieces in order: `marked` is set before the second piece reads it.)
      let marked: Promise<void> = Promise.resolve();
      await together(
        signal,
        (s) => (marked = world.fs.markSynchronous(s)),
        async (s) => {
          const wrote = await world.installer.ensureInstalled(s, { flush: false });
          await together(
            s,
            (t) => (wrote ? world.installer.flush(t) : Promise.resolve()),
            (t) => world.compose.up(t, { paths: world.fs.synchronousPaths(), ready: marked }),
          );
        },
      );
    }),
    composeDown: fromPromise<void, ComposeDownInput>(async ({ input, signal }) => {
      await lastWords?.journal(signal);
      // a dead path first: I/O blocked on it must fail, or the killed containers cannot exit
      // (best effort: the kill below has its own deadline either way; the mapper logs what it did)
      if (input.dead) await world.mapper.abortDataPath(signal).catch(() => false);
      // a live path keeps the containers for this host's next takeover; a dead one kills and removes them
      await stopHarbor(world.runner, world.compose, config.file.timeouts.composeDown, signal, input.dead, !input.dead);
    }),
    unmount: fromPromise<void, UnmountInput>(async ({ input, signal }) => {
      const device = input.device ?? (await world.mapper.current(signal));
      await world.fs.unmount({ fenced: input.fenced, device }, signal);
      await world.fs.guardBareMountPoint(signal);
    }),
    unmap: fromPromise<void, UnmapInput>(async ({ input, signal }) => {
      const device = input.device ?? (await world.mapper.current(signal));
      if (device === null) return;
      // S3, checked where it matters: never unmap under a mounted filesystem
      if ((await world.fs.mountedSource(signal)) === device) throw new Error(`refusing to unmap ${device}: it is still mounted`);
      await world.mapper.unmap(device, { force: input.force, fenced: input.fenced }, signal);
    }),
    disown: fromPromise<void, DisownInput>(async ({ input, signal }) => {
      // only what is still ours: a peer may have fenced us and claimed the image meanwhile
      const view = await world.ownership.read(signal);
      const recordOurs = view.record?.node === identity.nodeName && view.record.generation === input.generation;
      await world.ownership.relinquish(recordOurs, view.lock?.id === input.lockId ? view.lock : null, signal);
    }),
  };
}
