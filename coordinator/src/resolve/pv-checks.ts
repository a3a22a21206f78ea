// The rules that make a PV provably the claim's own (DESIGN 3.4), checked against what the real PV
// controller writes (observed on kube-controller-manager v1.36.3; docs/resolve.md):
//
// - external-provisioner creates the PV with `claimRef` {namespace, name, uid} of the claim and
//   `pv.kubernetes.io/provisioned-by: <driver>`; the PV controller then finds the PV already bound
//   to the claim and adds nothing to the PV (it annotates only the PVC: bind-completed,
//   bound-by-controller). The PV is created after the claim (it needs the claim's uid).
// - When the PV controller writes the claimRef itself (an Available PV without claimRef matched
//   to a claim, or claimed by `pvc.spec.volumeName`), it adds `pv.kubernetes.io/bound-by-controller:
//   yes` to the PV.
// - A PV pre-bound by name (claimRef without uid: written so by an admin, or left so when an admin
//   removes the uid of a Released PV to make it Available) gets the uid of the next claim of that
//   name filled in and no annotation: it looks dynamic, except that the PV is older than the claim.
//
// PVC annotations (bind-completed, bound-by-controller, storage-provisioner) are written by the
// tenant as freely as by the controller and are never read here; PVs are cluster-scoped and only
// admins, provisioners and the PV controller write them.
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { CsiSource, NfsSource } from '../../../common/src/generated/proto/agent.ts';
import type { ErrorCode } from '../../../common/src/errors.ts';
import { backingIdentity, describeIdentity, isPlainExportPath, normaliseExportPath, normaliseNfsServer, sharedWithOtherNamespaces } from './backing-identity.ts';
import { boundByControllerAnnotation, provisionedByAnnotation, type Acceptance, type AdminPolicy, type RefusalRule } from './types.ts';

export interface Refusal {
  rule: RefusalRule;
  code: ErrorCode;
  reason: string;
  adminDetail?: string;
}

export type PvSource =
  | { pluginDir: 'kubernetes.io~csi'; source: { $case: 'csi'; value: CsiSource } }
  | { pluginDir: 'kubernetes.io~nfs'; source: { $case: 'nfs'; value: NfsSource } };

const refused = (rule: RefusalRule, reason: string, adminDetail?: string): Refusal => ({ rule, code: 'CAIRN_E_VOLUME_REFUSED', reason, ...(adminDetail ? { adminDetail } : {}) });

/** The PVC itself: Filesystem mode and Bound to a named PV. */
export function checkClaim(pvc: V1PersistentVolumeClaim): Refusal | undefined {
  const name = pvc.metadata!.name!;
  if (pvc.spec?.volumeMode === 'Block') {
    return { rule: 'pvc-block-mode', code: 'CAIRN_E_VOLUME_UNSUPPORTED', reason: `PVC ${name} is a Block-mode volume; Cairn backs up Filesystem volumes only (for now)` };
  }
  const phase = pvc.status?.phase ?? 'Pending';
  if (phase !== 'Bound' || !pvc.spec?.volumeName) {
    return { rule: 'pvc-not-bound', code: 'CAIRN_E_VOLUME_NOT_READY', reason: `PVC ${name} is ${phase}, not Bound to a PersistentVolume; there is nothing to back up yet` };
  }
  return undefined;
}

/** `pvc.spec.volumeName == pv.name` and `pv.spec.claimRef` {namespace, name, uid} == the PVC. */
export function checkBinding(pvc: V1PersistentVolumeClaim, pv: V1PersistentVolume): Refusal | undefined {
  const ns = pvc.metadata!.namespace!;
  const name = pvc.metadata!.name!;
  const pvName = pv.metadata!.name!;
  if (pvc.spec?.volumeName !== pvName) {
    return refused('pv-claimref-mismatch', `PVC ${name} names PV ${pvc.spec?.volumeName}, not PV ${pvName}`);
  }
  const ref = pv.spec?.claimRef;
  if (!ref) return refused('pv-claimref-mismatch', `PV ${pvName} (named by PVC ${name}) has no claimRef: it is not bound to PVC ${name}`);
  if ((ref.kind && ref.kind !== 'PersistentVolumeClaim') || ref.namespace !== ns || ref.name !== name) {
    return refused('pv-claimref-mismatch', `PV ${pvName} (named by PVC ${name}) is bound to a claim other than ${ns}/${name}`, `PV ${pvName} claimRef is ${ref.kind ?? 'PersistentVolumeClaim'} ${ref.namespace}/${ref.name}`);
  }
  if (!ref.uid || ref.uid !== pvc.metadata!.uid) {
    return refused('pv-claimref-mismatch', `PV ${pvName} is bound to ${ref.uid ? 'an earlier claim' : 'no claim yet'} named ${name}, not to this PVC ${name}`,
      `PV ${pvName} claimRef uid ${ref.uid || '(empty)'}, PVC ${ns}/${name} uid ${pvc.metadata!.uid}`);
  }
  if (pv.status?.phase !== 'Bound') {
    return { rule: 'pv-not-bound', code: 'CAIRN_E_VOLUME_NOT_READY', reason: `PV ${pvName} of PVC ${name} is ${pv.status?.phase ?? 'in no phase'}, not Bound` };
  }
  return undefined;
}

