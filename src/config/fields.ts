import { isIP } from 'node:net';
import { posix } from 'node:path';
import { show } from './text.js';

/** One YAML field: its default and a check that returns the value or a problem text. */
export interface Field<T> {
  readonly default: T;
  readonly help: string;
  check(value: unknown): T | Problem;
}

export class Problem {
  constructor(readonly text: string) {}
}

export function int(def: number, min: number, max: number, help: string): Field<number> {
  return {
    default: def,
    help,
    check: (v) =>
      typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : new Problem(`must be a whole number from ${min} to ${max}, got ${show(v)}`),
  };
}

export function oneOf<T extends string>(def: T, values: readonly T[], help: string): Field<T> {
  return {
    default: def,
    help,
    check: (v) =>
      typeof v === 'string' && (values as readonly string[]).includes(v) ? (v as T) : new Problem(`must be one of ${values.join(', ')}, got ${show(v)}`),
  };
}

/**
 * Directories a path field must never be (as the directory itself: a directory below one, such as
 * /var/lib/harbor, is fine). Mounting over one of these, or chmod-ing it 0700, breaks the host.
 */
export const SYSTEM_DIRECTORIES: readonly string[] = [
  '/',
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/sys',
  '/tmp',
  '/usr',
  '/usr/bin',
  '/usr/lib',
  '/usr/lib64',
  '/usr/local',
  '/usr/sbin',
  '/var',
  '/var/lib',
  '/var/log',
  '/var/run',
  '/var/tmp',
];

