// Fixtures for the resolver suites: tenants create claims and pods with their own users, the
// admin creates PVs (tenants cannot), the resolver runs with the admin's credentials as the
// coordinator would, and the agent's own checks are applied to what it returns.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type V1PersistentVolume, type V1PersistentVolumeClaim, type V1Pod } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { readMountInfo } from '../../../common/src/mount/mountinfo.ts';
import type { VolumeRef } from '../../../common/src/generated/proto/agent.ts';
import { defaultPluginDirs, validateVolume } from '../../../agent/src/jobs/validate-job.ts';
import { checkMount } from '../../../agent/src/mount/verify-mount.ts';
import { resolveVolumes } from '../../../coordinator/src/resolve/resolve-volumes.ts';
import type { RefusedVolume, ResolvedVolume, ResolveOptions } from '../../../coordinator/src/resolve/types.ts';
import type { ClusterInfo } from '../../harness/cluster.ts';
import { kubeAs } from '../../harness/clients.ts';
import { isNotFound } from '../../harness/kube-errors.ts';
import { waitFor } from '../../harness/wait.ts';

export const tenantLabel = 'cairn.dev/tenant';

/** A short random suffix: every test uses names of its own in the shared cluster. */
export const unique = (): string => randomBytes(3).toString('hex');

/** A static PV as an admin writes it (builders.ts has CSI only; these suites need NFS, hostPath, local). */
export class StaticPvBuilder {
  private readonly obj: V1PersistentVolume;
  constructor(name: string) {
    this.obj = {
      apiVersion: 'v1', kind: 'PersistentVolume',
      metadata: { name },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: '' },
    };
  }
  csi(driver: string, volumeHandle: string): this {
    this.obj.spec!.csi = { driver, volumeHandle };
    return this;
  }
  nfs(server: string, path: string): this {
    this.obj.spec!.nfs = { server, path };
    return this;
  }
  hostPath(path: string): this {
    this.obj.spec!.hostPath = { path };
    return this;
  }
  local(path: string, node: string): this {
    this.obj.spec!.local = { path };
    this.obj.spec!.nodeAffinity = { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }] } };
    return this;
  }
  claimRef(namespace: string, name: string): this {
    this.obj.spec!.claimRef = { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace, name };
    return this;
  }
  tenant(namespace: string): this {
    this.obj.metadata!.labels = { ...this.obj.metadata!.labels, [tenantLabel]: namespace };
    return this;
  }
  annotate(key: string, value: string): this {
    this.obj.metadata!.annotations = { ...this.obj.metadata!.annotations, [key]: value };
    return this;
  }
  storageClass(name: string): this {
    this.obj.spec!.storageClassName = name;
    return this;
  }
  build(): V1PersistentVolume {
    return structuredClone(this.obj);
  }
}
export const staticPv = (name: string): StaticPvBuilder => new StaticPvBuilder(name);

/** One suite's view of the cluster, and everything it created (deleted in `cleanup`). */
export class ResolveWorld {
  readonly cluster: ClusterInfo;
  readonly admin: CoreV1Api;
  private readonly created: { kind: 'pod' | 'pvc' | 'pv'; namespace?: string; name: string }[] = [];

  constructor(cluster: ClusterInfo) {
    this.cluster = cluster;
    this.admin = kubeAs(cluster, 'admin').makeApiClient(CoreV1Api);
  }

  /** The tenant's own client (`team-a-admin` for team-a). */
  tenant(namespace: string): CoreV1Api {
    return kubeAs(this.cluster, `${namespace}-admin`).makeApiClient(CoreV1Api);
  }

  async createPvc(claim: V1PersistentVolumeClaim, as: 'tenant' | 'admin' = 'tenant'): Promise<V1PersistentVolumeClaim> {
    const namespace = claim.metadata!.namespace!;
    const api = as === 'tenant' ? this.tenant(namespace) : this.admin;
    const made = await api.createNamespacedPersistentVolumeClaim({ namespace, body: claim });
    this.created.push({ kind: 'pvc', namespace, name: claim.metadata!.name! });
    return made;
  }

  async createPod(p: V1Pod): Promise<V1Pod> {
    const namespace = p.metadata!.namespace!;
    const made = await this.tenant(namespace).createNamespacedPod({ namespace, body: p });
    this.created.push({ kind: 'pod', namespace, name: p.metadata!.name! });
    return made;
  }

  async createPodAsAdmin(p: V1Pod): Promise<V1Pod> {
    const namespace = p.metadata!.namespace!;
    const made = await this.admin.createNamespacedPod({ namespace, body: p });
    this.created.push({ kind: 'pod', namespace, name: p.metadata!.name! });
    return made;
  }

