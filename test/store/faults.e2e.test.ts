// Retries, timeouts and redirects, through a fault-injecting proxy in front of the real MinIO:
// what is retried (503, SlowDown, resets, stalls) succeeds with the same bytes under the same key;
// what is not (AccessDenied, redirects) fails after exactly one request.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { ObjectStore } from '../../common/src/store/object-store.ts';
import { FaultProxy } from './fault-proxy.ts';
import { bytes, caught, collect, hangingStream, sha256, sha256OfStream, storeFor, streamOf } from './helpers.ts';

const cluster = inject('cluster');
const MiB = 1024 * 1024;
const maxAttempts = 4;

describe('object store through a fault-injecting proxy', () => {
  let proxy: FaultProxy;
  let store: ObjectStore;
  let direct: ObjectStore;

  beforeAll(async () => {
    proxy = await FaultProxy.start(cluster.minio.endpoint);
    const prefix = `store-tests/faults-${Date.now()}`;
    const fast = { maxAttempts, retry: { baseDelayMs: 20, maxDelayMs: 200 }, timeouts: { connectMs: 2_000, idleMs: 1_000 }, prefix };
    store = storeFor(cluster, 'team-a', { ...fast, endpoint: proxy.endpoint });
    direct = storeFor(cluster, 'team-a', { prefix });
  });
  afterAll(async () => {
    store.close();
    direct.close();
    await proxy.close();
  });
  beforeEach(() => proxy.reset());

  it('two 503 SlowDown answers to PUTs of packs, then success: retried on the same key, three requests seen', async () => {
    proxy.addRule({ method: 'PUT', path: /\/packs\//, times: 2, action: { kind: 'error', status: 503, code: 'SlowDown' } });
    const data = bytes(300_000, 11);
    await store.putObject('packs/p1.pack', data);
    const puts = proxy.seen({ method: 'PUT' });
    expect(puts.map((r) => [r.path, r.status])).toEqual([
      [expect.stringMatching(/\/packs\/p1\.pack$/), 503], [expect.stringMatching(/\/packs\/p1\.pack$/), 503], [expect.stringMatching(/\/packs\/p1\.pack$/), 200],
    ]);
    expect(sha256(await direct.getObject('packs/p1.pack'))).toBe(sha256(data));
  });

  it('a 503 ServiceUnavailable on a GET, then success', async () => {
    await direct.putObject('idx/a.index', Buffer.from('index bytes'));
    proxy.addRule({ method: 'GET', path: /a\.index$/, times: 1, action: { kind: 'error', status: 503, code: 'ServiceUnavailable' } });
    expect((await store.getObject('idx/a.index')).toString()).toBe('index bytes');
    expect(proxy.seen({ method: 'GET' }).map((r) => r.status)).toEqual([503, 200]);
  });

  it('a connection reset in the middle of a part body, then success: the part is sent again and the object is whole', async () => {
    proxy.addRule({ method: 'PUT', query: /partNumber=2(&|$)/, times: 1, action: { kind: 'reset-request', afterBytes: 1 * MiB } });
    const data = bytes(12 * MiB, 12);
    const r = await store.upload('packs/reset.pack', streamOf(data), { partSize: 5 * MiB, queueSize: 2 });
    expect(r).toMatchObject({ size: 12 * MiB, parts: 3 });
    const part2 = proxy.seen({ method: 'PUT', query: /partNumber=2(&|$)/ });
    expect(part2.map((x) => x.fault ?? 'none')).toEqual(['reset-request', 'none']);
    expect(await sha256OfStream(await direct.getObjectStream('packs/reset.pack'))).toEqual({ sha256: sha256(data), bytes: 12 * MiB });
    expect(await collect(direct.listMultipartUploads(''))).toEqual([]);
  });

  it('a connection reset in the middle of a single PUT body, then success', async () => {
    proxy.addRule({ method: 'PUT', path: /single\.bin$/, times: 1, action: { kind: 'reset-request', afterBytes: 64 * 1024 } });
    const data = bytes(1 * MiB, 13);
    await store.putObject('single.bin', data);
    expect(proxy.seen({ method: 'PUT' })).toHaveLength(2);
    expect(sha256(await direct.getObject('single.bin'))).toBe(sha256(data));
  });

  it('a connection reset in the middle of a response body: getObject reads it again whole', async () => {
    const data = bytes(4 * MiB, 14);
    await direct.putObject('packs/read.pack', data);
    proxy.addRule({ method: 'GET', path: /read\.pack$/, times: 1, action: { kind: 'reset-response', afterBytes: 1 * MiB } });
    expect(sha256(await store.getObject('packs/read.pack'))).toBe(sha256(data));
    expect(proxy.seen({ method: 'GET' }).map((r) => r.fault ?? 'none')).toEqual(['reset-response', 'none']);
  });

  it('a connection reset in the middle of a streamed body: the stream resumes with a ranged GET pinned to the ETag', async () => {
    const data = bytes(4 * MiB, 15);
    const { etag } = await direct.putObject('packs/stream.pack', data);
    proxy.addRule({ method: 'GET', path: /stream\.pack$/, times: 1, action: { kind: 'reset-response', afterBytes: 1 * MiB } });
    expect(await sha256OfStream(await store.getObjectStream('packs/stream.pack'))).toEqual({ sha256: sha256(data), bytes: 4 * MiB });
    const gets = proxy.seen({ method: 'GET' });
    expect(gets).toHaveLength(2);
    const m = /^bytes=(\d+)-(\d+)$/.exec(gets[1]!.range ?? '');
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(1 * MiB);
    expect(Number(m?.[2])).toBe(4 * MiB - 1);
    expect(gets[1]!.ifMatch).toBe(`"${etag}"`);
  });

  it('a ranged stream that breaks resumes inside its range', async () => {
    const data = bytes(4 * MiB, 16);
    await direct.putObject('packs/range.pack', data);
    proxy.addRule({ method: 'GET', path: /range\.pack$/, times: 1, action: { kind: 'reset-response', afterBytes: 512 * 1024 } });
    const range = { start: 1 * MiB + 3, end: 3 * MiB + 100 };
    const got = await sha256OfStream(await store.getObjectStream('packs/range.pack', { range }));
    expect(got).toEqual({ sha256: sha256(data.subarray(range.start, range.end + 1)), bytes: range.end + 1 - range.start });
    expect(proxy.seen({ method: 'GET' })[1]!.range).toMatch(new RegExp(`-${range.end}$`));
  });

  it('a body damaged on the way fails its CRC32 check and is read again', async () => {
    const data = bytes(2 * MiB, 18);
    await direct.putObject('idx/damaged.index', data);
    proxy.addRule({ method: 'GET', path: /damaged\.index$/, times: 1, action: { kind: 'corrupt-response', at: 1_000_000 } });
    expect(sha256(await store.getObject('idx/damaged.index'))).toBe(sha256(data));
    expect(proxy.seen({ method: 'GET' }).map((r) => r.fault ?? 'none')).toEqual(['corrupt-response', 'none']);
  });

  it('a streamed body that fails its CRC32 at the end is CAIRN_E_CORRUPT, never silently wrong bytes', async () => {
    const data = bytes(2 * MiB, 19);
    await direct.putObject('packs/damaged.pack', data);
    proxy.addRule({ method: 'GET', path: /damaged\.pack$/, times: 1, action: { kind: 'corrupt-response', at: 1_000_000 } });
    expect(await caught(sha256OfStream(await store.getObjectStream('packs/damaged.pack')))).toMatchObject({ code: 'CAIRN_E_CORRUPT' });
  });

  it('a response stalled longer than the per-attempt idle timeout fails that attempt, and the retry succeeds', async () => {
    await direct.putObject('idx/stall.index', Buffer.from('stalled'));
    proxy.addRule({ method: 'GET', path: /stall\.index$/, times: 1, action: { kind: 'stall', ms: 5_000 } });
    const t0 = Date.now();
    expect((await store.getObject('idx/stall.index')).toString()).toBe('stalled');
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(proxy.seen({ method: 'GET' }).map((r) => r.fault ?? 'none')).toEqual(['stall', 'none']);
  });

  it('a stream that stalls mid-body past the idle timeout resumes from where it was', async () => {
    const data = bytes(3 * MiB, 17);
    await direct.putObject('packs/stall.pack', data);
    proxy.addRule({ method: 'GET', path: /stall\.pack$/, times: 1, action: { kind: 'stall', ms: 5_000, afterBytes: 1 * MiB } });
    const t0 = Date.now();
    expect(await sha256OfStream(await store.getObjectStream('packs/stall.pack'))).toEqual({ sha256: sha256(data), bytes: 3 * MiB });
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(proxy.seen({ method: 'GET' })[1]!.range).toMatch(/^bytes=\d+-/);
  });

  it('an If-None-Match PUT whose answer was lost is recognised as our own write on retry, not as CAIRN_E_STORE_EXISTS', async () => {
    proxy.addRule({ method: 'PUT', path: /lost\/manifest\.json$/, times: 1, action: { kind: 'stall', ms: 5_000 } });
    await store.putObject('lost/manifest.json', Buffer.from('{"mine":1}'), { ifNoneMatch: true });
    expect(proxy.seen({ method: 'PUT' }).map((r) => r.status)).toEqual([200, 412]);
    // but different bytes already there are a real conflict
    await direct.putObject('other/manifest.json', Buffer.from('{"theirs":1}'));
    proxy.addRule({ method: 'PUT', path: /other\/manifest\.json$/, times: 1, action: { kind: 'stall', ms: 5_000 } });
    expect(await caught(store.putObject('other/manifest.json', Buffer.from('{"mine":1}'), { ifNoneMatch: true }))).toMatchObject({ code: 'CAIRN_E_STORE_EXISTS' });
  });

  it('a CompleteMultipartUpload whose success was lost is recognised on retry (NoSuchUpload, then the object is there)', async () => {
    proxy.addRule({ method: 'POST', query: /uploadId=/, times: 1, action: { kind: 'stall', ms: 5_000 } });
    const data = bytes(11 * MiB, 20);
    expect(await store.upload('packs/lost-complete.pack', streamOf(data), { partSize: 5 * MiB })).toMatchObject({ size: 11 * MiB, parts: 3 });
    expect(proxy.seen({ method: 'POST', query: /uploadId=/ }).map((r) => r.status)).toEqual([200, 404]);
    expect(await sha256OfStream(await direct.getObjectStream('packs/lost-complete.pack'))).toEqual({ sha256: sha256(data), bytes: 11 * MiB });
  });

  it('a 503 that never ends gives CAIRN_E_STORE_UNAVAILABLE after exactly maxAttempts requests, without the body text', async () => {
    proxy.addRule({ method: 'PUT', action: { kind: 'error', status: 503, code: 'SlowDown', message: 'BODY-CANARY-7d1e' } });
    const err = await caught(store.putObject('packs/never.pack', Buffer.from('x')));
    expect(err).toMatchObject({ code: 'CAIRN_E_STORE_UNAVAILABLE', attempts: maxAttempts, httpStatus: 503, s3Code: 'SlowDown' });
    expect(err.message).toMatch(/^PutObject s3:\/\/team-a\/store-tests\/faults-\d+\/packs\/never\.pack failed: HTTP 503 SlowDown \(after 4 attempts\)$/);
    expect(proxy.seen({ method: 'PUT' })).toHaveLength(maxAttempts);
  });

  it('AccessDenied is not retried: exactly one request', async () => {
    proxy.addRule({ action: { kind: 'error', status: 403, code: 'AccessDenied', message: 'BODY-CANARY-7d1e' } });
    const err = await caught(store.getObject('idx/a.index'));
    expect(err).toMatchObject({ code: 'CAIRN_E_STORE_ACCESS_DENIED', attempts: 1 });
    expect(err.message).not.toContain('BODY-CANARY');
    expect(proxy.requests).toHaveLength(1);
  });

  describe('redirects', () => {
    let elsewhere: Server;
    const hits: string[] = [];
    let location = '';
    beforeAll(async () => {
      elsewhere = createServer((req, res) => {
        hits.push(req.url ?? '');
        res.end();
      });
      await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
      location = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/steal`;
    });
    afterAll(async () => new Promise<void>((resolve) => elsewhere.close(() => resolve())));

    it.each([301, 302, 307, 308])('a %i is never followed: CAIRN_E_STORE_BAD_ENDPOINT after one request, nothing sent to the Location', async (status) => {
      const body = `<?xml version="1.0"?><Error><Code>PermanentRedirect</Code><Message>BODY-CANARY-7d1e go to ${location}</Message><Endpoint>${location}</Endpoint></Error>`;
      proxy.addRule({ action: { kind: 'respond', status, headers: { location, 'content-type': 'application/xml' }, body } });
      for (const op of [() => store.putObject('r/x', Buffer.from('x')), () => store.getObject('r/x'), () => store.headObject('r/x'), () => store.checkBucket()]) {
        const err = await caught(op());
        expect(err).toMatchObject({ code: 'CAIRN_E_STORE_BAD_ENDPOINT', attempts: 1 });
        expect(err.message).not.toContain('BODY-CANARY');
        expect(err.message).not.toContain(location);
      }
      expect(proxy.requests).toHaveLength(4);
      expect(hits).toEqual([]);
    });
  });

  it('an abort while CreateMultipartUpload is on the wire still leaves no multipart upload', async () => {
    proxy.addRule({ method: 'POST', query: /uploads/, times: 1, action: { kind: 'stall', ms: 3_000 } });
    const ac = new AbortController();
    const p = store.upload('packs/create-abort.pack', hangingStream(bytes(6 * MiB)), { partSize: 5 * MiB, signal: ac.signal });
    for (let i = 0; i < 100 && proxy.seen({ method: 'POST', query: /uploads/ }).every((r) => r.status === undefined); i++) await sleep(20);
    // MinIO has created the upload; its id is held in the stalled response.
    expect(proxy.seen({ method: 'POST', query: /uploads/ })[0]?.status).toBe(200);
    ac.abort();
    expect(await caught(p)).toMatchObject({ code: 'CAIRN_E_ABORTED' });
    expect(await collect(direct.listMultipartUploads(''))).toEqual([]);
  });

  it('an abort while parts are stalled in flight aborts them and the upload', async () => {
    proxy.addRule({ method: 'PUT', query: /partNumber=/, action: { kind: 'stall', ms: 800 } });
    const ac = new AbortController();
    const p = store.upload('packs/inflight-abort.pack', streamOf(bytes(30 * MiB)), { partSize: 5 * MiB, queueSize: 3, signal: ac.signal });
    for (let i = 0; i < 200 && proxy.seen({ method: 'PUT' }).length < 3; i++) await sleep(20);
    ac.abort();
    const t0 = Date.now();
    expect(await caught(p)).toMatchObject({ code: 'CAIRN_E_ABORTED' });
    expect(Date.now() - t0).toBeLessThan(2_000);
    await sleep(1_000); // let the stalled upstream requests finish
    expect(await collect(direct.listMultipartUploads(''))).toEqual([]);
    expect(await direct.headObject('packs/inflight-abort.pack')).toBeUndefined();
  });
});
