// Finds the node agents the way DESIGN 5 says: pods of the agent DaemonSet in the admin
// namespace, recognised by their controller owner reference to that DaemonSet's UID (a tenant
// can copy labels, not owner references into the admin namespace), Running, with a pod IP.
// Keeps one mTLS connection per node.
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { CairnError } from '../../../common/src/errors.ts';
import { AgentConnection, type AgentTls } from '../../../common/src/agent-client/agent-client.ts';

export interface AgentDirectoryOptions {
  namespace: string;
  daemonSet: string;
  port: number;
  tls: AgentTls;
}

export interface AgentAddress {
  node: string;
  address: string;
  pod: string;
}

export class AgentDirectory {
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly o: AgentDirectoryOptions;
  private readonly connections = new Map<string, { address: string; conn: AgentConnection }>();

  constructor(kc: KubeConfig, o: AgentDirectoryOptions) {
    this.apps = kc.makeApiClient(AppsV1Api);
    this.core = kc.makeApiClient(CoreV1Api);
    this.o = o;
  }

  /** The agents running now, by node. */
  async list(): Promise<Map<string, AgentAddress>> {
    const ds = await this.apps.readNamespacedDaemonSet({ name: this.o.daemonSet, namespace: this.o.namespace });
    const uid = ds.metadata?.uid;
    const out = new Map<string, AgentAddress>();
    if (!uid) return out;
    const pods = (await this.core.listNamespacedPod({ namespace: this.o.namespace })).items;
    for (const p of pods) {
      const owned = (p.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.kind === 'DaemonSet' && r.uid === uid);
      const node = p.spec?.nodeName;
      const ip = p.status?.podIP;
      if (!owned || !node || !ip || p.status?.phase !== 'Running' || p.metadata?.deletionTimestamp) continue;
      const address = ip.includes(':') ? `[${ip}]:${this.o.port}` : `${ip}:${this.o.port}`;
      out.set(node, { node, address, pod: p.metadata!.name! });
    }
    return out;
  }

  /** A connection to the agent on `node`; CAIRN_E_AGENT_UNAVAILABLE when it has none. */
  async connect(node: string): Promise<AgentConnection> {
    const a = (await this.list()).get(node);
    if (!a) throw new CairnError('CAIRN_E_AGENT_UNAVAILABLE', `no Running agent on node ${node}`);
    const cached = this.connections.get(node);
    if (cached && cached.address === a.address) return cached.conn;
    cached?.conn.close();
    const conn = new AgentConnection(node, a.address, this.o.tls);
    this.connections.set(node, { address: a.address, conn });
    return conn;
  }

  close(): void {
    for (const c of this.connections.values()) c.conn.close();
    this.connections.clear();
  }
}
