// The coordinator binary: parse config once, build the parts, run the controllers, stop on
// SIGTERM. The only file that wires things together (CONVENTIONS).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { isBackupFinal, isRestoreFinal, type Backup, type BackupStorageLocation, type DeleteBackupRequest, type Restore, type Schedule } from '../../common/src/crds.ts';
import { createLogger } from '../../common/src/logger.ts';
import { AgentDirectory } from './agents/agent-directory.ts';
import { BackupReconciler } from './backup/backup-reconciler.ts';
import { parseConfig } from './config.ts';
import { DeleteBackupRequestReconciler, requestsToRecheck } from './deletion/delete-backup-reconciler.ts';
import { ExpiryLoop } from './deletion/expiry.ts';
import { CoordinatorMetrics } from './metrics/coordinator-metrics.ts';
import { startMetricsServer } from '../../common/src/metrics-server.ts';
import { agentStatusStreams, daemonSetPodNodes, pvClaimNames } from './nodes/agent-sources.ts';
import { nodeAgentStore } from './nodes/node-agent-store.ts';
import { NodeMonitor } from './nodes/node-monitor.ts';
import type { JobDeps } from './jobs/job-deps.ts';
import { NodeSlots } from './jobs/node-slots.ts';
import { FairQueue } from './queue/fair-queue.ts';
import { PositionThrottle } from './queue/position-throttle.ts';
import { RunRegistry } from './jobs/run-registry.ts';
import { LeaseElector } from './leader/lease-elector.ts';
import { LocationReconciler } from './location/location-reconciler.ts';
import { secretReader } from './location/secret-reader.ts';
import { RestoreReconciler } from './restore/restore-reconciler.ts';
import { Controller, phaseReconcilerBinding } from './runtime/controller.ts';
import { EventRecorder } from './runtime/events.ts';
import { Informer, objectKey } from './runtime/informer.ts';
import { namespaceFilter } from './runtime/namespace-filter.ts';
import { cairnResource } from './runtime/resources.ts';
import { tenantLabelDefault } from './resolve/types.ts';
import { ScheduleReconciler, scheduleBackupsWatch } from './schedule/schedule-reconciler.ts';
import { syncBackups } from './sync/sync-backups.ts';

const config = parseConfig(process.argv.slice(2), process.env);
const logger = createLogger({ component: 'coordinator', level: config.logLevel });
const instance = process.env.POD_NAME ?? hostname();

const kc = new KubeConfig();
if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
else kc.loadFromCluster();
const core = kc.makeApiClient(CoreV1Api);
const api = kc.makeApiClient(CustomObjectsApi);

const clusterUid = config.clusterUid.source === 'value'
  ? config.clusterUid.uid
  : (await core.readNamespace({ name: config.clusterUid.namespace })).metadata!.uid!;

const shutdown = new AbortController();
const namespaces = namespaceFilter({ patterns: config.watchNamespaces, adminNamespace: config.adminNamespace });
const locations = new Informer<BackupStorageLocation>({ kubeConfig: kc, resource: cairnResource('BackupStorageLocation'), namespaces, logger });
const backups = new Informer<Backup>({ kubeConfig: kc, resource: cairnResource('Backup'), namespaces, logger });
const restores = new Informer<Restore>({ kubeConfig: kc, resource: cairnResource('Restore'), namespaces, logger });
const schedules = new Informer<Schedule>({ kubeConfig: kc, resource: cairnResource('Schedule'), namespaces, logger });
const deleteRequests = new Informer<DeleteBackupRequest>({ kubeConfig: kc, resource: cairnResource('DeleteBackupRequest'), namespaces, logger });
const events = new EventRecorder({ kubeConfig: kc, controller: 'cairn.dev/coordinator', instance, clusterScopedNamespace: config.adminNamespace, logger });

// Metrics and node monitoring (docs/operations.md "Monitoring"). The metrics endpoint serves on
// standbys too (cairn_leader 0); a failure to listen is logged, never fatal. The node monitor
// writes the NodeAgents and runs on the leader only (started below).
const metrics = new CoordinatorMetrics();
metrics.watchRuns('Backup', backups);
metrics.watchRuns('Restore', restores);
metrics.watchLocations(locations);
const metricsServer = await startMetricsServer(config.metricsAddress, metrics, (err) => logger.warn({ err }, 'collecting metrics failed'))
  .then((m) => {
    logger.info({ address: m.address }, 'metrics serving');
    return m;
  }, (err: unknown) => {
    logger.error({ err, address: config.metricsAddress }, 'the metrics server could not listen; running without /metrics');
    return undefined;
  });

