// Small builders for the object-store suites: a store for a tenant of the local cluster (or any
// endpoint), with a fresh key prefix per test so suites running in parallel never meet.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ClusterInfo } from '../harness/cluster.ts';
import { Secret } from '../../common/src/secret.ts';
import { createS3Store, type ObjectStore, type S3StoreConfig } from '../../common/src/store/object-store.ts';

export function storeConfig(cluster: ClusterInfo, tenant: string, over: Partial<S3StoreConfig> = {}): S3StoreConfig {
  const t = cluster.minio.tenants[tenant];
  if (!t) throw new Error(`no tenant storage for ${tenant}`);
  return {
    endpoint: cluster.minio.endpoint,
    bucket: t.bucket,
    prefix: `store-tests/${randomBytes(6).toString('hex')}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: new Secret({ accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey }),
    ...over,
  };
}

export function storeFor(cluster: ClusterInfo, tenant: string, over: Partial<S3StoreConfig> = {}): ObjectStore {
  return createS3Store(storeConfig(cluster, tenant, over));
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export async function sha256OfStream(s: Readable): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const c of s as AsyncIterable<Buffer>) {
    h.update(c);
    bytes += c.length;
  }
  return { sha256: h.digest('hex'), bytes };
}

/** Deterministic pseudo-random bytes (fast, incompressible enough for transfer tests). */
export function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= n; i += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  for (let i = n - (n % 4); i < n; i++) out[i] = i & 0xff;
  return out;
}

/** A stream of `total` bytes in chunks, produced lazily like a real producer (tar/zstd). */
export function streamOf(data: Buffer, chunk = 256 * 1024): Readable {
  let off = 0;
  return new Readable({
    highWaterMark: chunk,
    read() {
      if (off >= data.length) {
        this.push(null);
        return;
      }
      const end = Math.min(off + chunk, data.length);
      this.push(data.subarray(off, end));
      off = end;
    },
  });
}

/** A stream that yields `first` bytes and then never ends (a producer that hangs). */
export function hangingStream(first: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(first);
      }
    },
  });
}

export async function caught(p: Promise<unknown>): Promise<Error & { code?: string; attempts?: number }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection, got success');
}
