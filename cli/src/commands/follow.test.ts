import { describe, expect, it } from 'vitest';
import type { Backup } from '../../../common/src/crds.ts';
import { backup } from '../render/fixtures.ts';
import { FakeApi, fakeCtx } from './fake-ctx.ts';
import { follow, noStatusHintMs } from './follow.ts';

const MiB = 1024 * 1024;

/** A Backup that moves through `steps` (one status per poll), as the coordinator would write it. */
function apiWith(steps: Backup['status'][]): FakeApi {
  const api = new FakeApi().put('Backup', backup('b').build() as never);
  api.onGet = (_kind, obj, n) => {
    (obj as { status?: unknown }).status = steps[Math.min(n - 1, steps.length - 1)];
  };
  return api;
}

const running = (done: number) => backup('b').phase('InProgress').progress(done * MiB, 4 * MiB, done).volume({ pvc: 'data', phase: 'InProgress' }).build().status;
const completed = backup('b').phase('Completed').progress(4 * MiB, 4 * MiB, 4, 4).volume({ pvc: 'data', phase: 'Completed' }).status({ startTimestamp: '2025-01-01T00:00:00Z', completionTimestamp: '2025-01-01T00:00:04Z' }).build().status;

describe('follow', () => {
  it('without a terminal: a line per phase change and at most every logEveryMs, then the final line on stdout', async () => {
    const ctx = fakeCtx({ api: apiWith([undefined, { phase: 'Queued', queuePosition: 1 }, running(1), running(2), running(2), running(3), running(3), running(3), running(3), running(3), completed]) });
    await follow(ctx, 'Backup', 'b');
    expect(ctx.stderr().split('\n')).toEqual([
      'backup.cairn.dev/b New: waiting for the coordinator',
      'backup.cairn.dev/b Queued: position 1 in the queue',
      'backup.cairn.dev/b InProgress [#####...............]  25%  1.0 MiB/4.0 MiB  1 files  0/1 volumes',
      // 2 and 3 MiB came within 5 s of the last line; the phase did not change.
      'backup.cairn.dev/b InProgress [###############.....]  75%  3.0 MiB/4.0 MiB  3 files  0/1 volumes',
      'backup.cairn.dev/b Completed',
      '',
    ]);
    expect(ctx.stdout()).toBe('backup.cairn.dev/b Completed (1 volume, 4.0 MiB, 4 files in 4s)\n');
  });

  it('on a terminal the line is redrawn in place and ended with a newline', async () => {
    const ctx = fakeCtx({ api: apiWith([running(1), running(2), completed]), tty: true });
    await follow(ctx, 'Backup', 'b');
    expect(ctx.stderr()).toBe(
      '\r\x1b[2Kbackup.cairn.dev/b InProgress [#####...............]  25%  1.0 MiB/4.0 MiB  1 files  0/1 volumes' +
        '\r\x1b[2Kbackup.cairn.dev/b InProgress [##########..........]  50%  2.0 MiB/4.0 MiB  2 files  0/1 volumes' +
        '\r\x1b[2Kbackup.cairn.dev/b Completed\n',
    );
  });

  it('a Failed backup is exit 1 after the final line, with the volume\'s error', async () => {
    const failed = backup('b').phase('Failed').status({ message: 'every volume failed', errorCode: 'CAIRN_E_AGENT_UNAVAILABLE' }).volume({ pvc: 'data', phase: 'Failed', errorCode: 'CAIRN_E_AGENT_UNAVAILABLE', message: 'the agent on node-1 did not answer' }).build().status;
    const ctx = fakeCtx({ api: apiWith([failed]) });
    const err = await follow(ctx, 'Backup', 'b').catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'Failed', exitCode: 1, details: ['volume data: CAIRN_E_AGENT_UNAVAILABLE: the agent on node-1 did not answer'] });
    expect(ctx.stdout()).toBe('backup.cairn.dev/b Failed (0 of 1 volume, 0 B, 0 files)\n');
  });

  it('--timeout is exit 6 and says the backup carries on; no status for 30 s warns about the coordinator', async () => {
    const ctx = fakeCtx({ api: apiWith([undefined]) });
    const err = await follow(ctx, 'Backup', 'b', 45_000).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'Timeout', exitCode: 6, message: 'Backup team-a/b is still New after --timeout; it carries on (kubectl cairn backup describe b)' });
    expect(ctx.stderr()).toContain(`warning: Backup team-a/b has no status after ${noStatusHintMs / 1000}s: is the Cairn coordinator running and watching namespace team-a?\n`);
  });

  it('Ctrl-C stops waiting with exit 130; an object deleted meanwhile is exit 4', async () => {
    const ctx = fakeCtx({ api: apiWith([running(1)]) });
    ctx.abort();
    expect(await follow(ctx, 'Backup', 'b').catch((e: unknown) => e)).toMatchObject({ reason: 'Interrupted', exitCode: 130 });
    const gone = fakeCtx({ api: new FakeApi() });
    expect(await follow(gone, 'Backup', 'b').catch((e: unknown) => e)).toMatchObject({ reason: 'NotFound', exitCode: 4, message: 'Backup team-a/b was deleted while waiting for it' });
  });
});
