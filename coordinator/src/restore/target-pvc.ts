// The PVC a volume is restored into: created by the Restore when absent (by default of the
// source PVC's name and size, StorageClass and access modes, as recorded in the manifest), and
// refused when a pod other than this restore's helper mounts it (DESIGN 3.6: a restore writes
// only into a volume no running tenant container mounts).
import type { CoreV1Api, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { CairnError } from '../../../common/src/errors.ts';
import type { VolumeRecord } from '../../../common/src/format/manifest.ts';
import { httpCode } from '../jobs/helper-pods.ts';
import { isTerminated, volumesMounting } from '../resolve/pod-choice.ts';

export const restoredByLabel = 'cairn.dev/restored-by';
const minBytes = 1 << 20;

/** The size to ask for: the source's capacity, or the data plus a margin when unknown. */
export function requestedBytes(v: VolumeRecord): number {
  const cap = Number(v.source?.capacity ?? 0);
  if (Number.isSafeInteger(cap) && cap > 0) return cap;
  return Math.max(minBytes, Math.ceil(v.bytes * 1.2));
}

export async function ensureTargetPvc(core: CoreV1Api, o: { namespace: string; name: string; volume: VolumeRecord; restore: string }): Promise<{ pvc: V1PersistentVolumeClaim; created: boolean }> {
  try {
    return { pvc: await core.readNamespacedPersistentVolumeClaim({ namespace: o.namespace, name: o.name }), created: false };
  } catch (err) {
    if (httpCode(err) !== 404) throw err;
  }
  // The source's StorageClass; a class this cluster lacks leaves the PVC Pending with an Event.
  const storageClass = o.volume.source?.storageClass;
  const accessModes = (o.volume.source?.accessModes ?? 'ReadWriteOnce').split(',').filter((m) => ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'].includes(m));
  const body: V1PersistentVolumeClaim = {
    apiVersion: 'v1', kind: 'PersistentVolumeClaim',
    metadata: { name: o.name, namespace: o.namespace, labels: { [restoredByLabel]: o.restore } },
    spec: {
      accessModes: accessModes.length > 0 ? accessModes : ['ReadWriteOnce'],
      resources: { requests: { storage: String(requestedBytes(o.volume)) } },
      ...(storageClass ? { storageClassName: storageClass } : {}),
    },
  };
  try {
    return { pvc: await core.createNamespacedPersistentVolumeClaim({ namespace: o.namespace, body }), created: true };
  } catch (err) {
    if (httpCode(err) === 409) return { pvc: await core.readNamespacedPersistentVolumeClaim({ namespace: o.namespace, name: o.name }), created: false };
    throw new CairnError('CAIRN_E_INTERNAL', `creating PVC ${o.name} failed${httpCode(err) ? ` (HTTP ${httpCode(err)})` : ''}`, { cause: err });
  }
}

/**
 * Pods of the namespace that mount the PVC and have not ended, except this restore's own helper
 * (known by its uid: a label is something a tenant can copy).
 */
export function podsMounting(pods: readonly V1Pod[], pvc: V1PersistentVolumeClaim, helperUid?: string): string[] {
  return pods
    .filter((p) => !isTerminated(p) && p.metadata?.uid !== helperUid && volumesMounting(p, pvc).length > 0)
    .map((p) => p.metadata!.name!);
}

export async function refuseIfMounted(core: CoreV1Api, pvc: V1PersistentVolumeClaim, helperUid?: string): Promise<void> {
  const pods = (await core.listNamespacedPod({ namespace: pvc.metadata!.namespace! })).items;
  const users = podsMounting(pods, pvc, helperUid);
  if (users.length > 0) {
    throw new CairnError('CAIRN_E_VOLUME_REFUSED', `PVC ${pvc.metadata!.name} is mounted by pod ${users.slice(0, 3).join(', ')}; a restore writes only into a PVC no running pod mounts: stop the pod or restore into another PVC with spec.targets`);
  }
}
