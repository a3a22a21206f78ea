// Rules on API objects shaped as the real PV controller leaves them, including states the real
// controller only passes through (a Bound PVC whose PV names another claim), which the end-to-end
// suite (test/coordinator/resolve) cannot hold still long enough to test.
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { isCairnError } from '../../../common/src/errors.ts';
import { resolveSnapshot, type ApiSnapshot } from './resolve-snapshot.ts';
import type { ResolveOptions, ResolvedVolume } from './types.ts';

const ns = 'team-a';
const driver = 'local.csi.cairn.dev';
const t0 = new Date('2026-01-01T00:00:00Z');
const later = (s: number) => new Date(t0.getTime() + s * 1000);
let n = 0;
const uid = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;

/** A dynamically provisioned, bound PVC and its PV, as external-provisioner and the PV controller leave them. */
function bound(name: string, namespace = ns): { pvc: V1PersistentVolumeClaim; pv: V1PersistentVolume } {
  const u = uid();
  const pvName = `pvc-${u}`;
  const pvc: V1PersistentVolumeClaim = {
    metadata: { name, namespace, uid: u, creationTimestamp: t0, annotations: { 'pv.kubernetes.io/bind-completed': 'yes', 'pv.kubernetes.io/bound-by-controller': 'yes' } },
    spec: { volumeName: pvName, volumeMode: 'Filesystem', accessModes: ['ReadWriteOnce'] },
    status: { phase: 'Bound', capacity: { storage: '1Gi' } },
  };
  const pv: V1PersistentVolume = {
    metadata: { name: pvName, creationTimestamp: t0, annotations: { 'pv.kubernetes.io/provisioned-by': driver } },
    spec: { capacity: { storage: '2Gi' }, volumeMode: 'Filesystem', claimRef: { kind: 'PersistentVolumeClaim', namespace, name, uid: u }, csi: { driver, volumeHandle: `vol-${u}` } },
    status: { phase: 'Bound' },
  };
  return { pvc, pv };
}

function pod(name: string, claims: string[], opts: { node?: string; phase?: string; ready?: boolean; created?: Date; labels?: Record<string, string>; annotations?: Record<string, string>; namespace?: string } = {}): V1Pod {
  return {
    metadata: { name, namespace: opts.namespace ?? ns, uid: uid(), creationTimestamp: opts.created ?? t0, ...(opts.labels ? { labels: opts.labels } : {}), ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: { nodeName: opts.node ?? 'node-1', containers: [], volumes: [{ name: 'host', hostPath: { path: '/' } }, ...claims.map((c) => ({ name: `v-${c}`, persistentVolumeClaim: { claimName: c } }))] },
    status: { phase: opts.phase ?? 'Running', conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }] },
  };
}

const policy = { provisionerAllowList: [driver], tenantLabel: 'cairn.dev/tenant' };
const options = (o: Partial<ResolveOptions> = {}): ResolveOptions => ({ namespace: ns, policy, agentNodes: ['node-1', 'node-2'], ...o });

function resolveOne(snapshot: Partial<ApiSnapshot>, o: Partial<ResolveOptions> = {}): ResolvedVolume {
  const r = resolveSnapshot({ pvcs: [], pods: [], pvs: [], ...snapshot }, options(o));
  expect(r).toHaveLength(1);
  return r[0]!;
}

function expectRefused(r: ResolvedVolume, rule: string, code = 'CAIRN_E_VOLUME_REFUSED'): void {
  expect(r.status).toBe('refused');
  if (r.status !== 'refused') return;
  expect(r.rule).toBe(rule);
  expect(r.code).toBe(code);
}

