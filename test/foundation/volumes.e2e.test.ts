// The real PV controller binds claims of the local StorageClass to PVs the simulated CSI
// provisioner creates; the simulated kubelet mounts them as a kubelet would.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, inject, it } from 'vitest';
import { mountAt, readMountInfo } from '../../common/src/mount/mountinfo.ts';
import { kubeAs } from '../harness/clients.ts';
import { pod, pvc } from '../harness/builders.ts';
import { waitFor } from '../harness/wait.ts';
import { csiBackingDir, csiStagingPath, podVolumePath } from '../harness/sim/kubelet.ts';
import { isNotFound } from '../harness/kube-errors.ts';

const cluster = inject('cluster');
const ns = 'team-a';

describe('volumes of the local StorageClass', () => {
  it('are provisioned, bound, mounted like a CSI kubelet mount, and outlive their pod', async () => {
    const core = kubeAs(cluster, 'team-a-admin').makeApiClient(CoreV1Api);
    const admin = kubeAs(cluster, 'admin').makeApiClient(CoreV1Api);
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: pvc('data-1', ns).build() });
    const bound = await waitFor('data-1 to be Bound', async () => {
      const c = await core.readNamespacedPersistentVolumeClaim({ name: 'data-1', namespace: ns });
      return c.status?.phase === 'Bound' ? c : undefined;
    });
    const pv = await admin.readPersistentVolume({ name: bound.spec!.volumeName! });
    expect(pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by']).toBe(cluster.csiDriver);
    expect(pv.spec?.claimRef).toMatchObject({ namespace: ns, name: 'data-1', uid: bound.metadata!.uid });

    await core.createNamespacedPod({ namespace: ns, body: pod('app-1', ns).withPvc('data-1').build() });
    const running = await waitFor('app-1 to be Running', async () => {
      const p = await core.readNamespacedPod({ name: 'app-1', namespace: ns });
      return p.status?.phase === 'Running' ? p : undefined;
    });
    const node = cluster.nodes.find((n) => n.name === running.spec!.nodeName)!;
    expect(node).toBeDefined();
    const csi = pv.spec!.csi!;
    const stagingPath = csiStagingPath(node.kubeletRoot, csi.driver, csi.volumeHandle);
    const podPath = podVolumePath(node.kubeletRoot, running.metadata!.uid!, 'kubernetes.io~csi', pv.metadata!.name!);
    const mounts = await readMountInfo();
    const staging = mountAt(mounts, stagingPath);
    const published = mountAt(mounts, podPath);
    expect(staging).toBeDefined();
    expect(published).toBeDefined();
    expect({ device: published!.device, root: published!.root }).toEqual({ device: staging!.device, root: staging!.root });

    await writeFile(join(podPath, 'hello.txt'), 'written by the pod');
    await core.deleteNamespacedPod({ name: 'app-1', namespace: ns });
    await waitFor('app-1 to be gone', async () => {
      try {
        await core.readNamespacedPod({ name: 'app-1', namespace: ns });
        return false;
      } catch (err) {
        return isNotFound(err);
      }
    });
    await waitFor('both mounts to be gone', async () => {
      const after = await readMountInfo();
      return !mountAt(after, podPath) && !mountAt(after, stagingPath);
    }, { timeoutMs: 10_000 });
    const backing = csiBackingDir(cluster.volumesDir, csi.driver, csi.volumeHandle);
    expect(await readFile(join(backing, 'hello.txt'), 'utf8')).toBe('written by the pod');
  });

  it('a second claim naming an already-bound PV in volumeName stays Pending', async () => {
    const core = kubeAs(cluster, 'team-a-admin').makeApiClient(CoreV1Api);
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: pvc('data-2', ns).build() });
    const first = await waitFor('data-2 to be Bound', async () => {
      const c = await core.readNamespacedPersistentVolumeClaim({ name: 'data-2', namespace: ns });
      return c.status?.phase === 'Bound' ? c : undefined;
    });
    const thief = kubeAs(cluster, 'team-b-admin').makeApiClient(CoreV1Api);
    await thief.createNamespacedPersistentVolumeClaim({ namespace: 'team-b', body: pvc('steal', 'team-b').volumeName(first.spec!.volumeName!).build() });
    // The PV controller resyncs every second: give it several passes, then the claim must still wait.
    await new Promise((r) => setTimeout(r, 5_000));
    const steal = await thief.readNamespacedPersistentVolumeClaim({ name: 'steal', namespace: 'team-b' });
    expect(steal.status?.phase).toBe('Pending');
    expect(steal.spec?.volumeName).toBe(first.spec!.volumeName);
    const again = await core.readNamespacedPersistentVolumeClaim({ name: 'data-2', namespace: ns });
    expect(again.status?.phase).toBe('Bound');
  });
});
