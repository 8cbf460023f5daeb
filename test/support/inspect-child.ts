// A service on instant fake steps in its own process, for tests that must see it exit by itself.
// argv: <health url> <flag|config|off>; prints its paths as the first stdout line, `returned` last.
import { silentLogger } from '../../src/log/logger.js';
import { runService } from '../../src/runtime/service.js';
import { configFor, instantActors } from './service-harness.js';

const [healthUrl = '', mode = 'off'] = process.argv.slice(2);
const config = configFor(healthUrl, [], { inspectorEnabled: mode === 'config' });
process.stdout.write(`${JSON.stringify({ socket: config.paths.controlSocket, fifo: config.file.keepalived.fifoPath, stateDir: config.file.node.stateDir })}\n`);
await runService(config, silentLogger(), { actors: instantActors([], config), inspect: mode === 'flag' });
process.stdout.write('returned\n');
