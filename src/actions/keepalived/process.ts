import { existsSync, readFileSync } from 'node:fs';
import { keepalivedPids } from './conf.js';
import { cmdlineOf, isRunning } from '../processes.js';

function pidIn(file: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 1 ? pid : null;
}

/** A live process of our keepalived: its argv names keepalived and our configuration file. */
function isOurKeepalived(pid: number | null, confPath: string): pid is number {
  if (pid === null || !isRunning(pid)) return false;
  const argv = cmdlineOf(pid);
  return argv !== null && argv.some((a) => a.endsWith('keepalived')) && argv.includes(confPath);
}

/** The main keepalived process running our configuration, or null. */
export function runningKeepalivedPid(pidDir: string, confPath: string): number | null {
  const pid = pidIn(keepalivedPids(pidDir).main);
  return isOurKeepalived(pid, confPath) ? pid : null;
}

/**
 * Our keepalived and its VRRP child both run. Then a VIP on the interface is keepalived's own
 * MASTER state (it removes the VIP when it leaves MASTER); a crashed VRRP child or a dead
 * keepalived leaves the VIP behind, which says nothing.
 */
export function keepalivedVrrpRunning(pidDir: string, confPath: string): boolean {
  return runningKeepalivedPid(pidDir, confPath) !== null && isOurKeepalived(pidIn(keepalivedPids(pidDir).vrrp), confPath);
}
