// Deleting backups on the real API server and MinIO, with the DeleteBackupRequest reconciler run
// in-process by the controller runtime under the coordinator's own ServiceAccount (so the RBAC of
// manifests/rbac/coordinator.yaml is what lets it read, mark and delete Backups), watching only
// this suite's namespaces. The backups are real: two backups of one lineage written by the engine,
// the second incremental on the first, so they share packs. A request is refused while its
// Backup is in progress; deleting the first backup removes its manifest, then its index, then
// only the packs the second does not share (the bucket is looked at between the steps), the
// second still restores byte-identical, the Backup object is gone and the request says what was
// removed; a ReadOnly location refuses and its bucket is untouched; a request naming another
// namespace's Backup fails naming spec.backupName; expiry requests exactly one deletion for an
// expired Backup and none for an unexpired or a synced one.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, EventsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { backup as runBackup, restore, type BackupResult } from '../../../agent/src/engine/index.ts';
import { API_VERSION, GROUP, PLURALS, VERSION, type Backup, type BackupStatus, type BackupStorageLocation, type DeleteBackupRequest, type Restore } from '../../../common/src/crds.ts';
import { indexKey, manifestKey, packKeyOf } from '../../../common/src/format/layout.ts';
import { writeManifest } from '../../../common/src/format/manifest-writer.ts';
import { createLogger } from '../../../common/src/logger.ts';
import type { ObjectStore } from '../../../common/src/store/object-store.ts';
import { DeleteBackupRequestReconciler, requestsToRecheck } from '../../../coordinator/src/deletion/delete-backup-reconciler.ts';
import type { DeleteStep, Removed } from '../../../coordinator/src/deletion/delete-backup.ts';
import { ANNOTATION_BACKUP_UID } from '../../../coordinator/src/deletion/delete-plan.ts';
import { ExpiryLoop, LABEL_EXPIRED_BACKUP } from '../../../coordinator/src/deletion/expiry.ts';
import { secretReader } from '../../../coordinator/src/location/secret-reader.ts';
import { Controller, phaseReconcilerBinding } from '../../../coordinator/src/runtime/controller.ts';
import { EventRecorder } from '../../../coordinator/src/runtime/events.ts';
import { Informer } from '../../../coordinator/src/runtime/informer.ts';
import { namespaceFilter } from '../../../coordinator/src/runtime/namespace-filter.ts';
import { cairnResource } from '../../../coordinator/src/runtime/resources.ts';
import { podCidr, serviceClusterIpRange } from '../../harness/apiserver.ts';
import { coordinatorKubeconfig } from '../../harness/coordinator.ts';
import { isNotFound, mergePatch } from '../../harness/kube-errors.ts';
import { loadKubeconfig } from '../../harness/kubeconfig.ts';
import { waitFor } from '../../harness/wait.ts';
import { digestTree, scratch } from '../../engine/helpers.ts';
import { storeFor } from '../../store/helpers.ts';
import { deleteNamespaces } from '../runtime/runtime-fixtures.ts';
import { Tenant, unique } from '../e2e/tenant-fixtures.ts';

const cluster = inject('cluster');
const id = unique();
const logger = createLogger({ component: 'deletion-test', level: process.env.CAIRN_TEST_LOG ?? 'silent' });
const a = new Tenant(cluster, `dbr${id}-a`, 'team-a-admin', 'team-a');
const b = new Tenant(cluster, `dbr${id}-b`, 'team-a-admin', 'team-a');
const prefix = `dbr-tests/${id}`;
const store: ObjectStore = storeFor(cluster, 'team-a', { prefix });
const adminApi = a.admin.makeApiClient(CustomObjectsApi);
const lineage = { clusterUid: `c${id}`, pvcUid: `p${id}` };
const lineageId = `c${id}.p${id}`;
const smallPacks = { packBytes: 1 << 20 };

let kubeconfigDir: string;
let coordinator: KubeConfig;
let events: EventRecorder;
const stop = new AbortController();
let running: Promise<void>;
/** Called by the reconciler after each deletion step; a test sets it to look at the bucket. */
let onStep: (step: DeleteStep, removed: Removed) => Promise<void> = () => Promise.resolve();

let first: BackupResult;
let second: BackupResult;
let secondState: Awaited<ReturnType<typeof digestTree>>;

async function keys(p = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(p)) out.push(o.key);
  return out.sort();
}

async function listing(): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list('')) out.push(`${o.key} ${o.etag} ${o.size}`);
  return out.sort();
}

