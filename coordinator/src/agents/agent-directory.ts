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
  /** How long a listing of the agents is reused; 0 lists every time. */
  cacheMs?: number;
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
  /** The last listing and when it was made: runs ask for it per volume, the API need not answer each. */
  private cached: { at: number; agents: Promise<Map<string, AgentAddress>> } | undefined;

  constructor(kc: KubeConfig, o: AgentDirectoryOptions) {
    this.apps = kc.makeApiClient(AppsV1Api);
    this.core = kc.makeApiClient(CoreV1Api);
    this.o = o;
  }

  /** The agents running now, by node: listed at most every `cacheMs` (default 3 s). */
  list(): Promise<Map<string, AgentAddress>> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < (this.o.cacheMs ?? 3_000)) return this.cached.agents;
    const agents = this.listNow();
    this.cached = { at: now, agents };
    agents.catch(() => {
      if (this.cached?.agents === agents) this.cached = undefined; // never cache a failure
    });
    return agents;
  }

  private async listNow(): Promise<Map<string, AgentAddress>> {
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
