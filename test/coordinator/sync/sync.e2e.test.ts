// The BackupStorageLocation sync loop against the real MinIO and the real API server, run with
// the coordinator's own ServiceAccount (so the RBAC of manifests/rbac/coordinator.yaml is what
// lets it create Backups and write their status), in namespaces of its own: complete backups in
// the bucket become Completed Backups with the sync labels; garbage, incomplete and foreign-key
// backups do not; the cap holds; a name in use is left alone; a ReadOnly location syncs and the
// bucket is exactly as it was.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, PLURALS, VERSION, type Backup } from '../../../common/src/crds.ts';
import { indexKey, newPackId } from '../../../common/src/format/layout.ts';
import type { Manifest, VolumeRecord } from '../../../common/src/format/manifest.ts';
import { writeManifest } from '../../../common/src/format/manifest-writer.ts';
import { Secret } from '../../../common/src/secret.ts';
import type { ObjectStore } from '../../../common/src/store/object-store.ts';
import { readOnlyStore } from '../../../coordinator/src/location/read-only-store.ts';
import { locationLabel, syncBackups, syncedLabel, type SyncOptions, type SyncResult } from '../../../coordinator/src/sync/sync-backups.ts';
import { kubeAs } from '../../harness/clients.ts';
import { createNamespaces } from '../../harness/cluster.ts';
import { coordinatorKubeconfig } from '../../harness/coordinator.ts';
import { statusCode } from '../../harness/kube-errors.ts';
import { loadKubeconfig } from '../../harness/kubeconfig.ts';
import { deleteNamespaces } from '../runtime/runtime-fixtures.ts';
import { storeFor } from '../../store/helpers.ts';
import { unique } from '../location/location-fixtures.ts';

const cluster = inject('cluster');
const admin = kubeAs(cluster, 'admin');
const adminApi = admin.makeApiClient(CustomObjectsApi);
const id = unique();
const prefix = `sync-tests/${id}`;
const canary = `CANARY-${id}`;
const key = new Secret(randomBytes(32));
const otherKey = new Secret(randomBytes(32));
const root = new S3Client({
  endpoint: cluster.minio.endpoint, region: 'us-east-1', forcePathStyle: true,
  credentials: { accessKeyId: cluster.minio.root.accessKeyId, secretAccessKey: cluster.minio.root.secretAccessKey },
});
const bucket = cluster.minio.tenants['team-a']!.bucket;

/** team-a's store on the plain location's prefix, and on the encrypted location's. */
const plainStore = storeFor(cluster, 'team-a', { prefix: `${prefix}/plain` });
const sealedStore = storeFor(cluster, 'team-a', { prefix: `${prefix}/sealed` });
const namespaces: string[] = [];
let coordinatorApi: CustomObjectsApi;
let kubeconfigDir: string;
/** What writeManifest wrote for the two valid backups of the plain location. */
const written = new Map<string, Manifest>();

async function namespace(): Promise<string> {
  const ns = `sync-${id}-${namespaces.length}`;
  await createNamespaces(admin, [ns]);
  namespaces.push(ns);
  return ns;
}

function volume(backup: string, volumeId: string, bytes: number, files: number, pvc?: string): VolumeRecord {
  return {
    id: volumeId, lineage: `c-${id}.p-${volumeId}`, index: indexKey(backup, volumeId), indexSha256: 'a'.repeat(64), entries: files + 1, files, bytes,
    storedBytes: 10, packs: [newPackId()], warnings: 0, ...(pvc !== undefined ? { source: { namespace: 'team-a', pvc } } : {}),
  };
}

/** A backup as the engine leaves it: an index per volume, then (when complete) the manifest. */
async function backupIn(store: ObjectStore, name: string, volumes: VolumeRecord[], o: { key?: Secret<Buffer>; complete?: boolean } = {}): Promise<Manifest | undefined> {
  for (const v of volumes) await store.putObject(v.index, Buffer.from(`index of ${name}/${v.id}`));
  if (o.complete === false) return undefined;
  return writeManifest(store, name, volumes, { key: o.key, labels: { injected: canary } });
}

/**
 * The namespace's Backups, as the informer cache would hand them over. A list is served from the
 * API server's watch cache, which answers 429 "storage is (re)initializing" for a while after
 * the CRDs were (re)applied: wait that out as an informer would.
 */
async function backupsIn(ns: string): Promise<Backup[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      const list = (await adminApi.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURALS.Backup, namespace: ns })) as { items: Backup[] };
      return list.items.sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
    } catch (err) {
      if (statusCode(err) !== 429 || attempt >= 30) throw err;
      await sleep(500);
    }
  }
}

