import { resolve } from 'node:path';
import type { SetupFlags } from '../install/answers.js';
import { installLayout, type InstallLayout } from '../install/layout.js';
import { runSetup, type SetupOptions, type Step } from '../install/setup.js';
import { VERSION } from '../version.js';
import type { Io } from './operator.js';

/** Exit codes: the operator's script tells "fix the answers" from "fix the host" from "look at the error". */
export const SETUP_EXIT = { ready: 0, unexpected: 1, refused: 2, blocked: 3 } as const;

export function formatStep(s: Step): string {
  return `${s.verb.padEnd(11)} ${s.what}${s.note === undefined ? '' : ` (${s.note})`}\n`;
}

function describeLayout(layout: InstallLayout): string {
  return layout.kind === 'checkout' ? `a checkout at ${layout.prefix}` : `${layout.kind === 'deb' ? 'the .deb' : 'the tarball'} at ${layout.prefix}`;
}

/** `harbor-assistant setup`: the answers from the flags, the report on `io`, the exit code. */
export async function setupCommand(
  values: SetupFlags & { config?: string; env?: string },
  extra: readonly string[],
  io: Io,
  options: Partial<SetupOptions> = {},
): Promise<number> {
  if (extra.length > 0) {
    io.err(`setup takes no arguments, only options; got ${JSON.stringify(extra.join(' '))}\n`);
    return SETUP_EXIT.refused;
  }
  const given: Partial<SetupOptions> = { ...options };
  if (values.env !== undefined) given.envPath = resolve(values.env);
  if (values.config !== undefined) given.configPath = resolve(values.config);
  const layout = given.layout ?? installLayout();
  given.layout = layout;
  if (values['ceph-key-file'] === '-' && process.stdin.isTTY && options.readStdin === undefined) {
    io.err('reading the Ceph key from stdin: paste the key or the keyring, then Ctrl-D\n');
  }
  io.out(`harbor-assistant ${VERSION} setup, ${describeLayout(layout)}\n`);
  let outcome;
  try {
    outcome = await runSetup(values, given, (s) => io.out(formatStep(s)));
  } catch (error) {
    io.err(
      `setup stopped: ${error instanceof Error ? error.message : String(error)}\n` +
        'what is listed above was done; fix the cause and run setup again (it redoes only what is still needed)\n',
    );
    return SETUP_EXIT.unexpected;
  }
  if (outcome.status === 'refused') {
    io.err(`setup refused these answers; nothing was written:\n${outcome.problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return SETUP_EXIT.refused;
  }
  if (outcome.systemd !== null) {
    io.out(`systemd: not used here (${outcome.systemd.absent}); run these where systemd manages this host:\n`);
    for (const c of outcome.systemd.commands) io.out(`  ${c}\n`);
  }
  const w = outcome.warnings.length;
  io.out(`doctor: ${outcome.checks} checks${w > 0 ? `, ${w} warning${w === 1 ? '' : 's'} (\`harbor-assistant doctor\` shows them)` : ''}\n`);
  if (outcome.status === 'ready') {
    io.out('ready: this host can take over\n');
    return SETUP_EXIT.ready;
  }
  io.out('blocks a takeover:\n');
  for (const b of outcome.blockers) io.out(`  - ${b.check}: ${b.detail}\n    fix: ${b.fix}\n`);
  return SETUP_EXIT.blocked;
}