/** Lexical normal form of an absolute path: `/.` and `//` are `/`, `/usr/..` is `/`, no trailing slash. */
export function normalizeAbsolute(path: string): string {
  const n = posix.normalize(path);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/**
 * An absolute path, stored in its normal form (`//data/harbor/.` → `/data/harbor`), so every later
 * comparison sees one spelling. Refuses `/` and the system directories themselves (judged on the
 * normal form, so `/usr/..` is `/`), and `..` elsewhere: a symlink before it would lead somewhere
 * else than the text says.
 */
export function absolutePath(def: string, help: string): Field<string> {
  return {
    default: def,
    help,
    check: (v) => {
      if (typeof v !== 'string' || !v.startsWith('/') || v.includes('\0') || /\s/.test(v))
        return new Problem(`must be an absolute path without spaces or '..', got ${show(v)}`);
      const normal = normalizeAbsolute(v);
      const resolves = normal === v ? '' : ` (resolves to ${show(normal)})`;
      if (SYSTEM_DIRECTORIES.includes(normal)) {
        return new Problem(
          `must not be / or a system directory (${SYSTEM_DIRECTORIES.join(' ')}); a directory below one, such as /var/lib/harbor or /data/harbor, is fine; got ${show(v)}${resolves}`,
        );
      }
      if (/(^|\/)\.\.(\/|$)/.test(v)) return new Problem(`must be an absolute path without spaces or '..', got ${show(v)}${resolves}; write the path you mean`);
      return normal;
    },
  };
}

export function word(def: string, pattern: RegExp, allowed: string, help: string): Field<string> {
  return { default: def, help, check: (v) => (typeof v === 'string' && pattern.test(v) ? v : new Problem(`must be ${allowed}, got ${show(v)}`)) };
}

export function words(def: string[], pattern: RegExp, allowed: string, help: string): Field<string[]> {
  return {
    default: def,
    help,
    check: (v) =>
      Array.isArray(v) && v.every((w) => typeof w === 'string' && pattern.test(w))
        ? [...(v as string[])]
        : new Problem(`must be a list of ${allowed}, got ${show(v)}`),
  };
}

export function ipList(help: string): Field<string[]> {
  return {
    default: [],
    help,
    check: (v) =>
      Array.isArray(v) && v.every((a) => typeof a === 'string' && isIP(a) !== 0)
        ? [...(v as string[])]
        : new Problem(`must be a list of IP addresses, got ${show(v)}`),
  };
}

export function httpUrl(def: string, help: string): Field<string> {
  return {
    default: def,
    help,
    check: (v) => {
      try {
        if (typeof v === 'string' && /^https?:$/.test(new URL(v).protocol)) return v;
      } catch {
        // fall through
      }
      return new Problem(`must be an http(s) URL, got ${show(v)}`);
    },
  };
}

/** Shell reserved words, and builtins that read their arguments as shell code. */
const SHELL_WORDS: ReadonlySet<string> = new Set([
  'case',
  'coproc',
  'do',
  'done',
  'elif',
  'else',
  'esac',
  'fi',
  'for',
  'function',
  'if',
  'in',
  'select',
  'then',
  'time',
  'until',
  'while',
  'alias',
  'eval',
  'source',
  'trap',
]);
const PROGRAM_NAME = /^[A-Za-z0-9_][A-Za-z0-9._+-]*$/;
const PATH_PART = /^[A-Za-z0-9._+@-]+$/;

/**
 * Whether `word` may start a command. The runner passes argv through `bash -c` (zx quotes every
 * word), so the first word must also be harmless unquoted: a program name (`docker`,
 * `docker-compose`), an absolute path (`/usr/local/bin/docker-compose`), or, when `dotSlash`,
 * `./name` (a program in the working directory). Never an assignment (`HA_X=1`), an operator,
 * `$(...)`, a word with spaces, `.`, a shell keyword or `eval`/`source`/`trap`/`alias`.
 */
export function isProgramWord(word: unknown, dotSlash: boolean): boolean {
  if (typeof word !== 'string') return false;
  if (PROGRAM_NAME.test(word)) return !SHELL_WORDS.has(word);
  if (dotSlash && word.startsWith('./')) return PROGRAM_NAME.test(word.slice(2));
  if (!word.startsWith('/') || word.length < 2) return false;
  return word
    .slice(1)
    .split('/')
    .every((part) => PATH_PART.test(part) && part !== '.' && part !== '..');
}

const isArgument = (w: unknown) => typeof w === 'string' && !w.includes('\0');

function commandProblem(v: unknown, prefix: string, dotSlash: boolean): Problem {
  const first = dotSlash
    ? 'a program name (letters, digits, . _ + -), an absolute path, or ./name for a program in harbor.projectDir'
    : 'a program name such as docker or docker-compose (letters, digits, . _ + -) or an absolute path such as /usr/local/bin/docker-compose';
  return new Problem(`${prefix}; the first word ${first}, never an assignment, operator, shell keyword or a word with spaces; got ${show(v)}`);
}

/** `auto`, or the compose program as an argv list (e.g. [docker, compose]). */
export function commandOrAuto(help: string): Field<string[] | 'auto'> {
  return {
    default: 'auto',
    help,
    check: (v) => {
      if (v === 'auto') return 'auto';
      if (Array.isArray(v) && v.length > 0 && isProgramWord(v[0], false) && v.every((w) => isArgument(w) && w !== '')) return [...(v as string[])];
      return commandProblem(v, 'must be auto or a command as a list of words, e.g. [docker, compose]', false);
    },
  };
}

/** A command as an argv list, run in a working directory (so `./name` may start it). */
export function command(def: string[], example: string, help: string): Field<string[]> {
  return {
    default: def,
    help,
    check: (v) =>
      Array.isArray(v) && v.length > 0 && isProgramWord(v[0], true) && v.every(isArgument)
        ? [...(v as string[])]
        : commandProblem(v, `must be a command as a list of words, e.g. ${example}`, true),
  };
}

export function decimal(def: number, min: number, max: number, help: string): Field<number> {
  return {
    default: def,
    help,
    check: (v) =>
      typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : new Problem(`must be a number from ${min} to ${max}, got ${show(v)}`),
  };
}

export function optionalIp(help: string): Field<string> {
  return {
    default: '',
    help,
    check: (v) => (v === '' || (typeof v === 'string' && isIP(v) !== 0) ? v : new Problem(`must be an IP address or empty, got ${show(v)}`)),
  };
}

export function bool(def: boolean, help: string): Field<boolean> {
  return { default: def, help, check: (v) => (typeof v === 'boolean' ? v : new Problem(`must be true or false, got ${show(v)}`)) };
}

/** Where a small HTTP server listens. */
export interface ListenAddress {
  host: string;
  /** 0: any free port (the one chosen is logged and shown in `status`). */
  port: number;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1)$/;

/** Parse `host:port` (`[v6]:port` for IPv6); the host must be an IP address, so nothing is resolved. */
export function parseListen(text: string): ListenAddress | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (isIP(host) === 0 || port > 65535) return null;
  return { host, port };
}

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/**
 * A listen address as `IP:port`, or empty to switch the server off. `loopbackOnly` refuses any
 * other address (servers without authentication that must stay on this host).
 */
export function listen(def: string, help: string, loopbackOnly = false): Field<string> {
  const allowed = loopbackOnly
    ? 'a loopback address and port such as 127.0.0.1:9471'
    : 'IP:port such as 127.0.0.1:9469 ([::1]:9469 for IPv6), or empty to switch it off';
  return {
    default: def,
    help,
    check: (v) => {
      if (v === '' && !loopbackOnly) return '';
      const parsed = typeof v === 'string' ? parseListen(v) : null;
      if (parsed === null || (loopbackOnly && !isLoopback(parsed.host))) return new Problem(`must be ${allowed}, got ${show(v)}`);
      return v as string;
    },
  };
}
