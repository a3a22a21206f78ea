// Two tenants back up and restore volumes as themselves, with the real coordinator process (its
// own ServiceAccount and RBAC), real agents with mTLS on two nodes, real MinIO and the real
// controller manager: every file comes back identical, a PVC no pod mounts goes through a helper
// pod, an opted-out PVC is skipped, and progress shows in status.
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startCoordinator, type RunningCoordinator } from '../../harness/coordinator.ts';
import { checksums, Tenant, unique, writeTree, type VolumeState } from './tenant-fixtures.ts';

const cluster = inject('cluster');
const u = unique();
const a = new Tenant(cluster, `cb${u}-a`, 'team-a-admin', 'team-a');
const b = new Tenant(cluster, `cb${u}-b`, 'team-b-admin', 'team-b');
let coordinator: RunningCoordinator;

beforeAll(async () => {
  await Promise.all([a.setUp(), b.setUp()]);
  const runDir = join(cluster.runDir, `coordinator-${u}`);
  coordinator = await startCoordinator(cluster, { runDir, watchNamespaces: [`cb${u}-*`] });
});

afterAll(async () => {
  await coordinator?.stop();
  if (process.env.CAIRN_KEEP_LOGS) await copyFile(coordinator.logFile, process.env.CAIRN_KEEP_LOGS);
});

describe('backup and restore as a tenant', () => {
  it('two tenants back up and restore concurrently on two nodes, every file identical', async () => {
    const dirs = {
      a: await a.pvc('data'),
      aIdle: await a.pvc('idle'),
      aSkip: await a.pvc('scratch', { annotations: { 'cairn.dev/exclude': 'true' } }),
      b: await b.pvc('data'),
    };
    await Promise.all([writeTree(dirs.a, 'a'), writeTree(dirs.aIdle, 'idle', 10), writeTree(dirs.aSkip, 'skip', 3), writeTree(dirs.b, 'b')]);
    await Promise.all([a.pod('app', 'data', 'node-1'), b.pod('app', 'data', 'node-2')]);
    const before = { a: await checksums(dirs.a), aIdle: await checksums(dirs.aIdle), b: await checksums(dirs.b) };

    await Promise.all([a.location('main'), b.location('main')]);
    await Promise.all([a.waitPhase('backupstoragelocations', 'main', ['Available']), b.waitPhase('backupstoragelocations', 'main', ['Available'])]);
    await Promise.all([a.backup('first', { storageLocation: 'main', ttl: '24h' }), b.backup('first', { storageLocation: 'main' })]);
    const [ba, bb] = await Promise.all([
      a.waitPhase('backups', 'first', ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation']),
      b.waitPhase('backups', 'first', ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation']),
    ]);
    expect(ba.status, JSON.stringify(ba.status)).toMatchObject({ phase: 'Completed' });
    expect(bb.status, JSON.stringify(bb.status)).toMatchObject({ phase: 'Completed' });
    const vols: Record<string, VolumeState> = {};
    for (const v of ba.status!.volumes ?? []) vols[v.pvc!] = v;
    expect(vols.data).toMatchObject({ phase: 'Completed', pod: 'app', node: 'node-1' });
    expect(vols.idle).toMatchObject({ phase: 'Completed' });
    expect(vols.idle!.pod).toMatch(/^cairn-helper-idle-/);
    expect(vols.scratch).toMatchObject({ phase: 'Skipped' });
    expect(vols.scratch!.message).toContain('cairn.dev/exclude');
    expect(bb.status!.volumes![0]).toMatchObject({ pvc: 'data', node: 'node-2', phase: 'Completed' });
    expect(ba.status!.progress!.filesDone).toBeGreaterThanOrEqual(50);
    expect(ba.status!.progress!.bytesDone).toBeGreaterThan(2 << 20);
    // expiration = creation + ttl (24h for team-a, the coordinator's default 720h for team-b).
    expect(Date.parse(ba.status!.expiration!) - Date.parse(ba.metadata.creationTimestamp)).toBe(24 * 3600_000);
    expect(Date.parse(bb.status!.expiration!) - Date.parse(bb.metadata.creationTimestamp)).toBe(720 * 3600_000);
    // The helper pod is gone once the backup is done.
    const pods = (await a.core.listNamespacedPod({ namespace: a.namespace })).items.map((p) => p.metadata!.name!);
    expect(pods.filter((p) => p.startsWith('cairn-helper-'))).toEqual([]);

    // Wipe: the pods and PVCs go; the Restores recreate the PVCs of the same names.
    await Promise.all([a.deletePod('app'), b.deletePod('app')]);
    await Promise.all([a.deletePvc('data'), a.deletePvc('idle'), b.deletePvc('data')]);
    await Promise.all([a.restore('back', { backupName: 'first' }), b.restore('back', { backupName: 'first' })]);
    const [ra, rb] = await Promise.all([
      a.waitPhase('restores', 'back', ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation']),
      b.waitPhase('restores', 'back', ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation']),
    ]);
    expect(ra.status, JSON.stringify(ra.status)).toMatchObject({ phase: 'Completed' });
    expect(rb.status, JSON.stringify(rb.status)).toMatchObject({ phase: 'Completed' });
    expect(await checksums(await a.backingDir('data'))).toEqual(before.a);
    expect(await checksums(await a.backingDir('idle'))).toEqual(before.aIdle);
    expect(await checksums(await b.backingDir('data'))).toEqual(before.b);
    // The opted-out PVC was not in the backup, so nothing was restored for it.
    expect(ra.status!.volumes!.map((v) => v.pvc).sort()).toEqual(['data', 'idle']);
  });
});