/** Whether the PV is this namespace's by an admin's label or by dynamic provisioning for exactly this claim. */
export function checkAcceptance(pvc: V1PersistentVolumeClaim, pv: V1PersistentVolume, policy: AdminPolicy): { acceptedBy: Acceptance } | Refusal {
  const ns = pvc.metadata!.namespace!;
  const name = pvc.metadata!.name!;
  const pvName = pv.metadata!.name!;
  const label = pv.metadata?.labels?.[policy.tenantLabel];
  const adminHint = `an admin may give it to this namespace with the label ${policy.tenantLabel}=${ns}`;
  if (label !== undefined) {
    if (label === ns) return { acceptedBy: 'tenant-label' };
    return refused('pv-labelled-for-other-namespace', `PV ${pvName} of PVC ${name} is labelled by an admin for another namespace, not ${ns}`, `PV ${pvName} has ${policy.tenantLabel}=${label}`);
  }
  const annotations = pv.metadata?.annotations ?? {};
  const provisioner = annotations[provisionedByAnnotation];
  if (!provisioner) {
    return refused('pv-not-provisioned', `PV ${pvName} of PVC ${name} was created statically (no ${provisionedByAnnotation} annotation) and is not labelled ${policy.tenantLabel}=${ns}; ${adminHint}`);
  }
  if (!policy.provisionerAllowList.includes(provisioner)) {
    return refused('pv-provisioner-not-allowed', `PV ${pvName} of PVC ${name} was provisioned by ${provisioner}, which is not on the admin's provisioner allow-list; ${adminHint}`);
  }
  const csiDriver = pv.spec?.csi?.driver;
  if (csiDriver !== undefined && csiDriver !== provisioner) {
    return refused('pv-driver-mismatch', `PV ${pvName} of PVC ${name} is a volume of CSI driver ${csiDriver} but says it was provisioned by ${provisioner}; ${adminHint}`);
  }
  if (Object.hasOwn(annotations, boundByControllerAnnotation)) {
    return refused('pv-bound-by-binder', `PV ${pvName} was bound to PVC ${name} by the PV controller's binder (${boundByControllerAnnotation}), not provisioned for it: a PV claimed through volumeName or a re-used Released PV; ${adminHint}`);
  }
  const pvCreated = pv.metadata?.creationTimestamp;
  const pvcCreated = pvc.metadata?.creationTimestamp;
  // Timestamps have one-second resolution: a PV provisioned for a claim is never older than it.
  if (!pvCreated || !pvcCreated || new Date(pvCreated).getTime() < new Date(pvcCreated).getTime()) {
    return refused('pv-older-than-claim', `PV ${pvName} existed before PVC ${name} was created, so it was not provisioned for this claim (a Released PV made Available and re-bound, or a PV pre-bound by name); ${adminHint}`,
      `PV ${pvName} created ${String(pvCreated)}, PVC ${ns}/${name} created ${String(pvcCreated)}`);
  }
  return { acceptedBy: 'dynamic-provisioning' };
}

/** The PV's source as the agent is sent it: CSI or NFS only, Filesystem mode only. */
export function checkSource(pvc: V1PersistentVolumeClaim, pv: V1PersistentVolume): PvSource | Refusal {
  const name = pvc.metadata!.name!;
  const pvName = pv.metadata!.name!;
  if (pv.spec?.volumeMode === 'Block') {
    return { rule: 'pv-block-mode', code: 'CAIRN_E_VOLUME_UNSUPPORTED', reason: `PV ${pvName} of PVC ${name} is a Block-mode volume; Cairn backs up Filesystem volumes only (for now)` };
  }
  const csi = pv.spec?.csi;
  if (csi) return { pluginDir: 'kubernetes.io~csi', source: { $case: 'csi', value: { driver: csi.driver, volumeHandle: csi.volumeHandle } } };
  const nfs = pv.spec?.nfs;
  if (nfs) {
    const server = normaliseNfsServer(nfs.server);
    if (!server || !isPlainExportPath(nfs.path)) {
      return refused('pv-nfs-source-invalid', `PV ${pvName} of PVC ${name} has an NFS server or export path Cairn does not accept (a host name or IP address, and an absolute path without "." or ".." components)`,
        `PV ${pvName} nfs ${nfs.server}:${nfs.path}`);
    }
    return { pluginDir: 'kubernetes.io~nfs', source: { $case: 'nfs', value: { server, path: normaliseExportPath(nfs.path) } } };
  }
  const id = backingIdentity(pv);
  const kind = id.kind === 'node-path' ? id.source : id.kind === 'other' ? id.source : id.kind;
  return {
    rule: 'pv-source-unsupported', code: 'CAIRN_E_VOLUME_UNSUPPORTED',
    reason: `PV ${pvName} of PVC ${name} is a ${kind} volume; Cairn backs up CSI and NFS volumes only (a node path is not a volume the agent can verify)`,
  };
}

/** Refuses a PV whose backing storage is also behind a PV of another namespace. */
export function checkSharedIdentity(pvc: V1PersistentVolumeClaim, pv: V1PersistentVolume, allPvs: readonly V1PersistentVolume[], policy: AdminPolicy): Refusal | undefined {
  const ns = pvc.metadata!.namespace!;
  const pvName = pv.metadata!.name!;
  const shared = sharedWithOtherNamespaces(pv, allPvs, ns, policy.tenantLabel);
  if (shared.length === 0) return undefined;
  const others = shared.map((o) => `PV ${o.metadata?.name} (claimRef ${o.spec?.claimRef?.namespace ?? '-'}/${o.spec?.claimRef?.name ?? '-'}, ${policy.tenantLabel}=${o.metadata?.labels?.[policy.tenantLabel] ?? '-'}, ${describeIdentity(backingIdentity(o))})`);
  return refused('pv-identity-shared', `PV ${pvName} of PVC ${pvc.metadata!.name} shares its backing storage with a PersistentVolume of another namespace; refused so that no namespace can read another's data`,
    `PV ${pvName} (${describeIdentity(backingIdentity(pv))}) conflicts with ${others.join('; ')}`);
}
