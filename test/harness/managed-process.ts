// A long-running component process: output to a log file, early exit detected and explained
// with the log's last lines, stopped with SIGTERM and then SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { HarnessError } from './errors.ts';

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  private readonly exited: Promise<void>;

  constructor(opts: StartOptions) {
    this.name = opts.name;
    this.logFile = opts.logFile;
    const log = createWriteStream(opts.logFile, { flags: 'a' });
    this.child = spawn(opts.command, opts.args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.pipe(log, { end: false });
    this.child.stderr?.pipe(log, { end: false });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
      this.child.once('error', (err) => {
        log.write(`spawn error: ${err.message}\n`);
        this.exitCode = -1;
        resolve();
      });
    });
    void this.exited.then(() => log.end());
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null;
  }

  /** Throws an error naming this component and quoting its log when it has exited. */
  assertRunning(): void {
    if (!this.running) {
      throw new HarnessError('CAIRN_E_COMPONENT_EXITED', `${this.name} exited (code ${this.exitCode}, signal ${this.exitSignal}); last log lines of ${this.logFile}:\n${this.tail()}`);
    }
  }

  tail(lines = 25): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  async waitExit(): Promise<void> {
    if (this.running) await once(this.child, 'exit');
  }
}
