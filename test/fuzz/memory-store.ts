// An object store in memory, for the restore fuzzer: thousands of cases cannot each go through
// MinIO in CI time. It keeps the contract of common/src/store/object-store.ts that backup() and
// restore() rely on, as the S3 store implements it: a missing key is CAIRN_E_STORE_NOT_FOUND, a
// range is inclusive and clipped to the object (a start past the end is the S3 416, which the S3
// store reports as CAIRN_E_INVALID_ARGUMENT), `maxBytes` is CAIRN_E_LIMIT_EXCEEDED, `If-None-Match`
// is CAIRN_E_STORE_EXISTS, and streams arrive in chunks (of `chunkBytes`, which the fuzzer varies,
// so the index reader's frame and line reassembly sees every split). Every call honours its signal.
// A few cases of each suite also run against the real MinIO (restore-minio.fuzz.e2e.test.ts).
import { Readable } from 'node:stream';
import { CairnError } from '../../common/src/errors.ts';
import type {
  GetBufferOptions, GetOptions, ListedObject, ObjectInfo, OpOptions, PutOptions, PutResult, UploadOptions, UploadResult, ObjectStore, MultipartUploadInfo,
} from '../../common/src/store/object-store.ts';

const DEFAULT_MAX_GET = 256 * 1024 * 1024;

export class MemoryStore implements ObjectStore {
  readonly bucket = 'fuzz';
  readonly prefix = '';
  readonly objects = new Map<string, Buffer>();
  /** Bytes per chunk of getObjectStream (the last one may be shorter). */
  chunkBytes = 64 << 10;
  private get(key: string, signal: AbortSignal | undefined): Buffer {
    signal?.throwIfAborted();
    const v = this.objects.get(key);
    if (!v) throw new CairnError('CAIRN_E_STORE_NOT_FOUND', `GetObject fuzz/${key} failed: HTTP 404 NoSuchKey`);
    return v;
  }

  private slice(key: string, v: Buffer, range: GetOptions['range']): Buffer {
    if (!range) return v;
    if (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start) {
      throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `byte range ${range.start}-${range.end} is not allowed`);
    }
    if (range.start >= v.length) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `GetObject fuzz/${key} failed: HTTP 416 InvalidRange (the range is outside the object)`);
    return v.subarray(range.start, Math.min(range.end + 1, v.length));
  }

  async getObject(key: string, opts: GetBufferOptions = {}): Promise<Buffer> {
    await Promise.resolve();
    const body = this.slice(key, this.get(key, opts.signal), opts.range);
    const max = opts.maxBytes ?? DEFAULT_MAX_GET;
    if (body.length > max) throw new CairnError('CAIRN_E_LIMIT_EXCEEDED', `GetObject fuzz/${key}: the object is ${body.length} bytes, more than the ${max} allowed here`);
    return Buffer.from(body);
  }

  async getObjectStream(key: string, opts: GetOptions = {}): Promise<Readable> {
    await Promise.resolve();
    const body = Buffer.from(this.slice(key, this.get(key, opts.signal), opts.range));
    const step = Math.max(1, this.chunkBytes);
    const signal = opts.signal;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let pos = 0; pos < body.length; pos += step) {
        signal?.throwIfAborted();
        await new Promise<void>((r) => setImmediate(r));
        yield body.subarray(pos, pos + step);
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  async putObject(key: string, body: Buffer, opts: PutOptions = {}): Promise<PutResult> {
    await Promise.resolve();
    opts.signal?.throwIfAborted();
    if (opts.ifNoneMatch && this.objects.has(key)) throw new CairnError('CAIRN_E_STORE_EXISTS', `PutObject fuzz/${key} failed: HTTP 412 PreconditionFailed`);
    this.objects.set(key, Buffer.from(body));
    return { etag: '"mem"' };
  }

  async upload(key: string, body: Readable, opts: UploadOptions = {}): Promise<UploadResult> {
    const parts: Buffer[] = [];
    try {
      for await (const c of body) {
        opts.signal?.throwIfAborted();
        parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
      }
    } catch (err) {
      body.destroy();
      throw err;
    }
    opts.signal?.throwIfAborted();
    const data = Buffer.concat(parts);
    this.objects.set(key, data);
    return { etag: '"mem"', size: data.length, parts: 0 };
  }

  async headObject(key: string, opts: OpOptions = {}): Promise<ObjectInfo | undefined> {
    await Promise.resolve();
    opts.signal?.throwIfAborted();
    const v = this.objects.get(key);
    return v ? { size: v.length, etag: '"mem"', lastModified: new Date(0) } : undefined;
  }

  async *list(prefix: string, opts: OpOptions = {}): AsyncIterable<ListedObject> {
    for (const key of [...this.objects.keys()].sort()) {
      opts.signal?.throwIfAborted();
      if (key.startsWith(prefix)) yield { key, size: this.objects.get(key)!.length, etag: '"mem"', lastModified: new Date(0) };
      await Promise.resolve();
    }
  }

  async deleteObject(key: string, opts: OpOptions = {}): Promise<void> {
    await Promise.resolve();
    opts.signal?.throwIfAborted();
    this.objects.delete(key);
  }

  async deleteObjects(keys: readonly string[], opts: OpOptions = {}): Promise<void> {
    for (const k of keys) await this.deleteObject(k, opts);
  }

  async *listMultipartUploads(): AsyncIterable<MultipartUploadInfo> {}

  async abortMultipartUpload(): Promise<void> {}

  async checkBucket(): Promise<void> {}

  close(): void {}

  /** A copy of every object (the unmutated backup, kept while cases mutate copies). */
  snapshot(): Map<string, Buffer> {
    return new Map([...this.objects].map(([k, v]) => [k, Buffer.from(v)]));
  }

  static of(objects: Map<string, Buffer>): MemoryStore {
    const s = new MemoryStore();
    for (const [k, v] of objects) s.objects.set(k, Buffer.from(v));
    return s;
  }
}
