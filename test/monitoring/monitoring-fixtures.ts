// Fixtures of the monitoring suite. The suite runs beside others on the one local cluster, so it
// keeps everything it measures to itself:
// - an agent DaemonSet of its own in its coordinator's admin namespace (the real DaemonSet
//   controller makes its pods on node-1 and node-2; the simulated kubelet runs them), and agent
//   processes of its own for those nodes on a port of their own, with known metrics addresses:
//   its coordinator dials only them, so their counters hold only this suite's jobs. The shared
//   node-1 and node-2 agents of cairn-system are never touched;
// - a fake third node: a pod owned by that DaemonSet, bound to a node name no Node has (a Node
//   object would get pods from every other suite's DaemonSets), marked Running with a loopback
//   address of its own, where an agent with that node's certificate listens;
// - Prometheus (Debian's package) with a configuration of its own scraping the suite's coordinator
//   and agents.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { agentIdentity } from '../../common/src/agent-identity.ts';
import { startAgent } from '../harness/agents.ts';
import { kubeAs } from '../harness/clients.ts';
import { createNamespaces, type ClusterInfo } from '../harness/cluster.ts';
import { isConflict, isNotFound, mergePatch } from '../harness/kube-errors.ts';
import { ManagedProcess } from '../harness/managed-process.ts';
import { issueCert } from '../harness/pki.ts';
import { freePort } from '../harness/ports.ts';
import type { SimNode } from '../harness/sim/nodes.ts';
import { waitFor } from '../harness/wait.ts';

const run = promisify(execFile);
export const agentLabels = { 'app.kubernetes.io/name': 'cairn-agent', 'app.kubernetes.io/part-of': 'cairn-monitoring-test' };

export interface OwnAgent {
  node: SimNode;
  metricsAddress: string;
  process: ManagedProcess;
  /** Starts the agent again (after a kill), same address and metrics address. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The namespace's `default` ServiceAccount (pods are refused until it exists). */
export async function waitForDefaultServiceAccount(kc: KubeConfig, namespace: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await waitFor(`the default ServiceAccount in ${namespace}`, async () => {
    try {
      return !!(await core.readNamespacedServiceAccount({ name: 'default', namespace }));
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }, { timeoutMs: 60_000 });
}

/** Holds the suite's DaemonSet after its deletion, so the DaemonSet controller leaves its pods alone. */
export const holdFinalizer = 'cairn.dev/monitoring-test-hold';

/**
 * The agent DaemonSet `cairn-agent` in `namespace`, with the Role that lets the coordinator read
 * it; waits for its pods on the cluster's nodes to run. Then the DaemonSet is deleted and held
 * by a finalizer: the DaemonSet controller does not touch a DaemonSet being deleted (it would
 * delete the fake node's pod at once, its node not existing), the garbage collector keeps its pods
 * while it exists, and the coordinator still finds its pods by owner reference to its uid.
 * `releaseAgentDaemonSet` lets it go.
 */
export async function ownAgentDaemonSet(cluster: ClusterInfo, namespace: string, port: number): Promise<string> {
  const admin = kubeAs(cluster, 'admin');
  await createNamespaces(admin, [namespace]);
  await waitForDefaultServiceAccount(admin, namespace);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const create = async (fn: () => Promise<unknown>) => fn().catch((err: unknown) => {
    if (!isConflict(err)) throw err;
  });
  await create(() => rbac.createNamespacedRole({ namespace, body: { metadata: { name: 'agent-daemonset' }, rules: [{ apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['get', 'list', 'watch'] }] } }));
  await create(() => rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'agent-daemonset' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'agent-daemonset' },
      subjects: [{ kind: 'ServiceAccount', name: 'cairn-coordinator', namespace: cluster.adminNamespace }],
    },
  }));
  const apps = admin.makeApiClient(AppsV1Api);
  await create(() => apps.createNamespacedDaemonSet({
    namespace,
    body: {
      metadata: { name: 'cairn-agent', namespace, labels: agentLabels, finalizers: [holdFinalizer] },
      spec: {
        selector: { matchLabels: agentLabels },
        template: {
          metadata: { labels: agentLabels },
          spec: {
            hostNetwork: true, automountServiceAccountToken: false, tolerations: [{ operator: 'Exists' }],
            containers: [{ name: 'agent', image: 'cairn-agent:local', ports: [{ name: 'grpc', containerPort: port, hostPort: port }] }],
          },
        },
      },
    },
  }));
  const core = admin.makeApiClient(CoreV1Api);
  await waitFor(`the DaemonSet pods in ${namespace} Running on ${cluster.nodes.map((n) => n.name).join(', ')}`, async () => {
    const pods = (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/part-of=cairn-monitoring-test' })).items;
    return cluster.nodes.every((n) => pods.some((p) => p.spec?.nodeName === n.name && p.status?.phase === 'Running'));
  }, { timeoutMs: 60_000 });
  await apps.deleteNamespacedDaemonSet({ name: 'cairn-agent', namespace, propagationPolicy: 'Background' });
  return (await apps.readNamespacedDaemonSet({ name: 'cairn-agent', namespace })).metadata!.uid!;
}

