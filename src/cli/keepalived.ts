import { existsSync, readFileSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { createRunner } from '../actions/exec.js';
import {
  keepalivedPids,
  keepalivedStartArgv,
  renderKeepalivedConf,
  scriptSecurityProblems,
  validateKeepalivedConf,
  type KeepalivedSettings,
} from '../actions/keepalived/conf.js';
import { livenessFiles } from '../actions/keepalived/liveness.js';
import { Vip } from '../actions/keepalived/vip.js';
import { cmdlineOf, isRunning, terminate } from '../actions/processes.js';
import { silentLogger } from '../log/logger.js';
import { writeFileAtomic } from '../actions/host/atomic-file.js';
import type { Io } from './operator.js';

export function keepalivedSettings(config: Config): KeepalivedSettings {
  const k = config.file.keepalived;
  const files = livenessFiles(k.fitnessFile);
  return {
    role: config.env.role,
    nodeName: config.nodeName,
    interface: config.env.interface,
    vip: config.env.vip,
    vipPrefix: k.vipPrefix,
    instance: k.instance,
    virtualRouterId: k.virtualRouterId,
    priority: config.env.role === 'master' ? k.priorityMaster : k.priorityBackup,
    vrrpVersion: k.vrrpVersion,
    advertInt: k.advertInt,
    unicastSrcIp: k.unicastSrcIp,
    unicastPeers: k.unicastPeers,
    checkScript: k.checkScript,
    // a shell script over the service's heartbeat: no Node start every second
    checkArgs: [files.heartbeat, files.seen, files.grace],
    checkIntervalSeconds: k.checkIntervalSeconds,
    checkFall: k.checkFall,
    checkRise: k.checkRise,
    garpRefreshSeconds: k.garpRefreshSeconds,
    fitnessFile: k.fitnessFile,
    fifoPath: k.fifoPath,
  };
}

function mainPid(config: Config): number | null {
  const file = keepalivedPids(config.file.keepalived.pidDir).main;
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  const argv = Number.isInteger(pid) && pid > 1 ? cmdlineOf(pid) : null;
  // only our keepalived: the one running our configuration
  return argv?.some((a) => a.endsWith('keepalived')) && argv.includes(config.file.keepalived.confPath) && isRunning(pid) ? pid : null;
}

export async function keepalivedCommand(verb: string, config: Config, options: { stdout?: boolean }, io: Io): Promise<number> {
  const runner = createRunner(silentLogger());
  const k = config.file.keepalived;
  switch (verb) {
    case 'render': {
      const settings = keepalivedSettings(config);
      const text = renderKeepalivedConf(settings);
      if (options.stdout) {
        io.out(text);
        return 0;
      }
      const problems = scriptSecurityProblems(settings.checkScript);
      if (problems.length > 0) {
        io.err(
          `refusing to render: keepalived would silently disable the check script (enable_script_security):\n${problems.map((p) => `  - ${p}`).join('\n')}\n`,
        );
        return 1;
      }
      writeFileAtomic(`${k.confPath}.new`, text, 0o644);
      try {
        await validateKeepalivedConf(runner, `${k.confPath}.new`);
      } catch (e) {
        io.err(`keepalived -t rejects the rendered configuration (left at ${k.confPath}.new):\n${e instanceof Error ? e.message : String(e)}\n`);
        return 1;
      }
      writeFileAtomic(k.confPath, text, 0o644);
      io.out(
        `wrote ${k.confPath} (role ${settings.role}, priority ${settings.priority}, VIP ${settings.vip}/${settings.vipPrefix} on ${settings.interface}); keepalived -t: ok\n`,
      );
      return 0;
    }
    case 'start': {
      if (mainPid(config) !== null) {
        io.out('keepalived is already running\n');
        return 0;
      }
      if (!existsSync(k.confPath)) {
        io.err(`${k.confPath} does not exist: run \`harbor-assistant keepalived render\` first\n`);
        return 1;
      }
      writeFileAtomic(`${k.pidDir}/.keep`, '', 0o600);
      await runner.run({ what: 'keepalived start', argv: keepalivedStartArgv(k.confPath, keepalivedPids(k.pidDir)), timeoutMs: 15_000 });
      io.out('keepalived started\n');
      return 0;
    }
    case 'stop': {
      const pid = mainPid(config);
      if (pid === null) {
        io.out('keepalived is not running\n');
        return 0;
      }
      const gone = await terminate(pid, 10_000);
      io.out(gone ? 'keepalived stopped\n' : `keepalived (pid ${pid}) did not stop\n`);
      return gone ? 0 : 1;
    }
    case 'status': {
      const pid = mainPid(config);
      const vipHere = await new Vip(config.env.interface, config.env.vip).present().catch(() => null);
      io.out(
        `keepalived ${pid !== null ? `running (pid ${pid})` : 'not running'}; VIP ${config.env.vip} ${vipHere === null ? 'unknown' : vipHere ? 'is on' : 'is not on'} ${config.env.interface}\n`,
      );
      return pid !== null ? 0 : 3;
    }
    default:
      io.err(`keepalived: unknown verb "${verb}" (render | start | stop | status)\n`);
      return 2;
  }
}
