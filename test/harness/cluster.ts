// The local cluster: real etcd, kube-apiserver (RBAC on), kube-controller-manager and MinIO,
// simulated nodes with a simulated kubelet and CSI provisioner, Cairn's manifests applied,
// tenant namespaces with their users, and a MinIO bucket and user per tenant.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { ApiextensionsV1Api, AuthorizationV1Api, CoreV1Api, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { mountsUnder, readMountInfo } from '../../common/src/mount/mountinfo.ts';
import { binary } from './components.ts';
import { startEtcd } from './etcd.ts';
import { startApiServer, type TokenUser } from './apiserver.ts';
import { startControllerManager } from './controller-manager.ts';
import { createTenantStorage, startMinio, type S3User } from './minio.ts';
import { agentPki, createCa, issueCert, serviceAccountKey, type AgentPki } from './pki.ts';
import { startAgent, type AgentEndpoint } from './agents.ts';
import { createAgentDaemonSet } from './agent-daemonset.ts';
import { freePortOnAll } from './ports.ts';
import { COORDINATOR_IDENTITY, agentIdentity } from '../../common/src/agent-identity.ts';
import { loadKubeconfig, writeKubeconfig } from './kubeconfig.ts';
import { isConflict } from './kube-errors.ts';
import { waitFor } from './wait.ts';
import { HarnessError } from './errors.ts';
import { NodeHeartbeats, type SimNode } from './sim/nodes.ts';
import { SimulatedKubelets } from './sim/kubelet.ts';
import { SimulatedCsiProvisioner, localDriver, localStorageClass } from './sim/csi-provisioner.ts';
import { unmountAllUnder } from './sim/mounts.ts';
import type { ManagedProcess } from './managed-process.ts';

const run = promisify(execFile);
const repoRoot = join(import.meta.dirname, '..', '..');

export interface TenantUser {
  name: string;
  namespace: string;
  /** The built-in ClusterRole the user is bound to in the namespace. */
  role: 'admin' | 'edit' | 'view';
  kubeconfig: string;
}

export interface TenantStorage extends S3User {
  bucket: string;
}

/** Everything a test or a developer needs to reach the cluster; serialisable. */
export interface ClusterInfo {
  runDir: string;
  apiServerUrl: string;
  caFile: string;
  adminKubeconfig: string;
  users: Record<string, TenantUser>;
  minio: { endpoint: string; root: S3User; mcConfigDir: string; tenants: Record<string, TenantStorage> };
  nodes: SimNode[];
  volumesDir: string;
  storageClass: string;
  csiDriver: string;
  adminNamespace: string;
  /** The node agents (real processes) and the certificates of the agent channel. */
  agents: AgentEndpoint[];
  agentPki: AgentPki;
  /** Every agent listens on its node's address and this port (the agent DaemonSet's). */
  agentPort: number;
  pids: Record<string, number>;
}

export interface ClusterOptions {
  runDir: string;
  nodes?: number;
  tenants?: string[];
  /** Extra kube-apiserver flags (e.g. audit logging for the coordinator benchmark). */
  apiServerArgs?: string[];
  log?: (message: string) => void;
}

export const defaultTenants = ['team-a', 'team-b'];
export const adminNamespace = 'cairn-system';

interface SimLoops {
  heartbeats: NodeHeartbeats;
  kubelets: SimulatedKubelets;
  provisioner: SimulatedCsiProvisioner;
}

export class Cluster {
  readonly info: ClusterInfo;
  private readonly processes: ManagedProcess[];
  private readonly loops: SimLoops;
  private readonly etcdDir: string;

  constructor(info: ClusterInfo, processes: ManagedProcess[], loops: SimLoops, etcdDir: string) {
    this.info = info;
    this.processes = processes;
    this.loops = loops;
    this.etcdDir = etcdDir;
  }

  admin(): KubeConfig {
    return loadKubeconfig(this.info.adminKubeconfig);
  }

  /** First component that has died, for a clear failure instead of a hang. */
  assertHealthy(): void {
    for (const p of this.processes) p.assertRunning();
  }

  async stop(): Promise<void> {
    this.loops.heartbeats.stop();
    await this.loops.kubelets.stop();
    await this.loops.provisioner.stop();
    for (const p of [...this.processes].reverse()) await p.stop();
    await unmountAllUnder(join(this.info.runDir, 'nodes'));
    await rm(this.etcdDir, { recursive: true, force: true });
  }
}

