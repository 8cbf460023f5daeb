import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/cli.js';
import { HELP, manPage, roffParagraph, verbHelp, verbRecord, VERBS, type ManProgram } from '../../src/cli/help.js';
import { VERSION } from '../../src/version.js';

const repo = new URL('../../', import.meta.url);

/** main() in this process, with what it writes to stdout and stderr. */
async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { stdout, stderr } = process;
  const realOut = stdout.write.bind(stdout);
  const realErr = stderr.write.bind(stderr);
  const capture = (into: string[]) => (chunk: string | Uint8Array) => {
    into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  stdout.write = capture(out);
  stderr.write = capture(err);
  try {
    const code = await main(argv);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    stdout.write = realOut;
    stderr.write = realErr;
  }
}

/** A real process: for exit codes and the wrappers, which run at import. */
function spawnCli(script: string, ...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
}

/** The verbs main() dispatches, read from its switch: a new verb without help fails here. */
function dispatchedVerbs(): string[] {
  const source = readFileSync(new URL('src/cli/cli.ts', repo), 'utf8');
  const start = source.indexOf('switch (command) {');
  assert.ok(start >= 0, "cli.ts: main()'s `switch (command) {` not found");
  const end = source.indexOf('\n    default:', start);
  assert.ok(end > start, "cli.ts: the switch's default branch not found");
  return [...source.slice(start, end).matchAll(/^\s*case '([^']+)':/gm)].map((m) => m[1] ?? '');
}

test('every verb in the dispatch switch of cli.ts has help, and the overview lists every verb', () => {
  const dispatched = dispatchedVerbs();
  // the parse itself: these are certainly there
  for (const v of ['run', 'status', 'doctor', 'harbor', 'version']) assert.ok(dispatched.includes(v), `${v} not found among ${dispatched.join(', ')}`);
  for (const v of dispatched) {
    assert.ok((VERBS as readonly string[]).includes(v), `"${v}" is dispatched by cli.ts but has no help in src/cli/help.ts`);
    assert.notEqual(verbHelp(v), null, v);
  }
  for (const v of VERBS) assert.match(HELP, new RegExp(`^  ${v}\\b`, 'm'), `the overview does not list ${v}`);
});

test('each verb has a synopsis naming it, a description and its exit status', () => {
  for (const v of VERBS) {
    const h = verbRecord(v);
    assert.equal(h.name, v);
    for (const s of h.synopsis) assert.match(s, /^(harbor-assistant|harborctl|keepalivedctl) /, v);
    assert.ok(
      h.synopsis.some((s) => s.startsWith(`harbor-assistant ${v}`)),
      v,
    );
    assert.ok(h.description.length > 0, v);
    assert.ok(
      h.exitStatus.some((e) => e.code === 0),
      `${v}: exit status 0 undocumented`,
    );
  }
});

test("VERB --help, VERB -h and help VERB print that verb's manual and exit 0", async () => {
  for (const v of VERBS) {
    const expected = verbHelp(v);
    assert.ok(expected !== null);
    assert.match(expected, /^NAME\n {7}harbor-assistant \S+ - /, v);
    assert.match(expected, /\nSYNOPSIS\n {7}harbor-assistant /, v);
    assert.match(expected, /\nDESCRIPTION\n/, v);
    assert.match(expected, /\nEXIT STATUS\n {7}0 /, v);
    for (const line of expected.split('\n')) assert.ok(line.length <= 80 || !line.trim().includes(' '), `${v}: longer than 80 columns: ${line}`);
    for (const argv of [
      [v, '--help'],
      [v, '-h'],
      ['help', v],
      ['--help', v],
    ]) {
      const r = await cli(...argv);
      assert.deepEqual(r, { code: 0, stdout: expected, stderr: '' }, argv.join(' '));
    }
  }
  // the verb's help, not the overview, even with the verb's own arguments
  assert.equal((await cli('maintenance', 'on', '--help')).stdout, verbHelp('maintenance'));
  assert.equal((await cli('harbor', 'help')).stdout, verbHelp('harbor'));
  assert.equal((await cli('keepalived', 'help')).stdout, verbHelp('keepalived'));
});

