#!/usr/bin/env node
// keepalived runs `check --socket … --status-file … --grace …` every second: that path loads
// nothing but the check (no config, no xstate/zx/winston), so it answers fast under load.
const argv = process.argv.slice(2);
if (argv[0] === 'check' && argv.includes('--socket')) {
  const { fastCheck } = await import('./check.js');
  process.exitCode = await fastCheck(argv.slice(1));
} else {
  const { runCli } = await import('./cli.js');
  runCli(argv);
}
