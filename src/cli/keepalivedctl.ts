#!/usr/bin/env node
import { runCli } from './cli.js';

// the original's keepalivedctl: start | stop | status
runCli(['keepalived', ...process.argv.slice(2)]);
