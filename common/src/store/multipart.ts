// Uploading a stream of unknown length. Hand-rolled on CreateMultipartUpload / UploadPart /
// CompleteMultipartUpload rather than lib-storage's Upload, because we need:
// - every part retried by our policy (lib-storage relies on the SDK's retries, which are off);
// - memory bounded by (queueSize + 1) x partSize, with part buffers reused, and the source read
//   only when a part slot is free (backpressure reaches the producer);
// - abort that waits for in-flight parts to settle and then aborts the upload, also when the
//   abort lands while CreateMultipartUpload is on the wire (its upload id may never reach us:
//   we find and abort it by listing), so no parts are left;
// - a CompleteMultipartUpload whose success was lost on the wire (the retry answers
//   NoSuchUpload) recognised by a HEAD of the object rather than reported as a failure.
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, HeadObjectCommand, ListMultipartUploadsCommand, UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { CairnError } from '../errors.ts';
import { bareEtag, retryContext, type StoreContext } from './context.ts';
import { StoreError } from './failures.ts';
import { withRetry } from './retry.ts';

export const minPartSize = 5 * 1024 * 1024;
export const maxPartSize = 5 * 1024 * 1024 * 1024;
export const maxParts = 10_000;

export interface MultipartOptions {
  partSize: number;
  queueSize: number;
  contentType: string | undefined;
  signal: AbortSignal | undefined;
  /** A single PUT for a body that fits in one part. */
  putSingle: (body: Buffer, signal: AbortSignal | undefined) => Promise<{ etag: string }>;
}

export function checkPartOptions(partSize: number, queueSize: number): void {
  if (!Number.isInteger(partSize) || partSize < minPartSize || partSize > maxPartSize) {
    throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `partSize ${partSize} is not allowed; it must be an integer number of bytes from ${minPartSize} (5 MiB) to ${maxPartSize} (5 GiB)`);
  }
  if (!Number.isInteger(queueSize) || queueSize < 1 || queueSize > 64) {
    throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `queueSize ${queueSize} is not allowed; it must be an integer from 1 to 64`);
  }
}

/** Cuts a byte stream into parts of exactly `partSize` (the last one shorter), into reused buffers. */
async function* parts(body: Readable, partSize: number, take: () => Buffer): AsyncGenerator<Buffer> {
  let buf = take();
  let used = 0;
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    let c = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    while (c.length > 0) {
      const n = Math.min(c.length, partSize - used);
      c.copy(buf, used, 0, n);
      used += n;
      c = c.subarray(n);
      if (used === partSize) {
        yield buf;
        buf = take();
        used = 0;
      }
    }
  }
  if (used > 0) yield buf.subarray(0, used);
  else yield Buffer.alloc(0);
}

export async function uploadStream(s: StoreContext, key: string, body: Readable, o: MultipartOptions): Promise<{ etag: string; size: number; parts: number }> {
  checkPartOptions(o.partSize, o.queueSize);
  const internal = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, internal.signal]) : internal.signal;
  const pool: Buffer[] = [];
  const take = (): Buffer => pool.pop() ?? Buffer.allocUnsafeSlow(o.partSize);

  let uploadId: string | undefined;
  let createMayHaveReachedServer = false;
  const done: CompletedPart[] = [];
  const inflight = new Set<Promise<void>>();
  let failure: Error | undefined;
  let size = 0;
  let partNumber = 0;

  // A producer that stalls must not hold an aborted upload open: abort ends the read too.
  const onAbort = (): void => { body.destroy(new StoreError('CAIRN_E_ABORTED', 'aborted', { operation: 'Upload', bucket: s.bucket, key }, { attempts: 1 })); };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const part of parts(body, o.partSize, take)) {
      if (failure !== undefined) break;
      if (partNumber === 0 && part.length < o.partSize) {
        // The whole body fits in one part: one PUT, no multipart upload to clean up.
        const r = await o.putSingle(part, signal);
        return { etag: r.etag, size: part.length, parts: 0 };
      }
      if (part.length === 0) break;
      if (uploadId === undefined) {
        createMayHaveReachedServer = true;
        uploadId = await createUpload(s, key, o.contentType, signal);
      }
      partNumber++;
      if (partNumber > maxParts) {
        throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `upload of s3://${s.bucket}/${key} needs more than ${maxParts} parts of ${o.partSize} bytes; use a larger partSize`);
      }
      size += part.length;
      const n = partNumber;
      const id = uploadId;
      const p: Promise<void> = uploadPart(s, key, id, n, part, signal).then(
        (r) => { done[n - 1] = r; },
        (err: unknown) => { failure ??= err instanceof Error ? err : new Error(String(err)); internal.abort(); },
      ).finally(() => {
        inflight.delete(p);
        if (part.length === o.partSize) pool.push(part);
      });
      inflight.add(p);
      while (inflight.size >= o.queueSize) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    if (failure !== undefined) throw failure;
    o.signal?.throwIfAborted();
    if (uploadId === undefined) throw new CairnError('CAIRN_E_INTERNAL', 'multipart upload ended without an upload id');
    const etag = await completeUpload(s, key, uploadId, done, size, o.signal);
    return { etag, size, parts: done.length };
  } catch (err) {
    internal.abort();
    await Promise.allSettled(inflight);
    const first = failure ?? err;
    if (uploadId !== undefined) await abortQuietly(s, key, uploadId);
    else if (createMayHaveReachedServer) await abortOrphans(s, key);
    if (!body.destroyed) body.destroy();
    if (o.signal?.aborted && !(first instanceof StoreError && first.code === 'CAIRN_E_ABORTED')) {
      throw new StoreError('CAIRN_E_ABORTED', `upload of s3://${s.bucket}/${key} was aborted; its multipart upload was aborted too`, { operation: 'Upload', bucket: s.bucket, key }, { attempts: 1 });
    }
    throw first;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}

