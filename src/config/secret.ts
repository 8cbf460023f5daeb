import { inspect } from 'node:util';

/** A value that prints as *** everywhere (logs, JSON, inspect); `reveal()` is the only way in. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '***';
  }
  toString(): string {
    return '***';
  }
  [inspect.custom](): string {
    return '***';
  }
}
