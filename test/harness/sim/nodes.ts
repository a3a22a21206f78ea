// Simulated nodes: Node objects with a Ready condition and a Lease in kube-node-lease kept
// fresh, so the node lifecycle controller never marks them NotReady or evicts their pods.
import { CoordinationV1Api, CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { applyPatch, isConflict, mergePatch } from '../kube-errors.ts';

export interface SimNode {
  name: string;
  /** The node's own loopback address (127.0.0.N): its InternalIP and the agent's address. */
  ip: string;
  /** This node's kubelet root: pods/ and plugins/ live under it. */
  kubeletRoot: string;
}

const leaseSeconds = 40;

export class NodeHeartbeats {
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;
  private timer: NodeJS.Timeout | undefined;
  private beats = 0;
  private readonly nodes: SimNode[];
  lastError: unknown;

  constructor(kc: KubeConfig, nodes: SimNode[]) {
    this.nodes = nodes;
    this.core = kc.makeApiClient(CoreV1Api);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
  }

  async register(): Promise<void> {
    for (const n of this.nodes) {
      const body: V1Node = {
        metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'cairn.dev/simulated': 'true' } },
        spec: {},
      };
      try {
        await this.core.createNode({ body });
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
      await this.reportStatus(n);
      await this.renewLease(n);
    }
  }

  start(): void {
    this.timer = setInterval(() => void this.beat(), 5_000);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async beat(): Promise<void> {
    this.beats++;
    for (const n of this.nodes) {
      try {
        await this.renewLease(n);
        if (this.beats % 6 === 0) await this.reportStatus(n);
      } catch (err) {
        this.lastError = err;
      }
    }
  }

  private async reportStatus(n: SimNode): Promise<void> {
    const now = new Date().toISOString();
    const status = {
      status: {
        conditions: [
          { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'simulated kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now },
          { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', lastHeartbeatTime: now, lastTransitionTime: now },
          { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', lastHeartbeatTime: now, lastTransitionTime: now },
          { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', lastHeartbeatTime: now, lastTransitionTime: now },
        ],
        addresses: [{ type: 'InternalIP', address: n.ip }, { type: 'Hostname', address: n.name }],
        capacity: { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' },
        allocatable: { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' },
        nodeInfo: {
          machineID: n.name, systemUUID: n.name, bootID: n.name, kernelVersion: 'simulated', osImage: 'cairn simulated node',
          containerRuntimeVersion: 'simulated://1', kubeletVersion: 'v1.36.0-simulated', kubeProxyVersion: '', operatingSystem: 'linux', architecture: 'amd64',
        },
      },
    };
    await this.core.patchNodeStatus({ name: n.name, body: status }, mergePatch);
  }

  private async renewLease(n: SimNode): Promise<void> {
    // Lease times are MicroTime (six fractional digits); client-node would serialise a Date with
    // three, which the API server refuses. Server-side apply with a preformatted string instead.
    const renewTime = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    const body = {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: n.name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: n.name, leaseDurationSeconds: leaseSeconds, renewTime },
    };
    await this.coordination.patchNamespacedLease({ name: n.name, namespace: 'kube-node-lease', body, fieldManager: 'cairn-sim-kubelet', force: true }, applyPatch);
  }
}
