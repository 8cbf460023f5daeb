import { isIP } from 'node:net';

/** One YAML field: its default and a check that returns the value or a problem text. */
export interface Field<T> {
  readonly default: T;
  readonly help: string;
  check(value: unknown): T | Problem;
}

export class Problem {
  constructor(readonly text: string) {}
}

const show = (v: unknown) => JSON.stringify(v) ?? String(v);

export function int(def: number, min: number, max: number, help: string): Field<number> {
  return {
    default: def,
    help,
    check: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : new Problem(`must be a whole number from ${min} to ${max}, got ${show(v)}`)),
  };
}

export function oneOf<T extends string>(def: T, values: readonly T[], help: string): Field<T> {
  return {
    default: def,
    help,
    check: (v) => (typeof v === 'string' && (values as readonly string[]).includes(v) ? (v as T) : new Problem(`must be one of ${values.join(', ')}, got ${show(v)}`)),
  };
}

export function absolutePath(def: string, help: string): Field<string> {
  return {
    default: def,
    help,
    check: (v) =>
      typeof v === 'string' && v.startsWith('/') && !v.includes('\0') && !/(^|\/)\.\.(\/|$)/.test(v) && !/\s/.test(v)
        ? v.replace(/\/+$/, '') || '/'
        : new Problem(`must be an absolute path without spaces or '..', got ${show(v)}`),
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
      Array.isArray(v) && v.every((w) => typeof w === 'string' && pattern.test(w)) ? [...(v as string[])] : new Problem(`must be a list of ${allowed}, got ${show(v)}`),
  };
}

export function ipList(help: string): Field<string[]> {
  return {
    default: [],
    help,
    check: (v) => (Array.isArray(v) && v.every((a) => typeof a === 'string' && isIP(a) !== 0) ? [...(v as string[])] : new Problem(`must be a list of IP addresses, got ${show(v)}`)),
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

/** `auto`, or the compose program as an argv list (e.g. [docker, compose]). */
export function commandOrAuto(help: string): Field<string[] | 'auto'> {
  return {
    default: 'auto',
    help,
    check: (v) =>
      v === 'auto' || (Array.isArray(v) && v.length > 0 && v.every((w) => typeof w === 'string' && w.length > 0 && !w.includes('\0')))
        ? (v as string[] | 'auto')
        : new Problem(`must be auto or a command as a list of words, e.g. [docker, compose], got ${show(v)}`),
  };
}

export function decimal(def: number, min: number, max: number, help: string): Field<number> {
  return {
    default: def,
    help,
    check: (v) => (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : new Problem(`must be a number from ${min} to ${max}, got ${show(v)}`)),
  };
}

export function optionalIp(help: string): Field<string> {
  return {
    default: '',
    help,
    check: (v) => (v === '' || (typeof v === 'string' && isIP(v) !== 0) ? (v as string) : new Problem(`must be an IP address or empty, got ${show(v)}`)),
  };
}