/** Every object under the test's prefix with its ETag and time, as the bucket's root sees it. */
async function bucketListing(): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await root.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
    for (const o of r.Contents ?? []) out.push(`${o.Key!} ${o.ETag!} ${o.Size!} ${o.LastModified!.toISOString()}`);
    token = r.NextContinuationToken;
  } while (token);
  return out.sort();
}

async function sync(ns: string, location: string, extra: Partial<SyncOptions> = {}): Promise<SyncResult> {
  return syncBackups({
    location: { namespace: ns, name: location, accessMode: 'ReadWrite' }, store: plainStore, api: coordinatorApi,
    existing: await backupsIn(ns), limit: 100, ...extra,
  });
}

beforeAll(async () => {
  kubeconfigDir = await mkdtemp(join(tmpdir(), 'cairn-sync-'));
  coordinatorApi = loadKubeconfig(await coordinatorKubeconfig(cluster, join(kubeconfigDir, 'coordinator.yaml'))).makeApiClient(CustomObjectsApi);

  // The plain location: two complete backups, one whose manifest is garbage, one incomplete (an
  // index but no manifest), one sealed with a key the location does not have.
  written.set('alpha', (await backupIn(plainStore, 'alpha', [volume('alpha', 'data', 4096, 3, 'data-pvc'), volume('alpha', 'logs', 100, 1, 'Not A PVC Name')]))!);
  written.set('beta', (await backupIn(plainStore, 'beta', [volume('beta', 'data', 7, 2)]))!);
  await backupIn(plainStore, 'garbage', [volume('garbage', 'data', 1, 1)], { complete: false });
  await plainStore.putObject('cairn/v1/backups/garbage/manifest.json', Buffer.from(`{"cairn":"backup-manifest","version":1,"backup":"${canary}"`));
  await backupIn(plainStore, 'incomplete', [volume('incomplete', 'data', 1, 1)], { complete: false });
  await backupIn(plainStore, 'foreign-key', [volume('foreign-key', 'data', 1, 1)], { key: otherKey });

  // The encrypted location: one sealed with its key, one with another key, one plain.
  await backupIn(sealedStore, 'sealed', [volume('sealed', 'data', 11, 5)], { key });
  await backupIn(sealedStore, 'sealed-other', [volume('sealed-other', 'data', 1, 1)], { key: otherKey });
  await backupIn(sealedStore, 'plain', [volume('plain', 'data', 1, 1)]);
});

afterAll(async () => {
  await deleteNamespaces(admin, namespaces);
  for (const s of [plainStore, sealedStore]) {
    const keys: string[] = [];
    for await (const o of s.list('')) keys.push(o.key);
    await s.deleteObjects(keys);
    s.close();
  }
  root.destroy();
  await rm(kubeconfigDir, { recursive: true, force: true });
});

