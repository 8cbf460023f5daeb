#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, exampleYaml, loadConfig, type Config } from '../config/index.js';
import { checkCommand, commandRequest, eventsCommand, statusCommand, type Io } from './operator.js';
// heavy modules (xstate, zx, winston) load only for the commands that need them: keepalived runs
// `check` every second and it must answer in milliseconds

export const HELP = `harbor-assistant — failover engine for a two-host Harbor on one Ceph RBD image

Usage: harbor-assistant <command> [options]

Commands:
  run [--inspect]         run the node statechart as a service (systemd runs this);
                          --inspect attaches the Stately inspector (loopback relay)
  status [--json]         what this node is doing, since when and why
  check                   keepalived's track_script: exit 0 only when this node is fit
  switchover              hand Harbor over to the peer gracefully (no fencing)
  maintenance on|off      hold this node out of service (hands over first if serving)
  resume                  clear failed/fenced after fixing the cause; the node re-reads the world
  stop [--release]        stop the service; --release hands everything over first
  events [--lines N] [--once] [--json] [--brief]
                          the journal: last N entries (20), then follow it live;
                          --brief leaves out commands that succeeded
  doctor [--json]         check this host for everything a takeover needs, with fixes
  chart --format F        the statechart, read from the machine: json | mermaid | markdown | svg;
                          svg folds each step's retry loop into its box (--expand-steps draws it)
  validate-config         check the environment and the YAML file; print every problem
                          (--example prints the documented example configuration)
  keepalived render|start|stop|status   (also: keepalivedctl start|stop|status)
  harbor start|stop|status              (also: harborctl start|stop|status)
  help                    this text

Options:
  --config PATH           YAML configuration (default /etc/harbor-assistant/harbor-assistant.yaml)
  --env PATH         environment file (default /etc/harbor-assistant/.env)
`;

type Options = {
  config?: string;
  env?: string;
  json?: boolean;
  format?: string;
  example?: boolean;
  help?: boolean;
  release?: boolean;
  stdout?: boolean;
  inspect?: boolean;
  lines?: string;
  once?: boolean;
  brief?: boolean;
  'expand-steps'?: boolean;
};

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
      inspect: { type: 'boolean' },
      lines: { type: 'string' },
      once: { type: 'boolean' },
      brief: { type: 'boolean' },
      'expand-steps': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const o: Options = values;
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
      io.out(
        `configuration OK: node ${c.nodeName}, role ${c.env.role}, image ${c.env.pool}/${c.env.image}, mapper ${c.file.ceph.mapper}, VIP ${c.env.vip} on ${c.env.interface}\n`,
      );
      return 0;
    }
    case 'chart': {
      const { chartOf, chartSvg, layoutChart, statechartMarkdown, toMermaid } = await import('../chart/index.js');
      const { nodeMachine } = await import('../machine/index.js');
      const chart = chartOf(nodeMachine);
      const format = o.format ?? 'json';
      if (format === 'json') io.out(`${JSON.stringify(chart, null, 2)}\n`);
      else if (format === 'mermaid') io.out(toMermaid(chart));
      else if (format === 'markdown') io.out(statechartMarkdown(chart));
      else if (format === 'svg') io.out(chartSvg(await layoutChart(chart, { expandSteps: o['expand-steps'] ?? false })));
      else throw new ConfigError([`--format: must be one of json, mermaid, markdown, svg, got "${format}"`]);
      return 0;
    }
    case 'run': {
      const config = configFrom(o);
      const { runService } = await import('../runtime/service.js');
      const { createLogger } = await import('../log/logger.js');
      const logger = createLogger({ level: config.file.log.level });
      const { serviceNodeFlagsMissing } = await import('./node-flags.js');
      const missing = serviceNodeFlagsMissing();
      if (missing.length > 0) logger.warn("node runs without the service flags (the systemd unit puts them on node's command line): more RSS", { missing });
      await runService(config, logger, { inspect: o.inspect ?? false });
      // everything is closed by now; if some handle still holds the event loop, do not hang a stop
      setTimeout(() => {
        logger.warn('exiting with handles still open');
        process.exit(0);
      }, 3_000).unref();
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
    case 'events': {
      const given = o.lines ?? '20';
      const lines = Number(given);
      if (!Number.isInteger(lines) || lines < 0) throw new ConfigError([`--lines: must be a whole number of entries, got "${given}"`]);
      return eventsCommand(configFrom(o), { lines, follow: !(o.once ?? false), json: o.json ?? false, brief: o.brief ?? false }, io);
    }
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
      process.stderr.write(
        error instanceof ConfigError ? `${error.message}\n` : `harbor-assistant: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
