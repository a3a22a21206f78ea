// The object store against the local cluster's real MinIO: round trips, conditional writes,
// pagination, bulk delete, tenancy (403 for the other tenant's bucket) and abort leaving no parts.
import { inspect } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Secret } from '../../common/src/secret.ts';
import type { ObjectStore } from '../../common/src/store/object-store.ts';
import { bytes, caught, collect, hangingStream, sha256, sha256OfStream, storeFor, streamOf } from './helpers.ts';

const cluster = inject('cluster');
const MiB = 1024 * 1024;

async function mapPool<T>(items: T[], width: number, f: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < items.length) await f(items[i++]!);
  }));
}

describe('object store on MinIO', () => {
  const store = storeFor(cluster, 'team-a');
  afterAll(() => store.close());

  it('writes, reads, ranges and heads a small object', async () => {
    const data = Buffer.from('0123456789abcdefghij');
    const put = await store.putObject('small/a.bin', data, { contentType: 'application/octet-stream' });
    expect(put.etag).toMatch(/^[0-9a-f]{32}$/);
    expect(await store.getObject('small/a.bin')).toEqual(data);
    expect(await store.getObject('small/a.bin', { range: { start: 10, end: 14 } })).toEqual(Buffer.from('abcde'));
    // a range past the end is cut at the end, as in HTTP
    expect(await store.getObject('small/a.bin', { range: { start: 15, end: 100 } })).toEqual(Buffer.from('fghij'));
    const ranged = await sha256OfStream(await store.getObjectStream('small/a.bin', { range: { start: 2, end: 5 } }));
    expect(ranged).toEqual({ sha256: sha256(Buffer.from('2345')), bytes: 4 });
    expect(await store.headObject('small/a.bin')).toMatchObject({ size: 20, etag: put.etag });
    expect(await store.headObject('small/missing')).toBeUndefined();
    expect(await caught(store.getObject('small/missing'))).toMatchObject({ code: 'CAIRN_E_STORE_NOT_FOUND' });
    expect(await caught(store.getObjectStream('small/missing'))).toMatchObject({ code: 'CAIRN_E_STORE_NOT_FOUND' });
  });

  it('refuses a body over maxBytes instead of buffering it', async () => {
    await store.putObject('small/big-ish', bytes(64 * 1024));
    expect(await caught(store.getObject('small/big-ish', { maxBytes: 1000 }))).toMatchObject({ code: 'CAIRN_E_LIMIT_EXCEEDED' });
  });

  it('uploads a 40 MiB stream in 5 MiB parts, and the bytes read back are the bytes sent', async () => {
    const data = bytes(40 * MiB, 7);
    const r = await store.upload('packs/forty.pack', streamOf(data), { partSize: 5 * MiB, queueSize: 4 });
    expect(r).toMatchObject({ size: 40 * MiB, parts: 8 });
    expect(r.etag).toMatch(/-8$/);
    expect(await sha256OfStream(await store.getObjectStream('packs/forty.pack'))).toEqual({ sha256: sha256(data), bytes: 40 * MiB });
    expect(sha256(await store.getObject('packs/forty.pack', { range: { start: 5 * MiB - 10, end: 5 * MiB + 9 } }))).toBe(sha256(data.subarray(5 * MiB - 10, 5 * MiB + 10)));
    expect(await collect(store.listMultipartUploads(''))).toEqual([]);
  });

  it('uploads a stream smaller than one part with a single PUT', async () => {
    const data = bytes(100_000, 3);
    expect(await store.upload('packs/small.pack', streamOf(data, 10_000), { partSize: 5 * MiB })).toMatchObject({ size: 100_000, parts: 0 });
    expect(sha256(await store.getObject('packs/small.pack'))).toBe(sha256(data));
    expect(await store.upload('packs/empty.pack', streamOf(Buffer.alloc(0)))).toMatchObject({ size: 0, parts: 0 });
    expect(await store.headObject('packs/empty.pack')).toMatchObject({ size: 0 });
  });

  it('a second If-None-Match write of a manifest fails with CAIRN_E_STORE_EXISTS and leaves the first', async () => {
    await store.putObject('backups/b1/manifest.json', Buffer.from('{"first":true}'), { ifNoneMatch: true });
    const err = await caught(store.putObject('backups/b1/manifest.json', Buffer.from('{"second":true}'), { ifNoneMatch: true }));
    expect(err).toMatchObject({ code: 'CAIRN_E_STORE_EXISTS', attempts: 1 });
    expect(err.message).toContain('backups/b1/manifest.json');
    expect((await store.getObject('backups/b1/manifest.json')).toString()).toBe('{"first":true}');
  });

  it('lists over 1000 keys page by page, under the prefix only, then deletes them in batches', async () => {
    const keys = Array.from({ length: 1100 }, (_, i) => `many/k${String(i).padStart(5, '0')}`);
    await mapPool(keys, 32, (k) => store.putObject(k, Buffer.from(k)));
    await store.putObject('many-not/x', Buffer.from('sibling prefix'));
    const listed = await collect(store.list('many/', { pageSize: 250 }));
    expect(listed.map((o) => o.key)).toEqual(keys);
    expect(listed[0]).toMatchObject({ size: 11, etag: expect.stringMatching(/^[0-9a-f]{32}$/) as string });
    expect(listed[0]!.lastModified).toBeInstanceOf(Date);
    await store.deleteObjects([...keys, 'many/never-existed']);
    expect(await collect(store.list('many/'))).toEqual([]);
    expect((await collect(store.list('many-not/'))).map((o) => o.key)).toEqual(['many-not/x']);
    await store.deleteObject('many-not/x');
    await store.deleteObject('many-not/x'); // already gone: fine
  });

  it('aborting an upload mid-stream aborts its multipart upload: no parts are left', async () => {
    const ac = new AbortController();
    // 12 MiB arrive, then the producer hangs: two 5 MiB parts go up, the third waits for data.
    const p = store.upload('packs/aborted.pack', hangingStream(bytes(12 * MiB, 5)), { partSize: 5 * MiB, queueSize: 2, signal: ac.signal });
    // The upload is really there while it runs (so "none listed" below means something).
    let listed: { key: string }[] = [];
    for (let i = 0; i < 100 && listed.length === 0; i++) {
      await sleep(50);
      listed = await collect(store.listMultipartUploads('packs/'));
    }
    expect(listed.map((u) => u.key)).toEqual(['packs/aborted.pack']);
    ac.abort();
    expect(await caught(p)).toMatchObject({ code: 'CAIRN_E_ABORTED' });
    expect(await collect(store.listMultipartUploads(''))).toEqual([]);
    expect(await store.headObject('packs/aborted.pack')).toBeUndefined();
  });

  it('lists and aborts a multipart upload by id', async () => {
    const ac = new AbortController();
    const p = store.upload('packs/left.pack', hangingStream(bytes(6 * MiB)), { partSize: 5 * MiB, signal: ac.signal });
    let ups: { key: string; uploadId: string }[] = [];
    for (let i = 0; i < 100 && ups.length === 0; i++) {
      await sleep(50);
      ups = await collect(store.listMultipartUploads('packs/le'));
    }
    expect(ups).toHaveLength(1);
    await store.abortMultipartUpload(ups[0]!.key, ups[0]!.uploadId);
    await store.abortMultipartUpload(ups[0]!.key, ups[0]!.uploadId); // already gone: fine
    expect(await collect(store.listMultipartUploads('packs/'))).toEqual([]);
    ac.abort();
    await caught(p);
  });

  it('refuses keys that leave the prefix before any request is made', async () => {
    for (const key of ['../team-b/x', '/abs', 'a/../../b', '']) {
      expect(await caught(store.putObject(key, Buffer.from('x'))), key).toMatchObject({ code: 'CAIRN_E_INVALID_ARGUMENT' });
    }
    expect(await caught(store.getObject('a/../b'))).toMatchObject({ code: 'CAIRN_E_INVALID_ARGUMENT' });
    expect(await caught(collect(store.list('../')))).toMatchObject({ code: 'CAIRN_E_INVALID_ARGUMENT' });
  });

  it('checkBucket passes for the own bucket and names a missing one', async () => {
    await store.checkBucket();
    const root = storeFor(cluster, 'team-a', {
      bucket: 'no-such-bucket-cairn', credentials: new Secret({ accessKeyId: cluster.minio.root.accessKeyId, secretAccessKey: cluster.minio.root.secretAccessKey }),
    });
    const err = await caught(root.checkBucket());
    expect(err).toMatchObject({ code: 'CAIRN_E_STORE_NOT_FOUND' });
    expect(err.message).toContain('no-such-bucket-cairn');
    root.close();
  });
});