  async createPv(pv: V1PersistentVolume): Promise<V1PersistentVolume> {
    const made = await this.admin.createPersistentVolume({ body: pv });
    this.created.push({ kind: 'pv', name: pv.metadata!.name! });
    return made;
  }

  /** Remembers a PV someone else created (a provisioned one this suite turns static), for cleanup. */
  adopt(pvName: string): void {
    this.created.push({ kind: 'pv', name: pvName });
  }

  async waitPvcPhase(namespace: string, name: string, phase: string): Promise<V1PersistentVolumeClaim> {
    return waitFor(`PVC ${namespace}/${name} to be ${phase}`, async () => {
      const c = await this.admin.readNamespacedPersistentVolumeClaim({ name, namespace });
      return c.status?.phase === phase ? c : undefined;
    });
  }

  async waitPvPhase(name: string, phase: string): Promise<V1PersistentVolume> {
    return waitFor(`PV ${name} to be ${phase}`, async () => {
      const pv = await this.admin.readPersistentVolume({ name });
      return pv.status?.phase === phase ? pv : undefined;
    });
  }

  async waitRunning(namespace: string, name: string): Promise<V1Pod> {
    return waitFor(`pod ${namespace}/${name} to be Running`, async () => {
      const p = await this.admin.readNamespacedPod({ name, namespace });
      return p.status?.phase === 'Running' ? p : undefined;
    });
  }

  async waitGone(namespace: string, name: string): Promise<void> {
    await waitFor(`PVC ${namespace}/${name} to be gone`, async () => {
      try {
        await this.admin.readNamespacedPersistentVolumeClaim({ name, namespace });
        return false;
      } catch (err) {
        return isNotFound(err);
      }
    });
  }

  /** The resolver as the coordinator runs it, with the test's admin policy. */
  async resolve(namespace: string, opts: Partial<ResolveOptions> = {}): Promise<ResolvedVolume[]> {
    return resolveVolumes(this.admin, {
      namespace,
      policy: { provisionerAllowList: [this.cluster.csiDriver], tenantLabel },
      agentNodes: this.cluster.nodes.map((n) => n.name),
      ...opts,
    });
  }

  /** The one result for `pvc` (resolved alone through includeVolumes, so other suites' PVCs do not matter). */
  async resolveOne(namespace: string, pvc: string, opts: Partial<ResolveOptions> = {}): Promise<ResolvedVolume> {
    const all = await this.resolve(namespace, { includeVolumes: [pvc], ...opts });
    const mine = all.filter((r) => r.pvc === pvc);
    expect(mine).toHaveLength(1);
    return mine[0]!;
  }

  /** The agent's own validation and mount check on the node (DESIGN 3.5) accept this VolumeRef. */
  async expectAgentAccepts(node: string, volume: VolumeRef): Promise<void> {
    const n = this.cluster.nodes.find((x) => x.name === node);
    expect(n, `node ${node}`).toBeDefined();
    const valid = validateVolume(volume, defaultPluginDirs);
    await waitFor(`the agent's mount check on ${node} to pass for PV ${volume.pvName}`, async () => {
      checkMount(await readMountInfo(), n!.kubeletRoot, valid);
      return true;
    }, { timeoutMs: 10_000 });
  }

  async cleanup(): Promise<void> {
    for (const kind of ['pod', 'pvc', 'pv'] as const) {
      for (const o of this.created.filter((c) => c.kind === kind)) {
        try {
          if (kind === 'pod') await this.admin.deleteNamespacedPod({ name: o.name, namespace: o.namespace!, gracePeriodSeconds: 0 });
          else if (kind === 'pvc') await this.admin.deleteNamespacedPersistentVolumeClaim({ name: o.name, namespace: o.namespace! });
          else await this.admin.deletePersistentVolume({ name: o.name });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
    }
  }
}

export function expectRefused(r: ResolvedVolume, rule: RefusedVolume['rule'], code: RefusedVolume['code'] = 'CAIRN_E_VOLUME_REFUSED'): RefusedVolume {
  expect(r.status, JSON.stringify(r)).toBe('refused');
  const refused = r as RefusedVolume;
  expect({ rule: refused.rule, code: refused.code }).toEqual({ rule, code });
  return refused;
}

export function expectReady(r: ResolvedVolume): Extract<ResolvedVolume, { status: 'ready' }> {
  expect(r.status, JSON.stringify(r)).toBe('ready');
  return r as Extract<ResolvedVolume, { status: 'ready' }>;
}
