// Reading objects: whole or ranged into a bounded buffer (each attempt reads the whole body, so a
// connection lost mid-body is just a failed attempt), or as a stream that resumes after a lost
// connection with a ranged GET from where it stopped, pinned by If-Match to the same ETag.
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, type GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { CairnError } from '../errors.ts';
import { bareEtag, retryContext, type StoreContext } from './context.ts';
import { classify, storeError, StoreError, type Failure } from './failures.ts';
import { backoffDelay, withRetry } from './retry.ts';
import type { ByteRange } from './object-store.ts';

export const defaultMaxGetBytes = 256 * 1024 * 1024;

export function checkRange(r: ByteRange | undefined): void {
  if (r === undefined) return;
  if (!Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.end) || r.start < 0 || r.end < r.start) {
    throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `byte range ${r.start}-${r.end} is not allowed; it needs integers 0 <= start <= end (end inclusive)`);
  }
}

interface Opened {
  body: Readable;
  etag: string;
  /** First byte of the body in the object. */
  start: number;
  /** Bytes the body will carry, from Content-Length. */
  length: number;
}

/** One GET attempt; checks that a ranged request got the range it asked for. */
async function open(s: StoreContext, key: string, range: ByteRange | undefined, ifMatch: string | undefined, signal: AbortSignal | undefined): Promise<Opened> {
  const out: GetObjectCommandOutput = await s.client.send(new GetObjectCommand({
    Bucket: s.bucket, Key: key,
    ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
    ...(ifMatch ? { IfMatch: `"${ifMatch}"` } : {}),
  }), signal ? { abortSignal: signal } : {});
  const body = out.Body as Readable | undefined;
  if (!body) throw new CairnError('CAIRN_E_INTERNAL', `GetObject s3://${s.bucket}/${key} returned no body`);
  const length = out.ContentLength ?? -1;
  if (range) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(out.ContentRange ?? '');
    if (!m || Number(m[1]) !== range.start || Number(m[2]) > range.end || Number(m[2]) - Number(m[1]) + 1 !== length) {
      body.destroy();
      throw new CairnError('CAIRN_E_STORE_BAD_ENDPOINT', `GetObject s3://${s.bucket}/${key}: the endpoint did not honour the requested byte range ${range.start}-${range.end}`);
    }
  }
  return { body, etag: bareEtag(out.ETag), start: range?.start ?? 0, length };
}

export async function getBuffer(s: StoreContext, key: string, range: ByteRange | undefined, maxBytes: number, signal: AbortSignal | undefined): Promise<Buffer> {
  checkRange(range);
  return withRetry(retryContext(s, 'GetObject', key, signal), async () => {
    const o = await open(s, key, range, undefined, signal);
    if (o.length > maxBytes) {
      o.body.destroy();
      throw new CairnError('CAIRN_E_LIMIT_EXCEEDED', `GetObject s3://${s.bucket}/${key}: the object is ${o.length} bytes, more than the ${maxBytes} allowed here`);
    }
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of o.body as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > maxBytes) {
        o.body.destroy();
        throw new CairnError('CAIRN_E_LIMIT_EXCEEDED', `GetObject s3://${s.bucket}/${key}: the body is longer than the ${maxBytes} bytes allowed here`);
      }
      chunks.push(c);
    }
    if (o.length >= 0 && n !== o.length) throw Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    return Buffer.concat(chunks, n);
  });
}

/** A 412 on a resumed read means the object was replaced under us. */
function changedUnderUs(f: Failure): Failure {
  return f.httpStatus === 412 ? { ...f, code: 'CAIRN_E_CORRUPT', retryable: false, detail: 'the object changed while it was being read (ETag no longer matches)' } : f;
}

export async function getStream(s: StoreContext, key: string, range: ByteRange | undefined, signal: AbortSignal | undefined): Promise<Readable> {
  checkRange(range);
  const ctx = retryContext(s, 'GetObject', key, signal);
  const first = await withRetry(ctx, () => open(s, key, range, undefined, signal));
  const lengthKnown = first.length >= 0;
  const end = first.start + first.length - 1; // inclusive, like the range
  let current: Readable = first.body;

  async function* chunks(): AsyncGenerator<Buffer> {
    let pos = first.start;
    let failuresWithoutProgress = 0;
    for (;;) {
      try {
        for await (const c of current as AsyncIterable<Buffer>) {
          pos += c.length;
          failuresWithoutProgress = 0;
          yield c;
        }
        if (lengthKnown && pos !== end + 1) throw Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
        return;
      } catch (err) {
        if (signal?.aborted) throw storeError({ code: 'CAIRN_E_ABORTED', retryable: false, detail: 'aborted' }, ctx, 1);
        if (err instanceof StoreError) throw err;
        const f = classify(err);
        // Without a Content-Length there is no range to resume to; a checksum that failed at the
        // end of the body means bytes already handed on were wrong: nothing to resume either.
        if (!lengthKnown || f.code === 'CAIRN_E_CORRUPT') throw storeError({ ...f, retryable: false }, ctx, 1);
        failuresWithoutProgress++;
        if (!f.retryable || failuresWithoutProgress >= s.policy.maxAttempts) throw storeError(f, ctx, failuresWithoutProgress);
        s.logger?.warn({ operation: 'GetObject', target: `s3://${s.bucket}/${key}`, at: pos, reason: f.detail }, 'object read broke off; resuming with a ranged GET');
        await sleep(backoffDelay(failuresWithoutProgress, s.policy), undefined, signal ? { signal } : undefined).catch(() => {
          throw storeError({ code: 'CAIRN_E_ABORTED', retryable: false, detail: 'aborted' }, ctx, 1);
        });
        current = (await withRetry(ctx, () => open(s, key, { start: pos, end }, first.etag || undefined, signal), changedUnderUs)).body;
      }
    }
  }

  const stream = Readable.from(chunks(), { objectMode: false });
  // Destroying the stream (or aborting) must end the HTTP response now, not at its next chunk.
  const onAbort = (): void => { stream.destroy(storeError({ code: 'CAIRN_E_ABORTED', retryable: false, detail: 'aborted' }, ctx, 1)); };
  signal?.addEventListener('abort', onAbort, { once: true });
  stream.once('close', () => {
    signal?.removeEventListener('abort', onAbort);
    current.destroy();
  });
  return stream;
}
