import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabOptions } from './lab.js';
import { checkScriptPath, configPath, envPath, LAB, labDir, MOUNT_POINT, NODES, nodeDir, type NodeName } from './topology.js';

/** A node's directories, its environment file (the installer's env) and its engine configuration, as the lab runs them. */
export function writeNodeConfig(
  n: NodeName,
  options: Pick<LabOptions, 'advertInt' | 'extraYaml' | 'mountOptions' | 'synchronousDirs' | 'startingProbeMs'>,
): void {
  const d = nodeDir(n);
  for (const sub of ['state', 'run', 'fuse', 'keepalived']) mkdirSync(join(d, sub), { recursive: true });
  mkdirSync(MOUNT_POINT, { recursive: true });
  const key = readFileSync(join(LAB.root, 'ceph', `client.${LAB.user}.key`), 'utf8').trim();
  writeFileSync(
    envPath(n),
    [
      'HARBOR_VERSION=v2.11.0',
      `HARBOR_VIP=${LAB.vip}`,
      `CEPH_MON_HOST=${LAB.subnet}.10`,
      `CEPH_USER=${LAB.user}`,
      `CEPH_USER_KEY=${key}`,
      `CEPH_POOL_NAME=${LAB.pool}`,
      `CEPH_IMAGE_NAME=${LAB.image}`,
      `KEEPALIVED_ROLE=${NODES[n].role}`,
      'INTERFACE=eth0',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const yaml = [
    'node:',
    `  name: ${n}`,
    `  stateDir: ${d}/state`,
    `  runDir: ${d}/run`,
    `  cephAddresses: [${NODES[n].ip}]`,
    'ceph:',
    '  mapper: fuse',
    `  fuseDir: ${d}/fuse`,
    '  blocklistExpirySeconds: 900',
    '  commandTimeoutMs: 10000',
    'filesystem:',
    `  mountPoint: ${MOUNT_POINT}`,
    '  fsck: auto',
    ...(options.mountOptions ? [`  mountOptions: [${options.mountOptions.join(', ')}]`] : []),
    ...(options.synchronousDirs ? [`  synchronousDirs: [${options.synchronousDirs.join(', ')}]`] : []),
    'harbor:',
    // the engine's own detection (docker compose, then docker-compose) against this node's dockerd
    '  composeCommand: auto',
    `  projectDir: ${MOUNT_POINT}/installer`,
    `  harborYml: ${join(labDir, 'harbor.yml')}`,
    `  installerTgz: ${join(LAB.root, 'harbor-offline-installer-lab.tgz')}`,
    '  healthUrl: http://127.0.0.1:80/api/v2.0/health',
    `  probe: { intervalMs: 500, timeoutMs: 400, rise: 1, fall: 3${options.startingProbeMs !== undefined ? `, startingIntervalMs: ${String(options.startingProbeMs)}` : ''} }`,
    'keepalived:',
    '  vrrpVersion: 3',
    `  advertInt: ${options.advertInt}`,
    `  checkScript: ${checkScriptPath(n)}`,
    '  checkIntervalSeconds: 1',
    '  checkFall: 2',
    '  checkRise: 1',
    '  garpRefreshSeconds: 1',
    `  fitnessFile: ${d}/run/fitness`,
    `  confPath: ${d}/keepalived.conf`,
    `  fifoPath: ${d}/run/keepalived.fifo`,
    `  pidDir: ${d}/keepalived`,
    '  vipPollMs: 1000',
    'timeouts: { readWorld: 15000, readHolders: 10000, fence: 15000, verifyFence: 40000, map: 30000, composeUp: 30000, healthy: 30000, composeDown: 20000, unmount: 15000, unmap: 20000 }',
    'retry: { maxAttempts: 3, backoffBaseMs: 500, backoffMaxMs: 4000 }',
    'fencing: { holderGraceMs: 2000, cooldownMs: 60000 }',
    'standDownMs: 10000',
    ...(options.extraYaml ?? []),
    '',
  ].join('\n');
  writeFileSync(configPath(n), yaml);
}
