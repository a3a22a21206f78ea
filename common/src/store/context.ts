// What the store's parts share: the SDK client, where they write, and how they retry.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '../logger.ts';
import type { StoreErrorContext } from './failures.ts';
import type { RetryContext, RetryPolicy } from './retry.ts';

export interface StoreContext {
  client: S3Client;
  bucket: string;
  /** Normalised store prefix. */
  prefix: string;
  policy: RetryPolicy;
  logger: Logger | undefined;
}

export function retryContext(s: StoreContext, operation: string, key: string | undefined, signal: AbortSignal | undefined): RetryContext {
  const ctx: StoreErrorContext = { operation, bucket: s.bucket, ...(key !== undefined ? { key } : {}) };
  return { ...ctx, policy: s.policy, signal, logger: s.logger };
}

/** S3 returns ETags in quotes; we hand them out bare. */
export function bareEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}