describe('syncBackups on the real API server and MinIO', () => {
  it('creates exactly the complete, readable backups as Completed Backups with the sync labels; a second run creates nothing', async () => {
    const ns = await namespace();
    const loc = `loc-${id}`;
    const before = await bucketListing();

    const r = await sync(ns, loc);
    expect(r.created).toEqual(['alpha', 'beta']);
    expect(r.limited).toBe(0);
    expect(r.repaired).toEqual([]);
    expect(r.skipped.map((s) => [s.backup, s.code])).toEqual([['foreign-key', 'CAIRN_E_WRONG_KEY'], ['garbage', 'CAIRN_E_FORMAT']]);
    for (const s of r.skipped) expect(s.reason).not.toContain(canary);

    const stored = await backupsIn(ns);
    expect(stored.map((b) => b.metadata.name)).toEqual(['alpha', 'beta']);
    for (const b of stored) {
      const m = written.get(b.metadata.name!)!;
      expect(b.metadata.labels).toEqual({ [syncedLabel]: 'true', [locationLabel]: loc });
      expect(b.metadata.annotations ?? {}).toEqual({});
      expect(b.spec).toEqual({ storageLocation: loc });
      expect(b.status).toMatchObject({
        phase: 'Completed', message: `synced from BackupStorageLocation ${loc}`, observedGeneration: b.metadata.generation,
        startTimestamp: m.createdAt, completionTimestamp: m.completedAt,
      });
      expect(JSON.stringify(b)).not.toContain(canary);
    }
    expect(stored[0]!.status!.volumes).toEqual([
      { pvc: 'data-pvc', volume: 'data', phase: 'Completed', bytes: 4096, files: 3 },
      { pvc: 'logs', volume: 'logs', phase: 'Completed', bytes: 100, files: 1 },
    ]);
    expect(stored[0]!.status!.progress).toEqual({ totalBytes: 4196, bytesDone: 4196, totalFiles: 4, filesDone: 4 });
    expect(stored[1]!.status!.volumes).toEqual([{ pvc: 'data', volume: 'data', phase: 'Completed', bytes: 7, files: 2 }]);

    // Nowhere else: the location's label is on these two Backups only, in the whole cluster.
    const everywhere = (await adminApi.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURALS.Backup, labelSelector: `${locationLabel}=${loc}` })) as { items: Backup[] };
    expect(everywhere.items.map((b) => `${b.metadata.namespace!}/${b.metadata.name!}`).sort()).toEqual([`${ns}/alpha`, `${ns}/beta`]);

    const versions = stored.map((b) => b.metadata.resourceVersion);
    const again = await sync(ns, loc);
    expect(again.created).toEqual([]);
    expect(again.skipped.map((s) => s.backup)).toEqual(['foreign-key', 'garbage']);
    expect((await backupsIn(ns)).map((b) => b.metadata.resourceVersion)).toEqual(versions);
    expect(await bucketListing()).toEqual(before);
  });

  it('stops at the limit of synced Backups per location and goes on when it is raised', async () => {
    const ns = await namespace();
    const loc = `capped-${id}`;
    // Past the cap nothing is read, so every later complete backup counts as limited, whatever
    // its manifest holds: beta, foreign-key and garbage.
    const first = await sync(ns, loc, { limit: 1 });
    expect(first).toEqual({ created: ['alpha'], skipped: [], limited: 3, repaired: [] });
    const second = await sync(ns, loc, { limit: 1 });
    expect(second).toEqual({ created: [], skipped: [], limited: 3, repaired: [] });
    expect((await backupsIn(ns)).map((b) => b.metadata.name)).toEqual(['alpha']);
    const raised = await sync(ns, loc, { limit: 2 });
    expect(raised).toEqual({ created: ['beta'], skipped: [], limited: 2, repaired: [] });
    expect((await backupsIn(ns)).map((b) => b.metadata.name)).toEqual(['alpha', 'beta']);
  });

  it('leaves a Backup that already has the name alone', async () => {
    const ns = await namespace();
    const mine = (await adminApi.createNamespacedCustomObject({
      group: GROUP, version: VERSION, plural: PLURALS.Backup, namespace: ns,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Backup', metadata: { name: 'alpha', labels: { owner: 'tenant' } }, spec: { storageLocation: 'default', ttl: '1h' } },
    })) as Backup;
    const r = await sync(ns, `loc-${id}`);
    expect(r.created).toEqual(['beta']);
    const alpha = (await backupsIn(ns)).find((b) => b.metadata.name === 'alpha')!;
    expect(alpha.metadata.resourceVersion).toBe(mine.metadata.resourceVersion);
    expect(alpha.metadata.labels).toEqual({ owner: 'tenant' });
    expect(alpha.spec).toEqual({ storageLocation: 'default', ttl: '1h' });
    expect(alpha.status).toBeUndefined();
  });

  it('syncs a ReadOnly location, and the bucket is exactly as it was', async () => {
    const ns = await namespace();
    const loc = `ro-${id}`;
    const before = await bucketListing();
    // The ReadOnly store refuses writes; this records any attempt, even one whose refusal was caught.
    const writeOps = new Set(['putObject', 'upload', 'deleteObject', 'deleteObjects', 'abortMultipartUpload']);
    const attempts: string[] = [];
    const ro = new Proxy(readOnlyStore(plainStore, loc), {
      get(target, prop, receiver): unknown {
        if (typeof prop === 'string' && writeOps.has(prop)) attempts.push(prop);
        return Reflect.get(target, prop, receiver);
      },
    });
    const r = await sync(ns, loc, { location: { namespace: ns, name: loc, accessMode: 'ReadOnly' }, store: ro });
    expect(r.created).toEqual(['alpha', 'beta']);
    expect(attempts).toEqual([]);
    expect((await backupsIn(ns)).map((b) => [b.metadata.name, b.status?.phase, b.metadata.labels?.[locationLabel]])).toEqual([['alpha', 'Completed', loc], ['beta', 'Completed', loc]]);
    expect(await bucketListing()).toEqual(before);
  });

  it('with an encryption key, syncs only what authenticates with it', async () => {
    const ns = await namespace();
    const loc = `enc-${id}`;
    const r = await sync(ns, loc, { store: sealedStore, encryptionKey: key });
    expect(r.created).toEqual(['sealed']);
    expect(r.skipped.map((s) => [s.backup, s.code])).toEqual([['plain', 'CAIRN_E_WRONG_KEY'], ['sealed-other', 'CAIRN_E_WRONG_KEY']]);
    const [sealed] = await backupsIn(ns);
    expect(sealed!.status).toMatchObject({ phase: 'Completed', progress: { totalBytes: 11, totalFiles: 5 } });
  });
});
