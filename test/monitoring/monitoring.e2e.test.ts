// Admin node monitoring and metrics with the real coordinator process, real agents and Debian's
// Prometheus. The suite has its own coordinator, agent DaemonSet and agents (monitoring-fixtures.ts
// says why), so what it measures is its own; the shared node-1 and node-2 agents are never
// touched.
import { execFile } from 'node:child_process';
import { lstat, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NodeAgent } from '../../common/src/crds.ts';
import { kubeAs } from '../harness/clients.ts';
import { binary } from '../harness/components.ts';
import type { RunningCoordinator } from '../harness/coordinator.ts';
import { isNotFound } from '../harness/kube-errors.ts';
import { freePort, freePortOnAll } from '../harness/ports.ts';
import { waitFor } from '../harness/wait.ts';
import { checksums, isolatedCoordinator, Tenant, unique, writeTree } from '../coordinator/e2e/tenant-fixtures.ts';
import {
  dashboardQueries, ensureFakeAgentPod, fakeNode, killAgent, ownAgent, ownAgentDaemonSet, releaseAgentDaemonSet, startPrometheus, substitute, targetsUp,
  type OwnAgent, type Prometheus,
} from './monitoring-fixtures.ts';

const run = promisify(execFile);
const cluster = inject('cluster');
const u = unique();
const prefix = `mon${u}`;
const adminNs = `${prefix}-admin`;
const admin = kubeAs(cluster, 'admin');
const objects = admin.makeApiClient(CustomObjectsApi);
const agentVersion = (JSON.parse(await readFile(join(import.meta.dirname, '..', '..', 'agent', 'package.json'), 'utf8')) as { version: string }).version;
const fake = await fakeNode(cluster, `${prefix}-ghost`);

let coordinator: RunningCoordinator;
let coordinatorMetrics: string;
let dsUid: string;
const agents: OwnAgent[] = [];
let ghost: OwnAgent;
let prometheus: Prometheus | undefined;

