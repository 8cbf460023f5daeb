#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, exampleYaml, loadConfig, type Config } from '../config/index.js';
import { checkCommand, commandRequest, eventsCommand, statusCommand, type Io } from './operator.js';
// heavy modules (xstate, zx, winston) load only for the commands that need them: keepalived runs
// `check` every second and it must answer in milliseconds

export const HELP = `harbor-assistant — failover engine for a two-host Harbor on one Ceph RBD image

Usage: harbor-assistant <command> [options]

Commands:
  run                     run the node statechart as a service (systemd runs this)
  status [--json]         what this node is doing, since when and why
  check                   keepalived's track_script: exit 0 only when this node is fit
  switchover              hand Harbor over to the peer gracefully (no fencing)
  maintenance on|off      hold this node out of service (hands over first if serving)
  resume                  clear failed/fenced after fixing the cause; the node re-reads the world
  stop [--release]        stop the service; --release hands everything over first
  events                  follow the state transitions live
  doctor [--json]         check this host for everything a takeover needs, with fixes
  chart --format F        the statechart, read from the machine: json | mermaid | markdown
  validate-config         check the environment and the YAML file; print every problem
                          (--example prints the documented example configuration)
  keepalived render|start|stop|status   (also: keepalivedctl start|stop|status)
  harbor start|stop|status              (also: harborctl start|stop|status)
  help                    this text

Options:
  --config PATH           YAML configuration (default /etc/harbor-assistant/harbor-assistant.yaml)
  --env PATH         environment file (default /etc/harbor-assistant/.env)
`;

type Options = { config?: string; env?: string; json?: boolean; format?: string; example?: boolean; help?: boolean; release?: boolean; stdout?: boolean };

const io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

function configFrom(o: Options): Config {
  return loadConfig({ ...(o.config ? { configPath: o.config } : {}), ...(o.env ? { envFile: o.env } : {}) });
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      env: { type: 'string' },
      json: { type: 'boolean' },
      format: { type: 'string' },
      example: { type: 'boolean' },
      release: { type: 'boolean' },
      stdout: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const o = values as Options;
  const [command = 'help', verb] = positionals;
  if (o.help || command === 'help') {
    io.out(HELP);
    return 0;
  }
  switch (command) {
    case 'validate-config': {
      if (o.example) {
        io.out(exampleYaml());
        return 0;
      }
      const c = configFrom(o);
      io.out(`configuration OK: node ${c.nodeName}, role ${c.env.role}, image ${c.env.pool}/${c.env.image}, mapper ${c.file.ceph.mapper}, VIP ${c.env.vip} on ${c.env.interface}\n`);
      return 0;
    }
    case 'chart': {
      const { chartOf, statechartMarkdown, toMermaid } = await import('../chart/index.js');
      const { nodeMachine } = await import('../machine/index.js');
      const chart = chartOf(nodeMachine);
      const format = o.format ?? 'json';
      if (format === 'json') io.out(`${JSON.stringify(chart, null, 2)}\n`);
      else if (format === 'mermaid') io.out(toMermaid(chart));
      else if (format === 'markdown') io.out(statechartMarkdown(chart));
      else throw new ConfigError([`--format: must be one of json, mermaid, markdown, got "${format}"`]);
      return 0;
    }
    case 'run': {
      const config = configFrom(o);
      const { runService } = await import('../runtime/service.js');
      const { createLogger } = await import('../log/logger.js');
      await runService(config, createLogger({ level: config.file.log.level }));
      return 0;
    }
    case 'status':
      return statusCommand(configFrom(o), o.json ?? false, io);
    case 'check':
      return checkCommand(configFrom(o), io);
    case 'switchover':
      return commandRequest(configFrom(o), { cmd: 'switchover' }, io);
    case 'resume':
      return commandRequest(configFrom(o), { cmd: 'resume' }, io);
    case 'stop':
      return commandRequest(configFrom(o), { cmd: 'shutdown', release: o.release ?? false }, io);
    case 'maintenance':
      if (verb !== 'on' && verb !== 'off') throw new ConfigError(['maintenance: say on or off']);
      return commandRequest(configFrom(o), { cmd: 'maintenance', on: verb === 'on' }, io);
    case 'events':
      return eventsCommand(configFrom(o), io);
    case 'doctor':
      return (await import('./doctor.js')).doctorCommand(configFrom(o), o.json ?? false, io);
    case 'keepalived':
      return (await import('./keepalived.js')).keepalivedCommand(verb ?? 'status', configFrom(o), { stdout: o.stdout ?? false }, io);
    case 'harbor':
      return (await import('./harbor.js')).harborCommand(verb ?? 'status', configFrom(o), io);
    default:
      io.err(`unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

/** Entry point shared by harbor-assistant, keepalivedctl and harborctl. */
export function runCli(argv: string[]): void {
  // `harbor-assistant chart | head` closes the pipe early: that is not an error
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(error instanceof ConfigError ? `${error.message}\n` : `harbor-assistant: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
