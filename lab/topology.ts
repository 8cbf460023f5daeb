/** Where everything of the lab is: its addresses, its namespaces' names, each node's directory and files. */

import { join, resolve } from 'node:path';

/** The two-node lab on one machine: real Ceph, real keepalived, the real registry, real skopeo. */
export const LAB = {
  root: '/run/halab',
  prefix: 'halab',
  subnet: '10.213.77',
  vip: '10.213.77.100',
  pool: 'harbor',
  image: 'harbor_data',
  user: 'harbor',
} as const;

export type NodeName = 'a' | 'b';
export const NODES: Record<NodeName, { ip: string; role: 'master' | 'backup' }> = {
  a: { ip: `${LAB.subnet}.11`, role: 'master' },
  b: { ip: `${LAB.subnet}.12`, role: 'backup' },
};

/** Where Ceph's mon and OSD listen (one address): what a storage partition cuts. */
export const CEPH_IP = `${LAB.subnet}.10`;

export const repo = resolve(new URL('..', import.meta.url).pathname);
export const labDir = join(repo, 'lab');

/**
 * Harbor in the lab: one dockerd per node in its namespace running the Harbor-shaped compose stack
 * of lab/docker (registry, PostgreSQL, Redis, core, nginx), driven by the engine's real compose path.
 */
export const dockerDir = join(labDir, 'docker');
/** harbor.projectName in the engines' configuration (its default): compose labels containers with it. */
export const HARBOR_PROJECT = 'harbor';
export const dockerState = (n: NodeName) => join(LAB.root, n, 'docker');
export const dockerSocket = (n: NodeName) => join(dockerState(n), 'sock', 'docker.sock');
/** Where clients push and pull: nginx on the VIP's port 80, as with Harbor. */
export const REGISTRY_AT = `${LAB.vip}:80`;

/**
 * A node's own mount namespace, as a host has its own mount table: what its engine, rbd-fuse and
 * dockerd mount there (the image's filesystem, the fuse dir, the containers' layers) only the node
 * sees. Kept in a file (`unshare --mount=FILE`), entered with `nsenter --mount=FILE`.
 */
export const mountNsPath = (n: NodeName) => join(LAB.root, 'mntns', n);

/**
 * Where both nodes mount the image: one path, as on two hosts with the same configuration (so
 * harbor.yml and the compose file on the image are the same for both, and prepare runs only when
 * the operator's harbor.yml changes). Each mount lives in its node's mount namespace; outside
 * them the directory is the bare mount point both share.
 */
export const MOUNT_POINT = join(LAB.root, 'harbor');

const isNode = (ns: string): ns is NodeName => ns === 'a' || ns === 'b';

/** `argv` run inside the lab namespace `halab-<ns>`: a node's (its network and its mounts), or the client's. */
export const inNs = (ns: string, argv: string[]) => [
  'nsenter',
  `--net=/run/netns/${LAB.prefix}-${ns}`,
  ...(isNode(ns) ? [`--mount=${mountNsPath(ns)}`] : []),
  '--',
  ...argv,
];

/** `argv` run in node `n`'s mount namespace only. */
export const inNodeMounts = (n: NodeName, argv: string[]) => ['nsenter', `--mount=${mountNsPath(n)}`, '--', ...argv];

export function nodeDir(n: NodeName): string {
  return join(LAB.root, n);
}

export function configPath(n: NodeName): string {
  return join(nodeDir(n), 'harbor-assistant.yaml');
}

export function envPath(n: NodeName): string {
  return join(nodeDir(n), 'env');
}

export function engineLog(n: NodeName): string {
  return join(nodeDir(n), 'engine.log');
}

/** The node's root: a link to the unpacked package it runs (swapped by an upgrade, as dpkg renames files into place). */
export function packageRoot(n: NodeName): string {
  return join(nodeDir(n), 'root');
}

/** The node's keepalived track_script (written by `installPackage`). */
export function checkScriptPath(n: NodeName): string {
  return join(LAB.root, 'bin', `harbor-assistant-check-${n}`);
}
