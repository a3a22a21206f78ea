// Backup and restore jobs through a real agent over mTLS gRPC, run in its sandbox, against real
// mounts of the simulated kubelet and real MinIO.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { writeManifest } from '../../agent/src/engine/index.ts';
import type { VolumeRecord } from '../../common/src/format/manifest.ts';
import { digestTree, tenantStore } from '../engine/helpers.ts';
import { backupJob, coordinatorTo, mountedVolume, restoreJob, storageTarget } from './agent-fixtures.ts';

const cluster = inject('cluster');

describe('agent jobs', () => {
  it('backs up a pod volume and restores it into another PVC, byte-identical', async () => {
    const src = await mountedVolume(cluster, 'team-a', 'job-src');
    await mkdir(join(src.path, 'dir'), { recursive: true });
    await writeFile(join(src.path, 'dir/data.bin'), randomBytes(3 << 20));
    await writeFile(join(src.path, 'hello.txt'), 'hello from the pod');
    const prefix = `agent/${randomUUID()}`;
    const storage = storageTarget(cluster, 'team-a', prefix);
    const agent = coordinatorTo(cluster, src.node);
    const progress: number[] = [];
    let accepted = '';
    const r = await agent.backup(backupJob(src, storage, 'b1'), { onProgress: (p) => progress.push(p.bytesDone), onAccepted: (a) => (accepted = a.node) });
    expect(r).toMatchObject({ ok: true, errorCode: '', files: 2 });
    expect(accepted).toBe(src.node);
    expect(progress.length).toBeGreaterThan(0);
    const record = JSON.parse(r.volumeRecordJson) as VolumeRecord;
    expect(record.id).toBe('job-src');
    // The coordinator writes the manifest once every volume is done.
    await writeManifest(tenantStore(cluster, 'team-a', prefix), 'b1', [record]);

    const dst = await mountedVolume(cluster, 'team-a', 'job-dst');
    const restored = await coordinatorTo(cluster, dst.node).restore(restoreJob(dst, storage, 'b1', 'job-src'));
    expect(restored).toMatchObject({ ok: true, files: 2 });
    expect(await digestTree(dst.path)).toEqual(await digestTree(src.path));
    agent.close();
  });

  it('refuses a malformed job before starting it, naming the field', async () => {
    const src = await mountedVolume(cluster, 'team-a', 'job-bad');
    const agent = coordinatorTo(cluster, src.node);
    const job = backupJob(src, storageTarget(cluster, 'team-a', 'x'), 'b1');
    for (const [mutate, field] of [
      [(j: typeof job) => { j.volume!.podUid = '../../etc'; }, 'volume.podUid'],
      [(j: typeof job) => { j.volume!.pvName = 'a/../../b'; }, 'volume.pvName'],
      [(j: typeof job) => { j.volume!.pluginDir = '../kubernetes.io~csi'; }, 'volume.pluginDir'],
      [(j: typeof job) => { j.backupName = 'Bad_Name'; }, 'backupName'],
      [(j: typeof job) => { j.storage!.encryptionKey = Buffer.alloc(5); }, 'storage.encryptionKey'],
    ] as const) {
      const bad = structuredClone(job);
      mutate(bad);
      await expect(agent.backup(bad)).rejects.toMatchObject({ code: 'CAIRN_E_INVALID_ARGUMENT', message: expect.stringContaining(field) as string });
    }
    agent.close();
  });

  it('refuses a storage endpoint address that is loopback and not allow-listed', async () => {
    const src = await mountedVolume(cluster, 'team-a', 'job-ssrf');
    const agent = coordinatorTo(cluster, src.node);
    const storage = { ...storageTarget(cluster, 'team-a', 'x'), endpoint: 'http://metadata.internal:80', pinnedAddress: '169.254.169.254' };
    await expect(agent.backup(backupJob(src, storage, 'b1'))).rejects.toMatchObject({ code: 'CAIRN_E_STORE_BAD_ENDPOINT' });
    agent.close();
  });
});