/** A Backup created as the admin, then given `status` through the status subresource (as the coordinator would). */
async function backupCr(t: Tenant, name: string, status: BackupStatus, o: { location?: string; labels?: Record<string, string> } = {}): Promise<Backup> {
  const made = (await adminApi.createNamespacedCustomObject({
    group: GROUP, version: VERSION, plural: PLURALS.Backup, namespace: t.namespace,
    body: { apiVersion: API_VERSION, kind: 'Backup', metadata: { name, ...(o.labels ? { labels: o.labels } : {}) }, spec: { storageLocation: o.location ?? 'main' } },
  })) as Backup;
  await adminApi.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, plural: PLURALS.Backup, namespace: t.namespace, name, body: { status } }, mergePatch);
  return made;
}

async function getBackup(t: Tenant, name: string): Promise<Backup | undefined> {
  try {
    return (await adminApi.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURALS.Backup, namespace: t.namespace, name })) as Backup;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** A DeleteBackupRequest created by the tenant, waited for until final. */
async function requestDeletion(t: Tenant, name: string, backupName: string): Promise<DeleteBackupRequest> {
  await t.create('deletebackuprequests', { apiVersion: API_VERSION, kind: 'DeleteBackupRequest', metadata: { name }, spec: { backupName } });
  return (await t.waitPhase('deletebackuprequests', name, ['Processed', 'Failed'])) as unknown as DeleteBackupRequest;
}

async function eventReasons(t: Tenant, uid: string): Promise<string[]> {
  await events.flush();
  const list = await t.admin.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: t.namespace });
  return list.items.filter((e) => e.regarding?.uid === uid).map((e) => e.reason ?? '').sort();
}

const completed = (lin = lineageId): BackupStatus => ({
  phase: 'Completed', completionTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  volumes: [{ pvc: 'data', volume: 'data', phase: 'Completed', lineage: lin }],
});

beforeAll(async () => {
  await Promise.all([a.setUp(), b.setUp()]);
  await a.location('main', { prefix });
  await a.location('ro', { prefix, accessMode: 'ReadOnly', secret: 'main-credentials' });

  // Two real backups of one volume: the first full, the second incremental on it. With 1 MiB
  // packs each 2 MiB file gets a pack of its own, so the second shares the unchanged file's pack.
  const src = await scratch('dbr');
  await writeFile(join(src, 'a-first'), randomBytes(2 << 20));
  await writeFile(join(src, 'b-second'), randomBytes(2 << 20));
  first = await runBackup(src, store, { backupName: 'first', lineage, tuning: smallPacks, writeManifest: false });
  await writeManifest(store, 'first', [first.volume]);
  await rm(join(src, 'a-first'));
  await writeFile(join(src, 'c-third'), randomBytes(1 << 20));
  second = await runBackup(src, store, { backupName: 'second', lineage, parent: 'first', tuning: smallPacks, writeManifest: false });
  await writeManifest(store, 'second', [second.volume], { parent: 'first' });
  secondState = await digestTree(src);
  await Promise.all([backupCr(a, 'first', completed()), backupCr(a, 'second', completed())]);

  // The reconciler, as the coordinator runs it, with the coordinator's credentials.
  kubeconfigDir = await mkdtemp(join(tmpdir(), 'cairn-dbr-'));
  coordinator = loadKubeconfig(await coordinatorKubeconfig(cluster, join(kubeconfigDir, 'coordinator.yaml')));
  const api = coordinator.makeApiClient(CustomObjectsApi);
  const namespaces = namespaceFilter({ patterns: [`dbr${id}-*`], adminNamespace: `dbr${id}-admin` });
  const backups = new Informer<Backup>({ kubeConfig: coordinator, resource: cairnResource('Backup'), namespaces, logger });
  const locations = new Informer<BackupStorageLocation>({ kubeConfig: coordinator, resource: cairnResource('BackupStorageLocation'), namespaces, logger });
  const restores = new Informer<Restore>({ kubeConfig: coordinator, resource: cairnResource('Restore'), namespaces, logger });
  const requests = new Informer<DeleteBackupRequest>({ kubeConfig: coordinator, resource: cairnResource('DeleteBackupRequest'), namespaces, logger });
  events = new EventRecorder({ kubeConfig: coordinator, controller: 'cairn.dev/coordinator', instance: 'deletion-test', clusterScopedNamespace: `dbr${id}-admin`, seriesFlushMs: 50 });
  const reconciler = new DeleteBackupRequestReconciler({
    api, backups, locations, restores,
    location: {
      readSecret: secretReader(coordinator.makeApiClient(CoreV1Api)),
      policy: { allow: new Set([new URL(cluster.minio.endpoint).host]), refusedCidrs: [podCidr, serviceClusterIpRange] },
    },
    pause: (step, removed) => onStep(step, removed),
  });
  const controller = new Controller({
    logger,
    bindings: [phaseReconcilerBinding(reconciler, { informer: requests, api, events, logger }, { concurrency: 2, watches: [{ informer: backups, keys: requestsToRecheck(requests) }, { informer: restores, keys: requestsToRecheck(requests) }] })],
    backoff: { initialMs: 100, maxMs: 1_000 },
  });
  // In the coordinator the location reconciler's binding runs this informer; here it runs alone.
  locations.start(stop.signal);
  stopLocations = () => locations.stop();
  running = controller.run(stop.signal);
  await Promise.all([locations.waitForSync(stop.signal), waitFor('the controller to sync', () => controller.health().synced, { timeoutMs: 60_000 })]);
  expiryDeps = { api, backups, requests };
});

