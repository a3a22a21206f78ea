// The S3 implementation of ObjectStore (AWS SDK v3), for AWS S3 and S3-compatible stores.
// Credentials are only the ones given: the client gets a static credentials object, and every
// setting the SDK would otherwise read from AWS_* variables or ~/.aws files is set explicitly.
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand, HeadBucketCommand, HeadObjectCommand, ListMultipartUploadsCommand,
  ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { CairnError } from '../errors.ts';
import { bareEtag, retryContext, type StoreContext } from './context.ts';
import { classifyHttp, safeS3Code, storeError, StoreError, type Failure } from './failures.ts';
import { defaultMaxGetBytes, getBuffer, getStream } from './get-object.ts';
import { joinKey, joinListPrefix, normalizePrefix, stripPrefix } from './keys.ts';
import { checkPartOptions, uploadStream } from './multipart.ts';
import { resolveRetryPolicy, withRetry } from './retry.ts';
import { createTransport, type Transport } from './transport.ts';
import type {
  GetBufferOptions, GetOptions, ListedObject, ListOptions, MultipartUploadInfo, ObjectInfo, ObjectStore, OpOptions, PutOptions, PutResult,
  S3StoreConfig, UploadOptions, UploadResult,
} from './object-store.ts';

/** Chosen by measurement: see "Part size and queue depth" in docs/storage.md. */
export const defaultPartSize = 8 * 1024 * 1024;
export const defaultQueueSize = 4;
export const defaultTimeouts = { connectMs: 10_000, idleMs: 30_000 };
const deleteBatch = 1000;

export function createS3Store(config: S3StoreConfig): ObjectStore {
  return new S3Store(config);
}

