import type { Config } from '../config/index.js';
import type { Runner } from '../actions/exec.js';
import { CephBlocklist } from '../actions/ceph/blocklist.js';
import { Compose } from '../actions/harbor/compose.js';
import { DockerEngine, dockerSocketPath } from '../actions/harbor/docker-engine.js';
import { join } from 'node:path';
import { HarborInstaller } from '../actions/harbor/installer.js';
import { Filesystem } from '../actions/host/filesystem.js';
import { Rbd } from '../actions/ceph/rbd.js';
import { Ownership } from '../actions/ceph/ownership.js';
import { Vip } from '../actions/keepalived/vip.js';
import { FuseMapper } from '../actions/ceph/mappers/fuse.js';
import { RbdDeviceMapper } from '../actions/ceph/mappers/rbd-device.js';
import type { Mapper } from '../actions/ceph/mappers/mapper.js';
import type { CephConnection } from '../actions/ceph/connection.js';
import type { Logger } from '../log/logger.js';
import type { CommandObserver } from '../actions/exec.js';
import { CephSession } from '../actions/ceph/session.js';
import type { CephClient } from '../actions/ceph/client.js';
import { cephClientFor } from '../actions/ceph/session-client.js';
import { CephReachability } from '../actions/ceph/reachability.js';

/** Every outside system, built once from the configuration. */
export interface World {
  runner: Runner;
  conn: CephConnection;
  /** The long-lived librados helper (ceph.session: auto), or null: the CLIs for everything. */
  session: CephSession | null;
  /** Every Ceph call of this node: the session or the CLIs, chosen here once; fails fast while Ceph is lost. */
  ceph: CephClient;
  /** Whether this node takes Ceph as reachable (its watchdog says when it is lost). */
  reachability: CephReachability;
  rbd: Rbd;
  ownership: Ownership;
  blocklist: CephBlocklist;
  mapper: Mapper;
  fs: Filesystem;
  compose: Compose;
  installer: HarborInstaller;
  vip: Vip;
}

export function composeCommandOf(config: Config, detected: string[] | null): string[] {
  const configured = config.file.harbor.composeCommand;
  if (configured !== 'auto') return [...configured];
  return detected ?? ['docker', 'compose'];
}

/** Where the kept stack's fingerprint lives (this host's state, not the image) and the Engine to start it with. */
function keptStackOptions(config: Config, logger: Logger, observe?: CommandObserver) {
  let socket: string;
  try {
    socket = dockerSocketPath();
  } catch (error) {
    logger.warn('Harbor containers are not kept between tenures', { why: error instanceof Error ? error.message : String(error) });
    return null;
  }
  return { engine: new DockerEngine(socket, logger, observe), fingerprintFile: join(config.file.node.stateDir, 'compose-fingerprint'), logger };
}

/**
 * `service`: the service's world, whose Ceph calls go through a long-lived session (ceph.session:
 * auto) reported to `observe`; one-shot commands (doctor, harborctl) use the CLI.
 */
export function createWorld(
  config: Config,
  runner: Runner,
  logger: Logger,
  composeCommand: string[],
  service: { observe: CommandObserver } | null = null,
): World {
  const f = config.file;
  const conn: CephConnection = {
    user: config.env.cephUser,
    keyringPath: config.paths.keyring,
    confPath: config.paths.cephConf,
    pool: config.env.pool,
    image: config.env.image,
  };
  const session =
    service !== null && f.ceph.session === 'auto'
      ? new CephSession(conn, logger, service.observe, { opTimeoutSeconds: Math.max(1, Math.ceil(f.ceph.commandTimeoutMs / 1000)) })
      : null;
  const reachability = new CephReachability(logger);
  const ceph = reachability.guard(cephClientFor(runner, conn, f.ceph.commandTimeoutMs, session));
  const rbd = new Rbd(ceph);
  const wantExclusive = async (signal?: AbortSignal) =>
    f.ceph.exclusiveMap === 'always' || (f.ceph.exclusiveMap === 'auto' && (await rbd.info(signal)).features.includes('exclusive-lock'));
  const mapper: Mapper =
    f.ceph.mapper === 'fuse'
      ? new FuseMapper(
          runner,
          conn,
          { fuseDir: f.ceph.fuseDir, stateDir: f.node.stateDir, timeoutMs: f.timeouts.map, ceph, monConfig: f.ceph.fuseMonConfig },
          logger,
        )
      : new RbdDeviceMapper(f.ceph.mapper, runner, conn, f.timeouts.map, wantExclusive, undefined, ceph);
  return {
    runner,
    conn,
    session,
    ceph,
    reachability,
    rbd,
    ownership: new Ownership(ceph),
    blocklist: new CephBlocklist(ceph),
    mapper,
    fs: new Filesystem(
      runner,
      {
        mountPoint: f.filesystem.mountPoint,
        fsck: f.filesystem.fsck,
        mountOptions: [...f.filesystem.mountOptions],
        synchronousDirs: [...f.filesystem.synchronousDirs],
        mkfsOptions: [...f.filesystem.mkfsOptions],
        timeouts: { probe: f.timeouts.probeFilesystem, format: f.timeouts.format, fsck: f.timeouts.fsck, mount: f.timeouts.mount, unmount: f.timeouts.unmount },
      },
      logger,
    ),
    compose: new Compose(runner, {
      command: composeCommand,
      projectDir: f.harbor.projectDir,
      projectName: f.harbor.projectName,
      timeouts: { up: f.timeouts.composeUp, down: f.timeouts.composeDown, ps: f.timeouts.readWorld },
      keep: f.harbor.keepContainers ? keptStackOptions(config, logger, service?.observe) : null,
    }),
    installer: new HarborInstaller(runner, {
      projectDir: f.harbor.projectDir,
      mountPoint: f.filesystem.mountPoint,
      installerTgz: f.harbor.installerTgz,
      harborYml: f.harbor.harborYml,
      hostname: f.harbor.hostname || config.env.vip,
      prepareCommand: f.harbor.prepareCommand,
      timeoutMs: f.timeouts.composeUp,
    }),
    vip: new Vip(config.env.interface, config.env.vip),
  };
}
