// What the node monitor reads besides the agent directory: which nodes have an agent pod at all
// (Running or not), each agent's status stream, and the PVC behind a job's PV.
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { AgentConnection, type AgentTls } from '../../../common/src/agent-client/agent-client.ts';
import type { NodeStatusReply } from '../../../common/src/generated/proto/agent.ts';

/** The node a pod is for: where it is bound, or (a DaemonSet pod not yet bound) where its affinity pins it. */
export function podNode(p: V1Pod): string | undefined {
  if (p.spec?.nodeName) return p.spec.nodeName;
  for (const term of p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of term.matchFields ?? []) {
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

/**
 * The nodes that have a pod of the agent DaemonSet in any phase (recognised, as the agent
 * directory does, by the controller owner reference to the DaemonSet's uid). A node with a pod
 * that is not Running (Pending, being replaced) keeps its NodeAgent, NotReady; a node with no
 * pod at all loses it.
 */
export function daemonSetPodNodes(kc: KubeConfig, o: { namespace: string; daemonSet: string }): () => Promise<Set<string>> {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  return async () => {
    const ds = await apps.readNamespacedDaemonSet({ name: o.daemonSet, namespace: o.namespace });
    const uid = ds.metadata?.uid;
    const out = new Set<string>();
    if (!uid) return out;
    for (const p of (await core.listNamespacedPod({ namespace: o.namespace })).items) {
      const owned = (p.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.kind === 'DaemonSet' && r.uid === uid);
      const node = owned ? podNode(p) : undefined;
      if (node) out.add(node);
    }
    return out;
  };
}

/** Opens one status stream to the agent of `node` at `address`; resolves when it ends, rejects when it breaks. */
export type StatusStreams = (node: string, address: string, intervalMs: number, onStatus: (r: NodeStatusReply) => void, signal: AbortSignal) => Promise<void>;

/**
 * Status streams over a connection of their own per attempt: a fresh channel has none of the
 * reconnect backoff (up to two minutes in grpc-js) that a channel to a dead agent builds up, so
 * an agent that comes back is heard from at the monitor's next attempt.
 */
export function agentStatusStreams(tls: AgentTls): StatusStreams {
  return async (node, address, intervalMs, onStatus, signal) => {
    const conn = new AgentConnection(node, address, tls);
    try {
      await conn.watchNodeStatus(intervalMs, onStatus, signal);
    } finally {
      conn.close();
    }
  };
}

/** The claim name of a PV (from its claimRef), cached: a bound PV's claim does not change. */
export function pvClaimNames(core: Pick<CoreV1Api, 'readPersistentVolume'>, maxEntries = 4096): (pv: string) => Promise<string | undefined> {
  const cache = new Map<string, string | undefined>();
  return async (pv) => {
    if (cache.has(pv)) return cache.get(pv);
    let claim: string | undefined;
    try {
      claim = (await core.readPersistentVolume({ name: pv })).spec?.claimRef?.name;
    } catch {
      return undefined; // not cached: asked again at the next report
    }
    if (cache.size >= maxEntries) cache.clear();
    cache.set(pv, claim);
    return claim;
  };
}
