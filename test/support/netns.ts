import { execFileSync } from 'node:child_process';

const created = new Set<string>();

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A network namespace of the test's own, with a veth `eth0` (IPv4 `address`/24) and lo up. */
export function createNetns(tag: string, address: string): string {
  const name = `ha-t-${tag}-${process.pid}`;
  ip('netns', 'add', name);
  created.add(name);
  ip('-n', name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
  ip('-n', name, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
  for (const dev of ['lo', 'eth0', 'eth0p']) ip('-n', name, 'link', 'set', dev, 'up');
  return name;
}

export function deleteNetns(name: string): void {
  if (!created.has(name)) return;
  try {
    ip('netns', 'del', name);
  } catch {
    // already gone
  }
  created.delete(name);
}

// a failed test must not leave namespaces behind
process.on('exit', () => {
  for (const name of created) {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // best effort
    }
  }
});
