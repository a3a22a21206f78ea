// Cairn's helper pods at run time: created for a PVC that no running pod mounts (a backup), or
// for the target PVC of a restore; waited for until the kubelet runs it (so its mount exists and
// the resolver can verify it); deleted when the job is done. Owned by the Backup or Restore, so
// garbage collection removes any that outlive a crash.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CoreV1Api, V1OwnerReference, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { API_VERSION } from '../../../common/src/crds.ts';
import { CairnError } from '../../../common/src/errors.ts';
import { helperPodSpec } from '../resolve/helper-pod.ts';

export function httpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function ownerOf(kind: 'Backup' | 'Restore', obj: { metadata: { name?: string; uid?: string } }): V1OwnerReference {
  return { apiVersion: API_VERSION, kind, name: obj.metadata.name!, uid: obj.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

export interface HelperPodRequest {
  pvc: V1PersistentVolumeClaim;
  owner: V1OwnerReference;
  nodes: readonly string[];
  readOnly: boolean;
  image?: string;
}

/** Creates the helper pod (an existing one of the same name and owner is reused). */
export async function createHelperPod(core: CoreV1Api, r: HelperPodRequest): Promise<V1Pod> {
  const spec = helperPodSpec(r.pvc, { nodes: r.nodes, readOnly: r.readOnly, ownerReference: r.owner, ...(r.image ? { image: r.image } : {}) });
  const namespace = r.pvc.metadata!.namespace!;
  try {
    return await core.createNamespacedPod({ namespace, body: spec });
  } catch (err) {
    if (httpCode(err) !== 409) throw new CairnError('CAIRN_E_INTERNAL', `creating helper pod ${spec.metadata!.name} for PVC ${r.pvc.metadata!.name} failed${httpCode(err) ? ` (HTTP ${httpCode(err)})` : ''}`, { cause: err });
    const existing = await core.readNamespacedPod({ namespace, name: spec.metadata!.name! });
    const owned = (existing.metadata?.ownerReferences ?? []).some((o) => o.uid === r.owner.uid);
    if (!owned) throw new CairnError('CAIRN_E_VOLUME_REFUSED', `a pod named ${spec.metadata!.name} exists in ${namespace} and is not Cairn's helper for this ${r.owner.kind}`);
    return existing;
  }
}

/** Waits until the pod runs on a node; fails on a terminal phase or after `timeoutMs`. */
export async function waitForRunning(core: CoreV1Api, namespace: string, name: string, o: { timeoutMs: number; signal?: AbortSignal; pollMs?: number }): Promise<V1Pod> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    o.signal?.throwIfAborted();
    const pod = await core.readNamespacedPod({ namespace, name });
    const phase = pod.status?.phase;
    if (phase === 'Running' && pod.spec?.nodeName) return pod;
    if (phase === 'Failed' || phase === 'Succeeded') throw new CairnError('CAIRN_E_VOLUME_NOT_READY', `helper pod ${name} ended (${phase}) before its volume could be used`);
    if (Date.now() > deadline) {
      const why = pod.status?.conditions?.find((c) => c.status === 'False' && c.message)?.message;
      throw new CairnError('CAIRN_E_VOLUME_NOT_READY', `helper pod ${name} was not Running after ${Math.round(o.timeoutMs / 1000)} s (phase ${phase ?? 'unknown'}${why ? `: ${why.slice(0, 200)}` : ''})`);
    }
    await sleep(o.pollMs ?? 300, undefined, o.signal ? { signal: o.signal } : {});
  }
}

/** Deletes the helper pod now (grace period 0); a pod already gone is fine. */
export async function deleteHelperPod(core: CoreV1Api, namespace: string, name: string): Promise<void> {
  try {
    await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
  } catch (err) {
    if (httpCode(err) !== 404) throw err;
  }
}
