import { lstatSync, realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Runner } from '../exec.js';

export interface KeepalivedSettings {
  role: 'master' | 'backup';
  nodeName: string;
  interface: string;
  vip: string;
  vipPrefix: number;
  instance: string;
  virtualRouterId: number;
  priority: number;
  vrrpVersion: number;
  advertInt: number;
  unicastSrcIp: string;
  unicastPeers: readonly string[];
  checkScript: string;
  /** Arguments for the check script (e.g. --config PATH). */
  checkArgs: readonly string[];
  checkIntervalSeconds: number;
  checkFall: number;
  checkRise: number;
  /** Re-send gratuitous ARP while MASTER (seconds): after a split brain, clients follow the survivor. */
  garpRefreshSeconds: number;
  /** Written by the service on every change (0 fit, 1 unfit); keepalived reacts through inotify. */
  fitnessFile: string;
  fifoPath: string;
}

/** keepalived's track_script timeout never below this (seconds). */
export const CHECK_TIMEOUT_FLOOR_SECONDS = 10;

const quoteArg = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/**
 * keepalived.conf for either role. Both hosts start as BACKUP with `nopreempt`: the master role
 * only has the higher priority, so a returning host never takes the VIP back (no flapping).
 * The track_script and the track_file have weight 0: an unfit node goes FAULT and gives up the VIP.
 */
export function renderKeepalivedConf(s: KeepalivedSettings): string {
  const script = [s.checkScript, ...s.checkArgs].map(quoteArg).join(' ');
  const lines = [
    '# Written by `harbor-assistant keepalived render`; edits are overwritten.',
    'global_defs {',
    `    router_id harbor_${s.nodeName.replace(/[^A-Za-z0-9_]/g, '_')}`,
    '    enable_script_security',
    '    script_user root',
    `    vrrp_notify_fifo ${s.fifoPath}`,
    '    vrrp_notify_priority_changes true',
    `    vrrp_version ${s.vrrpVersion}`,
    '}',
    '',
    'vrrp_script harbor_assistant_check {',
    `    script "${script}"`,
    `    interval ${s.checkIntervalSeconds}`,
    // keepalived 2.2.7 counts one timed-out run as a failure at once (no `fall`): seen in the lab
    // while containers started on 2 cores (a Node start took >3 s). The check gives up on the
    // service by itself after 2 s, so this only has to outlast a slow process start.
    `    timeout ${Math.max(CHECK_TIMEOUT_FLOOR_SECONDS, s.checkIntervalSeconds * 3)}`,
    `    fall ${s.checkFall}`,
    `    rise ${s.checkRise}`,
    '}',
    '',
    // the service writes its fitness here the moment it changes: no wait for the next check run
    'vrrp_track_file harbor_assistant_fitness {',
    `    file ${s.fitnessFile}`,
    '    weight 0',
    '    init_file 0',
    '}',
    '',
    `vrrp_instance ${s.instance} {`,
    '    state BACKUP',
    '    nopreempt',
    `    interface ${s.interface}`,
    `    virtual_router_id ${s.virtualRouterId}`,
    `    priority ${s.priority}`,
    `    advert_int ${s.advertInt}`,
    `    garp_master_refresh ${s.garpRefreshSeconds}`,
    ...(s.unicastPeers.length > 0 ? [`    unicast_src_ip ${s.unicastSrcIp}`, '    unicast_peer {', ...s.unicastPeers.map((p) => `        ${p}`), '    }'] : []),
    '    virtual_ipaddress {',
    `        ${s.vip}/${s.vipPrefix} dev ${s.interface}`,
    '    }',
    // the check script covers a service that is not running (the file keeps its last value)
    '    track_script {',
    '        harbor_assistant_check',
    '    }',
    '    track_file {',
    '        harbor_assistant_fitness',
    '    }',
    '}',
    '',
  ];
  return lines.join('\n');
}

/**
 * keepalived's script security silently disables a script whose file or any directory on its
 * path is not root-owned or is writable by group/others ("Unsafe permissions"). Check it here,
 * loudly. Returns the problems (empty when safe).
 */
export function scriptSecurityProblems(scriptPath: string): string[] {
  const problems: string[] = [];
  let real: string;
  try {
    real = realpathSync(scriptPath);
  } catch {
    return [`${scriptPath}: does not exist`];
  }
  const st = statSync(real);
  if (!st.isFile()) problems.push(`${real}: not a file`);
  if ((st.mode & 0o111) === 0) problems.push(`${real}: not executable`);
  const check = (path: string) => {
    const s = lstatSync(path);
    if (s.uid !== 0) problems.push(`${path}: owned by uid ${s.uid}, keepalived needs root`);
    if ((s.mode & 0o022) !== 0) problems.push(`${path}: writable by group or others (mode ${(s.mode & 0o777).toString(8)})`);
  };
  check(real);
  for (let dir = dirname(real); ; dir = dirname(dir)) {
    check(dir);
    if (dir === '/') break;
  }
  if (real !== scriptPath) {
    for (let dir = dirname(scriptPath); ; dir = dirname(dir)) {
      check(dir);
      if (dir === '/') break;
    }
  }
  return [...new Set(problems)];
}

/** `keepalived -t -f CONF`: exit 0 when valid (rc 5 on a config error; it does not check script security). */
export async function validateKeepalivedConf(runner: Runner, confPath: string): Promise<void> {
  await runner.run({ what: 'keepalived -t', argv: ['keepalived', '-t', '-f', confPath], timeoutMs: 15_000 });
}

export interface KeepalivedPids {
  main: string;
  vrrp: string;
  checkers: string;
  bfd: string;
}

export function keepalivedPids(pidDir: string): KeepalivedPids {
  return { main: `${pidDir}/keepalived.pid`, vrrp: `${pidDir}/vrrp.pid`, checkers: `${pidDir}/checkers.pid`, bfd: `${pidDir}/bfd.pid` };
}

/** The Debian keepalived with its own pid files, so a second instance on the host does not clash. */
export function keepalivedStartArgv(confPath: string, pids: KeepalivedPids): string[] {
  return ['keepalived', '-f', confPath, '-p', pids.main, '-r', pids.vrrp, '-c', pids.checkers, '-b', pids.bfd, '--vrrp'];
}
