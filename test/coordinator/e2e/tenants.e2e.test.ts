// Tenants and the real coordinator process (its own ServiceAccount and RBAC), real agents with
// mTLS on two nodes, real MinIO and the real controller manager. First what a tenant can do: two
// tenants back up and restore at once, every file identical, a PVC no pod mounts through a helper
// pod, an opted-out PVC skipped; an admin Backup of several namespaces. Then what a tenant cannot
// do, each refusal with a twin that must be accepted: use another namespace's location, backup or Secret by name; read another tenant's
// CRs; back up a volume that held another namespace's data; point a location at a forbidden
// address; reach a namespace the admin does not watch; write into the bucket it restores from
// through a ReadOnly location; restore into a PVC a running pod mounts. One file, so one
// coordinator watches the admin namespace at a time (leader election between coordinators is
// issue 6).
import { chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { s3As } from '../../harness/clients.ts';
import { startCoordinator, type RunningCoordinator } from '../../harness/coordinator.ts';
import { mergePatch, statusCode } from '../../harness/kube-errors.ts';
import { pvc as pvcBuilder } from '../../harness/builders.ts';
import { waitFor } from '../../harness/wait.ts';
import { checksums, group, Tenant, unique, version, writeTree, type VolumeState } from './tenant-fixtures.ts';

const cluster = inject('cluster');
const u = unique();
const a = new Tenant(cluster, `cs${u}-a`, 'team-a-admin', 'team-a');
const b = new Tenant(cluster, `cs${u}-b`, 'team-b-admin', 'team-b');
const ignored = new Tenant(cluster, `cs${u}-ignored`, 'team-a-admin', 'team-a');
const c = new Tenant(cluster, `cs${u}-c`, 'team-a-admin', 'team-a');
const d = new Tenant(cluster, `cs${u}-d`, 'team-b-admin', 'team-b');
let coordinator: RunningCoordinator;
const final = ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation'];
let before: Map<string, string>;

async function bucketListing(tenant: string, prefix: string): Promise<string[]> {
  const s3 = s3As(cluster, tenant);
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: cluster.minio.tenants[tenant]!.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of r.Contents ?? []) out.push(`${o.Key} ${o.ETag} ${o.Size}`);
    token = r.NextContinuationToken;
  } while (token);
  return out.sort();
}

beforeAll(async () => {
  await Promise.all([a.setUp(), b.setUp(), ignored.setUp(), c.setUp(), d.setUp()]);
  coordinator = await startCoordinator(cluster, { runDir: join(cluster.runDir, `coordinator-${u}`), watchNamespaces: [`cs${u}-*`, `!cs${u}-ignored`] });
  // team-a's volume and first backup, used by several cases below.
  const dir = await a.pvc('data');
  await writeTree(dir, 'tenancy-a');
  before = await checksums(dir);
  await a.pod('app', 'data', 'node-1');
  await Promise.all([a.location('main'), b.location('own')]);
  await a.waitPhase('backupstoragelocations', 'main', ['Available']);
  await b.waitPhase('backupstoragelocations', 'own', ['Available']);
  await a.backup('first', { storageLocation: 'main' });
  expect((await a.waitPhase('backups', 'first', final)).status?.phase).toBe('Completed');
});

afterAll(async () => {
  await coordinator?.stop();
});