test('help, --help and no command at all print the overview', async () => {
  for (const argv of [['help'], ['--help'], ['-h'], []]) assert.deepEqual(await cli(...argv), { code: 0, stdout: HELP, stderr: '' }, argv.join(' '));
  assert.match(HELP, /^Usage: harbor-assistant <command>/m);
});

test('help for a verb that does not exist names it, lists the verbs and exits 2', async () => {
  for (const argv of [
    ['help', 'nosuchverb'],
    ['nosuchverb', '--help'],
  ]) {
    const r = await cli(...argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /"nosuchverb"/);
    for (const v of VERBS) assert.match(r.stderr, new RegExp(`\\b${v}\\b`));
  }
  const real = spawnCli('src/cli/main.ts', 'help', 'nosuchverb');
  assert.equal(real.status, 2, real.stderr);
  assert.match(real.stderr, /"nosuchverb"/);
});

test('--version and version print harbor-assistant and a semver-shaped version', async () => {
  const semver = /^harbor-assistant (0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?\n$/;
  const real = spawnCli('src/cli/main.ts', '--version');
  assert.equal(real.status, 0, real.stderr);
  assert.match(real.stdout, semver);
  assert.equal(real.stdout, `harbor-assistant ${VERSION}\n`);
  assert.deepEqual(await cli('version'), { code: 0, stdout: `harbor-assistant ${VERSION}\n`, stderr: '' });
  assert.deepEqual(await cli('status', '--version'), { code: 0, stdout: `harbor-assistant ${VERSION}\n`, stderr: '' });
});

test("harborctl --help and keepalivedctl --help print their own verb's manual, not the overview", () => {
  for (const [script, verb] of [
    ['src/cli/harborctl.ts', 'harbor'],
    ['src/cli/keepalivedctl.ts', 'keepalived'],
  ] as const) {
    for (const args of [['--help'], ['help']]) {
      const r = spawnCli(script, ...args);
      assert.equal(r.status, 0, `${script} ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, verbHelp(verb));
    }
  }
  assert.match(verbHelp('harbor') ?? '', /^ {7}harborctl start\|stop\|status/m);
  assert.match(verbHelp('keepalived') ?? '', /^ {7}keepalivedctl start\|stop\|status/m);
});

/** man-db and groff: installed as the other Debian packages the tests use (root), else the test says what is missing. */
function manCommand(): void {
  const found = () => spawnSync('man', ['--version'], { encoding: 'utf8', timeout: 10_000 }).status === 0;
  if (found()) return;
  if (process.getuid?.() === 0) {
    const r = spawnSync('bash', ['scripts/install-deps.sh', 'man-db', 'groff-base'], { cwd: repo, encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
  }
  assert.ok(found(), 'man is missing: apt-get install -y --no-install-recommends man-db groff-base');
}

const PROGRAMS: readonly ManProgram[] = ['harbor-assistant', 'harborctl', 'keepalivedctl'];
const MACROS = new Set(['TH', 'SH', 'SS', 'TP', 'PP', 'br', 'nh', '\\"']);

test('the man pages are well-formed roff that man renders without a warning', () => {
  manCommand();
  for (const program of PROGRAMS) {
    const page = manPage(program, '1.2.3', '2026-01-15');
    const title = program.toUpperCase().replace(/-/g, '\\-');
    assert.equal(
      page.split('\n').find((l) => l.startsWith('.TH ')),
      `.TH "${title}" 8 "2026\\-01\\-15" "harbor\\-assistant 1.2.3" "System Administration"`,
    );
    for (const line of page.split('\n')) {
      // a text line that starts with a control character would be read as a request
      if (/^[.']/.test(line)) assert.ok(MACROS.has(/^[.'](\S+)/.exec(line)?.[1] ?? ''), `${program}: not a known macro: ${line}`);
      // every backslash is one of the escapes the renderer means to write
      assert.doesNotMatch(line.replace(/^\.\\".*/, ''), /\\(?![-e&fBIR([%"])/, `${program}: stray backslash: ${line}`);
      // an option's hyphens are minus signs
      assert.doesNotMatch(line.replace(/^\.\\".*/, ''), /(^|[\s[(>])--?[a-z]/, `${program}: hyphen used as a minus sign: ${line}`);
    }
    const r = spawnSync('man', ['--warnings', '-l', '-'], {
      input: page,
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, MANWIDTH: '80', LC_ALL: 'C.UTF-8', MANPAGER: 'cat', PAGER: 'cat' },
    });
    assert.equal(r.error, undefined);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', `${program}: man --warnings complained`);
    assert.match(r.stdout, /^NAME\n/m);
    assert.match(r.stdout, /1\.2\.3/);
    if (program === 'harbor-assistant') {
      for (const v of VERBS) assert.match(r.stdout, new RegExp(`^ {3}${v}$`, 'm'), `no subsection for ${v}`);
      for (const s of ['SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'OPTIONS', 'EXIT STATUS', 'FILES', 'SEE ALSO']) assert.match(r.stdout, new RegExp(`^${s}$`, 'm'));
    } else {
      const verb = program === 'harborctl' ? 'harbor' : 'keepalived';
      assert.match(r.stdout, new RegExp(`${program} start\\|stop\\|status`));
      assert.match(r.stdout.replace(/\s+/g, ' '), new RegExp(`is the same as harbor-assistant ${verb} start\\|stop\\|status`));
    }
  }
});

test('roff escaping: backslashes, leading dots and apostrophes, minus signs in options and code', () => {
  assert.equal(roffParagraph('.env is read'), '\\&.env is read');
  assert.equal(roffParagraph("'quoted' text"), "\\&'quoted' text");
  assert.equal(roffParagraph('C:\\dir and \\fB'), 'C:\\edir and \\efB');
  assert.equal(roffParagraph('a root-only socket; --json and -h'), 'a root-only socket; \\-\\-json and \\-h');
  assert.equal(roffParagraph('run `harbor-assistant stop --release`'), 'run \\fBharbor\\-assistant stop \\-\\-release\\fR');
  assert.equal(roffParagraph('ceph-common and rbd-nbd, /etc/harbor-assistant/.env'), 'ceph\\-common and rbd\\-nbd, /etc/harbor\\-assistant/.env');
  assert.equal(roffParagraph('a\n.SH INJECTED'), 'a .SH INJECTED');
  assert.equal(roffParagraph('an em dash \u2014 here'), 'an em dash \\(em here');
  manCommand();
  const page = ['.TH "T" 8', '.SH NAME', 't \\- test', '.SH DESCRIPTION', '.PP', roffParagraph(".env \\fB 'x' --json"), ''].join('\n');
  const r = spawnSync('man', ['--warnings', '-l', '-'], {
    input: page,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, MANWIDTH: '80', LC_ALL: 'C.UTF-8' },
  });
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^ {7}\.env \\fB 'x' --json$/m);
});

test('scripts/man-pages.ts writes the three pages manPage() renders', () => {
  const dir = mkdtempSync(join(tmpdir(), 'man-pages-'));
  try {
    const r = spawnCli('scripts/man-pages.ts', dir, '1.2.3', '2026-01-15');
    assert.equal(r.status, 0, r.stderr);
    for (const program of PROGRAMS) assert.equal(readFileSync(join(dir, `${program}.8`), 'utf8'), manPage(program, '1.2.3', '2026-01-15'));
    assert.equal(spawnCli('scripts/man-pages.ts', dir).status, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