describe('resolveSnapshot: verified mounts', () => {
  it('a dynamically provisioned PVC mounted by a running pod is ready with the exact VolumeRef', () => {
    const { pvc, pv } = bound('data');
    const p = pod('app', ['data']);
    const r = resolveOne({ pvcs: [pvc], pvs: [pv], pods: [p] });
    expect(r).toEqual({
      pvc: 'data', pvcUid: pvc.metadata!.uid, status: 'ready', acceptedBy: 'dynamic-provisioning',
      pod: { name: 'app', uid: p.metadata!.uid, node: 'node-1' },
      volume: { podUid: p.metadata!.uid, volumeName: 'v-data', pluginDir: 'kubernetes.io~csi', pvName: pv.metadata!.name, source: { $case: 'csi', value: { driver, volumeHandle: pv.spec!.csi!.volumeHandle } } },
      capacityBytes: 2 * 2 ** 30,
    });
  });

  it('prefers a Ready pod, then the oldest, then by name', () => {
    const { pvc, pv } = bound('data');
    const young = pod('a-young', ['data'], { created: later(5) });
    const old = pod('z-old', ['data'], { created: t0 });
    const oldNotReady = pod('notready', ['data'], { created: later(-5), ready: false });
    const r = resolveOne({ pvcs: [pvc], pvs: [pv], pods: [young, oldNotReady, old] });
    expect(r.status === 'ready' && r.pod.name).toBe('z-old');
    const tie = resolveOne({ pvcs: [pvc], pvs: [pv], pods: [pod('b', ['data']), pod('a', ['data'])] });
    expect(tie.status === 'ready' && tie.pod.name).toBe('a');
  });

  it('ignores pods that are not Running, terminating, unscheduled, without uid or in another namespace', () => {
    const { pvc, pv } = bound('data');
    const pending = pod('pending', ['data'], { phase: 'Pending' });
    const deleting = pod('deleting', ['data']);
    deleting.metadata!.deletionTimestamp = t0;
    const unscheduled = pod('unscheduled', ['data']);
    delete unscheduled.spec!.nodeName;
    const noUid = pod('nouid', ['data']);
    delete noUid.metadata!.uid;
    const elsewhere = pod('elsewhere', ['data'], { namespace: 'team-b' });
    const r = resolveOne({ pvcs: [pvc], pvs: [pv], pods: [pending, deleting, unscheduled, noUid, elsewhere] });
    expect(r.status).toBe('needs-helper-pod');
  });

  it('a pod only on a node without an agent is refused with CAIRN_E_AGENT_UNAVAILABLE, naming the node', () => {
    const { pvc, pv } = bound('data');
    const r = resolveOne({ pvcs: [pvc], pvs: [pv], pods: [pod('app', ['data'], { node: 'node-9' })] });
    expectRefused(r, 'pod-no-agent', 'CAIRN_E_AGENT_UNAVAILABLE');
    expect(r.status === 'refused' && r.reason).toContain('node-9');
  });

  it('a generic ephemeral volume resolves through the pod that owns its PVC, not through a pod that merely has the name', () => {
    const { pvc, pv } = bound('web-0-scratch');
    const owner: V1Pod = { ...pod('web-0', []), spec: { nodeName: 'node-2', containers: [], volumes: [{ name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: {} } } }] } };
    pvc.metadata!.ownerReferences = [{ apiVersion: 'v1', kind: 'Pod', name: 'web-0', uid: owner.metadata!.uid!, controller: true }];
    const r = resolveOne({ pvcs: [pvc], pvs: [pv], pods: [owner] });
    expect(r.status === 'ready' && r.volume.volumeName).toBe('scratch');
    pvc.metadata!.ownerReferences = [];
    expect(resolveOne({ pvcs: [pvc], pvs: [pv], pods: [owner] }).status).toBe('needs-helper-pod');
  });
});

