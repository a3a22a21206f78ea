// Runs one measured command: wall time from spawn to exit, and peak RSS from GNU time's
// "Maximum resident set size" (the command's own process; the tools measured are single
// processes). Output goes to a log file; a failure throws with the log's last lines.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';

export const GNU_TIME = '/usr/bin/time';

export interface Measured {
  seconds: number;
  peakRssMib: number;
  /** What the command printed on stdout. */
  stdout: string;
}

export interface CommandSpec {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr of the command are appended here. */
  logFile: string;
  /** Exit codes that are not failures (the default is 0 only). */
  okCodes?: number[];
  /** Kill the command (SIGTERM, then SIGKILL 10 s later) and fail after this long. */
  timeoutMs?: number;
}

/** Process groups of the commands running now, so an interrupted run can stop them. */
const running = new Set<number>();

/** Sends `signal` to every measured command still running (and its children). */
export function killRunning(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pgid of running) killGroup(pgid, signal);
}

export class CommandError extends Error {
  readonly exitCode: number | null;
  constructor(message: string, exitCode: number | null) {
    super(message);
    this.name = 'CommandError';
    this.exitCode = exitCode;
  }
}

async function tail(file: string, lines = 15): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}

export async function measure(spec: CommandSpec): Promise<Measured> {
  const timeFile = `${spec.logFile}.time`;
  const log = createWriteStream(spec.logFile, { flags: 'a' });
  await once(log, 'open');
  log.write(`$ ${spec.command} ${spec.args.join(' ')}\n`);
  const started = performance.now();
  // Its own process group: GNU time does not pass signals on, so a timeout signals the group.
  const child = spawn(GNU_TIME, ['-v', '-o', timeFile, spec.command, ...spec.args], {
    env: spec.env ?? process.env,
    cwd: spec.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pgid = child.pid;
  if (pgid !== undefined) running.add(pgid);
  let timedOut = false;
  const timers: NodeJS.Timeout[] = [];
  if (spec.timeoutMs !== undefined && pgid !== undefined) {
    timers.push(setTimeout(() => {
      timedOut = true;
      log.write(`\n[bench] timed out after ${spec.timeoutMs! / 1000}s: SIGTERM\n`);
      killGroup(pgid, 'SIGTERM');
      timers.push(setTimeout(() => killGroup(pgid, 'SIGKILL'), 10_000));
    }, spec.timeoutMs));
  }
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (s: string) => {
    if (stdout.length < 1 << 20) stdout += s;
    log.write(s);
  });
  child.stderr.pipe(log, { end: false });
  const [code] = (await once(child, 'close')) as [number | null];
  const seconds = (performance.now() - started) / 1000;
  for (const t of timers) clearTimeout(t);
  if (pgid !== undefined) {
    killGroup(pgid, 'SIGKILL'); // anything the command left behind
    running.delete(pgid);
  }
  await new Promise<void>((resolve) => log.end(resolve));
  const timeText = await readFile(timeFile, 'utf8').catch(() => '');
  if (timedOut) {
    throw new CommandError(`${spec.command.split('/').pop()} ${spec.args.slice(0, 2).join(' ')} timed out after ${Math.round(spec.timeoutMs! / 1000)}s and was killed; log: ${spec.logFile}`, code);
  }
  // GNU time exits with the command's status; it reports "Command exited with non-zero status".
  if (code === null || !(spec.okCodes ?? [0]).includes(code)) {
    throw new CommandError(`${spec.command.split('/').pop()} ${spec.args.slice(0, 2).join(' ')} exited with ${code}; last lines of ${spec.logFile}:\n${await tail(spec.logFile)}`, code);
  }
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(timeText);
  if (!m) throw new CommandError(`no peak RSS in ${timeFile}: ${timeText.slice(0, 200)}`, code);
  return { seconds, peakRssMib: Number(m[1]) / 1024, stdout };
}

/** Runs a command that is not measured (setup, listing); returns stdout. */
export async function runQuiet(spec: CommandSpec): Promise<string> {
  return (await measure(spec)).stdout;
}
