// The agent DaemonSet in the admin namespace. The real DaemonSet controller creates one pod per
// node; the simulated kubelet runs them with the node's address; the harness runs the agent
// process itself on that address and the DaemonSet's port. The coordinator finds agents the way
// it does in a real cluster: pods owned by this DaemonSet.
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { isConflict } from './kube-errors.ts';
import { waitFor } from './wait.ts';

export const agentDaemonSetName = 'cairn-agent';

export async function createAgentDaemonSet(kc: KubeConfig, namespace: string, port: number, nodes: number): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  const labels = { 'app.kubernetes.io/name': 'cairn-agent', 'app.kubernetes.io/part-of': 'cairn' };
  try {
    await apps.createNamespacedDaemonSet({
      namespace,
      body: {
        metadata: { name: agentDaemonSetName, namespace, labels },
        spec: {
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              hostNetwork: true, automountServiceAccountToken: false, tolerations: [{ operator: 'Exists' }],
              containers: [{ name: 'agent', image: 'cairn-agent:local', ports: [{ name: 'grpc', containerPort: port, hostPort: port }] }],
            },
          },
        },
      },
    });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  const core = kc.makeApiClient(CoreV1Api);
  await waitFor(`${nodes} agent DaemonSet pods Running`, async () => {
    const pods = (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/name=cairn-agent' })).items;
    return pods.filter((p) => p.status?.phase === 'Running').length === nodes;
  }, { timeoutMs: 60_000 });
}
