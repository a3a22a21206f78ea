// The agent re-verifies every mount it is sent: a pod path that is not the staging mount of the
// job's volumeHandle (a bind of another directory of the same file system, or no mount at all)
// fails with CAIRN_E_MOUNT_MISMATCH, and nothing is read or written.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { kubeAs } from '../harness/clients.ts';
import { pod } from '../harness/builders.ts';
import { waitFor } from '../harness/wait.ts';
import { bindMount, unmount } from '../harness/sim/mounts.ts';
import { podVolumePath } from '../harness/sim/kubelet.ts';
import { keys, tenantStore } from '../engine/helpers.ts';
import { backupJob, coordinatorTo, mountedVolume, restoreJob, storageTarget, type MountedVolume } from './agent-fixtures.ts';

const cluster = inject('cluster');
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/**
 * The same volume reference, claimed for another Running pod on the same node (one without
 * volumes, so the simulated kubelet leaves its directory alone) whose path the test controls.
 */
async function forged(v: MountedVolume): Promise<MountedVolume> {
  const core = kubeAs(cluster, `${v.pod.metadata!.namespace}-admin`).makeApiClient(CoreV1Api);
  const name = `holder-${randomUUID().slice(0, 8)}`;
  const namespace = v.pod.metadata!.namespace!;
  await core.createNamespacedPod({ namespace, body: pod(name, namespace).onNode(v.node).build() });
  const holder = await waitFor(`${name} Running`, async () => {
    const p = await core.readNamespacedPod({ name, namespace });
    return p.status?.phase === 'Running' ? p : undefined;
  });
  const podUid = holder.metadata!.uid!;
  const node = cluster.nodes.find((n) => n.name === v.node)!;
  return { ...v, ref: { ...v.ref, podUid }, path: podVolumePath(node.kubeletRoot, podUid, 'kubernetes.io~csi', v.pv.metadata!.name!) };
}

describe('mount verification by the agent', () => {
  it('refuses a bind mount of another directory made to look like the volume', async () => {
    const victim = await mountedVolume(cluster, 'team-b', 'mm-victim');
    await writeFile(join(victim.path, 'private.txt'), 'team-b data');
    const mine = await mountedVolume(cluster, 'team-a', 'mm-mine', victim.node);
    // A path for team-a's volume that is really a bind of team-b's data (same device, other root).
    const fake = await forged(mine);
    await bindMount(victim.path, fake.path);
    cleanups.push(() => unmount(fake.path));
    const prefix = `mm/${randomUUID()}`;
    const r = await coordinatorTo(cluster, mine.node).backup(backupJob(fake, storageTarget(cluster, 'team-a', prefix), 'stolen'));
    expect(r).toMatchObject({ ok: false, errorCode: 'CAIRN_E_MOUNT_MISMATCH' });
    expect(r.message).toContain('is not the staging mount of its volumeHandle');
    expect(r.message).toContain('nothing was read or written');
    expect(await keys(tenantStore(cluster, 'team-a', prefix))).toEqual([]);

    // Benign twin: the real pod path of the same volume is accepted.
    const ok = await coordinatorTo(cluster, mine.node).backup(backupJob(mine, storageTarget(cluster, 'team-a', prefix), 'honest'));
    expect(ok).toMatchObject({ ok: true });
  });

  it('refuses a pod path that is not a mount point, for backup and for restore', async () => {
    const mine = await mountedVolume(cluster, 'team-a', 'mm-plain');
    const fake = await forged(mine);
    await mkdir(fake.path, { recursive: true });
    await writeFile(join(fake.path, 'planted.txt'), 'x');
    const agent = coordinatorTo(cluster, mine.node);
    const storage = storageTarget(cluster, 'team-a', `mm/${randomUUID()}`);
    expect(await agent.backup(backupJob(fake, storage, 'b'))).toMatchObject({ ok: false, errorCode: 'CAIRN_E_MOUNT_MISMATCH' });
    expect(await agent.restore(restoreJob(fake, storage, 'b', 'mm-plain'))).toMatchObject({ ok: false, errorCode: 'CAIRN_E_MOUNT_MISMATCH' });
    expect(await readdir(fake.path)).toEqual(['planted.txt']);
  });

  it("refuses a job that names another volume's handle for this pod's path", async () => {
    const a = await mountedVolume(cluster, 'team-a', 'mm-a');
    const b = await mountedVolume(cluster, 'team-b', 'mm-b', a.node);
    const job = backupJob({ ...a, ref: { ...a.ref, source: b.ref.source } }, storageTarget(cluster, 'team-a', `mm/${randomUUID()}`), 'cross');
    expect(await coordinatorTo(cluster, a.node).backup(job)).toMatchObject({ ok: false, errorCode: 'CAIRN_E_MOUNT_MISMATCH' });
  });
});