describe('resolveSnapshot: opt-outs', () => {
  it('includeVolumes, excludeVolumes, PVC and pod annotations and podSelector exclude, each saying why', () => {
    const a = bound('a');
    const b = bound('b');
    const base = { pvcs: [a.pvc, b.pvc], pvs: [a.pv, b.pv], pods: [pod('pa', ['a'], { labels: { app: 'x' } }), pod('pb', ['b'])] };
    const byInclude = resolveSnapshot(base, options({ includeVolumes: ['a', 'missing'] }));
    expect(byInclude.map((r) => [r.pvc, r.status])).toEqual([['a', 'ready'], ['b', 'excluded'], ['missing', 'refused']]);
    expect(byInclude[2]!.status === 'refused' && byInclude[2]!.code).toBe('CAIRN_E_NOT_FOUND');
    const byExclude = resolveSnapshot(base, options({ excludeVolumes: ['a'] }));
    expect(byExclude.map((r) => r.status === 'excluded' && r.by)).toEqual(['exclude-volumes', false]);
    const bySelector = resolveSnapshot(base, options({ podSelector: { matchLabels: { app: 'x' } } }));
    expect(bySelector.map((r) => r.status === 'excluded' ? r.by : r.status)).toEqual(['ready', 'pod-selector']);
  });

  it('an opted-out pod excludes its PVCs even when another pod mounts them', () => {
    const a = bound('a');
    const r = resolveOne({ pvcs: [a.pvc], pvs: [a.pv], pods: [pod('p1', ['a']), pod('p2', ['a'], { annotations: { 'cairn.dev/exclude': 'true' } })] });
    expect(r.status === 'excluded' && r.by).toBe('pod-annotation');
  });

  it('an opted-out PVC is excluded before any PV check', () => {
    const a = bound('a');
    a.pvc.metadata!.annotations = { 'cairn.dev/exclude': 'true' };
    a.pv.spec!.claimRef!.namespace = 'team-b';
    expect(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] }).status).toBe('excluded');
  });

  it('refuses includeVolumes together with excludeVolumes', () => {
    let err: unknown;
    try {
      resolveSnapshot({ pvcs: [], pods: [], pvs: [] }, options({ includeVolumes: ['a'], excludeVolumes: ['b'] }));
    } catch (e) {
      err = e;
    }
    expect(isCairnError(err, 'CAIRN_E_INVALID_ARGUMENT')).toBe(true);
  });
});

describe('resolveSnapshot: PVC and binding rules', () => {
  it('Block mode and unbound claims are refused with their own codes', () => {
    const a = bound('a');
    a.pvc.spec!.volumeMode = 'Block';
    expectRefused(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] }), 'pvc-block-mode', 'CAIRN_E_VOLUME_UNSUPPORTED');
    const b = bound('b');
    b.pvc.status = { phase: 'Lost' };
    const r = resolveOne({ pvcs: [b.pvc], pvs: [b.pv] });
    expectRefused(r, 'pvc-not-bound', 'CAIRN_E_VOLUME_NOT_READY');
    expect(r.status === 'refused' && r.reason).toContain('Lost');
  });

  it('a Bound PVC whose PV names a claim in another namespace is refused without naming that namespace to the tenant', () => {
    const a = bound('a');
    a.pv.spec!.claimRef = { kind: 'PersistentVolumeClaim', namespace: 'team-b', name: 'a', uid: a.pvc.metadata!.uid! };
    const r = resolveOne({ pvcs: [a.pvc], pvs: [a.pv], pods: [pod('p', ['a'])] });
    expectRefused(r, 'pv-claimref-mismatch');
    expect(r.status === 'refused' && r.reason).not.toContain('team-b');
    expect(r.status === 'refused' && r.adminDetail).toContain('team-b/a');
  });

  it('a PV bound to an earlier claim of the same name (uid differs) or to no uid is refused', () => {
    const a = bound('a');
    a.pv.spec!.claimRef!.uid = uid();
    expectRefused(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] }), 'pv-claimref-mismatch');
    delete a.pv.spec!.claimRef!.uid;
    expectRefused(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] }), 'pv-claimref-mismatch');
    delete a.pv.spec!.claimRef;
    expectRefused(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] }), 'pv-claimref-mismatch');
  });

  it('a missing PV and a PV not Bound are not ready', () => {
    const a = bound('a');
    expectRefused(resolveOne({ pvcs: [a.pvc], pvs: [] }), 'pv-not-found', 'CAIRN_E_VOLUME_NOT_READY');
    a.pv.status = { phase: 'Released' };
    expectRefused(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] }), 'pv-not-bound', 'CAIRN_E_VOLUME_NOT_READY');
  });
});

