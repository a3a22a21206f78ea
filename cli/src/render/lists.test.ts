import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { BackupStorageLocation, NodeAgent, Schedule } from '../../../common/src/crds.ts';
import { renderList, renderNodeJobs, sizeText, statusText, volumeCount } from './lists.ts';
import { backup } from './fixtures.ts';

const now = Date.parse('2025-01-01T00:10:00Z');
const MiB = 1024 * 1024;

describe('cells', () => {
  it('status shows the queue position, New before any status', () => {
    expect(statusText(undefined)).toBe('New');
    expect(statusText({ phase: 'Queued', queuePosition: 2 })).toBe('Queued (2)');
    expect(statusText({ phase: 'Completed' })).toBe('Completed');
  });

  it('volumes count completed of those not skipped; size shows the total while running', () => {
    expect(volumeCount([{ phase: 'Completed' }, { phase: 'Failed' }, { phase: 'Skipped' }])).toBe('1/2');
    expect(volumeCount([])).toBe('-');
    expect(sizeText({ bytesDone: 5 * MiB, totalBytes: 20 * MiB }, true)).toBe('5.0 MiB/20.0 MiB (25%)');
    expect(sizeText({ bytesDone: 5 * MiB, totalBytes: 5 * MiB }, false)).toBe('5.0 MiB');
  });
});

describe('renderList', () => {
  const items = [
    backup('nightly').phase('Completed').progress(MiB, MiB, 41).volume({ pvc: 'data', phase: 'Completed' }).status({ expiration: '2025-01-31T00:00:00Z' }).build(),
    backup('now').phase('InProgress').progress(MiB, 4 * MiB, 3).volume({ pvc: 'data', phase: 'InProgress' }).build(),
    backup('bad', 'team-b').phase('FailedValidation').status({ errorCode: 'CAIRN_E_INVALID_ARGUMENT' }).build(),
  ];

  it('a table of Backups, aligned, as kubectl prints', () => {
    expect(renderList('Backup', items.slice(0, 2), { output: 'table', now, allNamespaces: false })).toBe(
      [
        'NAME      STATUS       LOCATION   VOLUMES   SIZE                    AGE   EXPIRES',
        'nightly   Completed    main       1/1       1.0 MiB                 10m   in 29d',
        'now       InProgress   main       0/1       1.0 MiB/4.0 MiB (25%)   10m   -',
        '',
      ].join('\n'),
    );
  });

  it('-A adds the namespace, wide the files and error code', () => {
    const out = renderList('Backup', items, { output: 'wide', now, allNamespaces: true });
    expect(out.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+STATUS\s+LOCATION\s+VOLUMES\s+SIZE\s+AGE\s+EXPIRES\s+FILES\s+ERROR$/);
    expect(out).toMatch(/^team-b\s+bad\s+FailedValidation\s+main\s+-\s+-\s+10m\s+-\s+-\s+CAIRN_E_INVALID_ARGUMENT$/m);
  });

  it('json and yaml give the objects (a List, or the one asked for) without managedFields; name gives kind/name', () => {
    const withFields = [{ ...items[0]!, metadata: { ...items[0]!.metadata, managedFields: [{ manager: 'x' }] } }];
    const list = JSON.parse(renderList('Backup', withFields, { output: 'json', now, allNamespaces: false })) as { kind: string; items: { metadata: Record<string, unknown> }[] };
    expect(list.kind).toBe('List');
    expect(list.items[0]!.metadata).not.toHaveProperty('managedFields');
    expect(parse(renderList('Backup', withFields, { output: 'yaml', now, allNamespaces: false, single: true }))).toMatchObject({ kind: 'Backup', metadata: { name: 'nightly' } });
    expect(renderList('Backup', items.slice(0, 2), { output: 'name', now, allNamespaces: false })).toBe('backup.cairn.dev/nightly\nbackup.cairn.dev/now\n');
  });

  it('locations, schedules and NodeAgents have their own columns', () => {
    const bsl: BackupStorageLocation = { apiVersion: 'cairn.dev/v1alpha1', kind: 'BackupStorageLocation', metadata: { name: 'main', creationTimestamp: '2025-01-01T00:00:00Z' as never }, spec: { objectStorage: { bucket: 'b', prefix: 'p' }, credential: { name: 's', key: 'cloud' } }, status: { phase: 'Unavailable', reason: 'CAIRN_E_STORE_ACCESS_DENIED', message: 'denied', lastValidationTime: '2025-01-01T00:09:30Z' } };
    expect(renderList('BackupStorageLocation', [bsl], { output: 'wide', now, allNamespaces: false }).split('\n')[1]).toMatch(/^main\s+Unavailable\s+b\s+p\s+ReadWrite\s+30s ago\s+10m\s+-\s+CAIRN_E_STORE_ACCESS_DENIED\s+denied$/);
    const sch: Schedule = { apiVersion: 'cairn.dev/v1alpha1', kind: 'Schedule', metadata: { name: 'nightly', creationTimestamp: '2025-01-01T00:00:00Z' as never }, spec: { schedule: '0 2 * * *', template: { storageLocation: 'main' }, retention: { keepLast: 3, keepDaily: 7 } }, status: { phase: 'Enabled', lastBackup: 'nightly-1', nextBackup: '2025-01-01T02:00:00Z' } };
    expect(renderList('Schedule', [sch], { output: 'wide', now, allNamespaces: false }).split('\n')[1]).toMatch(/^nightly\s+Enabled\s+0 2 \* \* \*\s+main\s+nightly-1\s+in 110m\s+10m\s+UTC\s+last=3,daily=7$/);
    const node: NodeAgent = { apiVersion: 'cairn.dev/v1alpha1', kind: 'NodeAgent', metadata: { name: 'node-1', creationTimestamp: '2025-01-01T00:00:00Z' as never }, status: { ready: true, activeJobs: 1, version: '0.1.0', lastHeartbeatTime: '2025-01-01T00:09:55Z', bytesPerSecond: 10 * MiB, freeBytes: 2048 * MiB, jobs: [{ namespace: 'team-a', kind: 'Backup', name: 'b1', volume: 'data', bytesDone: MiB, totalBytes: 2 * MiB }] } };
    expect(renderList('NodeAgent', [node], { output: 'table', now, allNamespaces: false }).split('\n')[1]).toMatch(/^node-1\s+True\s+1\s+0\.1\.0\s+5s ago\s+10\.0 MiB\/s\s+2\.0 GiB\s+10m$/);
    expect(renderNodeJobs([node]).split('\n')[1]).toMatch(/^node-1\s+team-a\s+Backup\s+b1\s+data\s+1\.0 MiB\/2\.0 MiB \(50%\)$/);
  });
});
