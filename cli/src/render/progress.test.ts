import { describe, expect, it } from 'vitest';
import type { DeleteBackupRequest } from '../../../common/src/crds.ts';
import { failureOf, finalLine, isFinal, progressBar, progressLine } from './progress.ts';
import { backup, restore } from './fixtures.ts';

const MiB = 1024 * 1024;

describe('progressBar', () => {
  it('fills in proportion and shows the percent; with no total it is empty with --', () => {
    expect(progressBar(0, 100)).toBe('[....................]   0%');
    expect(progressBar(45, 100)).toBe('[#########...........]  45%');
    expect(progressBar(100, 100)).toBe('[####################] 100%');
    expect(progressBar(5, undefined)).toBe('[....................]  --%');
    expect(progressBar(1, 2, 4)).toBe('[##..]  50%');
  });
});

describe('progressLine', () => {
  it('says what a backup waits for before it runs', () => {
    expect(progressLine({ kind: 'Backup', obj: backup('b').build() })).toBe('backup.cairn.dev/b New: waiting for the coordinator');
    expect(progressLine({ kind: 'Backup', obj: backup('b').phase('Queued').status({ queuePosition: 3 }).build() })).toBe('backup.cairn.dev/b Queued: position 3 in the queue');
  });

  it('while InProgress shows the bar, bytes, files and volumes done', () => {
    const b = backup('b').phase('InProgress').progress(12 * MiB, 48 * MiB, 120, 300).volume({ pvc: 'a', phase: 'Completed' }).volume({ pvc: 'b', phase: 'InProgress' }).build();
    expect(progressLine({ kind: 'Backup', obj: b })).toBe('backup.cairn.dev/b InProgress [#####...............]  25%  12.0 MiB/48.0 MiB  120/300 files  1/2 volumes');
  });

  it('InProgress before any progress was written says it is starting', () => {
    expect(progressLine({ kind: 'Restore', obj: restore('r', 'b').phase('InProgress').build() })).toBe('restore.cairn.dev/r InProgress [....................]  --%  starting');
  });

  it('names the request of a deletion', () => {
    const d = { metadata: { name: 'b-x1' }, spec: { backupName: 'b' }, status: { phase: 'InProgress' } } as DeleteBackupRequest;
    expect(progressLine({ kind: 'DeleteBackupRequest', obj: d })).toBe('deletebackuprequest.cairn.dev/b-x1 InProgress');
  });
});

describe('finalLine and failureOf', () => {
  it('a Completed backup: volumes, bytes, files and how long; no failure', () => {
    const b = backup('b').phase('Completed').status({ startTimestamp: '2025-01-01T00:00:00Z', completionTimestamp: '2025-01-01T00:00:07Z' }).progress(MiB, MiB, 41, 41).volume({ pvc: 'data', phase: 'Completed' }).volume({ pvc: 'cache', phase: 'Skipped' }).build();
    const f = { kind: 'Backup' as const, obj: b };
    expect(isFinal(f)).toBe(true);
    expect(finalLine(f)).toBe('backup.cairn.dev/b Completed (1 volume, 1.0 MiB, 41 files in 7s)');
    expect(failureOf(f)).toBeUndefined();
  });

  it('PartiallyFailed: the line counts volumes, and the error (exit 1) names each failed volume with its code', () => {
    const b = backup('b').phase('PartiallyFailed').status({ message: '1 of 2 volumes failed', errorCode: 'CAIRN_E_VOLUME_REFUSED' }).progress(MiB, MiB, 3)
      .volume({ pvc: 'data', phase: 'Completed' }).volume({ pvc: 'old', phase: 'Failed', errorCode: 'CAIRN_E_VOLUME_REFUSED', message: 'its PV is not provably owned by this namespace' }).build();
    const f = { kind: 'Backup' as const, obj: b };
    expect(finalLine(f)).toBe('backup.cairn.dev/b PartiallyFailed (1 of 2 volumes, 1.0 MiB, 3 files)');
    const e = failureOf(f)!;
    expect(e.exitCode).toBe(1);
    expect(e.reason).toBe('PartiallyFailed');
    expect(e.message).toBe('backup team-a/b PartiallyFailed (CAIRN_E_VOLUME_REFUSED): 1 of 2 volumes failed');
    expect(e.details).toEqual(['volume old: CAIRN_E_VOLUME_REFUSED: its PV is not provably owned by this namespace']);
  });

  it('FailedValidation lists the validation errors', () => {
    const r = restore('r', 'b').phase('FailedValidation').status({ validationErrors: ['spec.backupName: backup "b" not found'] }).build();
    const e = failureOf({ kind: 'Restore', obj: r })!;
    expect(e.reason).toBe('FailedValidation');
    expect(e.details).toEqual(['spec.backupName: backup "b" not found']);
    expect(finalLine({ kind: 'Restore', obj: r })).toBe('restore.cairn.dev/r FailedValidation');
  });

  it('a deletion: Processed says what was removed, Failed gives its errors', () => {
    const done = { metadata: { name: 'b-x1', namespace: 'team-a' }, spec: { backupName: 'b' }, status: { phase: 'Processed', removed: { manifest: true, index: 1, packs: 4 } } } as DeleteBackupRequest;
    expect(finalLine({ kind: 'DeleteBackupRequest', obj: done })).toBe('deletebackuprequest.cairn.dev/b-x1 Processed: backup b deleted (manifest deleted, 1 index object and 4 packs removed)');
    expect(failureOf({ kind: 'DeleteBackupRequest', obj: done })).toBeUndefined();
    const failed = { ...done, status: { phase: 'Failed', errors: ['the backup is InProgress'], errorCode: 'CAIRN_E_LOCKED' } } as DeleteBackupRequest;
    expect(failureOf({ kind: 'DeleteBackupRequest', obj: failed })).toMatchObject({ reason: 'Failed', details: ['the backup is InProgress'] });
  });

  it('a location: Available is success, Unavailable is exit 1 with the reason code and message', () => {
    const bsl = { metadata: { name: 'main', namespace: 'team-a' }, spec: { objectStorage: { bucket: 'b' }, credential: { name: 's', key: 'cloud' } }, status: { phase: 'Unavailable' as const, reason: 'CAIRN_E_STORE_ACCESS_DENIED', message: 'HeadBucket: 403 AccessDenied' } };
    const e = failureOf({ kind: 'BackupStorageLocation', obj: bsl as never })!;
    expect(e.exitCode).toBe(1);
    expect(e.message).toBe('location team-a/main is Unavailable (CAIRN_E_STORE_ACCESS_DENIED): HeadBucket: 403 AccessDenied');
  });
});
