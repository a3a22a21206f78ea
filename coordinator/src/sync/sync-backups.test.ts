// syncBackups against an in-memory bucket and a fake custom-objects API that behaves like the
// API server where it matters here (409 on a taken name, resourceVersion on status writes, uid).
// The real thing is test/coordinator/sync/sync.e2e.test.ts.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Backup } from '../../../common/src/crds.ts';
import { CairnError, isCairnError, type ErrorCode } from '../../../common/src/errors.ts';
import { indexKey, manifestKey, newPackId } from '../../../common/src/format/layout.ts';
import type { VolumeRecord } from '../../../common/src/format/manifest.ts';
import { writeManifest } from '../../../common/src/format/manifest-writer.ts';
import { Secret } from '../../../common/src/secret.ts';
import type { ListedObject, ObjectStore } from '../../../common/src/store/object-store.ts';
import { readOnlyStore } from '../location/read-only-store.ts';
import { locationLabel, syncBackups, syncedLabel, type SyncApi, type SyncOptions } from './sync-backups.ts';

const canary = 'CANARY-FROM-THE-BUCKET';

/** A bucket in memory; `writes` counts every write or delete, `reads` every getObject key. */
class MemoryStore implements ObjectStore {
  readonly bucket = 'mem';
  readonly prefix = '';
  readonly objects = new Map<string, Buffer>();
  readonly reads: string[] = [];
  writes = 0;
  failGet = new Map<string, ErrorCode>();

  getObject(key: string): Promise<Buffer> {
    this.reads.push(key);
    const code = this.failGet.get(key);
    if (code) return Promise.reject(new CairnError(code, `get ${key} failed: ${canary}`));
    const v = this.objects.get(key);
    return v ? Promise.resolve(v) : Promise.reject(new CairnError('CAIRN_E_STORE_NOT_FOUND', `no ${key}`));
  }
  putObject(key: string, body: Buffer, opts?: { ifNoneMatch?: true }): Promise<{ etag: string }> {
    this.writes++;
    if (opts?.ifNoneMatch && this.objects.has(key)) return Promise.reject(new CairnError('CAIRN_E_STORE_EXISTS', key));
    this.objects.set(key, body);
    return Promise.resolve({ etag: '"x"' });
  }
  async *list(prefix: string, opts?: { signal?: AbortSignal }): AsyncIterable<ListedObject> {
    for (const key of [...this.objects.keys()].sort()) {
      opts?.signal?.throwIfAborted();
      if (key.startsWith(prefix)) yield { key, size: this.objects.get(key)!.length, etag: '"x"', lastModified: new Date(0) };
      await Promise.resolve();
    }
  }
  headObject(key: string): Promise<{ size: number; etag: string; lastModified: Date } | undefined> {
    const v = this.objects.get(key);
    return Promise.resolve(v ? { size: v.length, etag: '"x"', lastModified: new Date(0) } : undefined);
  }
  deleteObject(): Promise<void> {
    this.writes++;
    return Promise.resolve();
  }
  deleteObjects(): Promise<void> {
    this.writes++;
    return Promise.resolve();
  }
  upload(): Promise<never> {
    this.writes++;
    return Promise.reject(new Error('not used'));
  }
  getObjectStream(): Promise<Readable> {
    return Promise.reject(new Error('not used'));
  }
  async *listMultipartUploads(): AsyncIterable<never> {}
  abortMultipartUpload(): Promise<void> {
    this.writes++;
    return Promise.resolve();
  }
  checkBucket(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {}
}

class ApiError extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`HTTP ${code}`);
    this.code = code;
  }
}

/** Backups of one namespace as the API server keeps them, and the calls made. */
class FakeApi {
  readonly objects = new Map<string, Backup>();
  readonly calls: string[] = [];
  /** Runs before a create is stored; may throw an ApiError or change the world. */
  beforeCreate: (b: Backup) => void = () => {};
  beforeStatusRead: (name: string) => void = () => {};
  #rv = 1;

