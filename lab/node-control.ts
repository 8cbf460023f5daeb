import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRunning } from '../src/actions/processes.js';
import { request, status } from './control.js';
import { killPid, run, sleep, spawnDetached } from './exec.js';
import { engineArgv, installPackage } from './node-package.js';
import { dockerSocket, engineLog, inNs, nodeDir, type NodeName } from './topology.js';

/**
 * Each node's engine (the installed service) and keepalived as the lab starts, stops and upgrades
 * them; `pids` holds the processes it started (the faults kill them, `down` too).
 */
export class NodeControl {
  readonly pids = { engine: new Map<NodeName, number>(), keepalived: new Map<NodeName, number>() };

  /**
   * Upgrade node `n` to `deb` the way the package's postinst does on a host: the new files in
   * place, then a restart of the running service (SIGTERM detaches, everything held stays held;
   * the new version reconciles). keepalived is not restarted.
   */
  async upgradeNode(n: NodeName, deb: string): Promise<void> {
    installPackage(n, deb);
    await this.stopEngine(n, false);
    await this.startEngine(n);
  }

  async startEngine(n: NodeName): Promise<void> {
    const out = openSync(engineLog(n), 'a');
    const pid = spawnDetached(`engine ${n}`, inNs(n, engineArgv(n, 'run')), {
      stdio: ['ignore', out, out],
      env: { ...process.env, DOCKER_HOST: `unix://${dockerSocket(n)}` },
      pidFile: join(nodeDir(n), 'engine.pid'),
    });
    this.pids.engine.set(n, pid);
    for (const end = Date.now() + 20_000; Date.now() < end; await sleep(50)) {
      const s = await status(n).catch(() => null);
      if (s && !s.state.startsWith('booting')) return;
      if (!isRunning(pid)) throw new Error(`engine ${n} exited: ${readFileSync(engineLog(n), 'utf8').slice(-2000)}`);
    }
    throw new Error(`engine ${n} did not finish booting`);
  }

  async stopEngine(n: NodeName, release: boolean): Promise<void> {
    const pid = this.pids.engine.get(n);
    if (release) await request(n, { cmd: 'shutdown', release: true }).catch(() => undefined);
    else if (pid) process.kill(pid, 'SIGTERM');
    if (pid) {
      for (const end = Date.now() + 60_000; Date.now() < end && isRunning(pid);) await sleep(50);
      await killPid(pid, 0);
    }
    this.pids.engine.delete(n);
  }

  renderKeepalived(n: NodeName): void {
    run(inNs(n, engineArgv(n, 'keepalived', 'render')));
  }

  startKeepalived(n: NodeName): void {
    const d = nodeDir(n);
    const out = openSync(join(d, 'keepalived.log'), 'a');
    const argv = [
      'keepalived',
      '-f',
      `${d}/keepalived.conf`,
      '-p',
      `${d}/keepalived/keepalived.pid`,
      '-r',
      `${d}/keepalived/vrrp.pid`,
      '-c',
      `${d}/keepalived/checkers.pid`,
      '-b',
      `${d}/keepalived/bfd.pid`,
      '--vrrp',
      '--dont-fork',
      '--log-console',
    ];
    const pid = spawnDetached(`keepalived ${n}`, inNs(n, argv), { stdio: ['ignore', out, out], pidFile: join(d, 'keepalived.pid') });
    this.pids.keepalived.set(n, pid);
  }

  async stopKeepalived(n: NodeName): Promise<void> {
    const pid = this.pids.keepalived.get(n);
    if (pid) await killPid(pid, 5_000);
    this.pids.keepalived.delete(n);
  }

  /** Bring a crashed node back: its engine, then its keepalived (the config is already rendered). */
  async restartNode(n: NodeName): Promise<void> {
    await this.startEngine(n);
    this.startKeepalived(n);
  }

  /** The PID of the node's engine as the lab started it (null when stopped). */
  enginePid(n: NodeName): number | null {
    return this.pids.engine.get(n) ?? null;
  }
}
