// Fixtures for the coordinator's end-to-end suites: a tenant namespace with its user bound as
// admin, credentials and a BackupStorageLocation created as that user, PVCs with files written
// into their real backing directories, CRs created as the tenant and waited for by phase, and
// checksums of every file of a volume.
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { kubeAs } from '../../harness/clients.ts';
import { startCoordinator, type RunningCoordinator } from '../../harness/coordinator.ts';
import { createNamespaces, type ClusterInfo } from '../../harness/cluster.ts';
import { isNotFound } from '../../harness/kube-errors.ts';
import { csiBackingDir } from '../../harness/sim/kubelet.ts';
import { waitFor } from '../../harness/wait.ts';
import { pod as podBuilder, pvc as pvcBuilder } from '../../harness/builders.ts';

export const group = 'cairn.dev';
export const version = 'v1alpha1';

export const unique = (): string => randomBytes(3).toString('hex');

export interface VolumeState { pvc?: string; pod?: string; node?: string; phase?: string; message?: string; errorCode?: string; bytes?: number; files?: number }

export interface CrStatus {
  phase?: string;
  message?: string;
  errorCode?: string;
  validationErrors?: string[];
  reason?: string;
  volumes?: VolumeState[];
  progress?: { bytesDone?: number; totalBytes?: number; filesDone?: number; totalFiles?: number };
  expiration?: string;
}

export interface Cr {
  metadata: { name: string; namespace: string; uid: string; creationTimestamp: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
  status?: CrStatus;
}

export class Tenant {
  readonly namespace: string;
  readonly user: string;
  readonly storage: string;
  readonly cluster: ClusterInfo;
  readonly admin: KubeConfig;
  readonly kc: KubeConfig;

  /** `user` (e.g. team-a-admin) becomes admin of `namespace`; `storage` is its MinIO tenant (team-a). */
  constructor(cluster: ClusterInfo, namespace: string, user: string, storage: string) {
    this.cluster = cluster;
    this.namespace = namespace;
    this.user = user;
    this.storage = storage;
    this.admin = kubeAs(cluster, 'admin');
    this.kc = kubeAs(cluster, user);
  }

  get core(): CoreV1Api {
    return this.kc.makeApiClient(CoreV1Api);
  }

  get objects(): CustomObjectsApi {
    return this.kc.makeApiClient(CustomObjectsApi);
  }

  async setUp(): Promise<this> {
    await createNamespaces(this.admin, [this.namespace]);
    const rbac = this.admin.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRoleBinding({
      namespace: this.namespace,
      body: {
        metadata: { name: `${this.user}-admin` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: this.user }],
      },
    });
    await waitFor(`the default ServiceAccount in ${this.namespace}`, async () => {
      try {
        return !!(await this.admin.makeApiClient(CoreV1Api).readNamespacedServiceAccount({ name: 'default', namespace: this.namespace }));
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    }, { timeoutMs: 60_000 });
    return this;
  }

  /** The credential Secret (AWS shared-credentials format) and a BSL named `name`, as the tenant. */
  async location(name: string, o: { prefix?: string; accessMode?: 'ReadWrite' | 'ReadOnly'; storage?: string; endpoint?: string; secret?: string } = {}): Promise<Cr> {
    const s = this.cluster.minio.tenants[o.storage ?? this.storage]!;
    const secret = o.secret ?? `${name}-credentials`;
    try {
      await this.core.createNamespacedSecret({
        namespace: this.namespace,
        body: { metadata: { name: secret }, stringData: { cloud: `[default]\naws_access_key_id = ${s.accessKeyId}\naws_secret_access_key = ${s.secretAccessKey}\n` } },
      });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
    return this.create('backupstoragelocations', {
      apiVersion: `${group}/${version}`, kind: 'BackupStorageLocation', metadata: { name, namespace: this.namespace },
      spec: {
        objectStorage: { bucket: s.bucket, prefix: o.prefix ?? this.namespace },
        config: { region: 'us-east-1', endpoint: o.endpoint ?? this.cluster.minio.endpoint, forcePathStyle: true },
        credential: { name: secret, key: 'cloud' },
        accessMode: o.accessMode ?? 'ReadWrite',
        syncPeriod: '10s',
      },
    });
  }

  async create(plural: string, body: { metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } } & Record<string, unknown>): Promise<Cr> {
    return (await this.objects.createNamespacedCustomObject({ group, version, namespace: this.namespace, plural, body })) as Cr;
  }

  async get(plural: string, name: string): Promise<Cr> {
    return (await this.objects.getNamespacedCustomObject({ group, version, namespace: this.namespace, plural, name })) as Cr;
  }

  backup(name: string, spec: Record<string, unknown>): Promise<Cr> {
    return this.create('backups', { apiVersion: `${group}/${version}`, kind: 'Backup', metadata: { name }, spec });
  }

  restore(name: string, spec: Record<string, unknown>): Promise<Cr> {
    return this.create('restores', { apiVersion: `${group}/${version}`, kind: 'Restore', metadata: { name }, spec });
  }

  /** Waits until the CR's phase is one of `phases`; returns it. */
  async waitPhase(plural: string, name: string, phases: string[], timeoutMs = 90_000): Promise<Cr> {
    return waitFor(`${plural} ${this.namespace}/${name} to reach ${phases.join(' or ')}`, async () => {
      const cr = await this.get(plural, name);
      return cr.status?.phase && phases.includes(cr.status.phase) ? cr : false;
    }, { timeoutMs, intervalMs: 250 });
  }

