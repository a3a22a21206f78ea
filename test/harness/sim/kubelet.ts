// The simulated kubelet of every simulated node: binds unscheduled pods to a node, mounts their
// CSI volumes as real bind mounts (staging, then publish), marks them Running with a pod IP, and
// on deletion unmounts and removes them with grace period 0 (as a kubelet would once the
// containers stopped). Volume data lives in backing directories and outlives its pods.
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { mountAt, mountsUnder, readMountInfo } from '../../../common/src/mount/mountinfo.ts';
import { isNotFound, mergePatch } from '../kube-errors.ts';
import { bindMount, unmount, unmountAllUnder } from './mounts.ts';
import type { SimNode } from './nodes.ts';
import { PollLoop } from './poll-loop.ts';

export function csiStagingPath(kubeletRoot: string, driver: string, volumeHandle: string): string {
  const hash = createHash('sha256').update(volumeHandle).digest('hex');
  return join(kubeletRoot, 'plugins', 'kubernetes.io', 'csi', driver, hash, 'globalmount');
}

export function podVolumePath(kubeletRoot: string, podUid: string, pluginDir: string, volume: string): string {
  const base = join(kubeletRoot, 'pods', podUid, 'volumes', pluginDir, volume);
  return pluginDir === 'kubernetes.io~csi' ? join(base, 'mount') : base;
}

/** Where a CSI volume's data lives on the "storage backend" of the simulated cluster. */
export function csiBackingDir(volumesDir: string, driver: string, volumeHandle: string): string {
  return join(volumesDir, driver, encodeURIComponent(volumeHandle));
}

export interface KubeletOptions {
  volumesDir: string;
  intervalMs?: number;
}

export class SimulatedKubelets {
  private readonly core: CoreV1Api;
  private readonly byName: Map<string, SimNode>;
  private podIpCounter = 0;
  private bindCounter = 0;
  private readonly nodes: SimNode[];
  private readonly opts: KubeletOptions;
  private readonly loop: PollLoop;

  constructor(kc: KubeConfig, nodes: SimNode[], opts: KubeletOptions) {
    this.nodes = nodes;
    this.opts = opts;
    this.loop = new PollLoop(() => this.syncOnce(), opts.intervalMs ?? 250);
    this.core = kc.makeApiClient(CoreV1Api);
    this.byName = new Map(nodes.map((n) => [n.name, n]));
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
    const pods = (await this.core.listPodForAllNamespaces()).items;
    const live = new Set<string>();
    for (const pod of pods) {
      const uid = pod.metadata?.uid;
      if (!uid) continue;
      live.add(uid);
      try {
        await this.syncPod(pod);
      } catch (err) {
        this.loop.lastError = err;
      }
    }
    for (const node of this.nodes) await this.removeOrphans(node, live);
  }

  private async syncPod(pod: V1Pod): Promise<void> {
    const nodeName = pod.spec?.nodeName;
    if (pod.metadata?.deletionTimestamp) {
      const node = nodeName ? this.byName.get(nodeName) : undefined;
      if (node) await this.teardown(node, pod.metadata.uid!);
      await this.forceDelete(pod);
      return;
    }
    if (!nodeName) {
      const target = this.chooseNode(pod);
      if (target) await this.bind(pod, target);
      return;
    }
    const node = this.byName.get(nodeName);
    if (!node || pod.status?.phase !== 'Pending') return;
    if (await this.mountVolumes(node, pod)) await this.markRunning(node, pod);
  }

  private chooseNode(pod: V1Pod): SimNode | undefined {
    for (const term of pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
      for (const f of term.matchFields ?? []) {
        if (f.key === 'metadata.name' && f.operator === 'In') return f.values?.map((v) => this.byName.get(v)).find(Boolean);
      }
    }
    const wanted = pod.spec?.nodeSelector?.['kubernetes.io/hostname'];
    if (wanted) return this.byName.get(wanted);
    // Otherwise spread pods round robin over the nodes.
    return this.nodes[this.bindCounter++ % this.nodes.length];
  }