/** Removes the hold: the DaemonSet goes, and the garbage collector deletes its pods. */
export async function releaseAgentDaemonSet(kc: KubeConfig, namespace: string): Promise<void> {
  await kc.makeApiClient(AppsV1Api).patchNamespacedDaemonSet({ name: 'cairn-agent', namespace, body: { metadata: { finalizers: null } } }, mergePatch).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
}

/** An agent process for `node` on `node.ip:port`, metrics on `node.ip:<free port>`. */
export async function ownAgent(cluster: ClusterInfo, node: SimNode, port: number, o: { name: string; pki?: ClusterInfo['agentPki'] }): Promise<OwnAgent> {
  const runDir = await mkdtemp(join(tmpdir(), `cairn-${o.name}-`));
  await mkdir(join(runDir, 'logs'));
  const metricsAddress = `${node.ip}:${await freePort(node.ip)}`;
  const start = () => startAgent({
    runDir, node, pki: o.pki ?? cluster.agentPki, allowEndpoints: [new URL(cluster.minio.endpoint).host], port, name: o.name,
    extraArgs: ['--metrics-address', metricsAddress],
  });
  const agent: OwnAgent = {
    node, metricsAddress, process: (await start()).process,
    restart: async () => {
      agent.process = (await start()).process;
    },
    stop: async () => {
      await agent.process.stop();
      await rm(runDir, { recursive: true, force: true });
    },
  };
  return agent;
}

/** Kills the agent with SIGKILL (no goodbye on any stream) and waits until it is gone. */
export async function killAgent(agent: OwnAgent): Promise<void> {
  agent.process.child.kill('SIGKILL');
  await agent.process.waitExit();
}

/** A node that exists only as a name: its own loopback address, kubelet root and agent certificate. */
export async function fakeNode(cluster: ClusterInfo, name: string): Promise<{ node: SimNode; pki: ClusterInfo['agentPki']; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), `cairn-${name}-`));
  const ip = `127.0.0.${100 + Math.floor(Math.random() * 150)}`;
  const node: SimNode = { name, ip, kubeletRoot: join(dir, 'kubelet') };
  await mkdir(join(node.kubeletRoot, 'pods'), { recursive: true });
  const ca = { cert: cluster.caFile, key: cluster.caFile.replace(/\.crt$/, '.key') };
  const id = agentIdentity(name);
  const pair = await issueCert(ca, dir, `agent-${name}`, { commonName: id, dnsNames: [id], ipAddresses: [ip], usage: 'server' });
  return { node, pki: { ...cluster.agentPki, agents: { [name]: pair } }, dir };
}

/**
 * Makes sure a Running pod of the DaemonSet (uid `dsUid`) exists for the fake node, with the
 * node's address: created bound to the node, status written as a kubelet would. The pod
 * garbage collector deletes pods of nodes that do not exist after about a minute, so a test calls
 * this again before it relies on the pod.
 */
export async function ensureFakeAgentPod(kc: KubeConfig, namespace: string, dsUid: string, node: SimNode): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = `cairn-agent-${node.name}`;
  let pod = await core.readNamespacedPod({ namespace, name }).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
  if (pod?.metadata?.deletionTimestamp || (pod && pod.status?.phase !== 'Running' && pod.status?.phase !== 'Pending')) {
    await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 }).catch(() => {});
    await waitFor(`old pod ${name} gone`, async () => core.readNamespacedPod({ namespace, name }).then(() => false, (err: unknown) => isNotFound(err)), { timeoutMs: 30_000 });
    pod = undefined;
  }
  if (!pod) {
    pod = await core.createNamespacedPod({
      namespace,
      body: {
        metadata: {
          name, labels: agentLabels,
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'cairn-agent', uid: dsUid, controller: true, blockOwnerDeletion: true }],
        },
        spec: {
          nodeName: node.name, hostNetwork: true, automountServiceAccountToken: false, tolerations: [{ operator: 'Exists' }],
          containers: [{ name: 'agent', image: 'cairn-agent:local' }],
        },
      },
    });
  }
  if (pod.status?.phase !== 'Running') {
    const now = new Date();
    await core.patchNamespacedPodStatus({
      namespace, name,
      body: { status: { phase: 'Running', hostIP: node.ip, podIP: node.ip, podIPs: [{ ip: node.ip }], startTime: now, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] } },
    }, mergePatch);
  }
}