  /** A PVC of the default class (cairn-local), bound and provisioned; `annotate` for opt-outs. */
  async pvc(name: string, o: { annotations?: Record<string, string>; size?: string } = {}): Promise<string> {
    const b = pvcBuilder(name, this.namespace).storageClass(this.cluster.storageClass).size(o.size ?? '64Mi');
    for (const [k, v] of Object.entries(o.annotations ?? {})) b.annotate(k, v);
    await this.core.createNamespacedPersistentVolumeClaim({ namespace: this.namespace, body: b.build() });
    return this.backingDir(name);
  }

  /** The PVC's backing directory (the simulated CSI driver's storage), once it is bound. */
  async backingDir(pvcName: string): Promise<string> {
    const admin = this.admin.makeApiClient(CoreV1Api);
    const pvName = await waitFor(`PVC ${this.namespace}/${pvcName} to be bound`, async () => {
      const c = await admin.readNamespacedPersistentVolumeClaim({ namespace: this.namespace, name: pvcName });
      return c.status?.phase === 'Bound' ? c.spec?.volumeName : undefined;
    }, { timeoutMs: 60_000 });
    const pv = await admin.readPersistentVolume({ name: pvName });
    return csiBackingDir(this.cluster.volumesDir, pv.spec!.csi!.driver, pv.spec!.csi!.volumeHandle);
  }

  /** A pod on `node` mounting the PVC, Running (the simulated kubelet mounts the volume). */
  async pod(name: string, pvcName: string, node: string, labels: Record<string, string> = {}): Promise<void> {
    const b = podBuilder(name, this.namespace).onNode(node).withPvc(pvcName, 'data');
    for (const [k, v] of Object.entries(labels)) b.label(k, v);
    await this.core.createNamespacedPod({ namespace: this.namespace, body: b.build() });
    await waitFor(`pod ${this.namespace}/${name} Running`, async () => (await this.core.readNamespacedPod({ namespace: this.namespace, name })).status?.phase === 'Running', { timeoutMs: 60_000 });
  }

  async deletePod(name: string): Promise<void> {
    await this.core.deleteNamespacedPod({ namespace: this.namespace, name, gracePeriodSeconds: 0 });
    await waitFor(`pod ${this.namespace}/${name} gone`, async () => {
      try {
        await this.core.readNamespacedPod({ namespace: this.namespace, name });
        return false;
      } catch (err) {
        return isNotFound(err);
      }
    }, { timeoutMs: 60_000 });
  }

  async deletePvc(name: string): Promise<void> {
    await this.core.deleteNamespacedPersistentVolumeClaim({ namespace: this.namespace, name });
    await waitFor(`PVC ${this.namespace}/${name} gone`, async () => {
      try {
        await this.core.readNamespacedPersistentVolumeClaim({ namespace: this.namespace, name });
        return false;
      } catch (err) {
        return isNotFound(err);
      }
    }, { timeoutMs: 60_000 });
  }
}

/** Writes a small tree (nested dirs, a symlink, a 1 MiB random file) seeded by `seed`. */
export async function writeTree(dir: string, seed: string, files = 40): Promise<void> {
  await mkdir(join(dir, 'nested', 'deeper'), { recursive: true });
  for (let i = 0; i < files; i++) {
    const sub = i % 3 === 0 ? 'nested' : i % 3 === 1 ? join('nested', 'deeper') : '';
    await writeFile(join(dir, sub, `file-${i}.txt`), `${seed} file ${i}\n`.repeat(i + 1));
  }
  await writeFile(join(dir, 'random.bin'), randomBytes(1 << 20));
  await symlink('nested/file-0.txt', join(dir, 'link'));
}

/** Relative path -> sha256 (files), `-> target` (symlinks), `dir` (directories). */
export async function checksums(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    for (const e of (await readdir(join(dir, rel))).sort()) {
      const p = rel ? join(rel, e) : e;
      const st = await lstat(join(dir, p));
      if (st.isSymbolicLink()) out.set(p, `-> ${await readlink(join(dir, p))}`);
      else if (st.isDirectory()) {
        out.set(p, 'dir');
        await walk(p);
      } else out.set(p, createHash('sha256').update(await readFile(join(dir, p))).digest('hex'));
    }
  };
  await walk('');
  return out;
}

/**
 * A coordinator of its own for a suite that runs beside others: its own admin namespace (with the
 * Role for its Lease that an admin grants there), its own Lease, the agents of cairn-system, and
 * only the namespaces `<prefix>-*`. `n` tells several processes of one suite apart.
 */
export async function isolatedCoordinator(cluster: ClusterInfo, prefix: string, n: number, o: { ready?: 'coordinator started' | 'waiting for leadership'; extraArgs?: string[] } = {}): Promise<RunningCoordinator> {
  const adminNs = `${prefix}-admin`;
  const admin = kubeAs(cluster, 'admin');
  await createNamespaces(admin, [adminNs]);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const body = {
    role: { metadata: { name: 'leases' }, rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }] },
    binding: { metadata: { name: 'leases' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'leases' }, subjects: [{ kind: 'ServiceAccount', name: 'cairn-coordinator', namespace: cluster.adminNamespace }] },
  };
  await rbac.createNamespacedRole({ namespace: adminNs, body: body.role }).catch((err: unknown) => { if ((err as { code?: number }).code !== 409) throw err; });
  await rbac.createNamespacedRoleBinding({ namespace: adminNs, body: body.binding }).catch((err: unknown) => { if ((err as { code?: number }).code !== 409) throw err; });
  return startCoordinator(cluster, {
    runDir: join(cluster.runDir, `coordinator-${prefix}-${n}`), watchNamespaces: [`${prefix}-*`], readyMessage: o.ready ?? 'coordinator started',
    extraArgs: ['--admin-namespace', adminNs, '--agent-namespace', cluster.adminNamespace, '--lease-name', `cairn-${prefix}`, ...(o.extraArgs ?? [])],
  });
}
