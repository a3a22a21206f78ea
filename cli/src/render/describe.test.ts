import { describe, expect, it } from 'vitest';
import { describeBackup, describeRestore, selectorText } from './describe.ts';
import { backup, restore } from './fixtures.ts';

const now = Date.parse('2025-01-01T00:10:00Z');
const MiB = 1024 * 1024;

describe('describe', () => {
  it('a PartiallyFailed backup: fields, a row per volume with phase, bytes and files, every volume error with its code, the Events', () => {
    const b = backup('nightly')
      .spec({ excludeVolumes: ['cache'], ttl: '72h' })
      .phase('PartiallyFailed')
      .status({ message: '1 of 2 volumes failed', errorCode: 'CAIRN_E_VOLUME_REFUSED', startTimestamp: '2025-01-01T00:00:05Z', completionTimestamp: '2025-01-01T00:01:05Z', expiration: '2025-01-04T00:00:00Z' })
      .progress(3 * MiB, 3 * MiB, 12, 12)
      .volume({ pvc: 'data', pod: 'app', node: 'node-1', phase: 'Completed', bytes: 3 * MiB, files: 12 })
      .volume({ pvc: 'old', phase: 'Failed', errorCode: 'CAIRN_E_VOLUME_REFUSED', message: 'PV pv-1 is not provably owned by this namespace' })
      .volume({ pvc: 'scratch', phase: 'Skipped', message: 'annotated cairn.dev/exclude=true' })
      .build();
    const out = describeBackup(b, [{ type: 'Warning', reason: 'PartiallyFailed', message: '1 of 2 volumes failed', time: '2025-01-01T00:01:05Z', count: 1 }], now);
    expect(out).toBe(
      [
        'Name:        nightly',
        'Namespace:   team-a',
        'Phase:       PartiallyFailed',
        'Message:     1 of 2 volumes failed',
        'Error code:  CAIRN_E_VOLUME_REFUSED',
        'Location:    main',
        'Volumes:     every PVC of the namespace, except cache',
        'TTL:         72h',
        'Created:     2025-01-01T00:00:00Z (10m ago)',
        'Started:     2025-01-01T00:00:05Z (9m55s ago)',
        'Completed:   2025-01-01T00:01:05Z (8m55s ago, took 60s)',
        'Expires:     2025-01-04T00:00:00Z (in 2d23h)',
        'Progress:    3.0 MiB of 3.0 MiB (100%), 12 of 12 files',
        '',
        'Volumes:',
        '  PVC       POD   NODE     PHASE       BYTES     FILES   ERROR',
        '  data      app   node-1   Completed   3.0 MiB   12      -',
        '  old       -     -        Failed      0 B       0       CAIRN_E_VOLUME_REFUSED',
        '  scratch   -     -        Skipped     0 B       0       -',
        '',
        'Volume errors:',
        '  old (Failed): CAIRN_E_VOLUME_REFUSED: PV pv-1 is not provably owned by this namespace',
        '  scratch (Skipped): annotated cairn.dev/exclude=true',
        '',
        'Events:',
        '  TYPE      REASON            AGE     MESSAGE',
        '  Warning   PartiallyFailed   8m55s   1 of 2 volumes failed',
        '',
      ].join('\n'),
    );
  });

  it('a backup that failed validation lists the validation errors; no volumes yet', () => {
    const b = backup('b').phase('FailedValidation').status({ validationErrors: ['spec.storageLocation: no BackupStorageLocation "x" in namespace team-a'] }).build();
    const out = describeBackup(b, [], now);
    expect(out).toContain('\nValidation errors:\n  - spec.storageLocation: no BackupStorageLocation "x" in namespace team-a\n');
    expect(out).toContain('\nVolumes: none yet\n');
    expect(out).toContain('\nEvents: none\n');
  });

  it('a restore shows its backup, targets and paths, and the PVCs restored into', () => {
    const r = restore('r1', 'nightly').spec({ targets: [{ volume: 'data', pvc: 'data-copy' }], paths: ['etc'] }).phase('InProgress').progress(MiB, 4 * MiB, 2).volume({ pvc: 'data-copy', pod: 'cairn-helper-x', node: 'node-2', phase: 'InProgress', bytes: MiB, files: 2 }).build();
    const out = describeRestore(r, [], now);
    expect(out).toMatch(/^Backup:\s+nightly$/m);
    expect(out).toMatch(/^Targets:\s+data -> PVC data-copy$/m);
    expect(out).toMatch(/^Paths:\s+etc$/m);
    expect(out).toMatch(/^Progress:\s+1\.0 MiB of 4\.0 MiB \(25%\), 2 files$/m);
    expect(out).toMatch(/^ {2}data-copy\s+cairn-helper-x\s+node-2\s+InProgress\s+1\.0 MiB\s+2\s+-$/m);
  });

  it('selectors read as kubectl writes them', () => {
    expect(selectorText({ matchLabels: { app: 'db' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'x', operator: 'DoesNotExist' }] })).toBe('app=db,tier in (a,b),!x');
  });
});
