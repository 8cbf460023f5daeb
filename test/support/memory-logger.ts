import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../src/log/logger.js';

/** A debug-level JSON logger whose lines the test reads back, parsed. */
export function memoryLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- winston types its transports as interfaces extending TransportStream; at run time they are real subclasses
  return { logger: winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] }), lines };
}
