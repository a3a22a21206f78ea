// What every command gets: the API, the namespace, where to print, the clock, and the signal that
// Ctrl-C aborts. main.ts builds the real one; tests build one around a fake API.
import type { CairnApi } from '../kube/api.ts';

export interface Io {
  /** Standard output: results a script reads. */
  out(text: string): void;
  /** Standard error: progress, warnings and errors. */
  err(text: string): void;
  /** Whether stderr is a terminal: then the progress line is redrawn in place. */
  tty: boolean;
  readStdin(): Promise<string>;
  readFile(path: string): Promise<string>;
}

export interface Ctx {
  api: CairnApi;
  namespace: string;
  io: Io;
  now(): number;
  /** Resolves after `ms`, or rejects when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
  /** How often --wait polls the object. */
  pollMs: number;
  /** Without a terminal, how often at most a progress line is printed while the phase stays the same. */
  logEveryMs: number;
}