async function createUpload(s: StoreContext, key: string, contentType: string | undefined, signal: AbortSignal): Promise<string> {
  let attempts = 0;
  const id = await withRetry(retryContext(s, 'CreateMultipartUpload', key, signal), async () => {
    attempts++;
    const r = await s.client.send(new CreateMultipartUploadCommand({ Bucket: s.bucket, Key: key, ChecksumAlgorithm: 'CRC32', ...(contentType ? { ContentType: contentType } : {}) }), { abortSignal: signal });
    if (!r.UploadId) throw new CairnError('CAIRN_E_INTERNAL', `CreateMultipartUpload s3://${s.bucket}/${key} returned no upload id`);
    return r.UploadId;
  });
  // An earlier attempt may have created an upload whose answer we never read.
  if (attempts > 1) await abortOrphans(s, key, id);
  return id;
}

async function uploadPart(s: StoreContext, key: string, uploadId: string, partNumber: number, body: Buffer, signal: AbortSignal): Promise<CompletedPart> {
  return withRetry(retryContext(s, `UploadPart ${partNumber}`, key, signal), async () => {
    const r = await s.client.send(new UploadPartCommand({
      Bucket: s.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length, ChecksumAlgorithm: 'CRC32',
    }), { abortSignal: signal });
    return { PartNumber: partNumber, ETag: r.ETag, ...(r.ChecksumCRC32 ? { ChecksumCRC32: r.ChecksumCRC32 } : {}) };
  });
}

async function completeUpload(s: StoreContext, key: string, uploadId: string, done: CompletedPart[], size: number, signal: AbortSignal | undefined): Promise<string> {
  try {
    return await withRetry(retryContext(s, 'CompleteMultipartUpload', key, signal), async () => {
      const r = await s.client.send(new CompleteMultipartUploadCommand({ Bucket: s.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: done } }), { abortSignal: signal });
      return bareEtag(r.ETag);
    });
  } catch (err) {
    // A retried Complete after a lost success answers NoSuchUpload: the object is there.
    if (err instanceof StoreError && err.code === 'CAIRN_E_STORE_NOT_FOUND' && err.attempts > 1) {
      const head = await s.client.send(new HeadObjectCommand({ Bucket: s.bucket, Key: key }), signal ? { abortSignal: signal } : {}).catch(() => undefined);
      if (head?.ContentLength === size && bareEtag(head.ETag).endsWith(`-${done.length}`)) return bareEtag(head.ETag);
    }
    throw err;
  }
}

/** Aborts an upload with retries of its own (the job's signal may be the reason we are here). */
async function abortQuietly(s: StoreContext, key: string, uploadId: string): Promise<void> {
  try {
    await withRetry(retryContext(s, 'AbortMultipartUpload', key, AbortSignal.timeout(120_000)), async () => {
      await s.client.send(new AbortMultipartUploadCommand({ Bucket: s.bucket, Key: key, UploadId: uploadId }), { abortSignal: AbortSignal.timeout(30_000) });
    }, (f) => (f.httpStatus === 404 ? { ...f, retryable: false } : f));
  } catch (err) {
    if (err instanceof StoreError && err.httpStatus === 404) return;
    s.logger?.error({ target: `s3://${s.bucket}/${key}`, uploadId, code: err instanceof CairnError ? err.code : 'CAIRN_E_INTERNAL' }, 'could not abort a multipart upload; it is left for the coordinator and the bucket lifecycle rule');
  }
}

/**
 * Aborts every unfinished upload of exactly this key except `keep`. Keys of backup data are
 * written by one job only, so an upload of this key that is not ours is one of our own attempts.
 * (The exact key as the prefix is also the one listing prefix MinIO honours.)
 */
async function abortOrphans(s: StoreContext, key: string, keep?: string): Promise<void> {
  try {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const r = await withRetry(retryContext(s, 'ListMultipartUploads', key, AbortSignal.timeout(120_000)), () =>
        s.client.send(new ListMultipartUploadsCommand({ Bucket: s.bucket, Prefix: key, ...(keyMarker ? { KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker } : {}) }), { abortSignal: AbortSignal.timeout(30_000) }));
      for (const u of r.Uploads ?? []) {
        if (u.Key === key && u.UploadId && u.UploadId !== keep) await abortQuietly(s, key, u.UploadId);
      }
      if (!r.IsTruncated || !r.NextKeyMarker) return;
      keyMarker = r.NextKeyMarker;
      uploadIdMarker = r.NextUploadIdMarker;
    }
  } catch (err) {
    s.logger?.error({ target: `s3://${s.bucket}/${key}`, code: err instanceof CairnError ? err.code : 'CAIRN_E_INTERNAL' }, 'could not look for orphaned multipart uploads of a key');
  }
}