/** Fails with one message naming every component that is not built. */
function requireBinaries(): void {
  const missing: string[] = [];
  try {
    execFileSync('bwrap', ['--version'], { stdio: 'ignore' });
  } catch {
    missing.push("bubblewrap (bwrap) is not installed; the agent runs every job in it ('npm run setup:system' installs it)");
  }
  for (const [c, b] of [['etcd', 'etcd'], ['kubernetes', 'kube-apiserver'], ['kubernetes', 'kube-controller-manager'], ['kubernetes', 'kubectl'], ['minio', 'minio'], ['mc', 'mc']] as const) {
    try {
      binary(c, b);
    } catch (err) {
      missing.push((err as Error).message);
    }
  }
  if (missing.length > 0) throw new HarnessError('CAIRN_E_COMPONENT_MISSING', `the local cluster cannot start:\n${missing.join('\n')}`);
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const log = opts.log ?? (() => {});
  requireBinaries();
  const runDir = opts.runDir;
  const tenants = opts.tenants ?? defaultTenants;
  if (mountsUnder(await readMountInfo(), runDir).length > 0) {
    throw new HarnessError('CAIRN_E_CLUSTER_BUSY', `${runDir} still has mounts: is a cluster running there? ('npm run cluster -- down')`);
  }
  for (const d of ['pki', 'logs', 'nodes', 'volumes', 'kubeconfig']) await mkdir(join(runDir, d), { recursive: true });
  const etcdDir = join('/dev/shm', `cairn-etcd-${basename(runDir)}-${randomBytes(4).toString('hex')}`);
  const processes: ManagedProcess[] = [];
  const started = Date.now();
  try {
    log('certificates');
    const pki = join(runDir, 'pki');
    const ca = await createCa(pki, 'cairn-local-ca');
    const [serving, adminCert, sa] = await Promise.all([
      issueCert(ca, pki, 'apiserver', {
        commonName: 'kube-apiserver', usage: 'server',
        dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
        ipAddresses: ['127.0.0.1', '10.96.0.1'],
      }),
      issueCert(ca, pki, 'admin', { commonName: 'cairn-admin', organizations: ['system:masters'], usage: 'client' }),
      serviceAccountKey(pki),
    ]);
    const tokenUsers: (TokenUser & { namespace: string; role: TenantUser['role'] })[] = tenants.flatMap((ns) => [
      { name: `${ns}-admin`, token: randomBytes(24).toString('hex'), groups: ['system:authenticated'], namespace: ns, role: 'admin' as const },
      { name: `${ns}-viewer`, token: randomBytes(24).toString('hex'), groups: ['system:authenticated'], namespace: ns, role: 'view' as const },
    ]);

    log('etcd');
    const etcd = await startEtcd(runDir, etcdDir);
    processes.push(etcd.process);
    log('kube-apiserver');
    const api = await startApiServer({ runDir, etcdUrl: etcd.url, ca, serving, admin: adminCert, serviceAccount: sa, users: tokenUsers, extraArgs: opts.apiServerArgs ?? [] });
    processes.push(api.process);
    const adminKubeconfig = join(runDir, 'kubeconfig', 'admin.yaml');
    await writeKubeconfig(adminKubeconfig, api.url, ca.cert, 'cairn-admin', { cert: adminCert.cert, key: adminCert.key });
    const users: Record<string, TenantUser> = {};
    for (const u of tokenUsers) {
      const kubeconfig = join(runDir, 'kubeconfig', `${u.name}.yaml`);
      await writeKubeconfig(kubeconfig, api.url, ca.cert, u.name, { token: u.token });
      users[u.name] = { name: u.name, namespace: u.namespace, role: u.role, kubeconfig };
    }

    log('kube-controller-manager and minio');
    const kcm = await startControllerManager(runDir, adminKubeconfig, ca, sa.privateKey);
    processes.push(kcm);
    const minio = await startMinio(runDir, join(runDir, 'minio-data'));
    processes.push(minio.process);

    const kc = loadKubeconfig(adminKubeconfig);
    log('manifests');
    await applyManifests(adminKubeconfig);
    await waitForCrdsEstablished(kc);

    const nodes: SimNode[] = Array.from({ length: opts.nodes ?? 2 }, (_, i) => ({
      name: `node-${i + 1}`, ip: `127.0.0.${i + 2}`, kubeletRoot: join(runDir, 'nodes', `node-${i + 1}`, 'kubelet'),
    }));
    for (const n of nodes) await mkdir(join(n.kubeletRoot, 'pods'), { recursive: true });
    const volumesDir = join(runDir, 'volumes');
    log('simulated nodes, kubelet and CSI provisioner');
    const heartbeats = new NodeHeartbeats(kc, nodes);
    await heartbeats.register();
    heartbeats.start();
    const kubelets = new SimulatedKubelets(kc, nodes, { volumesDir });
    kubelets.start();
    const provisioner = new SimulatedCsiProvisioner(kc, volumesDir);
    await provisioner.installStorageClass();
    provisioner.start();

    log('node agents');
    const pkiAgents = await agentPki(ca, pki, nodes, { coordinator: COORDINATOR_IDENTITY, agent: agentIdentity });
    const minioHostPort = new URL(minio.endpoint).host;
    const agentPort = await freePortOnAll(nodes.map((n) => n.ip));
    const agents: AgentEndpoint[] = [];
    for (const node of nodes) {
      const a = await startAgent({ runDir, node, pki: pkiAgents, allowEndpoints: [minioHostPort], port: agentPort });
      processes.push(a.process);
      agents.push(a.endpoint);
    }

    log('tenants');
    await createNamespaces(kc, [adminNamespace, ...tenants]);
    await waitForServiceAccounts(kc, [adminNamespace], () => kcm.assertRunning());
    await createAgentDaemonSet(kc, adminNamespace, agentPort, nodes.length);
    await bindTenantUsers(kc, Object.values(users));
    const tenantStorage: Record<string, TenantStorage> = {};
    for (const t of tenants) tenantStorage[t] = { bucket: t, ...(await createTenantStorage(minio, t, t)) };
    await waitForServiceAccounts(kc, tenants, () => kcm.assertRunning());
    await waitForAggregatedRoles(users);

    const info: ClusterInfo = {
      runDir, apiServerUrl: api.url, caFile: ca.cert, adminKubeconfig, users,
      minio: { endpoint: minio.endpoint, root: minio.root, mcConfigDir: minio.mcConfigDir, tenants: tenantStorage },
      nodes, volumesDir, storageClass: localStorageClass, csiDriver: localDriver, adminNamespace, agents, agentPki: pkiAgents, agentPort,
      pids: Object.fromEntries(processes.map((p) => [p.name, p.pid ?? -1])),
    };
    await writeFile(join(runDir, 'cluster-info.json'), JSON.stringify(info, null, 2));
    log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return new Cluster(info, processes, { heartbeats, kubelets, provisioner }, etcdDir);
  } catch (err) {
    for (const p of processes.reverse()) await p.stop().catch(() => {});
    await unmountAllUnder(join(runDir, 'nodes')).catch(() => {});
    await rm(etcdDir, { recursive: true, force: true });
    throw err;
  }
}