let stopLocations: () => Promise<void> = () => Promise.resolve();
let expiryDeps: { api: CustomObjectsApi; backups: Informer<Backup>; requests: Informer<DeleteBackupRequest> };

afterAll(async () => {
  stop.abort();
  await Promise.all([running, stopLocations()]);
  await events?.flush();
  await deleteNamespaces(a.admin, [a.namespace, b.namespace]);
  const left = await keys();
  if (left.length > 0) await store.deleteObjects(left);
  store.close();
  if (kubeconfigDir) await rm(kubeconfigDir, { recursive: true, force: true });
});

describe('DeleteBackupRequest on the real API server and MinIO', () => {
  it('refuses to delete a Backup in progress, naming it and its phase, and leaves it alone', async () => {
    await backupCr(a, 'running', { phase: 'InProgress', startTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
    const r = await requestDeletion(a, 'del-running', 'running');
    expect(r.status).toMatchObject({ phase: 'Failed', errorCode: 'CAIRN_E_INVALID_ARGUMENT' });
    expect(r.status!.errors).toEqual([expect.stringContaining('Backup running is InProgress')]);
    expect(r.status!.completionTimestamp).toBeTruthy();
    expect((await getBackup(a, 'running'))?.status?.phase).toBe('InProgress');
    expect(await eventReasons(a, r.metadata.uid!)).toEqual(['Refused']);
    // Out of the way: a running backup of the location would make the next deletion wait for it.
    await adminApi.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURALS.Backup, namespace: a.namespace, name: 'running' });
  });

  it('deletes the first of two backups sharing packs: its manifest, then its index, then only the packs the second does not share; the second restores byte-identical', async () => {
    const firstPacks = first.volume.packs.map((p) => packKeyOf(lineageId, p));
    const secondPacks = second.volume.packs.map((p) => packKeyOf(lineageId, p));
    const unshared = firstPacks.filter((k) => !secondPacks.includes(k));
    // The backups are what this test needs: some packs shared, some not.
    expect(unshared.length).toBeGreaterThanOrEqual(1);
    expect(firstPacks.length - unshared.length).toBeGreaterThanOrEqual(1);
    const allPacks = [...new Set([...firstPacks, ...secondPacks])].sort();
    expect(await keys('cairn/v1/packs/')).toEqual(allPacks);

    const seen: { step: DeleteStep; removed: Removed; keys: string[]; backupPhase: string | undefined }[] = [];
    onStep = async (step, removed) => {
      seen.push({ step, removed, keys: await keys(), backupPhase: (await getBackup(a, 'first'))?.status?.phase });
    };
    let r: DeleteBackupRequest;
    try {
      r = await requestDeletion(a, 'del-first', 'first');
    } finally {
      onStep = () => Promise.resolve();
    }

    expect(seen.map((s) => s.step)).toEqual(['manifest', 'index', 'packs']);
    // Step 1: the manifest is gone, the index and every pack are still there; the Backup is Deleting.
    expect(seen[0]!.keys).not.toContain(manifestKey('first'));
    expect(seen[0]!.keys).toContain(indexKey('first', 'data'));
    expect(seen[0]!.keys.filter((k) => k.startsWith('cairn/v1/packs/'))).toEqual(allPacks);
    expect(seen[0]!.backupPhase).toBe('Deleting');
    // Step 2: nothing of the first backup is left under its prefix; every pack is still there.
    expect(seen[1]!.keys.filter((k) => k.startsWith('cairn/v1/backups/first/'))).toEqual([]);
    expect(seen[1]!.keys.filter((k) => k.startsWith('cairn/v1/packs/'))).toEqual(allPacks);
    // Step 3: exactly the unshared packs went.
    expect(seen[2]!.keys.filter((k) => k.startsWith('cairn/v1/packs/'))).toEqual([...secondPacks].sort());
    expect(await keys('cairn/v1/packs/')).toEqual([...secondPacks].sort());
    expect(await keys('cairn/v1/backups/')).toEqual([indexKey('second', 'data'), manifestKey('second')].sort());
    expect(await keys('cairn/v1/locks/')).toEqual([]);

    expect(r.status).toMatchObject({ phase: 'Processed', removed: { manifest: true, index: 1, packs: unshared.length } });
    expect(r.status!.completionTimestamp).toBeTruthy();
    expect(r.status!.errors).toBeUndefined();
    expect(await getBackup(a, 'first')).toBeUndefined();
    expect((await getBackup(a, 'second'))?.status?.phase).toBe('Completed');
    expect(await eventReasons(a, r.metadata.uid!)).toEqual(['Processed', 'Started']);

    const dst = await scratch('dbr-restore');
    await restore(store, 'second', dst, { maxBytes: 1 << 30 });
    const got = await digestTree(dst);
    got.delete('');
    const want = new Map(secondState);
    want.delete('');
    expect(got).toEqual(want);
  });

  it('a ReadOnly location refuses: the request fails naming it, the Backup and the bucket stay as they were', async () => {
    await backupCr(a, 'second-ro', completed(), { location: 'ro' });
    const before = await listing();
    const r = await requestDeletion(a, 'del-ro', 'second-ro');
    expect(r.status).toMatchObject({ phase: 'Failed', errorCode: 'CAIRN_E_INVALID_ARGUMENT', errors: ['location ro is ReadOnly; Cairn never deletes from it (Backup second-ro is kept)'] });
    expect((await getBackup(a, 'second-ro'))?.status?.phase).toBe('Completed');
    expect(await listing()).toEqual(before);
  });

  it('a request naming another namespace\'s Backup fails naming spec.backupName, and that Backup stays', async () => {
    await backupCr(b, 'theirs', completed());
    const r = await requestDeletion(a, 'del-theirs', 'theirs');
    expect(r.status).toMatchObject({ phase: 'Failed', errorCode: 'CAIRN_E_NOT_FOUND' });
    expect(r.status!.errors).toEqual([expect.stringMatching(new RegExp(`^spec\\.backupName: Backup theirs does not exist in namespace ${a.namespace}`))]);
    expect((await getBackup(b, 'theirs'))?.status?.phase).toBe('Completed');
  });

  it('expiry requests exactly one deletion for an expired Backup, none for an unexpired or a synced one; the expired one is then deleted', async () => {
    const now = Date.now();
    const at = (ms: number) => new Date(now + ms).toISOString().replace(/\.\d+Z$/, 'Z');
    const expired = await backupCr(a, 'old', { ...completed(), expiration: at(-3_600_000) });
    await backupCr(a, 'young', { ...completed(), expiration: at(3_600_000) });
    await backupCr(a, 'synced-old', { ...completed(), expiration: at(-3_600_000) }, { labels: { 'cairn.dev/synced': 'true' } });
    await waitFor('the informer to see the Backups\' status', () => expiryDeps.backups.list(a.namespace).filter((x) => x.status?.expiration).length === 3, { timeoutMs: 20_000 });

    // The clock stands still at `now`; several passes run.
    const loop = new ExpiryLoop({ ...expiryDeps, intervalMs: 100, now: () => now, logger });
    const ac = new AbortController();
    const passes = loop.run(ac.signal);
    const labelled = async () => ((await adminApi.listNamespacedCustomObject({
      group: GROUP, version: VERSION, plural: PLURALS.DeleteBackupRequest, namespace: a.namespace, labelSelector: LABEL_EXPIRED_BACKUP,
    })) as { items: DeleteBackupRequest[] }).items;
    await waitFor('an expiry request', async () => (await labelled()).length > 0, { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 1_000)); // more passes
    ac.abort();
    await passes;

    const made = await labelled();
    expect(made.map((x) => [x.spec.backupName, x.metadata.labels?.[LABEL_EXPIRED_BACKUP], x.metadata.annotations?.[ANNOTATION_BACKUP_UID]])).toEqual([['old', 'old', expired.metadata.uid]]);
    // The request deletes it like any other (nothing of it in the bucket: only the object goes).
    const done = (await a.waitPhase('deletebackuprequests', made[0]!.metadata.name!, ['Processed', 'Failed'])) as unknown as DeleteBackupRequest;
    expect(done.status).toMatchObject({ phase: 'Processed', removed: { manifest: false, index: 0, packs: 0 } });
    expect(await getBackup(a, 'old')).toBeUndefined();
    expect((await getBackup(a, 'young'))?.status?.phase).toBe('Completed');
    expect((await getBackup(a, 'synced-old'))?.status?.phase).toBe('Completed');
    expect(await keys('cairn/v1/backups/')).toEqual([indexKey('second', 'data'), manifestKey('second')].sort());
  });
});
