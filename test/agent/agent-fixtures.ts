// Building blocks of the agent suites: a tenant pod with a volume on a simulated node, job
// messages for it, and a connection to an agent as the coordinator.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CoreV1Api, type V1PersistentVolume, type V1Pod } from '@kubernetes/client-node';
import { AgentConnection } from '../../common/src/agent-client/agent-client.ts';
import type { BackupJob, RestoreJob, StorageTarget, VolumeRef } from '../../common/src/generated/proto/agent.ts';
import type { ClusterInfo } from '../harness/cluster.ts';
import { kubeAs } from '../harness/clients.ts';
import { pod, pvc } from '../harness/builders.ts';
import { waitFor } from '../harness/wait.ts';
import { podVolumePath } from '../harness/sim/kubelet.ts';

export interface MountedVolume {
  pod: V1Pod;
  pv: V1PersistentVolume;
  pvcUid: string;
  node: string;
  /** The volume as the pod sees it (the simulated kubelet's mount). */
  path: string;
  ref: VolumeRef;
}

/** A PVC of the local StorageClass mounted by a Running pod, in `namespace`. */
export async function mountedVolume(cluster: ClusterInfo, namespace: string, name: string, node?: string): Promise<MountedVolume> {
  const core = kubeAs(cluster, `${namespace}-admin`).makeApiClient(CoreV1Api);
  const admin = kubeAs(cluster, 'admin').makeApiClient(CoreV1Api);
  await core.createNamespacedPersistentVolumeClaim({ namespace, body: pvc(name, namespace).build() });
  const bound = await waitFor(`${name} Bound`, async () => {
    const c = await core.readNamespacedPersistentVolumeClaim({ name, namespace });
    return c.status?.phase === 'Bound' ? c : undefined;
  });
  const p = pod(`${name}-pod`, namespace).withPvc(name);
  if (node) p.onNode(node);
  await core.createNamespacedPod({ namespace, body: p.build() });
  const running = await waitFor(`${name}-pod Running`, async () => {
    const x = await core.readNamespacedPod({ name: `${name}-pod`, namespace });
    return x.status?.phase === 'Running' ? x : undefined;
  });
  const pv = await admin.readPersistentVolume({ name: bound.spec!.volumeName! });
  const simNode = cluster.nodes.find((n) => n.name === running.spec!.nodeName)!;
  return {
    pod: running, pv, pvcUid: bound.metadata!.uid!, node: simNode.name,
    path: podVolumePath(simNode.kubeletRoot, running.metadata!.uid!, 'kubernetes.io~csi', pv.metadata!.name!),
    ref: {
      podUid: running.metadata!.uid!, volumeName: name, pluginDir: 'kubernetes.io~csi', pvName: pv.metadata!.name!,
      source: { $case: 'csi', value: { driver: pv.spec!.csi!.driver, volumeHandle: pv.spec!.csi!.volumeHandle } },
    },
  };
}

export function storageTarget(cluster: ClusterInfo, tenant: string, prefix: string): StorageTarget {
  const t = cluster.minio.tenants[tenant]!;
  return {
    endpoint: cluster.minio.endpoint, pinnedAddress: '127.0.0.1', bucket: t.bucket, prefix, region: 'us-east-1', forcePathStyle: true, caCertPem: '',
    credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey, sessionToken: '' },
  };
}

export function backupJob(v: MountedVolume, storage: StorageTarget, backupName: string, namespace = 'team-a'): BackupJob {
  return {
    identity: { jobId: randomUUID(), namespace, ownerKind: 'Backup', ownerName: backupName, attempt: 1 },
    volume: v.ref, storage, backupName, volumeId: v.ref.volumeName, lineage: { clusterUid: 'test-cluster', pvcUid: v.pvcUid },
    options: { progressIntervalMs: 0 },
  };
}

export function restoreJob(target: MountedVolume, storage: StorageTarget, backupName: string, sourceVolumeId: string, namespace = 'team-a'): RestoreJob {
  return {
    identity: { jobId: randomUUID(), namespace, ownerKind: 'Restore', ownerName: `restore-${backupName}`, attempt: 1 },
    volume: target.ref, storage, backupName, sourceVolumeId, paths: [], maxBytes: 1 << 30,
  };
}

/** A connection to `node`'s agent with the coordinator's certificate. */
export function coordinatorTo(cluster: ClusterInfo, node: string, address?: string): AgentConnection {
  const a = cluster.agents.find((x) => x.node === node)!;
  const c = cluster.agentPki.coordinator;
  return new AgentConnection(node, address ?? a.address, { ca: readFileSync(cluster.agentPki.ca), cert: readFileSync(c.cert), key: readFileSync(c.key) });
}
