import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isMap, isScalar, parseDocument } from 'yaml';
import { buildConfig, CONFIG_FILE_LIMIT, ConfigError, ENV_FILE_LIMIT, exampleYaml, readConfigFile, type Config } from '../config/index.js';
import { parseEnvFile } from '../config/env.js';
import { clip } from '../config/text.js';
import { CEPH_KEY_ON_COMMAND_LINE, cephKeyFromText, ENV_VARIABLES, PATH_VARIABLES, renderEnvFile, type SetupFlags, type Variable } from './answers.js';
import type { InstallLayout } from './layout.js';
import { linkConflict } from './files.js';
import { UNITS } from './systemd.js';

/** The programs a tarball install links into the bin directory (the .deb ships its own links in /usr/bin). */
export const PROGRAMS = ['harbor-assistant', 'harborctl', 'keepalivedctl'] as const;

/** Largest key file read: a keyring with a few users is a few hundred bytes. */
const KEY_FILE_LIMIT = 64 * 1024;

export interface PlanInput {
  envPath: string;
  configPath: string;
  unitsDir: string;
  binDir: string;
  layout: InstallLayout;
  readStdin: () => string;
  cwd: string;
}

/** Everything setup would write, built and validated in memory. */
export interface Plan {
  envText: string;
  yamlText: string;
  yamlMode: number;
  /** The YAML fields setup set to a new value (empty: the file's text is kept byte for byte). */
  yamlChanged: string[];
  yamlFromExample: boolean;
  config: Config;
  /** The key, for the runner to redact; never printed. */
  key: string;
  units: Array<{ path: string; text: string }>;
  links: Array<{ path: string; target: string }>;
}

type Source =
  { kind: 'flag'; flag: string } | { kind: 'from'; path: string } | { kind: 'kept'; path: string } | { kind: 'stdin' } | { kind: 'key-file'; path: string };

const describe = (s: Source): string =>
  s.kind === 'flag'
    ? `--${s.flag}`
    : s.kind === 'from'
      ? `from ${s.path}`
      : s.kind === 'kept'
        ? `kept from ${s.path}`
        : s.kind === 'stdin'
          ? '--ceph-key-file - (stdin)'
          : `--ceph-key-file ${s.path}`;

const ASSIGNMENT = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=/;
const OWNED = new Set<string>(ENV_VARIABLES.map((v) => v.variable));
const FROM_KNOWN = [...ENV_VARIABLES.map((v) => v.variable), ...Object.keys(PATH_VARIABLES)];

/** The first bytes of a file, without reading the rest (an installer is about 600 MiB). */
function head(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(n);
    const got = readSync(fd, buffer, 0, n, 0);
    return buffer.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

const errCode = (error: unknown) => (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));

/** Harbor's offline installer: a readable regular file, gzip-compressed, named .tgz as harbor.installerTgz requires. */
export function installerProblem(path: string, label: string): string | null {
  let st;
  try {
    st = statSync(path);
  } catch (error) {
    return errCode(error) === 'ENOENT' ? `${label}: not found` : `${label}: cannot be read (${errCode(error)})`;
  }
  if (!st.isFile()) return `${label}: not a regular file; give Harbor's offline installer (harbor-offline-installer-v2.x.y.tgz)`;
  if (!path.endsWith('.tgz')) return `${label}: must be a .tgz (Harbor's offline installer, harbor-offline-installer-v2.x.y.tgz)`;
  let magic: Buffer;
  try {
    magic = head(path, 2);
  } catch (error) {
    return `${label}: cannot be read (${errCode(error)})`;
  }
  // a failed download saved under the installer's name is an HTML page: say so now, not at the first takeover
  if (magic[0] !== 0x1f || magic[1] !== 0x8b) return `${label}: not a gzip file (a .tgz starts with the bytes 1f 8b); is the download complete?`;
  return null;
}