class S3Store implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly #s: StoreContext;
  readonly #transport: Transport;
  readonly #partSize: number;
  readonly #queueSize: number;

  constructor(c: S3StoreConfig) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(c.bucket)) {
      throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `bucket name ${JSON.stringify(c.bucket)} is not allowed; S3 bucket names are 3-63 lowercase letters, digits, '.' and '-'`);
    }
    if (!/^[a-z0-9-]{1,64}$/.test(c.region)) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `region ${JSON.stringify(c.region)} is not allowed; expected e.g. us-east-1`);
    this.bucket = c.bucket;
    this.prefix = normalizePrefix(c.prefix);
    this.#partSize = c.partSize ?? defaultPartSize;
    this.#queueSize = c.queueSize ?? defaultQueueSize;
    checkPartOptions(this.#partSize, this.#queueSize);
    const policy = resolveRetryPolicy(c.retry, c.maxAttempts);
    this.#transport = createTransport({
      endpoint: c.endpoint, pinnedAddress: c.pinnedAddress, bucket: c.bucket, forcePathStyle: c.forcePathStyle, caCertPem: c.caCertPem,
      connectTimeoutMs: c.timeouts?.connectMs ?? defaultTimeouts.connectMs, idleTimeoutMs: c.timeouts?.idleMs ?? defaultTimeouts.idleMs,
      maxSockets: c.maxSockets ?? 32,
    });
    const creds = c.credentials.reveal();
    const client = new S3Client({
      endpoint: this.#transport.endpoint.href,
      region: c.region,
      forcePathStyle: c.forcePathStyle,
      credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, ...(creds.sessionToken ? { sessionToken: creds.sessionToken } : {}) },
      // Never consulted while `credentials` is set; here so that nothing could ever fall back to
      // environment, profile, container or instance-metadata credentials.
      credentialDefaultProvider: () => () => Promise.reject(new CairnError('CAIRN_E_INTERNAL', 'the store has no credentials but the ones configured')),
      requestHandler: this.#transport.handlerOptions,
      // Everything below would otherwise come from AWS_* variables or ~/.aws/config.
      maxAttempts: 1, // our retries, see retry.ts
      retryMode: 'standard',
      defaultsMode: 'standard',
      useFipsEndpoint: false,
      useDualstackEndpoint: false,
      useArnRegion: false,
      useAccelerateEndpoint: false,
      disableMultiregionAccessPoints: true,
      disableS3ExpressSessionAuth: true,
      followRegionRedirects: false,
      expectContinueHeader: false,
      requestChecksumCalculation: 'WHEN_SUPPORTED',
      responseChecksumValidation: 'WHEN_SUPPORTED',
      authSchemePreference: ['sigv4'],
      sigv4aSigningRegionSet: [c.region],
      userAgentAppId: 'cairn',
    });
    this.#s = { client, bucket: c.bucket, prefix: this.prefix, policy, logger: c.logger };
  }

  [inspect.custom](): string {
    return `S3Store(${this.bucket}/${this.prefix})`;
  }

  toJSON(): { bucket: string; prefix: string } {
    return { bucket: this.bucket, prefix: this.prefix };
  }

  #ctx(operation: string, key: string | undefined, signal: AbortSignal | undefined) {
    return retryContext(this.#s, operation, key, signal);
  }


  async getObject(key: string, opts: GetBufferOptions = {}): Promise<Buffer> {
    return getBuffer(this.#s, joinKey(this.prefix, key), opts.range, opts.maxBytes ?? defaultMaxGetBytes, opts.signal);
  }

  async getObjectStream(key: string, opts: GetOptions = {}): Promise<Readable> {
    return getStream(this.#s, joinKey(this.prefix, key), opts.range, opts.signal);
  }

  async putObject(key: string, body: Buffer, opts: PutOptions = {}): Promise<PutResult> {
    return this.#put(joinKey(this.prefix, key), body, opts.ifNoneMatch === true, opts.contentType, opts.signal);
  }

  async #put(full: string, body: Buffer, ifNoneMatch: boolean, contentType: string | undefined, signal: AbortSignal | undefined): Promise<PutResult> {
    const ctx = this.#ctx('PutObject', full, signal);
    try {
      return await withRetry(ctx, async () => {
        const r = await this.#s.client.send(new PutObjectCommand({
          Bucket: this.bucket, Key: full, Body: body, ContentLength: body.length, ChecksumAlgorithm: 'CRC32',
          ...(ifNoneMatch ? { IfNoneMatch: '*' } : {}), ...(contentType ? { ContentType: contentType } : {}),
        }), sendOptions(signal));
        return { etag: bareEtag(r.ETag) };
      });
    } catch (err) {
      if (!(err instanceof StoreError) || err.code !== 'CAIRN_E_STORE_EXISTS') throw err;
      // An earlier attempt may have written the object and lost the answer: if what is there is
      // byte-for-byte ours (single-part ETag = MD5), the write happened.
      if (err.attempts > 1) {
        const md5 = createHash('md5').update(body).digest('hex');
        const head = await this.#head(full, signal).catch(() => undefined);
        if (head?.etag === md5 && head.size === body.length) return { etag: md5 };
      }
      throw new StoreError('CAIRN_E_STORE_EXISTS', `PutObject s3://${this.bucket}/${full} with If-None-Match: * found the object already there`, ctx, {
        attempts: err.attempts, httpStatus: 412, ...(err.s3Code ? { s3Code: err.s3Code } : {}),
      });
    }
  }

  async upload(key: string, body: Readable, opts: UploadOptions = {}): Promise<UploadResult> {
    const full = joinKey(this.prefix, key);
    return uploadStream(this.#s, full, body, {
      partSize: opts.partSize ?? this.#partSize,
      queueSize: opts.queueSize ?? this.#queueSize,
      contentType: opts.contentType,
      signal: opts.signal,
      putSingle: (buf, signal) => this.#put(full, buf, false, opts.contentType, signal),
    });
  }

  async headObject(key: string, opts: OpOptions = {}): Promise<ObjectInfo | undefined> {
    return this.#head(joinKey(this.prefix, key), opts.signal);
  }

  async #head(full: string, signal: AbortSignal | undefined): Promise<ObjectInfo | undefined> {
    try {
      return await withRetry(this.#ctx('HeadObject', full, signal), async () => {
        const r = await this.#s.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: full }), sendOptions(signal));
        return { size: r.ContentLength ?? 0, etag: bareEtag(r.ETag), lastModified: r.LastModified ?? new Date(0) };
      });
    } catch (err) {
      if (err instanceof StoreError && err.code === 'CAIRN_E_STORE_NOT_FOUND') return undefined;
      throw err;
    }
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncGenerator<ListedObject> {
    const full = joinListPrefix(this.prefix, prefix);
    const pageSize = opts.pageSize ?? 1000;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `pageSize ${pageSize} is not allowed; it must be an integer from 1 to 1000`);
    const ctx = this.#ctx('ListObjectsV2', full, opts.signal);
    let token: string | undefined;
    for (;;) {
      const page = await withRetry(ctx, () => this.#s.client.send(new ListObjectsV2Command({
        Bucket: this.bucket, Prefix: full, MaxKeys: pageSize, ...(token ? { ContinuationToken: token } : {}),
      }), sendOptions(opts.signal)));
      for (const o of page.Contents ?? []) {
        const key = o.Key === undefined ? undefined : stripPrefix(this.prefix, o.Key);
        if (key === undefined || !key.startsWith(prefix)) continue; // not what we asked for: not believed
        yield { key, size: o.Size ?? 0, etag: bareEtag(o.ETag), lastModified: o.LastModified ?? new Date(0) };
      }
      if (!page.IsTruncated) return;
      if (!page.NextContinuationToken || page.NextContinuationToken === token) {
        throw storeError({ code: 'CAIRN_E_STORE_UNAVAILABLE', retryable: false, detail: 'the listing is truncated but gives no new continuation token' }, ctx, 1);
      }
      token = page.NextContinuationToken;
    }
  }

  async deleteObject(key: string, opts: OpOptions = {}): Promise<void> {
    const full = joinKey(this.prefix, key);
    await withRetry(this.#ctx('DeleteObject', full, opts.signal), () => this.#s.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: full }), sendOptions(opts.signal)));
  }

  async deleteObjects(keys: readonly string[], opts: OpOptions = {}): Promise<void> {
    const full = keys.map((k) => joinKey(this.prefix, k));
    for (let i = 0; i < full.length; i += deleteBatch) {
      let remaining = full.slice(i, i + deleteBatch);
      const ctx = this.#ctx('DeleteObjects', `${remaining[0]} and ${remaining.length - 1} more`, opts.signal);
      let perKey: Failure | undefined;
      await withRetry(ctx, async () => {
        perKey = undefined;
        const r = await this.#s.client.send(new DeleteObjectsCommand({
          Bucket: this.bucket, Delete: { Objects: remaining.map((Key) => ({ Key })), Quiet: true },
        }), sendOptions(opts.signal));
        const failed = (r.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        if (failed.length === 0) return;
        // The keys that failed are tried again alone if every failure was transient.
        const verdicts = failed.map((e) => ({ key: e.Key, f: perKeyFailure(safeS3Code(e.Code)) }));
        const worst = verdicts.find((v) => !v.f.retryable) ?? verdicts[0]!;
        remaining = verdicts.flatMap((v) => (v.key ? [v.key] : []));
        perKey = { ...worst.f, detail: `${failed.length} keys not deleted, e.g. ${worst.key ?? '?'}: ${worst.f.s3Code ?? 'unknown error'}` };
        throw new Error('some keys were not deleted');
      }, (f) => perKey ?? f);
    }
  }

  async *listMultipartUploads(prefix: string, opts: OpOptions = {}): AsyncGenerator<MultipartUploadInfo> {
    const full = joinListPrefix(this.prefix, prefix);
    const ctx = this.#ctx('ListMultipartUploads', full, opts.signal);
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      // No Prefix on the request: MinIO lists nothing for a prefix that is not an exact key, so
      // the whole bucket is listed and filtered here (correct on AWS S3 as well).
      const page = await withRetry(ctx, () => this.#s.client.send(new ListMultipartUploadsCommand({
        Bucket: this.bucket, ...(keyMarker !== undefined ? { KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker } : {}),
      }), sendOptions(opts.signal)));
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !u.Key.startsWith(full)) continue;
        const key = stripPrefix(this.prefix, u.Key);
        if (key !== undefined) yield { key, uploadId: u.UploadId, initiated: u.Initiated };
      }
      if (!page.IsTruncated) return;
      if (!page.NextKeyMarker || (page.NextKeyMarker === keyMarker && page.NextUploadIdMarker === uploadIdMarker)) {
        throw storeError({ code: 'CAIRN_E_STORE_UNAVAILABLE', retryable: false, detail: 'the listing is truncated but gives no new marker' }, ctx, 1);
      }
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  async abortMultipartUpload(key: string, uploadId: string, opts: OpOptions = {}): Promise<void> {
    const full = joinKey(this.prefix, key);
    try {
      await withRetry(this.#ctx('AbortMultipartUpload', full, opts.signal),
        () => this.#s.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: full, UploadId: uploadId }), sendOptions(opts.signal)));
    } catch (err) {
      if (err instanceof StoreError && err.httpStatus === 404 && err.s3Code !== 'NoSuchBucket') return; // already gone
      throw err;
    }
  }

  async checkBucket(opts: OpOptions = {}): Promise<void> {
    const ctx = this.#ctx('HeadBucket', undefined, opts.signal);
    try {
      await withRetry(ctx, () => this.#s.client.send(new HeadBucketCommand({ Bucket: this.bucket }), sendOptions(opts.signal)));
    } catch (err) {
      if (err instanceof StoreError && err.code === 'CAIRN_E_STORE_NOT_FOUND') {
        throw new StoreError(err.code, `bucket ${this.bucket} does not exist at the endpoint`, ctx, { attempts: err.attempts, httpStatus: 404 });
      }
      throw err;
    }
    const full = joinListPrefix(this.prefix, '');
    const listCtx = this.#ctx('ListObjectsV2', full, opts.signal);
    const listing = await withRetry(listCtx, () => this.#s.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: full, MaxKeys: 1 }), sendOptions(opts.signal)));
    // Something that is not S3 (a web page answering 200) parses as an empty listing: require
    // the ListBucketResult to name this bucket.
    if (listing.Name !== this.bucket) {
      throw new StoreError('CAIRN_E_STORE_BAD_ENDPOINT', `ListObjectsV2 s3://${this.bucket} answered without a ListBucketResult for the bucket`, listCtx, { httpStatus: 200, attempts: 1 });
    }
  }

  close(): void {
    this.#s.client.destroy();
    this.#transport.destroy();
  }
}

function sendOptions(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal ? { abortSignal: signal } : {};
}

/** A DeleteObjects per-key error code (no HTTP status of its own). */
function perKeyFailure(code: string | undefined): Failure {
  const byCode: Record<string, number> = { AccessDenied: 403, SlowDown: 503, InternalError: 500, ServiceUnavailable: 503, NoSuchBucket: 404 };
  return classifyHttp((code && byCode[code]) || 400, code);
}
