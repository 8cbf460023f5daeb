import type { Config } from '../config/index.js';
import { createRunner } from '../actions/exec.js';
import { probeHealth } from '../actions/harbor/compose.js';
import { stopHarbor } from '../actions/harbor/installer.js';
import { silentLogger } from '../log/logger.js';
import { composeCommandOf, createWorld } from '../runtime/world.js';
import { detectCompose, detectOwnAddresses } from '../runtime/detect.js';
import { ownershipOf } from '../runtime/implementations.js';
import type { Io } from './operator.js';

/** harborctl start|stop|status: the original's verbs, for an operator working by hand. */
export async function harborCommand(verb: string, config: Config, io: Io): Promise<number> {
  const logger = silentLogger();
  const runner = createRunner(logger, [config.env.cephKey.reveal()]);
  const detected = config.file.harbor.composeCommand === 'auto' ? await detectCompose(runner, 10_000) : null;
  const world = createWorld(config, runner, logger, composeCommandOf(config, detected));
  switch (verb) {
    case 'start': {
      // S1 by hand too: Harbor writes to the image, so our image must be mounted here and Ceph must say it is ours
      const [source, device] = await Promise.all([world.fs.mountedSource(), world.mapper.current()]);
      if (source === null) {
        io.err(`refusing to start Harbor: nothing is mounted on ${config.file.filesystem.mountPoint} (the engine mounts the image when this node is MASTER)\n`);
        return 1;
      }
      if (device === null || source !== device) {
        io.err(
          `refusing to start Harbor: ${source} is mounted on ${config.file.filesystem.mountPoint}, not this node's mapped image (${device ?? 'none mapped'})\n`,
        );
        return 1;
      }
      const ownAddresses =
        config.file.node.cephAddresses.length > 0 ? [...config.file.node.cephAddresses] : await detectOwnAddresses(runner, config.env.monHosts, 10_000);
      const { verdict, owner } = await ownershipOf(world, { nodeName: config.nodeName, ownAddresses }, device);
      if (verdict !== 'ours') {
        const who = owner ? `${owner.node} (generation ${owner.generation})` : verdict === 'unknown' ? 'nobody Ceph could confirm' : 'nobody';
        io.err(`refusing to start Harbor: the owner record in Ceph names ${who}, not this node\n`);
        return 1;
      }
      await world.installer.ensureInstalled();
      await world.compose.up();
      io.out(`Harbor started from ${config.file.harbor.projectDir} (image on ${source})\n`);
      return 0;
    }
    case 'stop':
      await stopHarbor(runner, world.compose, config.file.timeouts.composeDown);
      io.out('Harbor stopped (data untouched)\n');
      return 0;
    case 'status': {
      const running = await world.compose.running().catch(() => false);
      const health = await probeHealth(config.file.harbor.healthUrl, config.file.harbor.probe.timeoutMs);
      io.out(`Harbor containers ${running ? 'running' : 'not running'}; health ${health.verdict}${health.detail ? ` (${health.detail})` : ''}\n`);
      for (const c of health.components) io.out(`  ${c.name.padEnd(12)} ${c.status}${c.error ? `  ${c.error}` : ''}\n`);
      return running && health.verdict !== 'down' ? 0 : 3;
    }
    default:
      io.err(`harbor: unknown verb "${verb}" (start | stop | status)\n`);
      return 2;
  }
}
