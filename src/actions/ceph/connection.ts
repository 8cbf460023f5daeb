/** How this node's Ceph client reaches the cluster; the key itself lives only in the 0600 keyring file. */
export interface CephConnection {
  user: string;
  keyringPath: string;
  confPath: string;
  pool: string;
  image: string;
}

export function imageSpec(c: CephConnection): string {
  return `${c.pool}/${c.image}`;
}

/** Identity and config for `rbd`/`ceph`: the key goes by file, never on the command line. */
export function cephClientArgs(c: CephConnection): string[] {
  return ['--id', c.user, '--keyring', c.keyringPath, '-c', c.confPath];
}

/** The keyring file's text (written 0600 by the service). */
export function keyringText(user: string, key: string): string {
  return `[client.${user}]\n\tkey = ${key}\n`;
}

/**
 * ceph.conf for this node. `rbd cache = false` is what makes the fuse mapper safe: with the
 * cache on, rbd-fuse acknowledges writes after a fence and silently loses them (measured in the lab with Ceph 16).
 */
export function cephConfText(monHosts: readonly string[]): string {
  return ['[global]', `\tmon host = ${monHosts.join(',')}`, '', '[client]', '\trbd cache = false', ''].join('\n');
}