  put(b: Backup): Backup {
    const stored = structuredClone(b);
    stored.metadata.uid ??= randomUUID();
    stored.metadata.generation ??= 1;
    stored.metadata.resourceVersion = String(++this.#rv);
    this.objects.set(b.metadata.name!, stored);
    return structuredClone(stored);
  }

  readonly api: SyncApi = {
    createNamespacedCustomObject: (p) => {
      const body = p.body as Backup;
      this.calls.push(`create ${p.namespace}/${body.metadata.name!}`);
      this.beforeCreate(body);
      if (this.objects.has(body.metadata.name!)) return Promise.reject(new ApiError(409));
      return Promise.resolve(this.put({ ...body, metadata: { ...body.metadata, namespace: p.namespace } }));
    },
    getNamespacedCustomObjectStatus: (p) => {
      this.calls.push(`get-status ${p.namespace}/${p.name}`);
      this.beforeStatusRead(p.name);
      const b = this.objects.get(p.name);
      return b ? Promise.resolve(structuredClone(b)) : Promise.reject(new ApiError(404));
    },
    replaceNamespacedCustomObjectStatus: (p) => {
      this.calls.push(`put-status ${p.namespace}/${p.name}`);
      const b = this.objects.get(p.name);
      const body = p.body as Backup;
      if (!b) return Promise.reject(new ApiError(404));
      if (b.metadata.resourceVersion !== body.metadata.resourceVersion) return Promise.reject(new ApiError(409));
      return Promise.resolve(this.put({ ...b, status: body.status! }));
    },
    getClusterCustomObjectStatus: () => Promise.reject(new Error('not used')),
    replaceClusterCustomObjectStatus: () => Promise.reject(new Error('not used')),
  };

  list(): Backup[] {
    return [...this.objects.values()].map((b) => structuredClone(b));
  }
}

function volume(backup: string, id: string, bytes: number, files: number, pvc?: string): VolumeRecord {
  return {
    id, lineage: 'cluster.pvc', index: indexKey(backup, id), indexSha256: 'a'.repeat(64), entries: files + 1, files, bytes, storedBytes: 1,
    packs: [newPackId()], warnings: 0, ...(pvc ? { source: { namespace: 'elsewhere', pvc } } : {}),
  };
}

function backupObject(name: string, labels: Record<string, string> = {}, spec: Backup['spec'] = { storageLocation: 'other' }): Backup {
  return { apiVersion: 'cairn.dev/v1alpha1', kind: 'Backup', metadata: { name, namespace: 'team-a', labels }, spec };
}

let store: MemoryStore;
let fake: FakeApi;
const location = { namespace: 'team-a', name: 'loc', accessMode: 'ReadWrite' as const };

function opts(extra: Partial<SyncOptions> = {}): SyncOptions {
  return { location, store, api: fake.api, existing: fake.list(), limit: 100, ...extra };
}

beforeEach(() => {
  store = new MemoryStore();
  fake = new FakeApi();
});

describe('syncBackups', () => {
  it('creates a Completed Backup for each complete backup, with the labels and nothing from the bucket in spec', async () => {
    await writeManifest(store, 'b1', [volume('b1', 'data', 10, 2, 'data-pvc'), volume('b1', 'logs', 5, 1)], { labels: { evil: canary }, parent: 'b0' });
    await writeManifest(store, 'b2', [volume('b2', 'data', 7, 3)]);
    store.objects.set(indexKey('b3', 'data'), Buffer.from('an index without manifest: incomplete'));
    const writesBefore = store.writes;

    const r = await syncBackups(opts());
    expect(r).toEqual({ created: ['b1', 'b2'], skipped: [], limited: 0, repaired: [] });
    expect(store.writes).toBe(writesBefore);
    expect(fake.calls.filter((c) => c.startsWith('create'))).toEqual(['create team-a/b1', 'create team-a/b2']);
    const b1 = fake.objects.get('b1')!;
    expect(b1.metadata.labels).toEqual({ [syncedLabel]: 'true', [locationLabel]: 'loc' });
    expect(b1.metadata.annotations).toBeUndefined();
    expect(b1.spec).toEqual({ storageLocation: 'loc' });
    expect(b1.status).toMatchObject({
      phase: 'Completed', message: 'synced from BackupStorageLocation loc', observedGeneration: 1,
      volumes: [
        { pvc: 'data-pvc', volume: 'data', phase: 'Completed', bytes: 10, files: 2 },
        { pvc: 'logs', volume: 'logs', phase: 'Completed', bytes: 5, files: 1 },
      ],
      progress: { totalBytes: 15, bytesDone: 15, totalFiles: 3, filesDone: 3 },
    });
    const m = JSON.parse(store.objects.get(manifestKey('b1'))!.toString()) as { createdAt: string; completedAt: string };
    expect(b1.status?.startTimestamp).toBe(m.createdAt);
    expect(b1.status?.completionTimestamp).toBe(m.completedAt);
    expect(JSON.stringify([...fake.objects.values()])).not.toContain(canary);
    expect(fake.objects.has('b3')).toBe(false);
  });

  it('a second run with the created Backups in the cache creates and reads nothing', async () => {
    await writeManifest(store, 'b1', [volume('b1', 'data', 1, 1)]);
    await syncBackups(opts());
    const reads = store.reads.length;
    const calls = fake.calls.length;
    const r = await syncBackups(opts());
    expect(r).toEqual({ created: [], skipped: [], limited: 0, repaired: [] });
    expect(store.reads.length).toBe(reads);
    expect(fake.calls.length).toBe(calls);
  });

  it('leaves a name used by any Backup alone, whatever its labels, without reading its manifest', async () => {
    await writeManifest(store, 'mine', [volume('mine', 'data', 1, 1)]);
    await writeManifest(store, 'synced-elsewhere', [volume('synced-elsewhere', 'data', 1, 1)]);
    fake.put(backupObject('mine'));
    fake.put(backupObject('synced-elsewhere', { [syncedLabel]: 'true', [locationLabel]: 'other' }));
    const before = JSON.stringify(fake.list());
    const r = await syncBackups(opts());
    expect(r).toEqual({ created: [], skipped: [], limited: 0, repaired: [] });
    expect(store.reads).toEqual([]);
    expect(JSON.stringify(fake.list())).toBe(before);
  });

  it('skips names that are not backup names, showing them printable only', async () => {
    const bad = ['UPPER', 'a_b', `x${canary}`, 'nested/deeper', '-dash'];
    for (const n of bad) store.objects.set(`cairn/v1/backups/${n}/manifest.json`, Buffer.from('{}'));
    await writeManifest(store, 'good', [volume('good', 'data', 1, 1)]);
    const r = await syncBackups(opts());
    expect(r.created).toEqual(['good']);
    expect(r.skipped).toHaveLength(bad.length);
    for (const s of r.skipped) {
      expect(s.code).toBe('CAIRN_E_INVALID_ARGUMENT');
      expect(s.backup).toMatch(/^[a-z0-9.?-]*$/);
    }
    expect(store.reads).toEqual([manifestKey('good')]);
  });

  describe('a manifest that does not decode or authenticate is skipped with a reason, never thrown', () => {
    const key = new Secret(randomBytes(32));
    const otherKey = new Secret(randomBytes(32));

    async function world(): Promise<void> {
      store.objects.set(manifestKey('garbage'), Buffer.from(`{"cairn":"${canary}`));
      store.objects.set(manifestKey('not-cairn'), Buffer.from(JSON.stringify({ cairn: canary, version: 1 })));
      await writeManifest(store, 'other-key', [volume('other-key', 'data', 1, 1)], { key: otherKey });
      await writeManifest(store, 'plain', [volume('plain', 'data', 1, 1)]);
      await writeManifest(store, 'sealed', [volume('sealed', 'data', 1, 1)], { key });
      // A manifest moved under another name: it names the backup it was written for.
      await writeManifest(store, 'source', [volume('source', 'data', 1, 1)]);
      store.objects.set(manifestKey('moved'), store.objects.get(manifestKey('source'))!);
      store.objects.delete(manifestKey('source'));
      // A sealed manifest with one flipped byte inside the ciphertext.
      await writeManifest(store, 'tampered', [volume('tampered', 'data', 1, 1)], { key });
      const env = JSON.parse(store.objects.get(manifestKey('tampered'))!.toString()) as { sealed: string };
      const sealed = Buffer.from(env.sealed, 'base64');
      sealed[sealed.length - 20]! ^= 1;
      store.objects.set(manifestKey('tampered'), Buffer.from(JSON.stringify({ ...env, sealed: sealed.toString('base64') })));
    }

    it('with a key: only the manifest sealed with it is synced', async () => {
      await world();
      const r = await syncBackups(opts({ encryptionKey: key }));
      expect(r.created).toEqual(['sealed']);
      expect(Object.fromEntries(r.skipped.map((s) => [s.backup, s.code]))).toEqual({
        garbage: 'CAIRN_E_FORMAT', moved: 'CAIRN_E_WRONG_KEY', 'not-cairn': 'CAIRN_E_FORMAT', 'other-key': 'CAIRN_E_WRONG_KEY', plain: 'CAIRN_E_WRONG_KEY', tampered: 'CAIRN_E_CORRUPT',
      });
      for (const s of r.skipped) expect(s.reason).not.toContain(canary);
    });

    it('without a key: only the plain manifest is synced; the sealed ones say the location has no key', async () => {
      await world();
      const r = await syncBackups(opts());
      expect(r.created).toEqual(['plain']);
      expect(Object.fromEntries(r.skipped.map((s) => [s.backup, s.code]))).toEqual({
        garbage: 'CAIRN_E_FORMAT', moved: 'CAIRN_E_CORRUPT', 'not-cairn': 'CAIRN_E_FORMAT', 'other-key': 'CAIRN_E_WRONG_KEY', sealed: 'CAIRN_E_WRONG_KEY', tampered: 'CAIRN_E_WRONG_KEY',
      });
      expect(r.skipped.find((s) => s.backup === 'sealed')!.reason).toBe('the backup is encrypted and the location has no encryption key');
      for (const s of r.skipped) expect(s.reason).not.toContain(canary);
      expect([...fake.objects.keys()]).toEqual(['plain']);
    });
  });

  it('a manifest the store cannot give (gone, denied, too large) is skipped; an unreachable store fails the sync', async () => {
    for (const n of ['a', 'b', 'c', 'd']) await writeManifest(store, n, [volume(n, 'data', 1, 1)]);
    store.failGet.set(manifestKey('a'), 'CAIRN_E_STORE_NOT_FOUND');
    store.failGet.set(manifestKey('b'), 'CAIRN_E_STORE_ACCESS_DENIED');
    store.failGet.set(manifestKey('c'), 'CAIRN_E_LIMIT_EXCEEDED');
    const r = await syncBackups(opts());
    expect(r.created).toEqual(['d']);
    expect(r.skipped.map((s) => [s.backup, s.code])).toEqual([['a', 'CAIRN_E_STORE_NOT_FOUND'], ['b', 'CAIRN_E_STORE_ACCESS_DENIED'], ['c', 'CAIRN_E_LIMIT_EXCEEDED']]);
    for (const s of r.skipped) expect(s.reason).not.toContain(canary);

    store.failGet.set(manifestKey('e'), 'CAIRN_E_STORE_UNAVAILABLE');
    await writeManifest(store, 'e', [volume('e', 'data', 1, 1)]);
    const err = await syncBackups(opts()).catch((e: unknown) => e);
    expect(isCairnError(err, 'CAIRN_E_STORE_UNAVAILABLE')).toBe(true);
  });

  it('creates up to the limit, counting synced Backups of this location already there, and does not read past it', async () => {
    for (const n of ['a', 'b', 'c', 'd', 'e']) await writeManifest(store, n, [volume(n, 'data', 1, 1)]);
    fake.put({ ...backupObject('old', { [syncedLabel]: 'true', [locationLabel]: 'loc' }, { storageLocation: 'loc' }), status: { phase: 'Completed' } });
    fake.put(backupObject('other-loc', { [syncedLabel]: 'true', [locationLabel]: 'other' }));
    fake.put(backupObject('not-synced', { [locationLabel]: 'loc' }));
    const r = await syncBackups(opts({ limit: 3 }));
    expect(r).toEqual({ created: ['a', 'b'], skipped: [], limited: 3, repaired: [] });
    expect(store.reads).toEqual([manifestKey('a'), manifestKey('b')]);

    const again = await syncBackups(opts({ limit: 3 }));
    expect(again).toEqual({ created: [], skipped: [], limited: 3, repaired: [] });
    const none = await syncBackups(opts({ limit: 0 }));
    expect(none.limited).toBe(3);
  });

  it('a skipped manifest does not use up the limit', async () => {
    store.objects.set(manifestKey('a'), Buffer.from('garbage'));
    await writeManifest(store, 'b', [volume('b', 'data', 1, 1)]);
    const r = await syncBackups(opts({ limit: 1 }));
    expect(r.created).toEqual(['b']);
    expect(r.limited).toBe(0);
  });

  it('a name created meanwhile (409) is a skip; a 422 is a skip; any other API failure fails the sync', async () => {
    for (const n of ['a', 'b', 'c']) await writeManifest(store, n, [volume(n, 'data', 1, 1)]);
    fake.beforeCreate = (b) => {
      if (b.metadata.name === 'a') fake.put(backupObject('a'));
      if (b.metadata.name === 'b') throw new ApiError(422);
    };
    const r = await syncBackups(opts());
    expect(r.created).toEqual(['c']);
    expect(r.skipped).toEqual([
      { backup: 'a', reason: 'a Backup of this name was created meanwhile' },
      { backup: 'b', reason: 'the API server refused to create the Backup (HTTP 422)', code: 'CAIRN_E_INVALID_ARGUMENT' },
    ]);
    expect(fake.objects.get('a')!.metadata.labels).toEqual({});
    expect(fake.objects.get('a')!.status).toBeUndefined();

    await writeManifest(store, 'd', [volume('d', 'data', 1, 1)]);
    fake.beforeCreate = () => {
      throw new ApiError(500);
    };
    await expect(syncBackups(opts())).rejects.toMatchObject({ code: 500 });
  });

  it('a Backup deleted between its create and its status write is reported, not thrown', async () => {
    await writeManifest(store, 'a', [volume('a', 'data', 1, 1)]);
    fake.beforeStatusRead = (name) => fake.objects.delete(name);
    const r = await syncBackups(opts());
    expect(r.created).toEqual([]);
    expect(r.skipped).toEqual([expect.objectContaining({ backup: 'a', code: 'CAIRN_E_NOT_FOUND' })]);
  });

  it('writes the status of a synced Backup a previous run left without one, and of no other', async () => {
    for (const n of ['left', 'done', 'tweaked', 'other-loc']) await writeManifest(store, n, [volume(n, 'data', 4, 2)]);
    const labels = { [syncedLabel]: 'true', [locationLabel]: 'loc' };
    fake.put(backupObject('left', labels, { storageLocation: 'loc' }));
    fake.put({ ...backupObject('done', labels, { storageLocation: 'loc' }), status: { phase: 'Queued' } });
    fake.put(backupObject('tweaked', labels, { storageLocation: 'loc', ttl: '1h' }));
    fake.put(backupObject('other-loc', { ...labels, [locationLabel]: 'x' }, { storageLocation: 'loc' }));
    const r = await syncBackups(opts());
    expect(r).toEqual({ created: [], skipped: [], limited: 0, repaired: ['left'] });
    expect(fake.objects.get('left')!.status).toMatchObject({ phase: 'Completed', progress: { totalBytes: 4, filesDone: 2 } });
    expect(fake.objects.get('done')!.status).toEqual({ phase: 'Queued' });
    expect(fake.objects.get('tweaked')!.status).toBeUndefined();
    expect(fake.objects.get('other-loc')!.status).toBeUndefined();
  });

  it('a stale cache showing a synced Backup without status does not overwrite the phase stored meanwhile', async () => {
    await writeManifest(store, 'left', [volume('left', 'data', 1, 1)]);
    const stale = fake.put(backupObject('left', { [syncedLabel]: 'true', [locationLabel]: 'loc' }, { storageLocation: 'loc' }));
    fake.put({ ...stale, status: { phase: 'InProgress' } });
    const r = await syncBackups(opts({ existing: [stale] }));
    expect(r.repaired).toEqual([]);
    expect(fake.objects.get('left')!.status).toEqual({ phase: 'InProgress' });
  });

  it('syncs through a ReadOnly store and never writes to it', async () => {
    await writeManifest(store, 'a', [volume('a', 'data', 1, 1)]);
    const writes = store.writes;
    const r = await syncBackups(opts({ store: readOnlyStore(store, 'loc'), location: { ...location, accessMode: 'ReadOnly' } }));
    expect(r.created).toEqual(['a']);
    expect(store.writes).toBe(writes);
  });

  it('creates only in the location namespace, whatever the manifest says about its source', async () => {
    await writeManifest(store, 'a', [volume('a', 'data', 1, 1, 'pvc')]);
    await syncBackups(opts({ location: { ...location, namespace: 'team-z' } }));
    expect(fake.calls).toContain('create team-z/a');
    expect(fake.calls.every((c) => c.endsWith(' team-z/a'))).toBe(true);
    expect(fake.objects.get('a')!.metadata.namespace).toBe('team-z');
  });

  it('stops when the signal fires', async () => {
    for (const n of ['a', 'b', 'c']) await writeManifest(store, n, [volume(n, 'data', 1, 1)]);
    const ac = new AbortController();
    fake.beforeCreate = (b) => {
      if (b.metadata.name === 'b') ac.abort();
    };
    const err = await syncBackups(opts({ signal: ac.signal })).catch((e: unknown) => e);
    expect(isCairnError(err, 'CAIRN_E_ABORTED')).toBe(true);
    expect(fake.calls.filter((c) => c.startsWith('create'))).toEqual(['create team-a/a', 'create team-a/b']);
    expect(fake.objects.has('c')).toBe(false);

    const before = new AbortController();
    before.abort();
    const err2 = await syncBackups(opts({ signal: before.signal })).catch((e: unknown) => e);
    expect(isCairnError(err2, 'CAIRN_E_ABORTED')).toBe(true);
  });

  it('refuses a location whose name cannot be a label value, and a bad limit, before reading anything', async () => {
    await writeManifest(store, 'a', [volume('a', 'data', 1, 1)]);
    await expect(syncBackups(opts({ location: { ...location, name: 'l'.repeat(64) } }))).rejects.toMatchObject({ code: 'CAIRN_E_INVALID_ARGUMENT' });
    await expect(syncBackups(opts({ limit: -1 }))).rejects.toMatchObject({ code: 'CAIRN_E_INVALID_ARGUMENT' });
    await expect(syncBackups(opts({ limit: Number.NaN }))).rejects.toMatchObject({ code: 'CAIRN_E_INVALID_ARGUMENT' });
    expect(store.reads).toEqual([]);
    expect(fake.calls).toEqual([]);
  });
});