describe('tenancy', () => {
  const teamA = cluster.minio.tenants['team-a']!;
  let intruder: ObjectStore;
  afterAll(() => intruder.close());

  it("team-a's credentials get CAIRN_E_STORE_ACCESS_DENIED on team-b's bucket, for every operation", async () => {
    intruder = storeFor(cluster, 'team-a', { bucket: cluster.minio.tenants['team-b']!.bucket, maxAttempts: 3 });
    const errors = [
      await caught(intruder.putObject('x', Buffer.from('x'))),
      await caught(intruder.getObject('x')),
      await caught(intruder.headObject('x')),
      await caught(collect(intruder.list(''))),
      await caught(intruder.checkBucket()),
      await caught(intruder.upload('big', streamOf(bytes(6 * MiB)), { partSize: 5 * MiB })),
    ];
    for (const e of errors) {
      expect(e).toMatchObject({ code: 'CAIRN_E_STORE_ACCESS_DENIED', attempts: 1 });
      expect(e.message).toContain('team-b');
      expect(e.message).not.toContain(teamA.secretAccessKey);
    }
  });

  it('never shows credentials when the store is printed or serialised', () => {
    const s = storeFor(cluster, 'team-a');
    expect(inspect(s, { depth: 10 })).not.toContain(teamA.secretAccessKey);
    expect(JSON.stringify({ s })).not.toContain(teamA.secretAccessKey);
    expect(inspect(s, { depth: 10 })).not.toContain(teamA.accessKeyId);
    s.close();
  });
});
