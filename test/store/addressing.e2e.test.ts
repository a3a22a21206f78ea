// Virtual-hosted and path-style addressing, pinned addresses and TLS, against real MinIOs with
// MINIO_DOMAIN set. Host names are under .invalid, which never resolves: only the pinned
// address can make these requests work, so DNS is demonstrably not consulted.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LookupFunction } from 'node:net';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Secret } from '../../common/src/secret.ts';
import { createS3Store, type ObjectStore, type S3StoreConfig } from '../../common/src/store/object-store.ts';
import { startDomainMinio, type DomainMinio } from './domain-minio.ts';
import { FaultProxy } from './fault-proxy.ts';
import { bytes, caught, collect, sha256, sha256OfStream, streamOf } from './helpers.ts';

const MiB = 1024 * 1024;
const bucket = 'team-v';

const toLoopback: LookupFunction = (_host, opts, cb) => {
  if (opts.all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
};

async function makeBucket(m: DomainMinio): Promise<void> {
  const s3 = new S3Client({
    endpoint: m.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: m.root,
    requestHandler: { httpAgent: new HttpAgent({ lookup: toLoopback }), httpsAgent: new HttpsAgent({ lookup: toLoopback, ...(m.caCertPem ? { ca: m.caCertPem } : {}) }) },
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
}

function config(m: DomainMinio, over: Partial<S3StoreConfig>): S3StoreConfig {
  return {
    endpoint: m.endpoint, pinnedAddress: '127.0.0.1', bucket, prefix: `addr-${Math.random().toString(16).slice(2)}`, region: 'us-east-1', forcePathStyle: false,
    credentials: new Secret(m.root), maxAttempts: 2, retry: { baseDelayMs: 10, maxDelayMs: 50 },
    ...(m.caCertPem ? { caCertPem: m.caCertPem } : {}), ...over,
  };
}

/** Everything the engine does, once: small and ranged reads, multipart, list, delete. */
async function roundTrip(store: ObjectStore): Promise<void> {
  await store.checkBucket();
  await store.putObject('backups/b/manifest.json', Buffer.from('{"v":1}'), { ifNoneMatch: true });
  expect(await caught(store.putObject('backups/b/manifest.json', Buffer.from('{"v":2}'), { ifNoneMatch: true }))).toMatchObject({ code: 'CAIRN_E_STORE_EXISTS' });
  const data = bytes(12 * MiB, 21);
  expect(await store.upload('packs/p.pack', streamOf(data), { partSize: 5 * MiB })).toMatchObject({ parts: 3, size: 12 * MiB });
  expect(await sha256OfStream(await store.getObjectStream('packs/p.pack'))).toEqual({ sha256: sha256(data), bytes: 12 * MiB });
  expect(sha256(await store.getObject('packs/p.pack', { range: { start: 100, end: 199 } }))).toBe(sha256(data.subarray(100, 200)));
  expect((await collect(store.list(''))).map((o) => o.key)).toEqual(['backups/b/manifest.json', 'packs/p.pack']);
  expect(await collect(store.listMultipartUploads(''))).toEqual([]);
  await store.deleteObjects(['backups/b/manifest.json', 'packs/p.pack']);
  expect(await collect(store.list(''))).toEqual([]);
}

describe('addressing over plain HTTP, seen on the wire', () => {
  let dir: string;
  let minio: DomainMinio;
  let proxy: FaultProxy;
  let viaProxy: DomainMinio;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-addr-http-'));
    minio = await startDomainMinio(dir, { domain: 's3.cairn.invalid', tls: false });
    await makeBucket(minio);
    // The proxy forwards the Host header unchanged, so MinIO sees what the store sent.
    proxy = await FaultProxy.start(`http://127.0.0.1:${minio.port}`);
    const port = new URL(proxy.endpoint).port;
    viaProxy = { ...minio, endpoint: `http://s3.cairn.invalid:${port}`, port: Number(port) };
  });
  afterAll(async () => {
    await proxy.close();
    await minio.stop();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => proxy.reset());

  it('virtual-hosted: every request goes to <bucket>.<host> with the key as the path, through the pinned address', async () => {
    const store = createS3Store(config(viaProxy, { forcePathStyle: false }));
    await roundTrip(store);
    store.close();
    expect(proxy.requests.length).toBeGreaterThan(8);
    for (const r of proxy.requests) {
      expect(r.host).toBe(`${bucket}.s3.cairn.invalid:${viaProxy.port}`);
      expect(r.path.startsWith(`/${bucket}/`)).toBe(false);
    }
  });

  it('path-style: every request goes to <host> with /<bucket>/<key> as the path', async () => {
    const store = createS3Store(config(viaProxy, { forcePathStyle: true }));
    await roundTrip(store);
    store.close();
    for (const r of proxy.requests) {
      expect(r.host).toBe(`s3.cairn.invalid:${viaProxy.port}`);
      expect(r.path === `/${bucket}` || r.path.startsWith(`/${bucket}/`)).toBe(true);
    }
  });

  it('without the pinned address the .invalid host does not resolve: CAIRN_E_STORE_UNAVAILABLE, and nothing reached the proxy', async () => {
    const store = createS3Store({ ...config(viaProxy, {}), pinnedAddress: undefined });
    expect(await caught(store.getObject('x'))).toMatchObject({ code: 'CAIRN_E_STORE_UNAVAILABLE' });
    store.close();
    expect(proxy.requests).toEqual([]);
  });
});

describe('addressing over TLS with a tenant CA, pinned', () => {
  let dir: string;
  let minio: DomainMinio;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cairn-addr-tls-'));
    minio = await startDomainMinio(dir, { domain: 'tls.cairn.invalid', tls: true });
    await makeBucket(minio);
  });
  afterAll(async () => {
    await minio.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('virtual-hosted over TLS: SNI and the certificate check use <bucket>.<host>, the connection the pinned IP', async () => {
    const store = createS3Store(config(minio, { forcePathStyle: false }));
    await roundTrip(store);
    store.close();
  });

  it('path-style over TLS', async () => {
    const store = createS3Store(config(minio, { forcePathStyle: true }));
    await roundTrip(store);
    store.close();
  });

  it('without the tenant CA the certificate is refused: CAIRN_E_STORE_BAD_ENDPOINT, not retried', async () => {
    const store = createS3Store({ ...config(minio, {}), caCertPem: undefined, maxAttempts: 4 });
    expect(await caught(store.putObject('x', Buffer.from('x')))).toMatchObject({ code: 'CAIRN_E_STORE_BAD_ENDPOINT', attempts: 1 });
    store.close();
  });

  it('a host name the certificate does not name is refused even though the pinned IP is right', async () => {
    const store = createS3Store(config(minio, { endpoint: `https://other.cairn.invalid:${minio.port}`, forcePathStyle: true }));
    const err = await caught(store.getObject('x'));
    expect(err).toMatchObject({ code: 'CAIRN_E_STORE_BAD_ENDPOINT', attempts: 1 });
    expect(err.message).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
    store.close();
  });
});