async function applyManifests(kubeconfig: string): Promise<void> {
  try {
    await run(binary('kubernetes', 'kubectl'), ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--force-conflicts', '-k', join(repoRoot, 'manifests')]);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new HarnessError('CAIRN_E_MANIFESTS', `kubectl apply -k manifests failed: ${e.stderr ?? e.message}`);
  }
}

async function waitForCrdsEstablished(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  await waitFor('Cairn CRDs to be Established', async () => {
    const crds = (await api.listCustomResourceDefinition()).items.filter((c) => c.spec.group === 'cairn.dev');
    return crds.length > 0 && crds.every((c) => c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True'));
  }, { timeoutMs: 30_000 });
}

/** Creates namespaces that do not exist yet. */
export async function createNamespaces(kc: KubeConfig, names: string[]): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  for (const name of names) {
    try {
      await core.createNamespace({ body: { metadata: { name } } });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
}

async function bindTenantUsers(kc: KubeConfig, users: TenantUser[]): Promise<void> {
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  for (const u of users) {
    try {
      await rbac.createNamespacedRoleBinding({
        namespace: u.namespace,
        body: {
          metadata: { name: `${u.name}-${u.role}` },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: u.role },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: u.name }],
        },
      });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
}

/** ServiceAccount admission rejects pods until the namespace's `default` ServiceAccount exists. */
async function waitForServiceAccounts(kc: KubeConfig, namespaces: string[], check: () => void): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  for (const namespace of namespaces) {
    await waitFor(`the default ServiceAccount in ${namespace} (made by kube-controller-manager)`, async () => {
      check();
      return (await core.readNamespacedServiceAccount({ name: 'default', namespace })).metadata?.name === 'default';
    }, { timeoutMs: 60_000 });
  }
}

/** RBAC aggregation into admin/edit/view is asynchronous: poll until the tenant admin can use Cairn. */
async function waitForAggregatedRoles(users: Record<string, TenantUser>): Promise<void> {
  for (const u of Object.values(users).filter((x) => x.role === 'admin')) {
    const authz = loadKubeconfig(u.kubeconfig).makeApiClient(AuthorizationV1Api);
    await waitFor(`${u.name} to be allowed to create backups.cairn.dev (RBAC aggregation)`, async () => {
      const r = await authz.createSelfSubjectAccessReview({
        body: { spec: { resourceAttributes: { group: 'cairn.dev', resource: 'backups', verb: 'create', namespace: u.namespace } } },
      });
      return r.status?.allowed === true;
    }, { timeoutMs: 30_000 });
  }
}
