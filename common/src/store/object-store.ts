// The object store the data engine writes backups to and reads them from: one bucket, one key
// prefix, explicit credentials. Keys in this interface are relative to the prefix. Every
// operation takes an AbortSignal and fails with a CairnError (a StoreError) whose code callers
// branch on: CAIRN_E_STORE_NOT_FOUND, _EXISTS, _ACCESS_DENIED, _UNAVAILABLE, _BAD_ENDPOINT,
// CAIRN_E_ABORTED, CAIRN_E_INVALID_ARGUMENT (a key that is not allowed), CAIRN_E_LIMIT_EXCEEDED.
// See docs/storage.md.
import type { Readable } from 'node:stream';
import type { Logger } from '../logger.ts';
import type { Secret } from '../secret.ts';
import type { RetryPolicy } from './retry.ts';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3StoreConfig {
  /** http(s)://host[:port][/path]; no credentials, query or fragment. */
  endpoint: string;
  /**
   * The IP the coordinator resolved and vetted for the endpoint's host. When set, every
   * connection goes there and DNS is never consulted; Host, SNI, certificate check and signing
   * still use the endpoint's host name.
   */
  pinnedAddress?: string;
  bucket: string;
  /** Key prefix of everything this store touches; '' is the bucket root. Slashes at its ends are dropped. */
  prefix: string;
  region: string;
  /** true: http://host/bucket/key; false: http://bucket.host/key (virtual-hosted). */
  forcePathStyle: boolean;
  /** PEM bundle; when given it is the only trust anchor for the endpoint. */
  caCertPem?: string;
  credentials: Secret<S3Credentials>;
  /** Attempts per request, the first included (default 6). */
  maxAttempts?: number;
  /** Backoff of retries; see docs/storage.md for the defaults. */
  retry?: Partial<Omit<RetryPolicy, 'maxAttempts'>>;
  timeouts?: {
    /** TCP/TLS connect, per attempt (default 10 s). */
    connectMs?: number;
    /** No bytes moving on the connection for this long fails the attempt (default 30 s). */
    idleMs?: number;
  };
  /** Upload defaults (see docs/storage.md for how they were chosen). */
  partSize?: number;
  queueSize?: number;
  /** Connections kept per host (default 32). */
  maxSockets?: number;
  logger?: Logger;
}

export interface OpOptions {
  signal?: AbortSignal;
}

/** An inclusive byte range, as in an HTTP Range header: bytes start..end, both included. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface GetOptions extends OpOptions {
  range?: ByteRange;
}

export interface GetBufferOptions extends GetOptions {
  /** Refuse (CAIRN_E_LIMIT_EXCEEDED) a body larger than this; default 256 MiB. */
  maxBytes?: number;
}

export interface PutOptions extends OpOptions {
  /** Send `If-None-Match: *`: the write fails with CAIRN_E_STORE_EXISTS when the key exists. */
  ifNoneMatch?: true;
  contentType?: string;
}

export interface UploadOptions extends OpOptions {
  /** Bytes per part (min 5 MiB); the store's default when absent. */
  partSize?: number;
  /** Parts in flight at once; the store's default when absent. */
  queueSize?: number;
  contentType?: string;
}

export interface PutResult {
  etag: string;
}

export interface UploadResult {
  etag: string;
  size: number;
  /** 0 when the body was small enough for a single PUT. */
  parts: number;
}

export interface ObjectInfo {
  size: number;
  etag: string;
  lastModified: Date;
}

export interface ListedObject extends ObjectInfo {
  /** Relative to the store's prefix. */
  key: string;
}

export interface ListOptions extends OpOptions {
  /** Keys per ListObjectsV2 request (1..1000, default 1000). */
  pageSize?: number;
}

export interface MultipartUploadInfo {
  /** Relative to the store's prefix. */
  key: string;
  uploadId: string;
  initiated: Date | undefined;
}

export interface ObjectStore {
  readonly bucket: string;
  /** The normalised prefix ('' or without leading/trailing '/'). */
  readonly prefix: string;
  /** The whole object or a range, in memory: for index, manifest and frames. */
  getObject(key: string, opts?: GetBufferOptions): Promise<Buffer>;
  /**
   * A stream of the object or range. Resolves once the response has started (so a missing
   * object rejects here); a connection lost mid-body is resumed with a ranged GET pinned to the
   * same ETag.
   */
  getObjectStream(key: string, opts?: GetOptions): Promise<Readable>;
  /** One PUT with a CRC32 checksum; retried, since the body is a buffer. */
  putObject(key: string, body: Buffer, opts?: PutOptions): Promise<PutResult>;
  /**
   * A stream of unknown length: a single PUT when it fits in one part, else a multipart upload
   * with `queueSize` parts in flight. On failure or abort the multipart upload is aborted and
   * no parts are left behind. The body is consumed (and destroyed on failure).
   */
  upload(key: string, body: Readable, opts?: UploadOptions): Promise<UploadResult>;
  /** undefined when the object does not exist. */
  headObject(key: string, opts?: OpOptions): Promise<ObjectInfo | undefined>;
  /** Every object whose relative key starts with `prefix` ('' for all), in key order. */
  list(prefix: string, opts?: ListOptions): AsyncIterable<ListedObject>;
  /** Succeeds when the object is already gone. */
  deleteObject(key: string, opts?: OpOptions): Promise<void>;
  /** In batches of 1000; keys that are already gone are not an error. */
  deleteObjects(keys: readonly string[], opts?: OpOptions): Promise<void>;
  /** Unfinished multipart uploads whose relative key starts with `prefix`. */
  listMultipartUploads(prefix: string, opts?: OpOptions): AsyncIterable<MultipartUploadInfo>;
  /** Succeeds when the upload is already gone. */
  abortMultipartUpload(key: string, uploadId: string, opts?: OpOptions): Promise<void>;
  /** The bucket exists and the credentials may read and list under the prefix. */
  checkBucket(opts?: OpOptions): Promise<void>;
  /** Closes idle connections; the store must not be used afterwards. */
  close(): void;
}

export { createS3Store } from './s3-store.ts';