describe('resolveSnapshot: PV acceptance', () => {
  it('an admin tenant label for this namespace accepts a static PV; for another namespace it refuses', () => {
    const a = bound('a');
    delete a.pv.metadata!.annotations;
    a.pv.metadata!.creationTimestamp = later(-60);
    expectRefused(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] }), 'pv-not-provisioned');
    a.pv.metadata!.labels = { 'cairn.dev/tenant': ns };
    expect(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] })).toMatchObject({ status: 'needs-helper-pod', acceptedBy: 'tenant-label' });
    a.pv.metadata!.labels = { 'cairn.dev/tenant': 'team-b' };
    expectRefused(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] }), 'pv-labelled-for-other-namespace');
  });

  it('a provisioner not on the allow-list, or a CSI driver other than the provisioner, is refused', () => {
    const a = bound('a');
    a.pv.metadata!.annotations = { 'pv.kubernetes.io/provisioned-by': 'other.csi.io' };
    expectRefused(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] }), 'pv-provisioner-not-allowed');
    expectRefused(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] }, { policy: { ...policy, provisionerAllowList: [driver, 'other.csi.io'] } }), 'pv-driver-mismatch');
  });

  it('a PV whose claimRef the binder wrote (bound-by-controller on the PV) is refused', () => {
    const a = bound('a');
    a.pv.metadata!.annotations!['pv.kubernetes.io/bound-by-controller'] = 'yes';
    expectRefused(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] }), 'pv-bound-by-binder');
  });

  it('a PV older than its claim is refused; created in the same second it is accepted', () => {
    const a = bound('a');
    a.pv.metadata!.creationTimestamp = later(-1);
    expectRefused(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] }), 'pv-older-than-claim');
    a.pv.metadata!.creationTimestamp = t0;
    expect(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] }).status).toBe('needs-helper-pod');
  });

  it('PVC annotations written by a tenant change nothing', () => {
    const a = bound('a');
    a.pv.metadata!.creationTimestamp = later(-60);
    a.pvc.metadata!.annotations = { 'pv.kubernetes.io/provisioned-by': driver, 'volume.kubernetes.io/storage-provisioner': driver, 'cairn.dev/tenant': ns };
    a.pvc.metadata!.labels = { 'cairn.dev/tenant': ns };
    expectRefused(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] }), 'pv-older-than-claim');
  });
});

describe('resolveSnapshot: sources and shared storage', () => {
  it('hostPath, local and other sources are unsupported even when labelled', () => {
    for (const source of [{ hostPath: { path: '/srv' } }, { local: { path: '/mnt/disk' } }, { iscsi: { targetPortal: 't', iqn: 'q', lun: 0 } }]) {
      const a = bound('a');
      a.pv.spec = { ...a.pv.spec, csi: undefined, ...source };
      a.pv.metadata!.labels = { 'cairn.dev/tenant': ns };
      expectRefused(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] }), 'pv-source-unsupported', 'CAIRN_E_VOLUME_UNSUPPORTED');
    }
  });

  it('an NFS PV becomes a normalised NFS source; one with ".." in its path is refused', () => {
    const a = bound('a');
    a.pv.spec = { ...a.pv.spec, csi: undefined, nfs: { server: 'NFS.example.test', path: '/exports//a/' } };
    a.pv.metadata!.labels = { 'cairn.dev/tenant': ns };
    const r = resolveOne({ pvcs: [a.pvc], pvs: [a.pv], pods: [pod('p', ['a'])] });
    expect(r.status === 'ready' && r.volume).toMatchObject({ pluginDir: 'kubernetes.io~nfs', source: { $case: 'nfs', value: { server: 'nfs.example.test', path: '/exports/a' } } });
    a.pv.spec.nfs = { server: 'nfs.example.test', path: '/exports/b/../a' };
    expectRefused(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] }), 'pv-nfs-source-invalid');
  });

  it('a CSI volumeHandle also behind a PV of another namespace is refused, naming the other PV to the admin only', () => {
    const a = bound('a');
    const b = bound('x', 'team-b');
    b.pv.spec!.csi!.volumeHandle = a.pv.spec!.csi!.volumeHandle;
    const r = resolveOne({ pvcs: [a.pvc, b.pvc], pvs: [a.pv, b.pv] });
    expectRefused(r, 'pv-identity-shared');
    expect(r.status === 'refused' && r.reason).not.toContain(b.pv.metadata!.name);
    expect(r.status === 'refused' && r.adminDetail).toContain(b.pv.metadata!.name);
  });

  it('a Block-mode PV is refused even if its claim says Filesystem', () => {
    const a = bound('a');
    a.pv.spec!.volumeMode = 'Block';
    expectRefused(resolveOne({ pvcs: [a.pvc], pvs: [a.pv] }), 'pv-block-mode', 'CAIRN_E_VOLUME_UNSUPPORTED');
  });
});
