// --wait: poll the object until a final phase, showing progress on stderr (one line redrawn on a
// terminal; otherwise a line on each phase change and at most every logEveryMs), then print the
// final line on stdout and fail with the object's reasons unless it succeeded.
import { CliError } from '../exit.ts';
import { apiError, isNotFound } from '../kube/api-errors.ts';
import { failureOf, finalLine, isFinal, progressLine, type Followed } from '../render/progress.ts';
import type { Ctx } from './context.ts';

/** Said once when the object has no status after this long: the coordinator may not be running. */
export const noStatusHintMs = 30_000;

/** The command that shows the object later. */
function lookAt(kind: Followed['kind'], name: string): string {
  switch (kind) {
    case 'Backup':
      return `backup describe ${name}`;
    case 'Restore':
      return `restore describe ${name}`;
    case 'DeleteBackupRequest':
      return 'backup get';
    case 'BackupStorageLocation':
      return `location get ${name} -o wide`;
  }
}

export async function follow(ctx: Ctx, kind: Followed['kind'], name: string, timeoutMs?: number): Promise<Followed> {
  const started = ctx.now();
  // The last line written, the phase it showed, and when (without a terminal).
  let lastLine = '';
  let lastPhase: string | undefined = '';
  let lastPrinted = 0;
  let hinted = false;
  const show = (f: Followed): void => {
    const line = progressLine(f);
    const phase = f.obj.status?.phase;
    if (ctx.io.tty) {
      if (line !== lastLine) ctx.io.err(`\r\x1b[2K${line}`);
    } else if (phase !== lastPhase || (line !== lastLine && ctx.now() - lastPrinted >= ctx.logEveryMs)) {
      ctx.io.err(`${line}\n`);
      lastPrinted = ctx.now();
    } else {
      return;
    }
    lastLine = line;
    lastPhase = phase;
  };
  const endLine = (): void => {
    if (ctx.io.tty && lastLine !== '') ctx.io.err('\n');
  };
  for (;;) {
    let f: Followed;
    try {
      f = { kind, obj: await ctx.api.get(kind, ctx.namespace, name) } as Followed;
    } catch (err) {
      endLine();
      if (isNotFound(err)) throw new CliError('NotFound', `${kind} ${ctx.namespace}/${name} was deleted while waiting for it`);
      throw apiError(err, { action: `read ${kind} ${ctx.namespace}/${name}`, server: ctx.api.server });
    }
    show(f);
    if (isFinal(f)) {
      endLine();
      ctx.io.out(`${finalLine(f)}\n`);
      const failure = failureOf(f);
      if (failure) throw failure;
      return f;
    }
    if (!hinted && !f.obj.status?.phase && ctx.now() - started >= noStatusHintMs) {
      hinted = true;
      endLine();
      lastLine = '';
      ctx.io.err(`warning: ${kind} ${ctx.namespace}/${name} has no status after ${noStatusHintMs / 1000}s: is the Cairn coordinator running and watching namespace ${ctx.namespace}?\n`);
    }
    if (timeoutMs !== undefined && ctx.now() - started >= timeoutMs) {
      endLine();
      throw new CliError('Timeout', `${kind} ${ctx.namespace}/${name} is still ${f.obj.status?.phase ?? 'New'} after --timeout; it carries on (kubectl cairn ${lookAt(kind, name)})`);
    }
    try {
      await ctx.sleep(ctx.pollMs, ctx.signal);
    } catch {
      endLine();
      throw new CliError('Interrupted', `stopped waiting; ${kind} ${ctx.namespace}/${name} carries on (kubectl cairn ${lookAt(kind, name)})`);
    }
  }
}