/** The operator's harbor.yml: a readable file that parses as a YAML mapping. */
export function harborYmlProblem(path: string, label: string): string | null {
  const got = readConfigFile(path, label, CONFIG_FILE_LIMIT, 'harbor.yml');
  if (!('text' in got)) return got.problem;
  const doc = parseDocument(got.text);
  const error = doc.errors[0];
  if (error !== undefined) {
    const line = error.linePos ? ` line ${error.linePos[0].line}` : '';
    return `${label}${line}: not valid YAML: ${clip(error.message.split('\n')[0] ?? '', 200)}`;
  }
  if (!isMap(doc.contents)) return `${label}: must be a mapping (Harbor's harbor.yml: hostname, http, data_volume, ...)`;
  return null;
}

/**
 * Set `fields` in the YAML text through the Document API, so comments, layout and every other
 * field survive. A scalar keeps its node (and so its comment and quoting); nothing set to a new
 * value leaves the text byte for byte as it was.
 */
export function editYaml(
  text: string,
  fields: ReadonlyArray<readonly [path: readonly string[], value: string]>,
  source: string,
): { text: string; changed: string[] } | { problem: string } {
  const doc = parseDocument(text);
  const error = doc.errors[0];
  if (error !== undefined) {
    const line = error.linePos ? ` line ${error.linePos[0].line}` : '';
    return { problem: `${source}${line}: not valid YAML: ${clip(error.message.split('\n')[0] ?? '', 200)}` };
  }
  const changed: string[] = [];
  for (const [path, value] of fields) {
    const node = doc.getIn(path, true);
    if (isScalar(node) && node.value === value) continue;
    changed.push(path.join('.'));
    if (isScalar(node) && node.value !== null) {
      node.value = value;
      continue;
    }
    // an absent or empty parent (`harbor:` with nothing under it) becomes a mapping holding the field
    for (let i = 1; i < path.length; i++) {
      const parent = doc.getIn(path.slice(0, i), true);
      if (parent === undefined || (isScalar(parent) && parent.value === null)) {
        doc.setIn(path.slice(0, i), doc.createNode({}));
      } else if (!isMap(parent)) {
        return { problem: `${source}: ${path.slice(0, i).join('.')}: must be a mapping (setup sets ${path.join('.')} in it)` };
      }
    }
    doc.setIn(path, value);
  }
  // lineWidth 0: never fold a long value the operator wrote on one line
  return changed.length === 0 ? { text, changed } : { text: doc.toString({ lineWidth: 0 }), changed };
}

/** Read what --ceph-key-file names: a path, or `-` for stdin. */
function readKeyInput(given: string, input: PlanInput): { text: string; source: Source } | { problem: string } {
  if (given === '-') return { text: input.readStdin(), source: { kind: 'stdin' } };
  const path = resolve(input.cwd, given);
  const got = readConfigFile(path, `--ceph-key-file ${path}`, KEY_FILE_LIMIT, 'input');
  return 'text' in got ? { text: got.text, source: { kind: 'key-file', path } } : { problem: got.problem.replace('input file not found', 'not found') };
}

function unitProblemsAndFiles(input: PlanInput, problems: string[]): Plan['units'] {
  const { layout } = input;
  if (layout.kind !== 'tarball' || layout.unitsDir === null) return [];
  const units: Plan['units'] = [];
  for (const unit of UNITS) {
    const from = join(layout.unitsDir, unit);
    const got = readConfigFile(from, from, CONFIG_FILE_LIMIT, 'unit');
    if ('text' in got) units.push({ path: join(input.unitsDir, unit), text: got.text });
    else problems.push(`${got.problem}: the tarball at ${layout.prefix} is incomplete; unpack it again`);
  }
  return units;
}

function linkProblemsAndTargets(input: PlanInput, problems: string[]): Plan['links'] {
  const { layout } = input;
  if (layout.kind !== 'tarball' || layout.bin === null) return [];
  const bin = layout.bin;
  const links = PROGRAMS.map((name) => ({ path: join(input.binDir, name), target: join(bin, name) }));
  for (const l of links) {
    const conflict = linkConflict(l.path, l.target);
    if (conflict !== null) problems.push(conflict);
  }
  return links;
}

