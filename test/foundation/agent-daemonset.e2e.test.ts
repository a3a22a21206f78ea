// The agent DaemonSet: the real DaemonSet controller makes one pod per node, the simulated
// kubelet runs each with its node's address, and a real agent answers there on the DaemonSet's
// port (what the coordinator discovers in a real cluster).
import { readFileSync } from 'node:fs';
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, inject, it } from 'vitest';
import { AgentConnection } from '../../common/src/agent-client/agent-client.ts';
import { kubeAs } from '../harness/clients.ts';

const cluster = inject('cluster');

describe('agent DaemonSet', () => {
  it('has a Running pod on every node, owned by the DaemonSet, with an agent at its address', async () => {
    const core = kubeAs(cluster, 'admin').makeApiClient(CoreV1Api);
    // Owned by the DaemonSet (other suites create look-alikes with the same labels on purpose).
    const pods = (await core.listNamespacedPod({ namespace: cluster.adminNamespace, labelSelector: 'app.kubernetes.io/name=cairn-agent' })).items
      .filter((p) => p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet' && o.name === 'cairn-agent' && o.controller === true));
    expect(pods.map((p) => p.spec?.nodeName).sort()).toEqual(cluster.nodes.map((n) => n.name).sort());
    for (const p of pods) {
      expect(p.status?.phase).toBe('Running');
      const node = cluster.nodes.find((n) => n.name === p.spec?.nodeName)!;
      expect(p.status?.podIP).toBe(node.ip);
      const tls = { ca: readFileSync(cluster.agentPki.ca), cert: readFileSync(cluster.agentPki.coordinator.cert), key: readFileSync(cluster.agentPki.coordinator.key) };
      const agent = new AgentConnection(node.name, `${p.status!.podIP}:${cluster.agentPort}`, tls);
      expect((await agent.nodeStatus()).nodeName).toBe(node.name);
      agent.close();
    }
  });
});
