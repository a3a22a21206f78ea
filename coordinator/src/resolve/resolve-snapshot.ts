// The resolver over a snapshot of API state (PVCs and pods of the namespace, all PVs): pure, so
// every rule is unit-tested on objects; resolve-volumes.ts reads the snapshot from the API server.
// Order per PVC: the tenant's opt-outs, then the PVC, the PV binding, the PV's source, whether the
// PV is provably this namespace's, whether its storage is shared, and last the pod that mounts it.
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { CairnError } from '../../../common/src/errors.ts';
import { matchesSelector } from './label-selector.ts';
import { choosePod, isTerminated, volumesMounting, type PodMount } from './pod-choice.ts';
import { checkAcceptance, checkBinding, checkClaim, checkSharedIdentity, checkSource, type Refusal } from './pv-checks.ts';
import { quantityBytes } from './quantity.ts';
import { excludeAnnotation, type ExclusionCause, type ResolvedVolume, type ResolveOptions } from './types.ts';

export interface ApiSnapshot {
  pvcs: readonly V1PersistentVolumeClaim[];
  pods: readonly V1Pod[];
  pvs: readonly V1PersistentVolume[];
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function checkOptions(opts: ResolveOptions): void {
  if (!dnsLabel.test(opts.namespace)) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `namespace "${opts.namespace}" is not a DNS-1123 label`);
  if (opts.includeVolumes && opts.excludeVolumes) {
    throw new CairnError('CAIRN_E_INVALID_ARGUMENT', 'includeVolumes and excludeVolumes cannot both be set: list the volumes to back up in includeVolumes, or the volumes to skip in excludeVolumes');
  }
  if (!opts.policy.tenantLabel) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', 'policy.tenantLabel is required (cairn.dev/tenant)');
}

export function resolveSnapshot(snapshot: ApiSnapshot, opts: ResolveOptions): ResolvedVolume[] {
  checkOptions(opts);
  const ns = opts.namespace;
  const agentNodes = new Set(opts.agentNodes);
  // Only objects of this namespace count, whatever the caller passed in.
  const pvcs = snapshot.pvcs.filter((p) => p.metadata?.namespace === ns && p.metadata.name && p.metadata.uid);
  const pods = snapshot.pods.filter((p) => p.metadata?.namespace === ns && !isTerminated(p));
  const pvByName = new Map(snapshot.pvs.map((pv) => [pv.metadata?.name, pv]));
  const out: ResolvedVolume[] = pvcs.map((pvc) => resolveOne(pvc, pods, pvByName, snapshot.pvs, agentNodes, opts));
  for (const name of opts.includeVolumes ?? []) {
    if (!pvcs.some((p) => p.metadata!.name === name)) {
      out.push({ pvc: name, status: 'refused', rule: 'pvc-not-found', code: 'CAIRN_E_NOT_FOUND', reason: `PVC ${name} is listed in includeVolumes but does not exist in namespace ${ns}` });
    }
  }
  return out.sort((a, b) => (a.pvc < b.pvc ? -1 : a.pvc > b.pvc ? 1 : 0));
}

function resolveOne(
  pvc: V1PersistentVolumeClaim, pods: readonly V1Pod[], pvByName: Map<string | undefined, V1PersistentVolume>,
  allPvs: readonly V1PersistentVolume[], agentNodes: ReadonlySet<string>, opts: ResolveOptions,
): ResolvedVolume {
  const name = pvc.metadata!.name!;
  const pvcUid = pvc.metadata!.uid!;
  const excluded = (by: ExclusionCause, reason: string): ResolvedVolume => ({ pvc: name, pvcUid, status: 'excluded', by, reason });
  const refuse = (r: Refusal): ResolvedVolume => ({ pvc: name, pvcUid, status: 'refused', ...r });

  if (opts.includeVolumes && !opts.includeVolumes.includes(name)) return excluded('include-volumes', `PVC ${name} is not listed in includeVolumes`);
  if (opts.excludeVolumes?.includes(name)) return excluded('exclude-volumes', `PVC ${name} is listed in excludeVolumes`);
  if (pvc.metadata?.annotations?.[excludeAnnotation] === 'true') return excluded('pvc-annotation', `PVC ${name} is annotated ${excludeAnnotation}=true`);

  const mounts: PodMount[] = pods.flatMap((pod) => volumesMounting(pod, pvc).slice(0, 1).map((volumeName) => ({ pod, volumeName })));
  const optedOut = mounts.find((m) => m.pod.metadata?.annotations?.[excludeAnnotation] === 'true');
  if (optedOut) return excluded('pod-annotation', `PVC ${name} is mounted by pod ${optedOut.pod.metadata!.name}, which is annotated ${excludeAnnotation}=true`);
  if (opts.podSelector && !mounts.some((m) => matchesSelector(opts.podSelector!, m.pod.metadata?.labels))) {
    return excluded('pod-selector', `PVC ${name} is not mounted by any pod matching podSelector`);
  }

  const claimRefusal = checkClaim(pvc);
  if (claimRefusal) return refuse(claimRefusal);
  const pv = pvByName.get(pvc.spec!.volumeName);
  if (!pv) {
    return refuse({ rule: 'pv-not-found', code: 'CAIRN_E_VOLUME_NOT_READY', reason: `PVC ${name} is bound to PV ${pvc.spec!.volumeName}, which does not exist` });
  }
  const bindingRefusal = checkBinding(pvc, pv);
  if (bindingRefusal) return refuse(bindingRefusal);
  const source = checkSource(pvc, pv);
  if ('rule' in source) return refuse(source);
  const acceptance = checkAcceptance(pvc, pv, opts.policy);
  if ('rule' in acceptance) return refuse(acceptance);
  const shared = checkSharedIdentity(pvc, pv, allPvs, opts.policy);
  if (shared) return refuse(shared);

  const pvName = pv.metadata!.name!;
  const quantity = pv.spec?.capacity?.storage ?? pvc.status?.capacity?.storage;
  const capacityBytes = quantity === undefined ? 0 : quantityBytes(String(quantity));
  const choice = choosePod(mounts, agentNodes);
  if (choice.kind === 'none') return { pvc: name, pvcUid, status: 'needs-helper-pod', pvName, capacityBytes, acceptedBy: acceptance.acceptedBy };
  const pod = choice.mount.pod;
  const node = pod.spec!.nodeName!;
  if (choice.kind === 'no-agent') {
    return refuse({ rule: 'pod-no-agent', code: 'CAIRN_E_AGENT_UNAVAILABLE', reason: `PVC ${name} is mounted by pod ${pod.metadata!.name} on node ${node}, where no Cairn agent runs` });
  }
  return {
    pvc: name, pvcUid, status: 'ready',
    pod: { name: pod.metadata!.name!, uid: pod.metadata!.uid!, node },
    volume: { podUid: pod.metadata!.uid!, volumeName: choice.mount.volumeName, pluginDir: source.pluginDir, pvName, source: source.source },
    capacityBytes, acceptedBy: acceptance.acceptedBy,
  };
}
