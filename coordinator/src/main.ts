// The coordinator binary: parse config once, build the parts, run the controllers, stop on
// SIGTERM. The only file that wires things together (CONVENTIONS).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { Backup, BackupStorageLocation, Restore } from '../../common/src/crds.ts';
import { createLogger } from '../../common/src/logger.ts';
import { AgentDirectory } from './agents/agent-directory.ts';
import { BackupReconciler } from './backup/backup-reconciler.ts';
import { parseConfig } from './config.ts';
import type { JobDeps } from './jobs/job-deps.ts';
import { NodeSlots } from './jobs/node-slots.ts';
import { RunRegistry } from './jobs/run-registry.ts';
import { LocationReconciler } from './location/location-reconciler.ts';
import { secretReader } from './location/secret-reader.ts';
import { RestoreReconciler } from './restore/restore-reconciler.ts';
import { Controller, phaseReconcilerBinding } from './runtime/controller.ts';
import { EventRecorder } from './runtime/events.ts';
import { Informer, objectKey } from './runtime/informer.ts';
import { namespaceFilter } from './runtime/namespace-filter.ts';
import { cairnResource } from './runtime/resources.ts';
import { tenantLabelDefault } from './resolve/types.ts';
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
const events = new EventRecorder({ kubeConfig: kc, controller: 'cairn.dev/coordinator', instance, clusterScopedNamespace: config.adminNamespace, logger });

const agents = new AgentDirectory(kc, {
  namespace: config.adminNamespace, daemonSet: config.agentDaemonSet, port: config.agentPort,
  tls: { ca: readFileSync(config.tls.ca), cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) },
});
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
const backupRuns = new RunRegistry();
const restoreRuns = new RunRegistry();
// A Backup or Restore deleted while it runs: stop its jobs.
backups.on({ delete: (b) => backupRuns.abort(objectKey(b)) });
restores.on({ delete: (r) => restoreRuns.abort(objectKey(r)) });

const backupReconciler = new BackupReconciler({ jobs, statusApi: api, locations, backups, runs: backupRuns, defaultTtlMs: config.defaultBackupTtlMs, shutdown: shutdown.signal });
const restoreReconciler = new RestoreReconciler({ jobs, statusApi: api, locations, backups, runs: restoreRuns, shutdown: shutdown.signal });
const locationReconciler = new LocationReconciler({
  location: locationDeps, backups, defaultSyncPeriodMs: config.defaultSyncPeriodMs,
  sync: (r) => syncBackups({ ...r, api, limit: config.syncedBackupLimit }),
});
const controller = new Controller({
  logger,
  bindings: [
    phaseReconcilerBinding(locationReconciler, { informer: locations, api, events, logger }, { concurrency: 4 }),
    phaseReconcilerBinding(backupReconciler, { informer: backups, api, events, logger }, { concurrency: 8 }),
    phaseReconcilerBinding(restoreReconciler, { informer: restores, api, events, logger }, { concurrency: 8 }),
  ],
});

const running = controller.run(shutdown.signal);
void (async () => {
  while (!controller.health().synced && !shutdown.signal.aborted) await sleep(100);
  if (!shutdown.signal.aborted) {
    logger.info({ clusterUid, adminNamespace: config.adminNamespace, watchNamespaces: config.watchNamespaces, agentDaemonSet: config.agentDaemonSet }, 'coordinator started');
  }
})();

const stop = async (signal: string): Promise<void> => {
  logger.info({ signal }, 'stopping');
  shutdown.abort(new Error(`coordinator stopping (${signal})`));
  await running.catch((err: unknown) => logger.error({ err }, 'controller failed'));
  await Promise.all([backupRuns.drain(), restoreRuns.drain()]);
  agents.close();
  await events.flush();
  process.exit(0);
};
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
running.catch((err: unknown) => {
  logger.fatal({ err }, 'controller failed');
  process.exit(1);
});
