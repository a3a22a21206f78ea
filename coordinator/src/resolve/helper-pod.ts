// The Cairn helper pod: holds a PVC that no running pod mounts, so the kubelet mounts it on a node
// with an agent and the resolver can find a verified mount (pod uid, node) for it. It runs nothing
// but a pause process, has no service account token, no privileges, and passes the "restricted"
// Pod Security Standard. Read-only for backups; a restore asks for a writable mount.
import { createHash } from 'node:crypto';
import type { V1OwnerReference, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { helperLabel } from './types.ts';

export const helperVolumeName = 'data';
export const defaultHelperImage = 'registry.k8s.io/pause:3.10';
/** Annotation on the helper pod naming the uid of the PVC it holds. */
export const helperPvcUidAnnotation = 'cairn.dev/pvc-uid';

export interface HelperPodOptions {
  /** Nodes the pod may run on (those with an agent); any node when absent. */
  nodes?: readonly string[];
  /** Mount the PVC read-only (default); a restore needs false. */
  readOnly?: boolean;
  image?: string;
  ownerReference?: V1OwnerReference;
}

/** A deterministic name per PVC uid: "cairn-helper-<pvc name, cut>-<8 hex of the uid's hash>". */
export function helperPodName(pvc: V1PersistentVolumeClaim): string {
  const hash = createHash('sha256').update(pvc.metadata!.uid!).digest('hex').slice(0, 8);
  const stem = pvc.metadata!.name!.slice(0, 63 - 'cairn-helper-'.length - 9).replace(/[-.]+$/, '');
  return `cairn-helper-${stem}-${hash}`;
}

export function helperPodSpec(pvc: V1PersistentVolumeClaim, opts: HelperPodOptions = {}): V1Pod {
  const readOnly = opts.readOnly ?? true;
  const nodes = opts.nodes;
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: helperPodName(pvc), namespace: pvc.metadata!.namespace!,
      labels: { [helperLabel]: 'true' },
      annotations: { [helperPvcUidAnnotation]: pvc.metadata!.uid! },
      ...(opts.ownerReference ? { ownerReferences: [opts.ownerReference] } : {}),
    },
    spec: {
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 0,
      ...(nodes && nodes.length > 0
        // One term per node (terms are ORed): a node-name field selector takes exactly one value.
        ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: nodes.map((n) => ({ matchFields: [{ key: 'metadata.name', operator: 'In', values: [n] }] })) } } } }
        : {}),
      securityContext: { runAsNonRoot: true, runAsUser: 65535, runAsGroup: 65535, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{
        name: 'hold',
        image: opts.image ?? defaultHelperImage,
        command: ['/pause'],
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        resources: { requests: { cpu: '1m', memory: '8Mi' }, limits: { memory: '16Mi' } },
        volumeMounts: [{ name: helperVolumeName, mountPath: '/data', readOnly }],
      }],
      volumes: [{ name: helperVolumeName, persistentVolumeClaim: { claimName: pvc.metadata!.name!, readOnly } }],
    },
  };
}
