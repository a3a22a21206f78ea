// admin nodes | backups: cluster-wide views. A tenant's namespace roles do not grant them, and the
// refusal says which role would.
import type { Backup, NodeAgent } from '../../../common/src/crds.ts';
import type { Command } from '../args/invocation.ts';
import { apiError } from '../kube/api-errors.ts';
import { renderList, renderNodeJobs } from '../render/lists.ts';
import type { Ctx } from './context.ts';
import { listAll } from './common.ts';

type Of<C extends Command['command']> = Extract<Command, { command: C }>;

const nodesForbidden = 'NodeAgents are for cluster admins: reading them needs the cairn-node-viewer ClusterRole (they name the jobs of every tenant)';
const nodesNotInstalled = 'NodeAgents are not available in this cluster: the NodeAgent API (nodeagents.cairn.dev) is not installed; apply Cairn\'s CRDs (manifests/crds)';
const noNodes = 'No NodeAgents yet: the coordinator creates one per node once it hears from the Cairn agent on that node (is the coordinator running, and the agent DaemonSet?).\n';

export async function adminNodes(ctx: Ctx, c: Of<'admin nodes'>): Promise<number> {
  let nodes: NodeAgent[];
  if (c.name !== undefined) {
    try {
      nodes = [await ctx.api.get<NodeAgent>('NodeAgent', undefined, c.name)];
    } catch (err) {
      throw apiError(err, {
        action: `get NodeAgent ${c.name}`,
        server: ctx.api.server,
        forbiddenHint: nodesForbidden,
        notFound: `no NodeAgent for node ${JSON.stringify(c.name)}: the coordinator has not heard from a Cairn agent there`,
      });
    }
  } else {
    nodes = await listAll<NodeAgent>(ctx, 'NodeAgent', { forbiddenHint: nodesForbidden, notInstalled: nodesNotInstalled });
  }
  nodes.sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  if (nodes.length === 0 && (c.output === 'table' || c.output === 'wide' || c.output === 'name')) {
    ctx.io.err(noNodes);
    return 0;
  }
  ctx.io.out(renderList('NodeAgent', nodes, { output: c.output, now: ctx.now(), allNamespaces: false, single: c.name !== undefined }));
  if (c.output === 'table' || c.output === 'wide') {
    const jobs = renderNodeJobs(nodes);
    if (jobs !== '') ctx.io.out(`\nRunning jobs:\n${jobs}`);
  }
  return 0;
}

export async function adminBackups(ctx: Ctx, c: Of<'admin backups'>): Promise<number> {
  const backups = await listAll<Backup>(ctx, 'Backup', {
    forbiddenHint: 'listing Backups of every namespace needs a cluster-wide role (list on backups.cairn.dev at the cluster scope); a tenant sees its own namespace\'s with kubectl cairn backup get',
  });
  backups.sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  if (backups.length === 0 && (c.output === 'table' || c.output === 'wide' || c.output === 'name')) {
    ctx.io.err('No backups found in any namespace.\n');
    return 0;
  }
  ctx.io.out(renderList('Backup', backups, { output: c.output, now: ctx.now(), allNamespaces: true }));
  return 0;
}
