import { describe, expect, it } from 'vitest';
import { backup } from '../render/fixtures.ts';
import { backupCreate, backupDelete, backupDescribe } from './backup.ts';
import { FakeApi, fakeCtx } from './fake-ctx.ts';

const location = (name: string) => ({ apiVersion: 'cairn.dev/v1alpha1', kind: 'BackupStorageLocation', metadata: { name, namespace: 'team-a' }, spec: { objectStorage: { bucket: 'b' }, credential: { name: 's', key: 'cloud' } } });

describe('backup create', () => {
  it('uses the namespace\'s only location when none is named, and creates the Backup with the selection', async () => {
    const ctx = fakeCtx({ api: new FakeApi().put('BackupStorageLocation', location('main')) });
    expect(await backupCreate(ctx, { command: 'backup create', name: 'b1', includeVolumes: ['data'], ttl: '24h', wait: false })).toBe(0);
    expect(ctx.api.objects.get('Backup/team-a/b1')).toMatchObject({ apiVersion: 'cairn.dev/v1alpha1', kind: 'Backup', spec: { storageLocation: 'main', includeVolumes: ['data'], ttl: '24h' } });
    expect(ctx.stdout()).toBe('backup.cairn.dev/b1 created\n');
  });

  it('with several locations and none named it is a usage error listing them; with none, exit 4', async () => {
    const two = fakeCtx({ api: new FakeApi().put('BackupStorageLocation', location('a')).put('BackupStorageLocation', location('b')) });
    expect(await backupCreate(two, { command: 'backup create', name: 'b1', wait: false }).catch((e: unknown) => e)).toMatchObject({ reason: 'Usage', message: 'namespace team-a has 2 backup storage locations (a, b): name one with --location' });
    expect(await backupCreate(fakeCtx(), { command: 'backup create', name: 'b1', wait: false }).catch((e: unknown) => e)).toMatchObject({ reason: 'NotFound', exitCode: 4 });
  });

  it('a Backup of that name already there is exit 5', async () => {
    const ctx = fakeCtx({ api: new FakeApi().put('BackupStorageLocation', location('main')).put('Backup', backup('b1').build() as never) });
    expect(await backupCreate(ctx, { command: 'backup create', name: 'b1', wait: false }).catch((e: unknown) => e)).toMatchObject({ reason: 'AlreadyExists', exitCode: 5 });
  });
});

describe('backup describe', () => {
  it('prints the Backup with its Events', async () => {
    const api = new FakeApi().put('Backup', backup('b1').phase('Completed').volume({ pvc: 'data', phase: 'Completed', files: 3 }).build() as never);
    api.eventLines = [{ type: 'Normal', reason: 'Completed', message: '1 volume(s) backed up', time: '2025-01-01T00:05:00Z' }];
    const ctx = fakeCtx({ api });
    await backupDescribe(ctx, { command: 'backup describe', name: 'b1' });
    expect(ctx.stdout()).toMatch(/^ {2}data\s+-\s+-\s+Completed\s+0 B\s+3\s+-$/m);
    expect(ctx.stdout()).toMatch(/^ {2}Normal\s+Completed\s+5m\s+1 volume\(s\) backed up$/m);
  });
});

describe('backup delete', () => {
  it('creates a DeleteBackupRequest named after the backup and prints its name', async () => {
    const ctx = fakeCtx({ api: new FakeApi().put('Backup', backup('b1').phase('Completed').build() as never) });
    expect(await backupDelete(ctx, { command: 'backup delete', name: 'b1', wait: false })).toBe(0);
    const [dbr] = [...ctx.api.objects.entries()].filter(([k]) => k.startsWith('DeleteBackupRequest/'));
    expect(dbr![1]).toMatchObject({ kind: 'DeleteBackupRequest', metadata: { generateName: 'b1-', namespace: 'team-a' }, spec: { backupName: 'b1' } });
    expect(ctx.stdout()).toBe(`deletebackuprequest.cairn.dev/${dbr![1].metadata.name} created: backup b1 and its data in the bucket will be deleted\n`);
  });

  it('a missing backup is exit 4 and no request is made; a running one gets a warning', async () => {
    const none = fakeCtx();
    expect(await backupDelete(none, { command: 'backup delete', name: 'b1', wait: false }).catch((e: unknown) => e)).toMatchObject({ reason: 'NotFound', message: 'backup "b1" not found in namespace team-a' });
    expect(none.api.calls).toEqual(['get Backup']);
    const busy = fakeCtx({ api: new FakeApi().put('Backup', backup('b1').phase('InProgress').build() as never) });
    await backupDelete(busy, { command: 'backup delete', name: 'b1', wait: false });
    expect(busy.stderr()).toMatch(/^warning: backup team-a\/b1 is InProgress: the request will be refused while it runs/);
  });

  it('--wait follows the request to Processed', async () => {
    const api = new FakeApi().put('Backup', backup('b1').phase('Completed').build() as never);
    api.onGet = (kind, obj) => {
      if (kind === 'DeleteBackupRequest') (obj as { status?: unknown }).status = { phase: 'Processed', removed: { manifest: true, index: 1, packs: 2 } };
    };
    const ctx = fakeCtx({ api });
    expect(await backupDelete(ctx, { command: 'backup delete', name: 'b1', wait: true })).toBe(0);
    expect(ctx.stdout().trimEnd().split('\n').at(-1)).toMatch(/^deletebackuprequest\.cairn\.dev\/b1-x1 Processed: backup b1 deleted \(manifest deleted, 1 index object and 2 packs removed\)$/);
  });
});
