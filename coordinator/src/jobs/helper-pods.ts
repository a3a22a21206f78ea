// Cairn's helper pods at run time: created for a PVC that no running pod mounts (a backup), or
// for the target PVC of a restore; waited for until the kubelet runs it (so its mount exists and
// the resolver can verify it); deleted when the job is done. Owned by the Backup or Restore, so
// garbage collection removes any that outlive a crash.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CoreV1Api, V1OwnerReference, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { API_VERSION } from '../../../common/src/crds.ts';
import { CairnError } from '../../../common/src/errors.ts';
import { helperPodSpec } from '../resolve/helper-pod.ts';
import { helperLabel } from '../resolve/types.ts';

export function httpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function ownerOf(kind: 'Backup' | 'Restore', obj: { metadata: { name?: string; uid?: string } }): V1OwnerReference {
  return { apiVersion: API_VERSION, kind, name: obj.metadata.name!, uid: obj.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

/** On every helper pod: the uid of the Backup or Restore it serves (owner references cannot cross namespaces). */
export const helperOwnerAnnotation = 'cairn.dev/owner-uid';

export interface HelperPodRequest {
  pvc: V1PersistentVolumeClaim;
  owner: V1OwnerReference;
  /** The owner's namespace: an owner reference is set only in it (the garbage collector deletes a pod whose owner is not in its namespace at once). */
  ownerNamespace: string;
  nodes: readonly string[];
  readOnly: boolean;
  image?: string;
}

/**
 * Creates the helper pod; one of the same name and owner is reused. The name is fixed per PVC, so
 * a helper of an earlier run (another Backup or Restore of the same PVC) may still be going away:
 * wait for it to be gone, for up to `timeoutMs`.
 */
export async function createHelperPod(core: CoreV1Api, r: HelperPodRequest, o: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<V1Pod> {
  const namespace = r.pvc.metadata!.namespace!;
  const spec = helperPodSpec(r.pvc, { nodes: r.nodes, readOnly: r.readOnly, ...(namespace === r.ownerNamespace ? { ownerReference: r.owner } : {}), ...(r.image ? { image: r.image } : {}) });
  spec.metadata!.annotations = { ...spec.metadata!.annotations, [helperOwnerAnnotation]: r.owner.uid };
  const name = spec.metadata!.name!;
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  for (;;) {
    o.signal?.throwIfAborted();
    try {
      return await core.createNamespacedPod({ namespace, body: spec });
    } catch (err) {
      if (httpCode(err) !== 409) throw new CairnError('CAIRN_E_INTERNAL', `creating helper pod ${name} for PVC ${r.pvc.metadata!.name} failed${httpCode(err) ? ` (HTTP ${httpCode(err)})` : ''}`, { cause: err });
    }
    let existing: V1Pod | undefined;
    try {
      existing = await core.readNamespacedPod({ namespace, name });
    } catch (err) {
      if (httpCode(err) !== 404) throw err; // gone between the two calls: create again
    }
    if (existing) {
      if (existing.metadata?.annotations?.[helperOwnerAnnotation] === r.owner.uid && !existing.metadata?.deletionTimestamp) return existing;
      const ours = existing.metadata?.labels?.[helperLabel] === 'true';
      if (!ours) throw new CairnError('CAIRN_E_VOLUME_REFUSED', `a pod named ${name} exists in ${namespace} and is not Cairn's helper for this ${r.owner.kind}`);
      if (!existing.metadata?.deletionTimestamp) await deleteHelperPod(core, namespace, name); // another run's helper, left behind
    }
    if (Date.now() > deadline) throw new CairnError('CAIRN_E_VOLUME_NOT_READY', `helper pod ${name} of an earlier run of PVC ${r.pvc.metadata!.name} did not go away`);
    await sleep(300, undefined, o.signal ? { signal: o.signal } : {});
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
