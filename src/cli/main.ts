#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chartOf, statechartMarkdown, toMermaid } from '../chart/index.js';
import { ConfigError, exampleYaml, loadConfig, type Config } from '../config/index.js';
import { createLogger } from '../log/logger.js';
import { nodeMachine } from '../machine/index.js';
import { runService } from '../runtime/service.js';
import { formatStatus, type NodeStatus } from '../runtime/status.js';

const HELP = `harbor-assistant — failover engine for a two-host Harbor on one Ceph RBD image

Usage: harbor-assistant <command> [options]

Commands:
  run                 run the node statechart as a service (systemd runs this)
  status [--json]     what this node is doing, since when and why
  validate-config     check the environment and the YAML file; print every problem
                      (--example prints the documented example configuration)
  chart --format F    the statechart, read from the machine: json | mermaid | markdown
  help                this text

Options:
  --config PATH       YAML configuration (default /etc/harbor-assistant/harbor-assistant.yaml)
  --env-file PATH     environment file (default /etc/harbor-assistant/.env)
`;

const DEFAULT_STATUS_FILE = '/run/harbor-assistant/status.json';

type Options = { config?: string; 'env-file'?: string; json?: boolean; format?: string; example?: boolean; help?: boolean; 'status-file'?: string };

function configFrom(o: Options): Config {
  return loadConfig({ ...(o.config ? { configPath: o.config } : {}), ...(o['env-file'] ? { envFile: o['env-file'] } : {}) });
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      'env-file': { type: 'string' },
      'status-file': { type: 'string' },
      json: { type: 'boolean' },
      format: { type: 'string' },
      example: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const o = values as Options;
  const command = positionals[0] ?? 'help';
  if (o.help || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  switch (command) {
    case 'validate-config': {
      if (o.example) {
        process.stdout.write(exampleYaml());
        return 0;
      }
      const c = configFrom(o);
      process.stdout.write(`configuration OK: node ${c.nodeName}, role ${c.env.role}, image ${c.env.pool}/${c.env.image}, mapper ${c.file.ceph.mapper}, VIP ${c.env.vip} on ${c.env.interface}\n`);
      return 0;
    }
    case 'chart': {
      const chart = chartOf(nodeMachine);
      const format = o.format ?? 'json';
      if (format === 'json') process.stdout.write(`${JSON.stringify(chart, null, 2)}\n`);
      else if (format === 'mermaid') process.stdout.write(toMermaid(chart));
      else if (format === 'markdown') process.stdout.write(statechartMarkdown(chart));
      else throw new ConfigError([`--format: must be one of json, mermaid, markdown, got "${format}"`]);
      return 0;
    }
    case 'status': {
      let file = o['status-file'];
      if (!file) {
        try {
          file = configFrom(o).paths.statusFile;
        } catch {
          file = DEFAULT_STATUS_FILE;
        }
      }
      if (!existsSync(file)) {
        process.stderr.write(`no status at ${file}: is harbor-assistant running on this host? (systemctl status harbor-assistant)\n`);
        return 3;
      }
      const status = JSON.parse(readFileSync(file, 'utf8')) as NodeStatus;
      process.stdout.write(o.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
      return 0;
    }
    case 'run': {
      const config = configFrom(o);
      const logger = createLogger({ level: config.file.log.level });
      await runService(config, logger);
      return 0;
    }
    default:
      process.stderr.write(`unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

// `harbor-assistant chart | head` closes the pipe early: that is not an error
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`harbor-assistant: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
