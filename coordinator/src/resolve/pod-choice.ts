// Which pod's mount of a PVC the agent is sent: a pod of the same namespace that is Running on a
// node, not terminating, has a uid, and names the PVC in a volume (persistentVolumeClaim.claimName,
// or a generic ephemeral volume whose PVC the pod owns). Ready pods first, then the oldest, then by
// name, so the choice is deterministic. Pod hostPath volumes are never considered: only PVCs are.
import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';

export interface PodMount {
  pod: V1Pod;
  /** The pod's name for the volume (spec.volumes[].name); the agent is sent it as volumeName. */
  volumeName: string;
}

/** Names of the pod's volumes that mount `pvc`, sorted. */
export function volumesMounting(pod: V1Pod, pvc: V1PersistentVolumeClaim): string[] {
  const claim = pvc.metadata!.name!;
  if (pod.metadata?.namespace !== pvc.metadata?.namespace) return [];
  const out: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName === claim) out.push(v.name);
    else if (v.ephemeral && `${pod.metadata?.name}-${v.name}` === claim && ownedBy(pvc, pod)) out.push(v.name);
  }
  return out.sort();
}

/** A generic ephemeral volume's PVC is controlled by its pod (the kubelet checks the same). */
function ownedBy(pvc: V1PersistentVolumeClaim, pod: V1Pod): boolean {
  const uid = pod.metadata?.uid;
  return !!uid && (pvc.metadata?.ownerReferences ?? []).some((o) => o.kind === 'Pod' && o.uid === uid && o.controller === true);
}

export function isTerminated(pod: V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** Running on a node, not being deleted, with a uid. */
export function isEligible(pod: V1Pod): boolean {
  return pod.status?.phase === 'Running' && !!pod.spec?.nodeName && !pod.metadata?.deletionTimestamp && !!pod.metadata?.uid;
}

export function isReady(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function created(pod: V1Pod): number {
  const t = pod.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : Number.MAX_SAFE_INTEGER;
}

/** Eligible mounts in order of preference: Ready, then oldest, then by pod name. */
export function rankMounts(mounts: readonly PodMount[]): PodMount[] {
  return mounts.filter((m) => isEligible(m.pod)).sort((a, b) =>
    Number(isReady(b.pod)) - Number(isReady(a.pod))
    || created(a.pod) - created(b.pod)
    || (a.pod.metadata!.name! < b.pod.metadata!.name! ? -1 : a.pod.metadata!.name! > b.pod.metadata!.name! ? 1 : 0));
}

export type PodChoice =
  | { kind: 'pod'; mount: PodMount }
  | { kind: 'none' }
  | { kind: 'no-agent'; mount: PodMount };

/** The preferred eligible mount on a node with an agent; `no-agent` when eligible pods run only elsewhere. */
export function choosePod(mounts: readonly PodMount[], agentNodes: ReadonlySet<string>): PodChoice {
  const ranked = rankMounts(mounts);
  const onAgent = ranked.find((m) => agentNodes.has(m.pod.spec!.nodeName!));
  if (onAgent) return { kind: 'pod', mount: onAgent };
  if (ranked[0]) return { kind: 'no-agent', mount: ranked[0] };
  return { kind: 'none' };
}
