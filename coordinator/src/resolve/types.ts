// What the verified mount resolver takes and returns (DESIGN 3.4; docs/resolve.md).
// Every PVC of the namespace comes back exactly once: ready (a verified mount), needing a helper
// pod, excluded by the tenant's choice, or refused with a rule, a code and a message naming it.
import type { V1LabelSelector } from '@kubernetes/client-node';
import type { ErrorCode } from '../../../common/src/errors.ts';
import type { VolumeRef } from '../../../common/src/generated/proto/agent.ts';

export const tenantLabelDefault = 'cairn.dev/tenant';
export const excludeAnnotation = 'cairn.dev/exclude';
export const helperLabel = 'cairn.dev/helper';
/** Set by a provisioner (external-provisioner, in-tree) on a PV it created; PVs are admin-only. */
export const provisionedByAnnotation = 'pv.kubernetes.io/provisioned-by';
/** Set by the PV controller on a PV whose claimRef it wrote (it was not pre-bound to the claim). */
export const boundByControllerAnnotation = 'pv.kubernetes.io/bound-by-controller';

export interface AdminPolicy {
  /** Provisioners (CSI driver names) whose dynamically provisioned PVs are trusted. */
  provisionerAllowList: readonly string[];
  /** The label an admin puts on a PV to give it to a namespace; `cairn.dev/tenant`. */
  tenantLabel: string;
}

export interface ResolveOptions {
  namespace: string;
  policy: AdminPolicy;
  /** Only PVCs mounted by a (non-terminated) pod matching this selector are backed up. */
  podSelector?: V1LabelSelector;
  /** PVC names; when set, only these (a listed PVC that does not exist is refused). */
  includeVolumes?: readonly string[];
  /** PVC names to skip. */
  excludeVolumes?: readonly string[];
  /** Nodes that run a Cairn agent; a pod elsewhere cannot have its volume moved. */
  agentNodes: Iterable<string>;
  signal?: AbortSignal;
}

/** Which rule refused a volume: stable identifiers that tests and callers may branch on. */
export type RefusalRule =
  | 'pvc-not-found'
  | 'pvc-block-mode'
  | 'pvc-not-bound'
  | 'pv-not-found'
  | 'pv-not-bound'
  | 'pv-claimref-mismatch'
  | 'pv-labelled-for-other-namespace'
  | 'pv-not-provisioned'
  | 'pv-provisioner-not-allowed'
  | 'pv-driver-mismatch'
  | 'pv-bound-by-binder'
  | 'pv-older-than-claim'
  | 'pv-block-mode'
  | 'pv-source-unsupported'
  | 'pv-nfs-source-invalid'
  | 'pv-identity-shared'
  | 'pod-no-agent';

/** How a PV was accepted as this namespace's own. */
export type Acceptance = 'tenant-label' | 'dynamic-provisioning';

export interface ReadyVolume {
  pvc: string;
  pvcUid: string;
  status: 'ready';
  pod: { name: string; uid: string; node: string };
  /** Exactly what the agent is sent: no path, nothing a tenant wrote but names. */
  volume: VolumeRef;
  capacityBytes: number;
  acceptedBy: Acceptance;
}

export interface HelperPodVolume {
  pvc: string;
  pvcUid: string;
  status: 'needs-helper-pod';
  pvName: string;
  capacityBytes: number;
  acceptedBy: Acceptance;
}

export type ExclusionCause = 'pvc-annotation' | 'pod-annotation' | 'exclude-volumes' | 'include-volumes' | 'pod-selector';

export interface ExcludedVolume {
  pvc: string;
  pvcUid: string;
  status: 'excluded';
  by: ExclusionCause;
  reason: string;
}

export interface RefusedVolume {
  pvc: string;
  /** Absent only for a PVC named in includeVolumes that does not exist. */
  pvcUid?: string;
  status: 'refused';
  rule: RefusalRule;
  code: ErrorCode;
  /** For the tenant (Backup status): names the PVC or PV, never another namespace's objects. */
  reason: string;
  /** For the admin (logs, Events in the admin namespace): may name other namespaces' PVs and backing storage. */
  adminDetail?: string;
}

export type ResolvedVolume = ReadyVolume | HelperPodVolume | ExcludedVolume | RefusedVolume;
