// The coordinator benchmark (issue 6): N tenant namespaces, each with a BackupStorageLocation, a
// small volume mounted by a pod and a Schedule, all firing at the same minute, on a local cluster
// of 4 simulated nodes with a real agent each, the real coordinator with its own ServiceAccount,
// and MinIO. Measures the time until every Backup is Completed, the per-tenant wait (Schedule
// fire time to the Backup's start) and completion spread, the coordinator's peak RSS (VmHWM),
// and the API requests the coordinator made per backup (from the apiserver's audit log).
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { pod, pvc } from '../../test/harness/builders.ts';
import { createNamespaces, startCluster, type Cluster } from '../../test/harness/cluster.ts';
import { startCoordinator, type RunningCoordinator } from '../../test/harness/coordinator.ts';
import { csiBackingDir } from '../../test/harness/sim/kubelet.ts';
import { waitFor } from '../../test/harness/wait.ts';

export interface CoordinatorBenchOptions {
  tenants: number;
  nodes: number;
  workDir: string;
  /** Heap limit of the coordinator process in MiB (Node's default when absent). */
  maxOldSpaceMib?: number;
  log: (m: string) => void;
}

export interface CoordinatorBenchResult {
  tenants: number;
  nodes: number;
  jobsPerNode: number;
  /** Schedule fire time to the last Backup Completed. */
  all_completed_s: number;
  wait_s: { median: number; max: number; spread: number };
  completion_s: { median: number; max: number; spread: number };
  /** One Backup from its start to its completion. */
  run_s: { median: number; max: number; spread: number };
  coordinator_heap_limit_mib: number | null;
  coordinator_peak_rss_mib: number;
  api_requests_per_backup: number;
  api_requests_by_verb: Record<string, number>;
  failed: number;
  /** The first few Backups that did not complete, with why. */
  failures: { namespace: string; phase?: string; message?: string }[];
  date: string;
}

const group = 'cairn.dev';
const version = 'v1alpha1';
const coordinatorUser = 'system:serviceaccount:cairn-system:cairn-coordinator';

async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

function stats(xs: number[]): { median: number; max: number; spread: number } {
  const s = [...xs].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  const max = s.at(-1)!;
  return { median, max, spread: median > 0 ? Number((max / median).toFixed(2)) : 0 };
}

/** Audit events of the coordinator's ServiceAccount after `since`, by verb. */
async function auditCounts(file: string, since: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const lines = createInterface({ input: createReadStream(file) });
  for await (const line of lines) {
    if (!line.includes(coordinatorUser)) continue;
    const e = JSON.parse(line) as { user?: { username?: string }; verb?: string; requestReceivedTimestamp?: string; stage?: string };
    if (e.user?.username !== coordinatorUser || e.stage !== 'ResponseComplete') continue;
    if (Date.parse(e.requestReceivedTimestamp ?? '') < since) continue;
    out[e.verb ?? '?'] = (out[e.verb ?? '?'] ?? 0) + 1;
  }
  return out;
}

async function peakRssMib(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

async function setUpTenant(admin: KubeConfig, cluster: Cluster, ns: string, node: string): Promise<void> {
  const core = admin.makeApiClient(CoreV1Api);
  const objects = admin.makeApiClient(CustomObjectsApi);
  const s = cluster.info.minio.tenants['team-a']!;
  await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'creds' }, stringData: { cloud: `[default]\naws_access_key_id = ${s.accessKeyId}\naws_secret_access_key = ${s.secretAccessKey}\n` } } });
  await objects.createNamespacedCustomObject({
    group, version, namespace: ns, plural: 'backupstoragelocations',
    body: { apiVersion: `${group}/${version}`, kind: 'BackupStorageLocation', metadata: { name: 'main' }, spec: { objectStorage: { bucket: s.bucket, prefix: ns }, config: { region: 'us-east-1', endpoint: cluster.info.minio.endpoint, forcePathStyle: true }, credential: { name: 'creds', key: 'cloud' }, syncPeriod: '10m' } },
  });
  await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: pvc('data', ns).storageClass(cluster.info.storageClass).size('16Mi').build() });
  const pvName = await waitFor(`PVC ${ns}/data bound`, async () => {
    const c = await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'data' });
    return c.status?.phase === 'Bound' ? c.spec?.volumeName : undefined;
  }, { timeoutMs: 300_000, intervalMs: 500 });
  const pv = await core.readPersistentVolume({ name: pvName });
  const dir = csiBackingDir(cluster.info.volumesDir, pv.spec!.csi!.driver, pv.spec!.csi!.volumeHandle);
  await mkdir(join(dir, 'd'), { recursive: true });
  for (let i = 0; i < 50; i++) await writeFile(join(dir, i % 2 ? 'd' : '', `f${i}.txt`), `${ns} file ${i}\n`.repeat(100));
  await core.createNamespacedPod({ namespace: ns, body: pod('app', ns).onNode(node).withPvc('data').build() });
}

