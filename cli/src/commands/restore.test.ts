import { describe, expect, it } from 'vitest';
import { backup } from '../render/fixtures.ts';
import { FakeApi, fakeCtx } from './fake-ctx.ts';
import { defaultRestoreName, restoreCreate } from './restore.ts';

describe('restore create', () => {
  it('checks the backup exists, names the restore after it by default, and passes targets and paths', async () => {
    const ctx = fakeCtx({ api: new FakeApi().put('Backup', backup('nightly').phase('Completed').build() as never) });
    await restoreCreate(ctx, { command: 'restore create', backup: 'nightly', targets: [{ volume: 'data', pvc: 'copy' }], paths: ['etc'], wait: false });
    expect(ctx.stdout()).toBe('restore.cairn.dev/nightly-20250101001000 created\n');
    expect(ctx.api.objects.get('Restore/team-a/nightly-20250101001000')).toMatchObject({ spec: { backupName: 'nightly', targets: [{ volume: 'data', pvc: 'copy' }], paths: ['etc'] } });
    expect(await restoreCreate(fakeCtx(), { command: 'restore create', backup: 'nope', wait: false }).catch((e: unknown) => e)).toMatchObject({ reason: 'NotFound', message: 'backup "nope" not found in namespace team-a' });
  });

  it('the default name fits in a name', () => {
    expect(defaultRestoreName('a'.repeat(253), 0)).toHaveLength(253);
  });
});