async function nodeAgent(name: string): Promise<NodeAgent | undefined> {
  try {
    return (await objects.getClusterCustomObject({ group: 'cairn.dev', version: 'v1alpha1', plural: 'nodeagents', name })) as NodeAgent;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

beforeAll(async () => {
  const port = await freePortOnAll([...cluster.nodes.map((n) => n.ip), fake.node.ip]);
  dsUid = await ownAgentDaemonSet(cluster, adminNs, port);
  for (const n of cluster.nodes) agents.push(await ownAgent(cluster, n, port, { name: `agent-${prefix}-${n.name}` }));
  ghost = await ownAgent(cluster, fake.node, port, { name: `agent-${prefix}-ghost`, pki: fake.pki });
  coordinatorMetrics = `127.0.0.1:${await freePort()}`;
  coordinator = await isolatedCoordinator(cluster, prefix, 1, {
    extraArgs: ['--agent-namespace', adminNs, '--agent-port', String(port), '--metrics-address', coordinatorMetrics],
  });
}, 180_000);

afterAll(async () => {
  await prometheus?.stop();
  await coordinator?.stop();
  for (const a of [...agents, ghost]) await a?.stop();
  await releaseAgentDaemonSet(admin, adminNs);
  await rm(fake.dir, { recursive: true, force: true });
  await objects.deleteClusterCustomObject({ group: 'cairn.dev', version: 'v1alpha1', plural: 'nodeagents', name: fake.node.name }).catch(() => {});
});

describe('NodeAgents', () => {
  it('node-1 and node-2 have Ready NodeAgents with the agent version and a fresh heartbeat, as kubectl get nodeagents shows', async () => {
    for (const n of cluster.nodes) {
      const na = await waitFor(`NodeAgent ${n.name} Ready`, async () => {
        const got = await nodeAgent(n.name);
        return got?.status?.ready === true && got.status.lastHeartbeatTime && Date.now() - Date.parse(got.status.lastHeartbeatTime) < 30_000 ? got : undefined;
      }, { timeoutMs: 30_000, intervalMs: 250 });
      expect(na.spec?.nodeName).toBe(n.name);
      expect(na.status).toMatchObject({ nodeName: n.name, version: agentVersion, ready: true });
      expect(na.status?.freeBytes).toBeGreaterThan(0);
      expect(na.status?.memoryBytes).toBeGreaterThan(0);
      expect(na.status?.activeJobs).toBeGreaterThanOrEqual(0);
    }
    // The printer columns read what the coordinator writes.
    const { stdout } = await run(binary('kubernetes', 'kubectl'), ['--kubeconfig', cluster.adminKubeconfig, 'get', 'nodeagents', '-o', 'wide', ...cluster.nodes.map((n) => n.name)]);
    const [header, ...rows] = stdout.trim().split('\n');
    expect(header!.split(/\s{2,}/)).toEqual(['NAME', 'READY', 'ACTIVEJOBS', 'VERSION', 'LAST HEARTBEAT', 'AGE']);
    for (const row of rows) expect(row).toMatch(new RegExp(`^node-\\d\\s+true\\s+\\d+\\s+${agentVersion.replaceAll('.', '\\.')}\\s+\\d+s\\s+`));
  });

  it('a node\'s NodeAgent goes NotReady within 30 s when its agent is killed, and Ready when it is back', async () => {
    const name = fake.node.name;
    // Created here, not earlier: the pod garbage collector removes pods of a node that does not
    // exist about 40 s after it first sees them (ensureFakeAgentPod brings it back if so).
    await ensureFakeAgentPod(admin, adminNs, dsUid, fake.node);
    await waitFor(`NodeAgent ${name} Ready`, async () => (await nodeAgent(name))?.status?.ready === true, { timeoutMs: 30_000, intervalMs: 250 });
    await killAgent(ghost);
    const killedAt = Date.now();
    const down = await waitFor(`NodeAgent ${name} NotReady`, async () => {
      const na = await nodeAgent(name);
      return na?.status?.ready === false ? na : undefined;
    }, { timeoutMs: 35_000, intervalMs: 250 });
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    expect(down.status).toMatchObject({ ready: false, version: agentVersion, activeJobs: 0 });
    expect(down.status?.lastError).toMatch(/^CAIRN_E_AGENT_UNAVAILABLE: no status from the agent for \d+ s/);
    // Events about a cluster-scoped object live in `default`.
    await waitFor('the AgentNotReady Event', async () => (await admin.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` })).items.some((e) => e.reason === 'AgentNotReady'), { timeoutMs: 15_000 });

    await ensureFakeAgentPod(admin, adminNs, dsUid, fake.node); // the pod garbage collector may have taken it
    await ghost.restart();
    const restartedAt = Date.now();
    const up = await waitFor(`NodeAgent ${name} Ready again`, async () => {
      await ensureFakeAgentPod(admin, adminNs, dsUid, fake.node);
      const na = await nodeAgent(name);
      return na?.status?.ready === true ? na : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    expect(Date.now() - restartedAt).toBeLessThan(15_000);
    expect(up.status).not.toHaveProperty('lastError');
    expect(Date.parse(up.status!.lastHeartbeatTime!)).toBeGreaterThan(Date.parse(down.status!.lastHeartbeatTime!));
  }, 120_000);

  it('a node that has no agent pod any more loses its NodeAgent', async () => {
    const name = fake.node.name;
    const core = admin.makeApiClient(CoreV1Api);
    await core.deleteNamespacedPod({ namespace: adminNs, name: `cairn-agent-${name}`, gracePeriodSeconds: 0 }).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    // Deleted 30 s after the coordinator first saw no pod (a pod being replaced keeps it).
    await waitFor(`NodeAgent ${name} deleted`, async () => (await nodeAgent(name)) === undefined, { timeoutMs: 60_000, intervalMs: 500 });
    // The shared nodes keep theirs.
    for (const n of cluster.nodes) expect((await nodeAgent(n.name))?.status?.ready).toBe(true);
  }, 90_000);
});

/** Bytes of the regular files under `dir` (what a backup of it moves). */
async function fileBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir)) {
    const st = await lstat(join(dir, e));
    if (st.isDirectory()) total += await fileBytes(join(dir, e));
    else if (st.isFile()) total += st.size;
  }
  return total;
}

describe('metrics', () => {
  const tenant = new Tenant(cluster, `${prefix}-t`, 'team-a-admin', 'team-a');
  const final = ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation'];

  /** The value of a single-sample query, once Prometheus has it equal to `want`. */
  async function scraped(expr: string, want: number): Promise<void> {
    let last: unknown;
    await waitFor(`${expr} == ${want} in Prometheus`, async () => {
      const r = await prometheus!.query(expr);
      last = r.map((x) => x.value[1]);
      return r.length === 1 && Number(r[0]!.value[1]) === want;
    }, { timeoutMs: 30_000, intervalMs: 500 }).catch((err: Error) => {
      throw new Error(`${err.message} (last: ${JSON.stringify(last)})`);
    });
  }

  it('Prometheus scrapes the coordinator and the agents during a demo run; every dashboard query returns data; bytes moved equal the bytes in the volume', async () => {
    await tenant.setUp();
    await tenant.location('main');
    await tenant.waitPhase('backupstoragelocations', 'main', ['Available']);
    const dir = await tenant.pvc('data');
    await writeTree(dir, 'metrics');
    await tenant.pod('app', 'data', 'node-1');
    const volumeBytes = await fileBytes(dir);

    prometheus = await startPrometheus({
      'cairn-coordinator': [coordinatorMetrics],
      'cairn-agent': agents.map((a) => a.metricsAddress),
    });
    const targets = await waitFor('every target up', async () => {
      const t = await targetsUp(prometheus!);
      return t.length === 3 && t.every((x) => x.health === 'up') ? t : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500 });
    expect(targets.map((t) => t.scrapeUrl).sort()).toEqual([coordinatorMetrics, ...agents.map((a) => a.metricsAddress)].map((a) => `http://${a}/metrics`).sort());

    // A full backup: the bytes the coordinator and the agents count are the volume's.
    await tenant.backup('b1', { storageLocation: 'main' });
    const b1 = await tenant.waitPhase('backups', 'b1', final);
    expect(b1.status?.phase, JSON.stringify(b1.status)).toBe('Completed');
    expect(b1.status?.volumes?.[0]?.bytes).toBe(volumeBytes);
    await scraped(`cairn_bytes_moved_total{namespace="${tenant.namespace}",kind="Backup"}`, volumeBytes);
    await scraped(`cairn_files_moved_total{namespace="${tenant.namespace}",kind="Backup"}`, b1.status!.volumes![0]!.files!);
    await scraped('sum(cairn_agent_bytes_moved_total{kind="Backup"})', volumeBytes);

    // The rest of the demo: an incremental backup, a restore into a new PVC, and a restore into
    // a PVC too small for the data (the agent stops it: an error with a code).
    await tenant.backup('b2', { storageLocation: 'main' });
    expect((await tenant.waitPhase('backups', 'b2', final)).status?.phase).toBe('Completed');
    await tenant.restore('r1', { backupName: 'b1', targets: [{ volume: 'data', pvc: 'copy' }] });
    expect((await tenant.waitPhase('restores', 'r1', final)).status?.phase).toBe('Completed');
    expect(await checksums(await tenant.backingDir('copy'))).toEqual(await checksums(dir));
    await scraped(`cairn_bytes_moved_total{namespace="${tenant.namespace}",kind="Restore"}`, volumeBytes);
    await tenant.pvc('tiny', { size: '1Mi' });
    await tenant.restore('r2', { backupName: 'b1', targets: [{ volume: 'data', pvc: 'tiny' }] });
    const r2 = await tenant.waitPhase('restores', 'r2', final);
    expect(r2.status?.phase).toBe('Failed');
    const code = r2.status!.volumes![0]!.errorCode!;
    expect(code).toMatch(/^CAIRN_E_/);
    await scraped(`sum(cairn_runs_finished_total{namespace="${tenant.namespace}"})`, 4);
    await scraped(`cairn_errors_total{namespace="${tenant.namespace}",kind="Restore",code="${code}"}`, 1);
    await scraped(`sum(cairn_agent_errors_total{code="${code}"})`, 1);

    // Every query of the dashboard, as Grafana would send it for the last few minutes.
    const dashboard = JSON.parse(await readFile(join(import.meta.dirname, '..', '..', 'manifests', 'monitoring', 'cairn-dashboard.json'), 'utf8')) as unknown;
    const { exprs, variables } = dashboardQueries(dashboard);
    for (const v of variables) {
      const res = (await (await fetch(`${prometheus.url}/api/v1/series?${new URLSearchParams({ 'match[]': v.metric }).toString()}`)).json()) as { data: Array<Record<string, string>> };
      expect(res.data.some((s) => s[v.label]), `variable ${v.name}: label_values(${v.metric}, ${v.label})`).toBe(true);
    }
    // rate() and increase() need two scrapes of a series: a counter born a second ago has none yet.
    let empty: string[] = [];
    await waitFor('every dashboard query to return a number', async () => {
      empty = [];
      for (const { panel, expr } of exprs) {
        const q = substitute(expr, { namespace: tenant.namespace, node: '.*' });
        const result = await prometheus!.query(q);
        if (!result.some((r) => Number.isFinite(Number(r.value[1])))) empty.push(`${panel}: ${q} -> ${JSON.stringify(result.map((r) => r.value[1]))}`);
      }
      return empty.length === 0;
    }, { timeoutMs: 30_000, intervalMs: 1_000 }).catch(() => {});
    expect(empty).toEqual([]);
  }, 240_000);
});
