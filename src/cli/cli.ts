#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, exampleYaml, loadConfig, type Config } from '../config/index.js';
import { checkCommand, commandRequest, eventsCommand, statusCommand, type Io } from './operator.js';
import { SETUP_FLAGS } from '../install/answers.js';
import { HELP, unknownVerbHelp, verbHelp } from './help.js';
import { VERSION } from '../version.js';
// heavy modules (xstate, zx, winston) load only for the commands that need them: keepalived runs
// `check` every second and it must answer in milliseconds

type Options = {
  config?: string;
  env?: string;
  json?: boolean;
  format?: string;
  example?: boolean;
  help?: boolean;
  version?: boolean;
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

/** The overview with no command; a command's manual for `COMMAND --help` and `help COMMAND`. */
function helpCommand(positionals: readonly string[], helpFlag: boolean): number {
  const [command, verb] = positionals;
  const topic = command === undefined ? undefined : command === 'help' ? (verb ?? (helpFlag ? 'help' : undefined)) : command;
  if (topic === undefined) {
    io.out(HELP);
    return 0;
  }
  const text = verbHelp(topic);
  if (text === null) {
    io.err(unknownVerbHelp(topic));
    return 2;
  }
  io.out(text);
  return 0;
}

function versionCommand(): number {
  io.out(`harbor-assistant ${VERSION}\n`);
  return 0;
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
      ...SETUP_FLAGS,
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
  const o: Options = values;
  const [command = o.version ? 'version' : 'help', verb] = positionals;
  // `harborctl help` and `keepalivedctl help` arrive as `harbor help` and `keepalived help`
  if (o.help || command === 'help' || (verb === 'help' && (command === 'harbor' || command === 'keepalived'))) return helpCommand(positionals, o.help ?? false);
  if (o.version) return versionCommand();
  switch (command) {
    case 'version':
      return versionCommand();
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
    case 'setup':
      return (await import('./setup.js')).setupCommand(values, positionals.slice(1), io);
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
