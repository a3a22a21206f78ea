// deleteBackupData against an in-memory bucket holding real index and manifest objects (written
// with the format's own writers) and the real collectGarbage: the order of the steps, which packs
// go, the grace, leases, the GC lock, and runs that resume after an interrupted one. The real
// bucket and engine are in test/coordinator/deletion/delete.e2e.test.ts.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CairnError } from '../../../common/src/errors.ts';
import { IndexWriter } from '../../../common/src/format/index-object.ts';
import { indexKey, lockKey, manifestKey, newPackId, packKeyOf } from '../../../common/src/format/layout.ts';
import type { VolumeRecord } from '../../../common/src/format/manifest.ts';
import { writeManifest } from '../../../common/src/format/manifest-writer.ts';
import { leaseKey, writeLease } from '../../../common/src/gc/pack-lease.ts';
import { Secret } from '../../../common/src/secret.ts';
import type { ListedObject, ObjectStore } from '../../../common/src/store/object-store.ts';
import { agedPacks, deleteBackupData, type DeleteStep, type Removed } from './delete-backup.ts';

const hour = 3600_000;
const lineage = 'cluster-1.pvc-1';
const otherLineage = 'cluster-1.pvc-2';

/** A bucket in memory with a clock for lastModified, and a log of every write and delete. */
class MemoryStore implements ObjectStore {
  readonly bucket = 'mem';
  readonly prefix = '';
  readonly objects = new Map<string, { body: Buffer; at: number }>();
  readonly log: string[] = [];
  clock = Date.now();