const agents = new AgentDirectory(kc, {
  namespace: config.agentNamespace, daemonSet: config.agentDaemonSet, port: config.agentPort,
  tls: { ca: readFileSync(config.tls.ca), cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) },
});
// Events about a cluster-scoped object must be in `default` (or kube-system): the API server
// refuses them in another namespace (422, involvedObject.namespace does not match).
const nodeEvents = new EventRecorder({ kubeConfig: kc, controller: 'cairn.dev/coordinator', instance, clusterScopedNamespace: 'default', logger });
const nodeMonitor = new NodeMonitor({
  agents: () => agents.list(),
  agentPodNodes: daemonSetPodNodes(kc, { namespace: config.agentNamespace, daemonSet: config.agentDaemonSet }),
  streams: agentStatusStreams({ ca: readFileSync(config.tls.ca), cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) }),
  store: nodeAgentStore(api, config.adminNamespace),
  pvcOf: pvClaimNames(core),
  events: nodeEvents,
  logger: logger.child({ part: 'node-monitor' }),
});
metrics.watchNodes(() => nodeMonitor.current());
const locationDeps = {
  readSecret: secretReader(core),
  policy: { allow: new Set(config.allowEndpoints), refusedCidrs: [...config.podCidrs, ...config.serviceCidrs] },
};
const jobs: JobDeps = {
  core, api, agents, slots: new NodeSlots(config.jobLimits.perNode), location: locationDeps,
  policy: { provisionerAllowList: config.provisioners, tenantLabel: tenantLabelDefault },
  clusterUid, adminNamespace: config.adminNamespace, volumesInParallel: config.jobLimits.perTenant,
  helperImage: config.helperImage, helperTimeoutMs: 120_000, progressIntervalMs: 2_000, logger,
};
// Job slots in all: jobs per node times the agents running now (refreshed every 10 s).
let agentCount = 1;
const refreshAgents = async (): Promise<void> => {
  try {
    agentCount = Math.max(1, (await agents.list()).size);
  } catch (err) {
    logger.warn({ err }, 'listing the agents failed; keeping the last count');
  }
};
await refreshAgents();
const agentTimer = setInterval(() => void refreshAgents(), 10_000);
agentTimer.unref();
// The controller is built after the queue (its reconcilers need the queue); the queue enqueues through it.
const wired: { controller?: Controller; running?: Promise<void>; expiring?: Promise<void>; monitoring?: Promise<void> } = {};
const enqueueRun = (id: string): void => {
  const [kind, ...rest] = id.split('/');
  wired.controller?.enqueue(kind!, rest.join('/'));
};
const queue = new FairQueue({
  perTenant: config.jobLimits.perTenant,
  capacity: () => config.jobLimits.perNode * agentCount,
  onAdmit: enqueueRun,
  onMove: (ids) => ids.forEach(enqueueRun),
});
const positions = new PositionThrottle();
const backupRuns = new RunRegistry();
const restoreRuns = new RunRegistry();
// A Backup or Restore deleted while it runs: stop its jobs. One that reached a final phase with
// no run of this process left leaves the queue (a stale Queued copy may have put it back).
backups.on({
  update: (b) => { if ((isBackupFinal(b.status?.phase) || b.status?.phase === 'Deleting') && !backupRuns.has(objectKey(b))) queue.withdraw(`Backup/${objectKey(b)}`); },
  delete: (b) => { backupRuns.abort(objectKey(b)); queue.withdraw(`Backup/${objectKey(b)}`); },
});
restores.on({
  update: (r) => { if (isRestoreFinal(r.status?.phase) && !restoreRuns.has(objectKey(r))) queue.withdraw(`Restore/${objectKey(r)}`); },
  delete: (r) => { restoreRuns.abort(objectKey(r)); queue.withdraw(`Restore/${objectKey(r)}`); },
});

