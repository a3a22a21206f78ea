// The synced Backup and its status from a manifest: only the name and the location go into the
// object; status values are checked or clipped so the CRD accepts them whatever the manifest says.
import { describe, expect, it } from 'vitest';
import type { Manifest, VolumeRecord } from '../../../common/src/format/manifest.ts';
import { indexKey } from '../../../common/src/format/layout.ts';
import { printableName } from './skip-reasons.ts';
import { isSyncedFrom, locationLabel, maxStatusVolumes, syncedBackup, syncedLabel, syncedStatus, timestamp } from './synced-backup.ts';

function volume(id: string, over: Partial<VolumeRecord> = {}): VolumeRecord {
  return { id, lineage: 'c.p', index: indexKey('b1', id), indexSha256: '0'.repeat(64), entries: 3, files: 2, bytes: 100, storedBytes: 50, packs: [], warnings: 0, ...over };
}

function manifest(volumes: VolumeRecord[], over: Partial<Manifest> = {}): Manifest {
  return { cairn: 'backup-manifest', version: 1, backup: 'b1', createdAt: '2025-01-02T03:04:05.678Z', completedAt: '2025-01-02T03:09:00.000Z', encrypted: false, volumes, ...over };
}

describe('syncedBackup', () => {
  it('carries the name, the two labels and a spec naming the location, nothing else', () => {
    const b = syncedBackup('team-a', 'b1', 'loc');
    expect(b).toEqual({
      apiVersion: 'cairn.dev/v1alpha1', kind: 'Backup',
      metadata: { name: 'b1', namespace: 'team-a', labels: { [syncedLabel]: 'true', [locationLabel]: 'loc' } },
      spec: { storageLocation: 'loc' },
    });
    expect(isSyncedFrom(b, 'loc')).toBe(true);
    expect(isSyncedFrom(b, 'other')).toBe(false);
    expect(isSyncedFrom({ ...b, spec: { storageLocation: 'loc', ttl: '1h' } }, 'loc')).toBe(false);
    expect(isSyncedFrom({ ...b, metadata: { name: 'b1', labels: { [locationLabel]: 'loc' } } }, 'loc')).toBe(false);
  });
});

describe('syncedStatus', () => {
  it('is Completed with the manifest times, one Completed entry per volume and the sums', () => {
    const s = syncedStatus(manifest([volume('data', { source: { namespace: 'x', pvc: 'data-pvc' }, bytes: 7, files: 3 }), volume('logs', { bytes: 5, files: 1 })]), 'loc');
    expect(s).toEqual({
      phase: 'Completed', message: 'synced from BackupStorageLocation loc',
      startTimestamp: '2025-01-02T03:04:05.678Z', completionTimestamp: '2025-01-02T03:09:00.000Z',
      volumes: [
        { pvc: 'data-pvc', volume: 'data', phase: 'Completed', bytes: 7, files: 3 },
        { pvc: 'logs', volume: 'logs', phase: 'Completed', bytes: 5, files: 1 },
      ],
      progress: { totalBytes: 12, bytesDone: 12, totalFiles: 4, filesDone: 4 },
    });
  });

  it('uses the volume id when the source PVC is not a PVC name', () => {
    for (const pvc of ['Data', 'a/b', 'x'.repeat(254), '', 'has space', 'naïve', 'a\nb']) {
      expect(syncedStatus(manifest([volume('data', { source: { pvc } })]), 'loc').volumes![0]!.pvc).toBe('data');
    }
  });

  it(`keeps at most ${maxStatusVolumes} volume entries while the sums cover every volume`, () => {
    const vols = Array.from({ length: maxStatusVolumes + 5 }, (_, i) => volume(`v${i}`, { bytes: 1, files: 1 }));
    const s = syncedStatus(manifest(vols), 'loc');
    expect(s.volumes).toHaveLength(maxStatusVolumes);
    expect(s.progress).toEqual({ totalBytes: maxStatusVolumes + 5, bytesDone: maxStatusVolumes + 5, totalFiles: maxStatusVolumes + 5, filesDone: maxStatusVolumes + 5 });
  });

  it('clamps sums at the largest safe integer', () => {
    const big = Number.MAX_SAFE_INTEGER - 1;
    const s = syncedStatus(manifest([volume('a', { bytes: big }), volume('b', { bytes: big })]), 'loc');
    expect(s.progress!.totalBytes).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('leaves out timestamps that are not RFC 3339 instead of failing the write', () => {
    const s = syncedStatus(manifest([], { createdAt: 'yesterday', completedAt: '2025-13-45T99:00:00Z' }), 'loc');
    expect(s).not.toHaveProperty('startTimestamp');
    expect(s).not.toHaveProperty('completionTimestamp');
    expect(s.volumes).toEqual([]);
  });

  it('normalises valid timestamps to UTC', () => {
    expect(timestamp('2025-01-02T04:04:05+01:00')).toBe('2025-01-02T03:04:05.000Z');
    expect(timestamp('2025-01-02t03:04:05z')).toBe('2025-01-02T03:04:05.000Z');
    expect(timestamp('2025-01-02 03:04:05Z')).toBeUndefined();
    expect(timestamp('1735787045')).toBeUndefined();
  });
});

describe('printableName', () => {
  it('shows only name characters and cuts long names', () => {
    expect(printableName('Bad/Name\n<script>')).toBe('?ad??ame??script?');
    expect(printableName('a'.repeat(300))).toBe(`${'a'.repeat(64)}...`);
  });
});
