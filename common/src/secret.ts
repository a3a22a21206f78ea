// A value that must never be logged, serialised or printed: JSON, util.inspect and string
// conversion all show "[redacted]". Read it with `reveal()` at the one place that needs it.
import { inspect } from 'node:util';

export class Secret<T = string> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  reveal(): T {
    return this.#value;
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}
