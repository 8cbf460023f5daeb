import type { Config } from '../config/index.js';
import type { Runner } from '../actions/exec.js';
import { CephBlocklist } from '../actions/ceph.js';
import { Compose } from '../actions/harbor.js';
import { HarborInstaller } from '../actions/harbor-installer.js';
import { Filesystem } from '../actions/filesystem.js';
import { Rbd } from '../actions/rbd.js';
import { Ownership } from '../actions/ownership.js';
import { Vip } from '../actions/keepalived.js';
import { FuseMapper } from '../actions/mappers/fuse.js';
import { RbdDeviceMapper } from '../actions/mappers/rbd-device.js';
import type { Mapper } from '../actions/mappers/mapper.js';
import type { CephConnection } from '../actions/ceph-connection.js';
import type { Logger } from '../log/logger.js';

/** Every outside system, built once from the configuration. */
export interface World {
  runner: Runner;
  conn: CephConnection;
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

export function createWorld(config: Config, runner: Runner, logger: Logger, composeCommand: string[]): World {
  const f = config.file;
  const conn: CephConnection = {
    user: config.env.cephUser,
    keyringPath: config.paths.keyring,
    confPath: config.paths.cephConf,
    pool: config.env.pool,
    image: config.env.image,
  };
  const rbd = new Rbd(runner, conn, f.ceph.commandTimeoutMs);
  const wantExclusive = async (signal?: AbortSignal) =>
    f.ceph.exclusiveMap === 'always' || (f.ceph.exclusiveMap === 'auto' && (await rbd.info(signal)).features.includes('exclusive-lock'));
  const mapper: Mapper =
    f.ceph.mapper === 'fuse'
      ? new FuseMapper(runner, conn, { fuseDir: f.ceph.fuseDir, stateDir: f.node.stateDir, timeoutMs: f.timeouts.map }, logger)
      : new RbdDeviceMapper(f.ceph.mapper, runner, conn, f.timeouts.map, wantExclusive);
  return {
    runner,
    conn,
    rbd,
    ownership: new Ownership(runner, conn, f.ceph.commandTimeoutMs),
    blocklist: new CephBlocklist(runner, conn, f.ceph.commandTimeoutMs),
    mapper,
    fs: new Filesystem(
      runner,
      {
        mountPoint: f.filesystem.mountPoint,
        fsck: f.filesystem.fsck,
        mountOptions: [...f.filesystem.mountOptions],
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
    vip: new Vip(runner, config.env.interface, config.env.vip, f.timeouts.readWorld),
  };
}