/**
 * Every answer from its flag, else the --from file, else the .env already there; the would-be
 * .env and YAML texts validated by the code `validate-config` runs. Reads only: nothing is written
 * whatever it finds. Problems name the variable and where its value came from, never the key.
 */
export function planSetup(flags: SetupFlags, input: PlanInput): { problems: string[] } | { plan: Plan } {
  const problems: string[] = [];
  if (flags['ceph-key'] !== undefined) problems.push(CEPH_KEY_ON_COMMAND_LINE);

  let prior: Record<string, string> = {};
  const kept: string[] = [];
  const existingEnv = readConfigFile(input.envPath, input.envPath, ENV_FILE_LIMIT, 'environment');
  if ('text' in existingEnv) {
    prior = parseEnvFile(existingEnv.text);
    for (const raw of existingEnv.text.split('\n')) {
      const name = ASSIGNMENT.exec(raw.trim())?.[1];
      if (name !== undefined && !OWNED.has(name)) kept.push(raw.trim());
    }
  } else if (!existingEnv.missing) problems.push(existingEnv.problem);

  let from: Record<string, string> = {};
  let fromPath: string | null = null;
  if (flags.from !== undefined) {
    fromPath = resolve(input.cwd, flags.from);
    const got = readConfigFile(fromPath, `--from ${fromPath}`, ENV_FILE_LIMIT, 'environment');
    if ('text' in got) {
      from = parseEnvFile(got.text);
      for (const name of Object.keys(from)) {
        if (!FROM_KNOWN.includes(name)) problems.push(`--from ${fromPath}: ${name}: not a setup answer; the file may hold ${FROM_KNOWN.join(', ')}`);
      }
    } else problems.push(got.problem);
  }

  const values = new Map<Variable, { value: string; source: Source }>();
  // variables with a problem of their own: validation would only add "required but not set" for them
  const reported = new Set<Variable>();
  const pick = (variable: Variable, flag: string, flagValue: string | undefined) => {
    if (flagValue !== undefined) values.set(variable, { value: flagValue, source: { kind: 'flag', flag } });
    else if (fromPath !== null && Object.hasOwn(from, variable))
      values.set(variable, { value: from[variable] ?? '', source: { kind: 'from', path: fromPath } });
    else if (Object.hasOwn(prior, variable)) values.set(variable, { value: prior[variable] ?? '', source: { kind: 'kept', path: input.envPath } });
  };
  for (const { variable, flag } of ENV_VARIABLES) {
    if (variable !== 'CEPH_USER_KEY') pick(variable, flag, flags[flag]);
  }
  const keyFile = flags['ceph-key-file'];
  if (keyFile !== undefined) {
    const read = readKeyInput(keyFile, input);
    const parsed = 'problem' in read ? read : cephKeyFromText(read.text, values.get('CEPH_USER')?.value, `CEPH_USER_KEY (${describe(read.source)})`);
    if ('problem' in parsed) {
      problems.push(parsed.problem);
      reported.add('CEPH_USER_KEY');
    } else if (!('problem' in read)) values.set('CEPH_USER_KEY', { value: parsed.key, source: read.source });
  } else pick('CEPH_USER_KEY', 'ceph-key-file', undefined);

  const label = (variable: Variable) => {
    const v = values.get(variable);
    return v === undefined ? variable : `${variable} (${describe(v.source)})`;
  };
  // a line break in an answer would add lines of its own to the .env (HARBOR_VIP=x\nCEPH_USER=y)
  for (const [variable, { value }] of values) {
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
    if (/[\u0000-\u001f\u007f]/.test(value)) {
      problems.push(`${label(variable)}: must be one line of printable characters${variable === 'CEPH_USER_KEY' ? ' (value not shown)' : ''}`);
      values.delete(variable);
      reported.add(variable);
    }
  }

  const answer = Object.fromEntries(ENV_VARIABLES.map(({ variable }) => [variable, values.get(variable)?.value ?? ''])) as Record<Variable, string>;
  const envText = renderEnvFile(input.envPath, answer, kept);
  const parsedBack = parseEnvFile(envText);
  const envForValidation: Record<string, string> = {};
  for (const { variable } of ENV_VARIABLES) {
    if (!values.has(variable)) continue;
    const back = parsedBack[variable] ?? '';
    if (back !== answer[variable]) {
      problems.push(`${label(variable)}: cannot be written to an environment file as given (surrounding spaces or quotes would be lost)`);
      reported.add(variable);
    } else envForValidation[variable] = back;
  }

  // the YAML: the file already there, or the documented example, with only setup's fields set
  const existingYaml = readConfigFile(input.configPath, input.configPath, CONFIG_FILE_LIMIT, 'configuration');
  let yamlBase = exampleYaml();
  let yamlMode = 0o644;
  const yamlFromExample = !('text' in existingYaml);
  if ('text' in existingYaml) {
    yamlBase = existingYaml.text;
    yamlMode = statSync(input.configPath).mode & 0o777;
  } else if (!existingYaml.missing) problems.push(existingYaml.problem);

  const fields: Array<readonly [string[], string]> = [];
  const fromDir = fromPath === null ? input.cwd : dirname(fromPath);
  const pathAnswer = (variable: keyof typeof PATH_VARIABLES): { path: string; label: string } | null => {
    const flag = PATH_VARIABLES[variable];
    const given = flags[flag];
    if (given !== undefined) return { path: resolve(input.cwd, given), label: `--${flag}` };
    // relative paths in the --from file are read from where that file is, not from wherever setup runs
    if (fromPath !== null && Object.hasOwn(from, variable)) return { path: resolve(fromDir, from[variable] ?? ''), label: `${variable} (from ${fromPath})` };
    return null;
  };
  const installer = pathAnswer('HARBOR_INSTALLER');
  if (installer !== null) {
    const problem = installerProblem(installer.path, `${installer.label} ${installer.path}`);
    if (problem !== null) problems.push(problem);
    fields.push([['harbor', 'installerTgz'], installer.path]);
  }
  const harborYml = pathAnswer('HARBOR_YML');
  if (harborYml !== null) {
    const problem = harborYmlProblem(harborYml.path, `${harborYml.label} ${harborYml.path}`);
    if (problem !== null) problems.push(problem);
    fields.push([['harbor', 'harborYml'], harborYml.path]);
  }
  // installed: keepalived runs the package's check script; a checkout keeps whatever the file says
  if (input.layout.kind !== 'checkout' && input.layout.checkScript !== null) fields.push([['keepalived', 'checkScript'], input.layout.checkScript]);

  let yamlText = yamlBase;
  let yamlChanged: string[] = [];
  const edited = editYaml(yamlBase, fields, input.configPath);
  if ('problem' in edited) problems.push(edited.problem);
  else ({ text: yamlText, changed: yamlChanged } = edited);

  let config: Config | null = null;
  try {
    config = buildConfig({ env: envForValidation, yaml: { text: yamlText, source: input.configPath } });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const hint = (variable: Variable) => {
      const flag = ENV_VARIABLES.find((v) => v.variable === variable)?.flag ?? '';
      return variable === 'CEPH_USER_KEY'
        ? 'give --ceph-key-file PATH or --ceph-key-file - (stdin), or CEPH_USER_KEY in the --from file'
        : `give --${flag}, or ${variable} in the --from file`;
    };
    for (const problem of error.problems) {
      const variable = ENV_VARIABLES.find((v) => problem.startsWith(`${v.variable}: `))?.variable;
      if (variable === undefined) problems.push(problem);
      else if (reported.has(variable)) continue;
      else if (!values.has(variable)) problems.push(`${problem}; ${hint(variable)}`);
      else problems.push(`${label(variable)}${problem.slice(variable.length)}`);
    }
  }

  const units = unitProblemsAndFiles(input, problems);
  const links = linkProblemsAndTargets(input, problems);

  if (problems.length > 0 || config === null) return { problems };
  return {
    plan: {
      envText,
      yamlText,
      yamlMode,
      yamlChanged,
      yamlFromExample,
      config,
      key: config.env.cephKey.reveal(),
      units,
      links,
    },
  };
}