  private async bind(pod: V1Pod, node: SimNode): Promise<void> {
    const { name, namespace } = pod.metadata!;
    await this.core.createNamespacedBinding({
      namespace: namespace!,
      body: { metadata: { name: name!, namespace: namespace! }, target: { apiVersion: 'v1', kind: 'Node', name: node.name } },
    });
  }

  /** Mounts every volume the simulation supports; false while a PVC is not yet bound. */
  private async mountVolumes(node: SimNode, pod: V1Pod): Promise<boolean> {
    const uid = pod.metadata!.uid!;
    const namespace = pod.metadata!.namespace!;
    for (const v of pod.spec?.volumes ?? []) {
      if (v.persistentVolumeClaim) {
        const pvc = await this.core.readNamespacedPersistentVolumeClaim({ name: v.persistentVolumeClaim.claimName, namespace });
        if (pvc.status?.phase !== 'Bound' || !pvc.spec?.volumeName) return false;
        const pv = await this.core.readPersistentVolume({ name: pvc.spec.volumeName });
        const csi = pv.spec?.csi;
        if (!csi || pvc.spec.volumeMode === 'Block') continue;
        const staging = csiStagingPath(node.kubeletRoot, csi.driver, csi.volumeHandle);
        const backing = csiBackingDir(this.opts.volumesDir, csi.driver, csi.volumeHandle);
        await mkdir(backing, { recursive: true });
        await bindMount(backing, staging);
        await bindMount(staging, podVolumePath(node.kubeletRoot, uid, 'kubernetes.io~csi', pv.metadata!.name!));
      } else if (v.emptyDir) {
        await mkdir(podVolumePath(node.kubeletRoot, uid, 'kubernetes.io~empty-dir', v.name), { recursive: true });
      }
    }
    return true;
  }

  private async markRunning(node: SimNode, pod: V1Pod): Promise<void> {
    const now = new Date();
    const ownedByDaemonSet = (pod.metadata?.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet');
    const ip = ownedByDaemonSet || pod.spec?.hostNetwork ? node.ip : `10.244.${this.nodes.indexOf(node)}.${(this.podIpCounter++ % 250) + 2}`;
    const condition = (type: string) => ({ type, status: 'True', lastTransitionTime: now });
    const body = {
      status: {
        phase: 'Running',
        hostIP: node.ip, hostIPs: [{ ip: node.ip }], podIP: ip, podIPs: [{ ip }], startTime: now,
        conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map(condition),
        containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
          name: c.name, image: c.image ?? '', imageID: '', ready: true, started: true, restartCount: 0,
          containerID: `simulated://${pod.metadata!.uid}/${c.name}`, state: { running: { startedAt: now } },
        })),
      },
    };
    await this.core.patchNamespacedPodStatus({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, body }, mergePatch);
  }

  private async forceDelete(pod: V1Pod): Promise<void> {
    try {
      await this.core.deleteNamespacedPod({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, gracePeriodSeconds: 0 });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Unmounts a pod's volumes, then any staging mount no pod on the node uses any more. */
  private async teardown(node: SimNode, uid: string): Promise<void> {
    const podDir = join(node.kubeletRoot, 'pods', uid);
    await unmountAllUnder(podDir);
    if (mountsUnder(await readMountInfo(), podDir).length === 0) await rm(podDir, { recursive: true, force: true });
    await this.unstageUnused(node);
  }

  private async unstageUnused(node: SimNode): Promise<void> {
    const mounts = await readMountInfo();
    const podMounts = mountsUnder(mounts, join(node.kubeletRoot, 'pods'));
    for (const staging of mountsUnder(mounts, join(node.kubeletRoot, 'plugins'))) {
      const inUse = podMounts.some((p) => p.device === staging.device && p.root === staging.root);
      if (!inUse && mountAt(await readMountInfo(), staging.mountPoint)) await unmount(staging.mountPoint);
    }
  }

  private async removeOrphans(node: SimNode, live: Set<string>): Promise<void> {
    let uids: string[];
    try {
      uids = await readdir(join(node.kubeletRoot, 'pods'));
    } catch {
      return;
    }
    for (const uid of uids) if (!live.has(uid)) await this.teardown(node, uid);
  }
}
