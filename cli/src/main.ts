// kubectl-cairn: parse the command line, connect with the user's kubeconfig, run the command,
// exit with its code (docs/cli.md). The only place that touches process, signals and the real
// streams.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseCommandLine } from './args/program.ts';
import type { Ctx } from './commands/context.ts';
import { execute } from './commands/execute.ts';
import { CliError, exitCodes, formatError } from './exit.ts';
import { kubeApi } from './kube/api.ts';
import { connect } from './kube/connect.ts';

/** Writes and waits until the stream took it, so that process.exit does not cut a pipe short. */
function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv);
  if (parsed.kind === 'exit') {
    process.stdout.write(parsed.stdout);
    process.stderr.write(parsed.stderr);
    return parsed.code;
  }
  const interrupt = new AbortController();
  process.once('SIGINT', () => {
    interrupt.abort();
    // A second Ctrl-C ends at once.
    process.once('SIGINT', () => process.exit(exitCodes.interrupted));
  });
  try {
    const { kc, namespace } = connect(parsed.invocation.connection);
    const ctx: Ctx = {
      api: kubeApi(kc),
      namespace,
      io: {
        out: (t) => void process.stdout.write(t),
        err: (t) => void process.stderr.write(t),
        tty: process.stderr.isTTY === true,
        readStdin,
        readFile: (p) => readFile(p, 'utf8'),
      },
      now: () => Date.now(),
      sleep: (ms, signal) => sleep(ms, undefined, { signal }),
      signal: interrupt.signal,
      pollMs: 1_000,
      logEveryMs: 5_000,
    };
    return await execute(ctx, parsed.invocation);
  } catch (err) {
    const e = err instanceof CliError ? err : new CliError('Internal', `unexpected: ${(err as Error)?.stack ?? String(err)}`);
    process.stderr.write(formatError(e));
    return e.exitCode;
  }
}

// A closed pipe (`| head`) is not an error of ours.
for (const s of [process.stdout, process.stderr]) s.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

const code = await main(process.argv.slice(2));
await Promise.all([flush(process.stdout), flush(process.stderr)]);
process.exit(code);
