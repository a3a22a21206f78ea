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

export async function measure(spec: CommandSpec): Promise<Measured> {
  const timeFile = `${spec.logFile}.time`;
  const log = createWriteStream(spec.logFile, { flags: 'a' });
  await once(log, 'open');
  log.write(`$ ${spec.command} ${spec.args.join(' ')}\n`);
  const started = performance.now();
  const child = spawn(GNU_TIME, ['-v', '-o', timeFile, spec.command, ...spec.args], {
    env: spec.env ?? process.env,
    cwd: spec.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (s: string) => {
    if (stdout.length < 1 << 20) stdout += s;
    log.write(s);
  });
  child.stderr.pipe(log, { end: false });
  const [code] = (await once(child, 'close')) as [number | null];
  const seconds = (performance.now() - started) / 1000;
  await new Promise<void>((resolve) => log.end(resolve));
  const timeText = await readFile(timeFile, 'utf8').catch(() => '');
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
