import { parseArgs } from 'node:util';
import { checkFitness } from './operator.js';

/** `check --socket PATH --status-file PATH --grace MS`: the track_script keepalived runs. */
export async function fastCheck(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { socket: { type: 'string' }, 'status-file': { type: 'string' }, grace: { type: 'string' } } });
  const graceMs = Number(values.grace ?? '0');
  if (!values.socket || !values['status-file'] || !Number.isFinite(graceMs)) {
    process.stdout.write('unfit: check needs --socket, --status-file and --grace\n');
    return 1;
  }
  return checkFitness(
    { socket: values.socket, statusFile: values['status-file'], graceMs },
    { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) },
  );
}