describe('backup and restore as a tenant', () => {
  it('two tenants back up and restore concurrently on two nodes, every file identical', async () => {
    const dirs = {
      a: await c.pvc('data'),
      aIdle: await c.pvc('idle'),
      aSkip: await c.pvc('scratch', { annotations: { 'cairn.dev/exclude': 'true' } }),
      b: await d.pvc('data'),
    };
    await Promise.all([writeTree(dirs.a, 'a'), writeTree(dirs.aIdle, 'idle', 10), writeTree(dirs.aSkip, 'skip', 3), writeTree(dirs.b, 'b')]);
    // A setuid file: backed up as it is, restored without the bit, with a warning naming it.
    await chmod(join(dirs.aIdle, 'file-2.txt'), 0o4755);
    await Promise.all([c.pod('app', 'data', 'node-1'), d.pod('app', 'data', 'node-2')]);
    const before = { a: await checksums(dirs.a), aIdle: await checksums(dirs.aIdle), b: await checksums(dirs.b) };

    await Promise.all([c.location('main'), d.location('main')]);
    await Promise.all([c.waitPhase('backupstoragelocations', 'main', ['Available']), d.waitPhase('backupstoragelocations', 'main', ['Available'])]);
    await Promise.all([c.backup('first', { storageLocation: 'main', ttl: '24h' }), d.backup('first', { storageLocation: 'main' })]);
    const [ba, bb] = await Promise.all([
      c.waitPhase('backups', 'first', ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation']),
      d.waitPhase('backups', 'first', ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation']),
    ]);
    expect(ba.status, JSON.stringify(ba.status)).toMatchObject({ phase: 'Completed' });
    expect(bb.status, JSON.stringify(bb.status)).toMatchObject({ phase: 'Completed' });
    const vols: Record<string, VolumeState> = {};
    for (const v of ba.status!.volumes ?? []) vols[v.pvc!] = v;
    expect(vols.data).toMatchObject({ phase: 'Completed', pod: 'app', node: 'node-1' });
    expect(vols.idle).toMatchObject({ phase: 'Completed' });
    expect(vols.idle!.pod).toMatch(/^cairn-helper-idle-/);
    expect(vols.scratch).toMatchObject({ phase: 'Skipped' });
    expect(vols.scratch!.message).toContain('cairn.dev/exclude');
    expect(bb.status!.volumes![0]).toMatchObject({ pvc: 'data', node: 'node-2', phase: 'Completed' });
    expect(ba.status!.progress!.filesDone).toBeGreaterThanOrEqual(50);
    expect(ba.status!.progress!.bytesDone).toBeGreaterThan(2 << 20);
    // expiration = creation + ttl (24h for team-a, the coordinator's default 720h for team-b).
    expect(Date.parse(ba.status!.expiration!) - Date.parse(ba.metadata.creationTimestamp)).toBe(24 * 3600_000);
    expect(Date.parse(bb.status!.expiration!) - Date.parse(bb.metadata.creationTimestamp)).toBe(720 * 3600_000);
    // The helper pod is gone once the backup is done.
    const pods = (await c.core.listNamespacedPod({ namespace: c.namespace })).items.map((p) => p.metadata!.name!);
    expect(pods.filter((p) => p.startsWith('cairn-helper-'))).toEqual([]);

    // Wipe: the pods and PVCs go; the Restores recreate the PVCs of the same names.
    await Promise.all([c.deletePod('app'), d.deletePod('app')]);
    await Promise.all([c.deletePvc('data'), c.deletePvc('idle'), d.deletePvc('data')]);
    await Promise.all([c.restore('back', { backupName: 'first' }), d.restore('back', { backupName: 'first' })]);
    const [ra, rb] = await Promise.all([
      c.waitPhase('restores', 'back', ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation']),
      d.waitPhase('restores', 'back', ['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation']),
    ]);
    expect(ra.status, JSON.stringify(ra.status)).toMatchObject({ phase: 'Completed' });
    expect(rb.status, JSON.stringify(rb.status)).toMatchObject({ phase: 'Completed' });
    expect(await checksums(await c.backingDir('data'))).toEqual(before.a);
    expect(await checksums(await c.backingDir('idle'))).toEqual(before.aIdle);
    expect(await checksums(await d.backingDir('data'))).toEqual(before.b);
    // The opted-out PVC was not in the backup, so nothing was restored for it.
    expect(ra.status!.volumes!.map((v) => v.pvc).sort()).toEqual(['data', 'idle']);
    const idle = ra.status!.volumes!.find((v) => v.pvc === 'idle')!;
    expect(idle.message).toContain('1 warning (first: CAIRN_W_SETID_STRIPPED on "file-2.txt": setuid/setgid bits are never restored)');
    expect((await stat(join(await c.backingDir('idle'), 'file-2.txt'))).mode & 0o7777).toBe(0o755);
    expect(ra.status!.volumes!.find((v) => v.pvc === 'data')!.message).not.toContain('warning');
  });
});

describe('an admin Backup of several namespaces', () => {
  it('in the admin namespace, includedNamespaces globs back up the volumes of every matching namespace, each named by namespace', async () => {
    const admin = new Tenant(cluster, cluster.adminNamespace, 'admin', 'team-a');
    await admin.location(`admin-${u}`, { prefix: `admin-${u}` });
    await admin.waitPhase('backupstoragelocations', `admin-${u}`, ['Available']);
    await admin.backup(`all-${u}`, { storageLocation: `admin-${u}`, includedNamespaces: [`cs${u}-c`, `cs${u}-d*`] });
    const done = await admin.waitPhase('backups', `all-${u}`, final);
    expect(done.status, JSON.stringify(done.status)).toMatchObject({ phase: 'Completed' });
    const vols = new Map((done.status!.volumes ?? []).map((v) => [v.pvc, v.phase]));
    expect(vols).toEqual(new Map([[`cs${u}-c/data`, 'Completed'], [`cs${u}-c/idle`, 'Completed'], [`cs${u}-c/scratch`, 'Skipped'], [`cs${u}-d/data`, 'Completed']]));
    const keys = (await bucketListing('team-a', `admin-${u}/cairn/v1/backups/all-${u}/volumes/`)).map((k) => k.split(' ')[0]!.split('/').pop());
    expect(keys).toEqual([`cs${u}-c.data.index.zst`, `cs${u}-c.idle.index.zst`, `cs${u}-d.data.index.zst`]);
  });
});

describe("another namespace's objects by name", () => {
  it("team-b naming team-a's location in a Backup fails validation naming spec.storageLocation; its own location is accepted", async () => {
    await b.backup('steal-location', { storageLocation: 'main' });
    const refused = await b.waitPhase('backups', 'steal-location', final);
    expect(refused.status).toMatchObject({ phase: 'FailedValidation', errorCode: 'CAIRN_E_INVALID_ARGUMENT' });
    expect(refused.status!.validationErrors!.join()).toContain('spec.storageLocation');
    await b.backup('own-location', { storageLocation: 'own' });
    expect((await b.waitPhase('backups', 'own-location', final)).status?.phase).toBe('Completed');
  });

  it("team-b naming team-a's Backup in a Restore fails validation naming spec.backupName; its own Backup is accepted", async () => {
    await b.restore('steal-backup', { backupName: 'first' });
    const refused = await b.waitPhase('restores', 'steal-backup', final);
    expect(refused.status?.phase).toBe('FailedValidation');
    expect(refused.status!.validationErrors!.join()).toContain('spec.backupName');
    await b.restore('own-backup', { backupName: 'own-location', targets: [] });
    expect((await b.waitPhase('restores', 'own-backup', final)).status?.phase).toBe('Completed');
  });

  it("team-b naming team-a's Secret in its location gets Unavailable naming spec.credential: Secrets are read in the location's namespace only", async () => {
    await b.create('backupstoragelocations', {
      apiVersion: `${group}/${version}`, kind: 'BackupStorageLocation', metadata: { name: 'steal-secret' },
      spec: { objectStorage: { bucket: cluster.minio.tenants['team-a']!.bucket, prefix: a.namespace }, config: { region: 'us-east-1', endpoint: cluster.minio.endpoint, forcePathStyle: true }, credential: { name: 'main-credentials', key: 'cloud' } },
    });
    const bsl = await b.waitPhase('backupstoragelocations', 'steal-secret', ['Available', 'Unavailable']);
    expect(bsl.status).toMatchObject({ phase: 'Unavailable', reason: 'CredentialSecretMissing' });
    expect(bsl.status!.message).toContain('spec.credential');
  });

  it("team-b's user gets 403 on team-a's Backups, Restores and locations", async () => {
    for (const plural of ['backups', 'restores', 'backupstoragelocations']) {
      const err = await b.objects.listNamespacedCustomObject({ group, version, namespace: a.namespace, plural }).then(() => undefined, (e: unknown) => e);
      expect(statusCode(err), plural).toBe(403);
    }
    const err = await b.objects.getNamespacedCustomObject({ group, version, namespace: a.namespace, plural: 'backups', name: 'first' }).then(() => undefined, (e: unknown) => e);
    expect(statusCode(err)).toBe(403);
  });
});

describe('PV hijack through a Backup', () => {
  it("a team-b PVC bound by volumeName to the Released PV that held team-a's data is refused, naming the PVC and PV; team-b's own PVC in the same Backup is backed up", async () => {
    const admin = a.admin.makeApiClient(CoreV1Api);
    const dir = await a.pvc('old');
    await writeTree(dir, 'secret-of-a', 3);
    const pvName = (await admin.readNamespacedPersistentVolumeClaim({ namespace: a.namespace, name: 'old' })).spec!.volumeName!;
    await admin.patchPersistentVolume({ name: pvName, body: { spec: { persistentVolumeReclaimPolicy: 'Retain', storageClassName: `released-${u}` } } }, mergePatch);
    await a.deletePvc('old');
    await waitFor(`PV ${pvName} Released`, async () => (await admin.readPersistentVolume({ name: pvName })).status?.phase === 'Released');
    await admin.patchPersistentVolume({ name: pvName, body: { spec: { claimRef: null } } }, mergePatch);
    await b.core.createNamespacedPersistentVolumeClaim({ namespace: b.namespace, body: pvcBuilder('steal', b.namespace).storageClass(`released-${u}`).size('64Mi').volumeName(pvName).build() });
    await b.backingDir('steal');
    await b.pod('thief', 'steal', 'node-2');
    await b.pvc('mine');

    await b.backup('hijack', { storageLocation: 'own' });
    const done = await b.waitPhase('backups', 'hijack', final);
    expect(done.status?.phase).toBe('PartiallyFailed');
    const vols = new Map((done.status!.volumes ?? []).map((v) => [v.pvc, v]));
    expect(vols.get('steal')).toMatchObject({ phase: 'Failed', errorCode: 'CAIRN_E_VOLUME_REFUSED' });
    expect(vols.get('steal')!.message).toContain('PVC steal');
    expect(vols.get('steal')!.message).toContain(`PV ${pvName}`);
    expect(vols.get('steal')!.message).not.toContain(a.namespace);
    expect(vols.get('mine')).toMatchObject({ phase: 'Completed' });
    // Nothing of the stolen volume reached the bucket: the backup's only index is team-b's own.
    const keys = await bucketListing('team-b', `${b.namespace}/cairn/v1/backups/hijack/`);
    expect(keys.filter((k) => k.includes('.index.zst')).map((k) => k.split(' ')[0])).toEqual([`${b.namespace}/cairn/v1/backups/hijack/volumes/mine.index.zst`]);
  });
});

describe('endpoint policy on a BackupStorageLocation', () => {
  const minioPort = Number(new URL(cluster.minio.endpoint).port);
  const refusedEndpoints = [
    ['loopback', `http://127.0.0.1:${minioPort + 1}`],
    ['link-local metadata', 'http://169.254.169.254'],
    ['unspecified', `http://0.0.0.0:${minioPort}`],
    ['IPv4-mapped loopback', `http://[::ffff:127.0.0.1]:${minioPort + 1}`],
    ['a name resolving to loopback', `http://localhost:${minioPort + 1}`],
  ] as const;
  it.each(refusedEndpoints)('%s (%s) is Unavailable and nothing is contacted; the allow-listed MinIO host:port is Available', async (_what, endpoint) => {
    const name = `ep-${unique()}`;
    await a.location(name, { endpoint, secret: 'main-credentials' });
    const bsl = await a.waitPhase('backupstoragelocations', name, ['Available', 'Unavailable']);
    expect(bsl.status?.phase).toBe('Unavailable');
    expect(bsl.status?.reason).toMatch(/^Endpoint/);
    expect((await a.get('backupstoragelocations', 'main')).status?.phase).toBe('Available');
  });
});

describe('watched namespaces', () => {
  it('a Backup in a namespace the admin excluded gets no status; the same in a watched namespace is processed', async () => {
    await ignored.location('main');
    await ignored.backup('ignored', { storageLocation: 'main' });
    await a.backup('watched', { storageLocation: 'nope' });
    expect((await a.waitPhase('backups', 'watched', final)).status?.phase).toBe('FailedValidation');
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await ignored.get('backups', 'ignored')).status).toBeUndefined();
    expect((await ignored.get('backupstoragelocations', 'main')).status).toBeUndefined();
  });
});

describe('restore from elsewhere through a ReadOnly location', () => {
  it("team-b restores team-a's backup with team-a's credentials into its own namespace, and nothing is written to team-a's bucket", async () => {
    const listing = await bucketListing('team-a', `${a.namespace}/`);
    await b.location('from-a', { storage: 'team-a', prefix: a.namespace, accessMode: 'ReadOnly', secret: 'team-a-credentials' });
    await b.waitPhase('backupstoragelocations', 'from-a', ['Available']);
    const synced = await waitFor('the sync to bring Backup first into team-b', async () => {
      const cr = await b.get('backups', 'first').catch(() => undefined);
      return cr?.status?.phase === 'Completed' ? cr : undefined;
    }, { timeoutMs: 60_000 });
    expect(synced.metadata.labels).toMatchObject({ 'cairn.dev/synced': 'true', 'cairn.dev/storage-location': 'from-a' });
    await b.restore('from-a', { backupName: 'first', targets: [{ volume: 'data', pvc: 'copy' }] });
    const done = await b.waitPhase('restores', 'from-a', final);
    expect(done.status, JSON.stringify(done.status)).toMatchObject({ phase: 'Completed' });
    expect(await checksums(await b.backingDir('copy'))).toEqual(before);
    expect(await bucketListing('team-a', `${a.namespace}/`)).toEqual(listing);
  });
});

describe('restore targets', () => {
  it('a restore into a PVC a running pod mounts is refused naming the PVC and pod; into a new PVC with spec.paths it restores only those paths', async () => {
    await a.restore('onto-live', { backupName: 'first' });
    const refused = await a.waitPhase('restores', 'onto-live', final);
    expect(refused.status?.phase).toBe('Failed');
    expect(refused.status!.volumes![0]).toMatchObject({ pvc: 'data', phase: 'Failed', errorCode: 'CAIRN_E_VOLUME_REFUSED' });
    expect(refused.status!.volumes![0]!.message).toContain('pod app');
    expect(await checksums(await a.backingDir('data'))).toEqual(before);

    await a.restore('subset', { backupName: 'first', targets: [{ volume: 'data', pvc: 'subset' }], paths: ['nested/deeper', 'random.bin'] });
    expect((await a.waitPhase('restores', 'subset', final)).status?.phase).toBe('Completed');
    const got = await checksums(await a.backingDir('subset'));
    const want = new Map([...before].filter(([p]) => p === 'nested' || p.startsWith('nested/deeper') || p === 'random.bin'));
    expect(got).toEqual(want);
  });
});
