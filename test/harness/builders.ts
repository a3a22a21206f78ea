// Small fixture builders for Kubernetes objects used in tests (after Velero's pkg/builder).
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';

export class PvcBuilder {
  private readonly obj: V1PersistentVolumeClaim;
  constructor(name: string, namespace: string) {
    this.obj = {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim',
      metadata: { name, namespace },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    };
  }
  storageClass(name: string): this {
    this.obj.spec!.storageClassName = name;
    return this;
  }
  volumeName(pv: string): this {
    this.obj.spec!.volumeName = pv;
    return this;
  }
  size(quantity: string): this {
    this.obj.spec!.resources = { requests: { storage: quantity } };
    return this;
  }
  annotate(key: string, value: string): this {
    this.obj.metadata!.annotations = { ...this.obj.metadata!.annotations, [key]: value };
    return this;
  }
  build(): V1PersistentVolumeClaim {
    return structuredClone(this.obj);
  }
}

export class PodBuilder {
  private readonly obj: V1Pod;
  constructor(name: string, namespace: string) {
    this.obj = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, namespace },
      spec: { containers: [{ name: 'app', image: 'busybox', volumeMounts: [] }], volumes: [], terminationGracePeriodSeconds: 30 },
    };
  }
  onNode(node: string): this {
    this.obj.spec!.nodeName = node;
    return this;
  }
  withPvc(claimName: string, volume = claimName): this {
    this.obj.spec!.volumes!.push({ name: volume, persistentVolumeClaim: { claimName } });
    this.obj.spec!.containers[0]!.volumeMounts!.push({ name: volume, mountPath: `/data/${volume}` });
    return this;
  }
  label(key: string, value: string): this {
    this.obj.metadata!.labels = { ...this.obj.metadata!.labels, [key]: value };
    return this;
  }
  build(): V1Pod {
    return structuredClone(this.obj);
  }
}

export class CsiPvBuilder {
  private readonly obj: V1PersistentVolume;
  constructor(name: string, driver: string, volumeHandle: string) {
    this.obj = {
      apiVersion: 'v1', kind: 'PersistentVolume',
      metadata: { name },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', csi: { driver, volumeHandle } },
    };
  }
  claimRef(namespace: string, name: string, uid?: string): this {
    this.obj.spec!.claimRef = { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace, name, ...(uid ? { uid } : {}) };
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

export const pvc = (name: string, namespace: string): PvcBuilder => new PvcBuilder(name, namespace);
export const pod = (name: string, namespace: string): PodBuilder => new PodBuilder(name, namespace);
export const csiPv = (name: string, driver: string, volumeHandle: string): CsiPvBuilder => new CsiPvBuilder(name, driver, volumeHandle);
