// Where each kind the coordinator watches lives in the API. Secrets are deliberately absent: the
// coordinator may only `get` a Secret a BackupStorageLocation names (manifests/rbac), so no
// tenant credential sits in an informer's memory.
import { GROUP, PLURALS, VERSION, isNamespaced, type CairnKind } from '../../../common/src/crds.ts';
import type { ResourceType } from './kube-http.ts';

export function cairnResource(kind: CairnKind): ResourceType {
  return { group: GROUP, version: VERSION, plural: PLURALS[kind], kind, namespaced: isNamespaced(kind) };
}

export const coreResources = {
  Pod: { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  PersistentVolumeClaim: { group: '', version: 'v1', plural: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', namespaced: true },
  PersistentVolume: { group: '', version: 'v1', plural: 'persistentvolumes', kind: 'PersistentVolume', namespaced: false },
  Namespace: { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  Node: { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false },
} as const satisfies Record<string, ResourceType>;