export interface Prometheus {
  url: string;
  process: ManagedProcess;
  /** An instant query; the result vector or matrix. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
}

/** Debian's prometheus binary (apt-get install prometheus; scripts/setup-system.sh installs it). */
export async function prometheusBinary(): Promise<string> {
  try {
    return (await run('sh', ['-c', 'command -v prometheus'])).stdout.trim();
  } catch {
    throw new Error('prometheus is not installed: run `npm run setup:system` (Debian package prometheus)');
  }
}

/** Prometheus scraping `jobs` (name -> host:port targets) every second, with honor_labels as docs/operations.md says. */
export async function startPrometheus(jobs: Record<string, string[]>): Promise<Prometheus> {
  const bin = await prometheusBinary();
  const dir = await mkdtemp(join(tmpdir(), 'cairn-prometheus-'));
  const config = [
    'global: { scrape_interval: 1s, evaluation_interval: 1s }',
    'scrape_configs:',
    ...Object.entries(jobs).flatMap(([job, targets]) => [
      `  - job_name: ${job}`, '    honor_labels: true', `    static_configs: [{ targets: [${targets.map((t) => `'${t}'`).join(', ')}] }]`,
    ]),
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), `${config}\n`);
  const address = `127.0.0.1:${await freePort()}`;
  const proc = new ManagedProcess({
    name: 'prometheus', command: bin, logFile: join(dir, 'prometheus.log'),
    args: [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=${address}`, '--log.level=warn'],
  });
  const url = `http://${address}`;
  await waitFor('prometheus to be ready', async () => {
    proc.assertRunning();
    return (await fetch(`${url}/-/ready`)).ok;
  }, { timeoutMs: 30_000 });
  return {
    url, process: proc,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr }).toString()}`);
      const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      if (body.status !== 'success') throw new Error(`prometheus refused ${expr}: ${body.error ?? res.status}`);
      return body.data!.result;
    },
    async stop() {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Every target of Prometheus up (scraped successfully). */
export async function targetsUp(p: Prometheus): Promise<Array<{ scrapeUrl: string; health: string; lastError: string }>> {
  const body = (await (await fetch(`${p.url}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ scrapeUrl: string; health: string; lastError: string }> } };
  return body.data.activeTargets;
}

/** The PromQL expressions of a Grafana dashboard (every panel's targets, rows' panels included) and its query variables. */
export function dashboardQueries(dashboard: unknown): { exprs: Array<{ panel: string; expr: string }>; variables: Array<{ name: string; metric: string; label: string }> } {
  type Panel = { title?: string; targets?: Array<{ expr?: string }>; panels?: Panel[] };
  const d = dashboard as { panels?: Panel[]; templating?: { list?: Array<{ name: string; type: string; query?: string | { query?: string } }> } };
  const exprs: Array<{ panel: string; expr: string }> = [];
  const walk = (panels: Panel[] | undefined) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr) exprs.push({ panel: p.title ?? '(untitled)', expr: t.expr });
      walk(p.panels);
    }
  };
  walk(d.panels);
  const variables = (d.templating?.list ?? []).filter((v) => v.type === 'query').map((v) => {
    const q = typeof v.query === 'string' ? v.query : v.query?.query ?? '';
    const m = /^label_values\((\w+),\s*(\w+)\)$/.exec(q);
    if (!m) throw new Error(`variable ${v.name}: query ${q} is not label_values(metric, label)`);
    return { name: v.name, metric: m[1]!, label: m[2]! };
  });
  return { exprs, variables };
}

/** Grafana's variables replaced the way a dashboard covering the test's minutes would. */
export function substitute(expr: string, values: Record<string, string>): string {
  return expr
    .replaceAll('$__rate_interval', '5m').replaceAll('$__range', '5m').replaceAll('$__interval', '5m')
    .replace(/\$(\w+)/g, (all, name: string) => values[name] ?? all);
}