export async function runCoordinatorBench(o: CoordinatorBenchOptions): Promise<CoordinatorBenchResult> {
  const runDir = join(o.workDir, 'coordinator-bench');
  await rm(runDir, { recursive: true, force: true });
  await mkdir(runDir, { recursive: true });
  const policy = join(runDir, 'audit-policy.yaml');
  const auditLog = join(runDir, 'audit.log');
  await writeFile(policy, 'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived, ResponseStarted]\nrules:\n  - level: Metadata\n');
  o.log(`cluster with ${o.nodes} nodes`);
  const cluster = await startCluster({ runDir, nodes: o.nodes, tenants: ['team-a'], log: (m) => o.log(`[cluster] ${m}`), apiServerArgs: [`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`, '--audit-log-maxsize=1024'] });
  let coordinator: RunningCoordinator | undefined;
  try {
    const admin = cluster.admin();
    const names = Array.from({ length: o.tenants }, (_, i) => `bench-${String(i).padStart(3, '0')}`);
    o.log(`${o.tenants} tenant namespaces: location, volume, pod`);
    await createNamespaces(admin, names);
    await pool(names, 16, (ns) => setUpTenant(admin, cluster, ns, `node-${(names.indexOf(ns) % o.nodes) + 1}`));
    const core = admin.makeApiClient(CoreV1Api);
    await waitFor('every pod Running', async () => {
      const pods = await core.listPodForAllNamespaces({ labelSelector: undefined });
      return pods.items.filter((p) => p.metadata!.namespace!.startsWith('bench-') && p.status?.phase === 'Running').length === o.tenants;
    }, { timeoutMs: 600_000, intervalMs: 1_000 });

    o.log('coordinator');
    coordinator = await startCoordinator(cluster.info, { runDir, watchNamespaces: ['bench-*'], startTimeoutMs: 120_000, ...(o.maxOldSpaceMib ? { nodeArgs: [`--max-old-space-size=${o.maxOldSpaceMib}`] } : {}) });
    const objects = admin.makeApiClient(CustomObjectsApi);
    await waitFor('every BackupStorageLocation Available', async () => {
      const l = (await objects.listClusterCustomObject({ group, version, plural: 'backupstoragelocations' })) as { items: { metadata: { namespace: string }; status?: { phase?: string } }[] };
      return l.items.filter((x) => x.metadata.namespace.startsWith('bench-') && x.status?.phase === 'Available').length === o.tenants;
    }, { timeoutMs: 600_000, intervalMs: 1_000 });

    // One minute boundary at least 40 s ahead: every Schedule fires then.
    const fire = new Date(Math.ceil((Date.now() + 40_000) / 60_000) * 60_000);
    o.log(`${o.tenants} Schedules firing at ${fire.toISOString()}`);
    await pool(names, 16, async (ns) => {
      await objects.createNamespacedCustomObject({
        group, version, namespace: ns, plural: 'schedules',
        body: { apiVersion: `${group}/${version}`, kind: 'Schedule', metadata: { name: 'bench' }, spec: { schedule: `${fire.getUTCMinutes()} ${fire.getUTCHours()} * * *`, timeZone: 'UTC', template: { storageLocation: 'main' } } },
      });
    });
    if (Date.now() >= fire.getTime()) throw new Error('setting up the Schedules took past their fire time; run again');
    await sleep(fire.getTime() - Date.now());

    type B = { metadata: { namespace: string }; status?: { phase?: string; message?: string; startTimestamp?: string; completionTimestamp?: string; volumes?: { message?: string }[] } };
    let last: B[] = [];
    await waitFor(`${o.tenants} Backups in a final phase`, async () => {
      const l = (await objects.listClusterCustomObject({ group, version, plural: 'backups' })) as { items: B[] };
      last = l.items.filter((b) => b.metadata.namespace.startsWith('bench-'));
      const done = last.filter((b) => ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation'].includes(b.status?.phase ?? ''));
      return done.length === o.tenants;
    }, { timeoutMs: 30 * 60_000, intervalMs: 2_000 });
    const rss = await peakRssMib(coordinator.process.pid!);
    const t0 = fire.getTime();
    const waits = last.map((b) => (Date.parse(b.status!.startTimestamp!) - t0) / 1000);
    const completions = last.map((b) => (Date.parse(b.status!.completionTimestamp!) - t0) / 1000);
    await sleep(2_000); // the audit log is written asynchronously
    const byVerb = await auditCounts(auditLog, t0);
    const total = Object.values(byVerb).reduce((a, b) => a + b, 0);
    return {
      tenants: o.tenants, nodes: o.nodes, jobsPerNode: 2,
      all_completed_s: Math.max(...completions),
      wait_s: stats(waits), completion_s: stats(completions),
      run_s: stats(last.map((b) => (Date.parse(b.status!.completionTimestamp!) - Date.parse(b.status!.startTimestamp!)) / 1000)),
      coordinator_heap_limit_mib: o.maxOldSpaceMib ?? null,
      coordinator_peak_rss_mib: rss,
      api_requests_per_backup: Number((total / o.tenants).toFixed(1)),
      api_requests_by_verb: byVerb,
      failed: last.filter((b) => b.status?.phase !== 'Completed').length,
      failures: last.filter((b) => b.status?.phase !== 'Completed').slice(0, 5).map((b) => ({ namespace: b.metadata.namespace, phase: b.status?.phase, message: [b.status?.message, ...(b.status?.volumes ?? []).map((v) => v.message)].join('; ') })),
      date: new Date().toISOString(),
    };
  } finally {
    await coordinator?.stop();
    await cluster.stop();
  }
}

export function renderCoordinatorMd(r: CoordinatorBenchResult, command: string): string {
  return `## Coordinator at scale

\`${command}\` (${r.date}): ${r.tenants} tenant namespaces, each with a BackupStorageLocation, a 16Mi
volume of 50 small files mounted by a pod, and a Schedule, all firing at the same minute; ${r.nodes}
simulated nodes with a real agent each, ${r.jobsPerNode} jobs per node, one MinIO; the coordinator
with its own ServiceAccount. Times from the Schedules' fire time (timestamps have 1 s resolution).

| measure | value |
|---|---|
| all ${r.tenants} Backups Completed after | ${r.all_completed_s} s |
| wait until a Backup started (median / max, spread max/median) | ${r.wait_s.median} s / ${r.wait_s.max} s (${r.wait_s.spread}) |
| Backup completed after (median / max, spread) | ${r.completion_s.median} s / ${r.completion_s.max} s (${r.completion_s.spread}) |
| one Backup, start to completion (median / max) | ${r.run_s.median} s / ${r.run_s.max} s |
| coordinator peak RSS (VmHWM) | ${r.coordinator_peak_rss_mib} MiB${r.coordinator_heap_limit_mib ? ` (heap limited to ${r.coordinator_heap_limit_mib} MiB)` : ' (Node default heap limit)'} |
| API requests by the coordinator per backup (audit log, from the fire time) | ${r.api_requests_per_backup} (${Object.entries(r.api_requests_by_verb).map(([k, v]) => `${k} ${v}`).join(', ')}) |
| Backups not Completed | ${r.failed} |
`;
}
