import winston from 'winston';

export type Logger = winston.Logger;

/** JSON lines when not on a TTY (journald, files); a short human line on a terminal. */
export function createLogger(options: { level?: string; tty?: boolean } = {}): Logger {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- @types/node says boolean, but isTTY is undefined when stderr is not a terminal
  const tty = options.tty ?? Boolean(process.stderr.isTTY);
  const format = tty
    ? winston.format.combine(
        winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
        winston.format.printf(({ timestamp, level, message, ...rest }) => {
          const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
          return `${String(timestamp)} ${level} ${String(message)}${extra}`;
        }),
      )
    : winston.format.combine(winston.format.timestamp(), winston.format.json());
  return winston.createLogger({
    level: options.level ?? 'info',
    format,
    // stderr: stdout belongs to command output (status --json, chart)
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- winston types its transports as interfaces extending TransportStream; at run time they are real subclasses
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] })],
  });
}

/** A logger that drops everything (tests, one-shot CLI commands that print their own result). */
export function silentLogger(): Logger {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- winston types its transports as interfaces extending TransportStream; at run time they are real subclasses
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
