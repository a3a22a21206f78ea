// A simulated CSI driver and external-provisioner for the local StorageClass: for each claim the
// PV controller hands to this driver it creates a PV as external-provisioner does (claimRef set to
// the claim at provisioning, `pv.kubernetes.io/provisioned-by`, a unique volumeHandle) with its
// data in a backing directory; it deletes Released PVs whose reclaim policy is Delete.
import { mkdir, rm } from 'node:fs/promises';
import { CoreV1Api, StorageV1Api, type KubeConfig, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { isConflict, isNotFound } from '../kube-errors.ts';
import { csiBackingDir } from './kubelet.ts';
import { PollLoop } from './poll-loop.ts';

export const localDriver = 'local.csi.cairn.dev';
export const localStorageClass = 'cairn-local';

export class SimulatedCsiProvisioner {
  private readonly core: CoreV1Api;
  private readonly storage: StorageV1Api;
  private readonly volumesDir: string;
  private readonly loop: PollLoop;

  constructor(kc: KubeConfig, volumesDir: string, intervalMs = 300) {
    this.volumesDir = volumesDir;
    this.loop = new PollLoop(() => this.syncOnce(), intervalMs);
    this.core = kc.makeApiClient(CoreV1Api);
    this.storage = kc.makeApiClient(StorageV1Api);
  }

  async installStorageClass(): Promise<void> {
    try {
      await this.storage.createStorageClass({
        body: {
          metadata: { name: localStorageClass, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
          provisioner: localDriver, reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate',
        },
      });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  get lastError(): unknown {
    return this.loop.lastError;
  }

  async syncOnce(): Promise<void> {
    for (const pvc of (await this.core.listPersistentVolumeClaimForAllNamespaces()).items) {
      const ann = pvc.metadata?.annotations ?? {};
      const provisioner = ann['volume.kubernetes.io/storage-provisioner'] ?? ann['volume.beta.kubernetes.io/storage-provisioner'];
      if (pvc.status?.phase === 'Pending' && !pvc.spec?.volumeName && provisioner === localDriver && !pvc.metadata?.deletionTimestamp) {
        await this.provision(pvc);
      }
    }
    for (const pv of (await this.core.listPersistentVolume()).items) {
      const ours = pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] === localDriver;
      if (ours && pv.status?.phase === 'Released' && pv.spec?.persistentVolumeReclaimPolicy === 'Delete' && pv.spec.csi) {
        await rm(csiBackingDir(this.volumesDir, pv.spec.csi.driver, pv.spec.csi.volumeHandle), { recursive: true, force: true });
        try {
          await this.core.deletePersistentVolume({ name: pv.metadata!.name! });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
    }
  }

  private async provision(pvc: V1PersistentVolumeClaim): Promise<void> {
    const uid = pvc.metadata!.uid!;
    const volumeHandle = `vol-${uid}`;
    await mkdir(csiBackingDir(this.volumesDir, localDriver, volumeHandle), { recursive: true });
    try {
      await this.core.createPersistentVolume({
        body: {
          metadata: { name: `pvc-${uid}`, annotations: { 'pv.kubernetes.io/provisioned-by': localDriver } },
          spec: {
            capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '1Gi' },
            accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
            volumeMode: pvc.spec?.volumeMode ?? 'Filesystem',
            persistentVolumeReclaimPolicy: 'Delete',
            storageClassName: pvc.spec?.storageClassName ?? localStorageClass,
            claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: pvc.metadata!.namespace!, name: pvc.metadata!.name!, uid },
            csi: { driver: localDriver, volumeHandle, fsType: 'ext4', volumeAttributes: { 'storage.kubernetes.io/csiProvisionerIdentity': 'cairn-simulated' } },
          },
        },
      });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
}
