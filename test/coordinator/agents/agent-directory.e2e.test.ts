// The coordinator finds agents by owner reference to the agent DaemonSet, not by labels: a pod
// that copies the agent's labels (even in the admin namespace) never receives jobs.
import { readFileSync } from 'node:fs';
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, inject, it } from 'vitest';
import { AgentDirectory } from '../../../coordinator/src/agents/agent-directory.ts';
import { kubeAs } from '../../harness/clients.ts';
import { pod } from '../../harness/builders.ts';
import { waitFor } from '../../harness/wait.ts';

const cluster = inject('cluster');

function directory(): AgentDirectory {
  const c = cluster.agentPki.coordinator;
  return new AgentDirectory(kubeAs(cluster, 'admin'), {
    namespace: cluster.adminNamespace, daemonSet: 'cairn-agent', port: cluster.agentPort, cacheMs: 0,
    tls: { ca: readFileSync(cluster.agentPki.ca), cert: readFileSync(c.cert), key: readFileSync(c.key) },
  });
}

describe('agent discovery', () => {
  it('lists the DaemonSet pods of every node and connects to the right agent', async () => {
    const dir = directory();
    const agents = await dir.list();
    expect([...agents.keys()].sort()).toEqual(cluster.nodes.map((n) => n.name).sort());
    for (const n of cluster.nodes) {
      expect(agents.get(n.name)?.address).toBe(`${n.ip}:${cluster.agentPort}`);
      expect((await (await dir.connect(n.name)).nodeStatus()).nodeName).toBe(n.name);
    }
    dir.close();
  });

  it('ignores pods with the agent labels that the DaemonSet does not own', async () => {
    // A tenant's copy, in its own namespace; and one in the admin namespace that the DaemonSet
    // controller does not adopt (a full selector match would be adopted and then deleted).
    const tenant = kubeAs(cluster, 'team-a-admin').makeApiClient(CoreV1Api);
    const admin = kubeAs(cluster, 'admin').makeApiClient(CoreV1Api);
    const copy = pod('fake-agent', 'team-a').onNode('node-1').label('app.kubernetes.io/name', 'cairn-agent').label('app.kubernetes.io/part-of', 'cairn').build();
    await tenant.createNamespacedPod({ namespace: 'team-a', body: copy });
    const ns = cluster.adminNamespace;
    await admin.createNamespacedPod({ namespace: ns, body: pod('lookalike-agent', ns).onNode('node-1').label('app.kubernetes.io/name', 'cairn-agent').build() });
    await waitFor('both copies Running', async () =>
      (await tenant.readNamespacedPod({ name: 'fake-agent', namespace: 'team-a' })).status?.phase === 'Running'
      && (await admin.readNamespacedPod({ name: 'lookalike-agent', namespace: ns })).status?.phase === 'Running');
    const dir = directory();
    const agents = await dir.list();
    expect([...agents.values()].map((a) => a.pod)).not.toEqual(expect.arrayContaining(['fake-agent']));
    expect([...agents.values()].map((a) => a.pod)).not.toEqual(expect.arrayContaining(['lookalike-agent']));
    expect(agents.get('node-1')?.pod).toMatch(/^cairn-agent-/);
    dir.close();
  });

  it('fails clearly for a node without an agent', async () => {
    const dir = directory();
    await expect(dir.connect('node-99')).rejects.toMatchObject({ code: 'CAIRN_E_AGENT_UNAVAILABLE', message: expect.stringContaining('node-99') as string });
    dir.close();
  });
});
