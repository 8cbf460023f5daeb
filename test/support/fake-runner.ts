import { CommandError, type CommandResult, type CommandSpec, type DaemonSpec, type Runner } from '../../src/actions/exec.js';

/** `pid` answers spawnDaemon (default 4242); `fail` makes it a spawn failure. */
export type Reply = (Partial<CommandResult> & { pid?: number }) | { fail: { exitCode: number; stderr: string } };

/** Records argv and answers from a script keyed by the command's words. Unit tests only. */
export class ScriptedRunner implements Runner {
  readonly calls: string[][] = [];
  constructor(private readonly reply: (argv: readonly string[]) => Reply) {}
  readonly abandoned = [] as const;
  get inFlight(): number {
    return 0;
  }
  settled(): Promise<void> {
    return Promise.resolve();
  }
  // a promise constructor: a reply that throws (an unexpected command) rejects, never throws at the caller
  run(spec: CommandSpec): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      this.calls.push([...spec.argv]);
      const r = this.reply(spec.argv);
      if ('fail' in r) reject(new CommandError(spec.what, spec.argv.join(' '), r.fail.exitCode, r.fail.stderr, '', 1, 'exit'));
      else resolve({ stdout: r.stdout ?? '', stderr: r.stderr ?? '', exitCode: r.exitCode ?? 0, durationMs: 1 });
    });
  }
  /** Daemons asked for, in order (their argv also lands in `calls`). Nothing is started. */
  readonly daemons: DaemonSpec[] = [];
  spawnDaemon(spec: DaemonSpec): Promise<{ pid: number }> {
    return new Promise((resolve, reject) => {
      this.calls.push([...spec.argv]);
      this.daemons.push(spec);
      const r = this.reply(spec.argv);
      if ('fail' in r) reject(new CommandError(spec.what, spec.argv.join(' '), r.fail.exitCode, r.fail.stderr, '', 1, 'spawn'));
      else resolve({ pid: r.pid ?? 4242 });
    });
  }
}
