#!/usr/bin/env node
import { runCli } from './cli.js';

// the original's harborctl: start | stop | status
runCli(['harbor', ...process.argv.slice(2)]);