const backupReconciler = new BackupReconciler({ jobs, statusApi: api, locations, backups, runs: backupRuns, queue, positions, defaultTtlMs: config.defaultBackupTtlMs, shutdown: shutdown.signal });
const restoreReconciler = new RestoreReconciler({ jobs, statusApi: api, locations, backups, runs: restoreRuns, queue, positions, shutdown: shutdown.signal });
const scheduleReconciler = new ScheduleReconciler({ api, backups, deleteRequests });
const deletionReconciler = new DeleteBackupRequestReconciler({ api, backups, locations, restores, location: locationDeps });
const locationReconciler = new LocationReconciler({
  location: locationDeps, backups, defaultSyncPeriodMs: config.defaultSyncPeriodMs,
  sync: (r) => syncBackups({ ...r, api, limit: config.syncedBackupLimit }),
});
const ctl = new Controller({
  logger,
  bindings: [
    phaseReconcilerBinding(locationReconciler, { informer: locations, api, events, logger }, { concurrency: 4 }),
    phaseReconcilerBinding(backupReconciler, { informer: backups, api, events, logger }, { concurrency: 8 }),
    phaseReconcilerBinding(restoreReconciler, { informer: restores, api, events, logger }, { concurrency: 8 }),
    phaseReconcilerBinding(scheduleReconciler, { informer: schedules, api, events, logger }, { concurrency: 4, watches: [scheduleBackupsWatch(backups, schedules)] }),
    phaseReconcilerBinding(deletionReconciler, { informer: deleteRequests, api, events, logger }, {
      concurrency: 4,
      watches: [{ informer: backups, keys: requestsToRecheck(deleteRequests) }, { informer: restores, keys: requestsToRecheck(deleteRequests) }],
    }),
  ],
});
wired.controller = ctl;

const stop = async (signal: string): Promise<void> => {
  logger.info({ signal }, 'stopping');
  shutdown.abort(new Error(`coordinator stopping (${signal})`));
  await wired.running?.catch((err: unknown) => logger.error({ err }, 'controller failed'));
  await Promise.all([backupRuns.drain(), restoreRuns.drain(), wired.expiring, wired.monitoring]);
  await metricsServer?.close();
  await elector.release();
  clearInterval(agentTimer);
  agents.close();
  await events.flush();
  await nodeEvents.flush();
  process.exit(0);
};
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));

// Only the leader reconciles (DESIGN 1: two replicas, one active); the other waits for the Lease.
const elector = new LeaseElector({
  api: kc.makeApiClient(CoordinationV1Api), namespace: config.adminNamespace, name: config.leaseName,
  identity: `${instance}-${randomUUID().slice(0, 8)}`, logger,
});
logger.info({ identity: elector.identity }, 'waiting for leadership');
try {
  await elector.acquire(shutdown.signal);
} catch {
  await new Promise(() => {}); // stopping: stop() exits the process
}
logger.info({ identity: elector.identity }, 'leading');
metrics.setLeader(true);
wired.monitoring = nodeMonitor.run(shutdown.signal).catch((err: unknown) => logger.error({ err }, 'the node monitor stopped'));
wired.running = ctl.run(shutdown.signal);
// Expired Backups get a DeleteBackupRequest (those of a Schedule with a retention are left to it).
wired.expiring = new ExpiryLoop({ backups, requests: deleteRequests, schedules, api, intervalMs: 60_000, logger }).run(shutdown.signal)
  .catch((err: unknown) => logger.error({ err }, 'the expiry loop stopped'));
wired.running.catch((err: unknown) => {
  logger.fatal({ err }, 'controller failed');
  process.exit(1);
});
void elector.hold(shutdown.signal).then((how) => {
  if (how !== 'lost' || shutdown.signal.aborted) return;
  // Another process may be leading now: stop acting at once. The Deployment restarts this one as
  // a standby; runs in flight are resumed by the new leader.
  logger.error({ identity: elector.identity }, 'lost the leader Lease; exiting');
  process.exit(2);
});
while (!ctl.health().synced && !shutdown.signal.aborted) await sleep(100);
if (!shutdown.signal.aborted) {
  logger.info({ clusterUid, adminNamespace: config.adminNamespace, watchNamespaces: config.watchNamespaces, agentDaemonSet: config.agentDaemonSet, identity: elector.identity }, 'coordinator started');
}