  keys(prefix = ''): string[] {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  getObject(key: string): Promise<Buffer> {
    const v = this.objects.get(key);
    return v ? Promise.resolve(v.body) : Promise.reject(new CairnError('CAIRN_E_STORE_NOT_FOUND', `no ${key}`));
  }
  getObjectStream(key: string): Promise<Readable> {
    const v = this.objects.get(key);
    return v ? Promise.resolve(Readable.from([v.body])) : Promise.reject(new CairnError('CAIRN_E_STORE_NOT_FOUND', `no ${key}`));
  }
  putObject(key: string, body: Buffer, opts?: { ifNoneMatch?: true }): Promise<{ etag: string }> {
    if (opts?.ifNoneMatch && this.objects.has(key)) return Promise.reject(new CairnError('CAIRN_E_STORE_EXISTS', key));
    this.log.push(`put ${key}`);
    this.objects.set(key, { body, at: this.clock });
    return Promise.resolve({ etag: '"x"' });
  }
  upload(): Promise<never> {
    return Promise.reject(new Error('not used'));
  }
  headObject(key: string): Promise<{ size: number; etag: string; lastModified: Date } | undefined> {
    const v = this.objects.get(key);
    return Promise.resolve(v ? { size: v.body.length, etag: '"x"', lastModified: new Date(v.at) } : undefined);
  }
  async *list(prefix: string): AsyncIterable<ListedObject> {
    for (const key of this.keys(prefix)) {
      const v = this.objects.get(key);
      if (v) yield { key, size: v.body.length, etag: '"x"', lastModified: new Date(v.at) };
      await Promise.resolve();
    }
  }
  deleteObject(key: string): Promise<void> {
    this.log.push(`delete ${key}`);
    this.objects.delete(key);
    return Promise.resolve();
  }
  deleteObjects(keys: readonly string[]): Promise<void> {
    this.log.push(`delete ${[...keys].sort().join(' ')}`);
    for (const k of keys) this.objects.delete(k);
    return Promise.resolve();
  }
  async *listMultipartUploads(): AsyncIterable<never> {}
  abortMultipartUpload(): Promise<void> {
    return Promise.resolve();
  }
  checkBucket(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {}
}

function pack(store: MemoryStore, lin: string, ageMs: number): string {
  const id = newPackId(store.clock - ageMs);
  store.objects.set(packKeyOf(lin, id), { body: Buffer.from(`pack ${id}`), at: store.clock - ageMs });
  return id;
}

/** A volume's index naming `packs` (in its trailer), `ageMs` old; returns the manifest's record of it. */
async function putIndex(store: MemoryStore, name: string, packs: string[], o: { lin?: string; key?: Buffer; ageMs?: number; volume?: string } = {}): Promise<VolumeRecord> {
  const lin = o.lin ?? lineage;
  const volume = o.volume ?? 'data';
  const ik = indexKey(name, volume);
  const chunks: Buffer[] = [];
  const w = new IndexWriter({ objectKey: ik, header: { backup: name, volume, lineage: lin }, ...(o.key ? { key: o.key } : {}), out: (c) => Promise.resolve(void chunks.push(c)) });
  const summary = await w.finish(packs);
  store.objects.set(ik, { body: Buffer.concat(chunks), at: store.clock - (o.ageMs ?? 0) });
  return { id: volume, lineage: lin, index: ik, indexSha256: summary.sha256, entries: 0, files: 0, bytes: 0, storedBytes: 0, packs: summary.packs, warnings: 0 };
}

/** A complete backup as the engine leaves it: its index, then its manifest. */
async function completeBackup(store: MemoryStore, name: string, packs: string[], o: { lin?: string; key?: Buffer; ageMs?: number } = {}): Promise<void> {
  const rec = await putIndex(store, name, packs, o);
  await writeManifest(store, name, [rec], o.key ? { key: new Secret(o.key) } : {});
  store.log.length = 0;
}

const packKeys = (store: MemoryStore, lin = lineage): string[] => store.keys(`cairn/v1/packs/${lin}/`);

describe('deleteBackupData', () => {
  it('deletes the manifest, then the indexes, then exactly the packs no other backup references, whatever their age', async () => {
    const store = new MemoryStore();
    const [shared, onlyB1a, onlyB1b, onlyB2] = [pack(store, lineage, 2 * hour), pack(store, lineage, 2 * hour), pack(store, lineage, 60_000), pack(store, lineage, 1_000)];
    await completeBackup(store, 'b1', [shared, onlyB1a, onlyB1b], { ageMs: hour });
    await completeBackup(store, 'b2', [shared, onlyB2]);
    const seen: { step: DeleteStep; removed: Removed; keys: string[] }[] = [];

    const r = await deleteBackupData(store, 'b1', { pause: (step, removed) => Promise.resolve(void seen.push({ step, removed, keys: store.keys() })) });

    expect(r).toEqual({ manifest: true, index: 1, packs: 2 });
    expect(seen.map((s) => [s.step, s.removed])).toEqual([
      ['manifest', { manifest: true, index: 0, packs: 0 }],
      ['index', { manifest: true, index: 1, packs: 0 }],
      ['packs', { manifest: true, index: 1, packs: 2 }],
    ]);
    // After the first step the manifest is gone and the index and every pack are still there.
    expect(seen[0]!.keys).not.toContain(manifestKey('b1'));
    expect(seen[0]!.keys).toContain(indexKey('b1', 'data'));
    expect(seen[0]!.keys.filter((k) => k.includes('/packs/'))).toHaveLength(4);
    // After the second the index is gone too, the packs are not.
    expect(seen[1]!.keys.filter((k) => k.startsWith('cairn/v1/backups/b1/'))).toEqual([]);
    expect(seen[1]!.keys.filter((k) => k.includes('/packs/'))).toHaveLength(4);
    expect(packKeys(store)).toEqual([packKeyOf(lineage, shared), packKeyOf(lineage, onlyB2)].sort());
    // b2 is untouched, the lock released.
    expect(store.keys('cairn/v1/backups/b2/')).toEqual([indexKey('b2', 'data'), manifestKey('b2')].sort());
    expect(store.keys('cairn/v1/locks/')).toEqual([]);
    // The manifest went first, in a request of its own.
    expect(store.log.filter((l) => l.startsWith('delete'))[0]).toBe(`delete ${manifestKey('b1')}`);
  });

  it('keeps the normal grace for unreferenced packs that were not the backup\'s (a running backup may be writing them), and collects old ones', async () => {
    const store = new MemoryStore();
    const mine = pack(store, lineage, 1_000);
    const writing = pack(store, lineage, 60_000); // a running backup's new pack: no index names it yet
    const abandoned = pack(store, lineage, 7 * hour); // a crashed run's, past the grace
    const otherAbandoned = pack(store, otherLineage, 7 * hour);
    await completeBackup(store, 'b1', [mine]);

    const r = await deleteBackupData(store, 'b1');

    expect(packKeys(store)).toEqual([packKeyOf(lineage, writing)]);
    expect(packKeys(store)).not.toContain(packKeyOf(lineage, abandoned));
    expect(store.keys('cairn/v1/packs/')).not.toContain(packKeyOf(otherLineage, otherAbandoned));
    // Counted: the packs of the backup's lineages (its own and the abandoned one), not the other lineage's.
    expect(r.packs).toBe(2);
  });

  it('a graceMs of its own applies to the other packs only', async () => {
    const store = new MemoryStore();
    const mine = pack(store, lineage, 1_000);
    const young = pack(store, lineage, 5 * 60_000);
    await completeBackup(store, 'b1', [mine]);
    await deleteBackupData(store, 'b1', { graceMs: 60_000 });
    expect(packKeys(store)).toEqual([]);
    expect(young).toBeTruthy();
  });

  it('keeps a pack of the backup that a live lease names (a running incremental reuses it)', async () => {
    const store = new MemoryStore();
    const [leased, free] = [pack(store, lineage, hour), pack(store, lineage, hour)];
    await completeBackup(store, 'b1', [leased, free]);
    await writeLease(store, { backup: 'b9', lineage, packs: [leased], expiresAt: Date.now() + hour });
    const r = await deleteBackupData(store, 'b1');
    expect(packKeys(store)).toEqual([packKeyOf(lineage, leased)]);
    expect(r.packs).toBe(1);
    expect(store.keys('cairn/v1/leases/')).toEqual([leaseKey(lineage, 'b9')]);
  });

  it('reads a sealed manifest and sealed indexes with the location\'s key', async () => {
    const store = new MemoryStore();
    const key = randomBytes(32);
    const [a, b] = [pack(store, lineage, 1_000), pack(store, lineage, 1_000)];
    await completeBackup(store, 'b1', [a], { key });
    await completeBackup(store, 'b2', [b], { key });
    expect(await deleteBackupData(store, 'b1', { key })).toEqual({ manifest: true, index: 1, packs: 1 });
    expect(packKeys(store)).toEqual([packKeyOf(lineage, b)]);
  });

  it('resumes after an interrupted run: no manifest left, the remaining indexes go, the lineages from the Backup\'s status are counted', async () => {
    const store = new MemoryStore();
    const [a, b] = [pack(store, lineage, 7 * hour), pack(store, otherLineage, 7 * hour)];
    // What an interrupted run left: the indexes of two volumes, the manifest already deleted.
    await putIndex(store, 'b1', [a]);
    await putIndex(store, 'b1', [b], { lin: otherLineage, volume: 'logs' });

    const r = await deleteBackupData(store, 'b1', { lineages: [lineage, otherLineage] });

    expect(r).toEqual({ manifest: false, index: 2, packs: 2 });
    expect(store.keys()).toEqual([]);
  });

  it('finds nothing left and collects nothing, unless told to (a resumed request)', async () => {
    const store = new MemoryStore();
    const old = pack(store, lineage, 7 * hour);
    expect(await deleteBackupData(store, 'gone')).toEqual({ manifest: false, index: 0, packs: 0 });
    expect(store.log).toEqual([]); // not even the lock
    expect(await deleteBackupData(store, 'gone', { alwaysCollect: true, lineages: [lineage] })).toEqual({ manifest: false, index: 0, packs: 1 });
    expect(packKeys(store)).toEqual([]);
    expect(old).toBeTruthy();
  });

  it('deletes a manifest it cannot read (garbage, another key) and goes on', async () => {
    const store = new MemoryStore();
    const p = pack(store, lineage, 1_000);
    await completeBackup(store, 'b1', [p], { key: randomBytes(32) });
    // The location has no key: the sealed manifest cannot be read, and neither can the index
    // garbage collection must read, so the packs stay and the result says why.
    const r = await deleteBackupData(store, 'b1');
    expect(r).toMatchObject({ manifest: true, index: 1, packs: 0 });
    expect(r.packsKept).toBeUndefined(); // the only sealed index was this backup's, deleted before the collection
    expect(store.keys('cairn/v1/backups/')).toEqual([]);

    await store.putObject(manifestKey('b2'), Buffer.from('{"not":"a manifest"'));
    expect(await deleteBackupData(store, 'b2')).toMatchObject({ manifest: true, index: 0 });
    expect(store.keys('cairn/v1/backups/')).toEqual([]);
  });

  it('reports packs kept when another backup\'s index cannot be read; the manifest and indexes are deleted all the same', async () => {
    const store = new MemoryStore();
    const p = pack(store, lineage, 1_000);
    await completeBackup(store, 'b1', [p]);
    await store.putObject(indexKey('b2', 'data'), Buffer.from('not zstd at all'));
    const r = await deleteBackupData(store, 'b1');
    expect(r.packsKept?.code).toMatch(/^CAIRN_E_/);
    expect(r).toMatchObject({ manifest: true, index: 1, packs: 0 });
    expect(packKeys(store)).toEqual([packKeyOf(lineage, p)]);
    expect(store.keys('cairn/v1/backups/b1/')).toEqual([]);
  });

  it('waits for another collection\'s lock, then collects', async () => {
    const store = new MemoryStore();
    const p = pack(store, lineage, 1_000);
    await completeBackup(store, 'b1', [p]);
    await store.putObject(lockKey('gc'), Buffer.from(JSON.stringify({ owner: 'someone', expiresAt: Date.now() + hour, purpose: 'garbage collection' })));
    setTimeout(() => void store.deleteObject(lockKey('gc')), 80);
    const r = await deleteBackupData(store, 'b1', { lockRetryDelayMs: 20, lockRetries: 8 });
    expect(r.packs).toBe(1);
  });

  it('gives up with CAIRN_E_LOCKED after its retries', async () => {
    const store = new MemoryStore();
    await completeBackup(store, 'b1', [pack(store, lineage, 1_000)]);
    await store.putObject(lockKey('gc'), Buffer.from(JSON.stringify({ owner: 'someone', expiresAt: Date.now() + hour, purpose: 'garbage collection' })));
    await expect(deleteBackupData(store, 'b1', { lockRetryDelayMs: 5, lockRetries: 2 })).rejects.toMatchObject({ code: 'CAIRN_E_LOCKED' });
    expect(store.keys('cairn/v1/backups/')).toEqual([]); // manifest and index went before
  });

  it('stops on its signal', async () => {
    const store = new MemoryStore();
    await completeBackup(store, 'b1', [pack(store, lineage, 1_000)]);
    const ac = new AbortController();
    const r = deleteBackupData(store, 'b1', { signal: ac.signal, pause: (step) => Promise.resolve(step === 'manifest' ? ac.abort(new Error('stop')) : undefined) });
    await expect(r).rejects.toThrow();
    expect(store.keys('cairn/v1/backups/b1/')).toEqual([indexKey('b1', 'data')]);
  });
});

describe('agedPacks', () => {
  it('lists only the named packs as old, and nothing else differently', async () => {
    const store = new MemoryStore();
    const [a, b] = [pack(store, lineage, 1_000), pack(store, lineage, 1_000)];
    await store.putObject('cairn/v1/backups/x/manifest.json', Buffer.from('{}'));
    const aged = agedPacks(store, new Set([packKeyOf(lineage, a), 'cairn/v1/backups/x/manifest.json']));
    const listed: Record<string, number> = {};
    for await (const o of aged.list('')) listed[o.key] = o.lastModified.getTime();
    for await (const o of aged.list('cairn/v1/packs/')) listed[`packs:${o.key}`] = o.lastModified.getTime();
    expect(listed[`packs:${packKeyOf(lineage, a)}`]).toBe(0);
    expect(listed[`packs:${packKeyOf(lineage, b)}`]).toBe(store.clock - 1_000);
    expect(listed['cairn/v1/backups/x/manifest.json']).toBe(store.clock);
  });
});
