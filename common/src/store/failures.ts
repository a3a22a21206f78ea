// What a failed S3 request means: which CAIRN_E_* code it becomes, and whether trying again can
// help. Only facts we can trust go into messages: the HTTP status, the S3 error code (checked
// against a strict pattern, since the endpoint writes it) and Node's network error code. The
// endpoint's <Message> text, response bodies and headers are never copied.
import { CairnError, type ErrorCode } from '../errors.ts';

export interface Failure {
  code: ErrorCode;
  retryable: boolean;
  /** A short, safe description: "HTTP 503 SlowDown", "connection error ECONNRESET". */
  detail: string;
  httpStatus?: number;
  s3Code?: string;
}

/** Everything a store error says about where it happened; never credentials or bodies. */
export interface StoreErrorContext {
  operation: string;
  bucket: string;
  /** The full key (prefix included), when the operation is about one object. */
  key?: string;
}

export class StoreError extends CairnError {
  readonly operation: string;
  readonly bucket: string;
  readonly key: string | undefined;
  readonly httpStatus: number | undefined;
  readonly s3Code: string | undefined;
  readonly attempts: number;
  constructor(code: ErrorCode, message: string, ctx: StoreErrorContext, info: { httpStatus?: number; s3Code?: string; attempts: number }) {
    super(code, message);
    this.name = 'StoreError';
    this.operation = ctx.operation;
    this.bucket = ctx.bucket;
    this.key = ctx.key;
    this.httpStatus = info.httpStatus;
    this.s3Code = info.s3Code;
    this.attempts = info.attempts;
  }
}

export function where(ctx: StoreErrorContext): string {
  return ctx.key === undefined ? `bucket ${ctx.bucket}` : `s3://${ctx.bucket}/${ctx.key}`;
}

export function storeError(f: Failure, ctx: StoreErrorContext, attempts: number, hint?: string): StoreError {
  const tries = attempts > 1 ? ` (after ${attempts} attempts)` : '';
  const extra = hint ? `: ${hint}` : '';
  return new StoreError(f.code, `${ctx.operation} ${where(ctx)} failed: ${f.detail}${tries}${extra}`, ctx, {
    attempts, ...(f.httpStatus !== undefined ? { httpStatus: f.httpStatus } : {}), ...(f.s3Code !== undefined ? { s3Code: f.s3Code } : {}),
  });
}

/** S3 error codes that mean "slow down" or "try again": retried whatever the status. */
const transientS3Codes = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottled', 'RequestThrottledException',
  'TooManyRequestsException', 'RequestLimitExceeded', 'BandwidthLimitExceeded', 'ProvisionedThroughputExceededException',
  'InternalError', 'ServiceUnavailable', 'RequestTimeout', 'RequestTimeoutException', 'PriorRequestNotComplete',
  'OperationAborted', 'ConditionalRequestConflict',
  // the bytes were damaged on the way: sending the same buffer again is the fix
  'BadDigest', 'XAmzContentSHA256Mismatch', 'IncompleteBody',
  // the SDK corrects its clock offset from the response's Date header; the next attempt is signed right
  'RequestTimeTooSkewed',
]);

const accessCodes = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'AllAccessDisabled', 'AccountProblem']);

/** Node and undici network error codes after which a new connection may well succeed. */
const transientNetworkCodes = new Set([
  'ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN',
  'EAI_AGAIN', 'ENOTCONN', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET', 'ERR_HTTP_REQUEST_TIMEOUT',
]);

const tlsCodePattern = /^(CERT_|ERR_TLS_|ERR_SSL_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_|HOSTNAME_MISMATCH$)/;

/** S3 codes are identifiers; anything else the endpoint puts there is not repeated. */
export function safeS3Code(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z][A-Za-z0-9.]{0,63}$/.test(value) ? value : undefined;
}

function safeNodeCode(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(value) ? value : undefined;
}

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

export function classify(err: unknown): Failure {
  if (err instanceof CairnError) return { code: err.code, retryable: false, detail: err.message };
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorShape;
  if (e.name === 'AbortError') return { code: 'CAIRN_E_ABORTED', retryable: false, detail: 'aborted' };
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  if (status !== undefined && status > 0) return classifyHttp(status, safeS3Code(e.Code) ?? safeS3Code(e.name));

  const nodeCode = safeNodeCode(e.code);
  const message = typeof e.message === 'string' ? e.message : '';
  if (e.name === 'TimeoutError' || nodeCode === 'ETIMEDOUT') {
    return { code: 'CAIRN_E_STORE_UNAVAILABLE', retryable: true, detail: 'no progress within the per-attempt timeout' };
  }
  if (nodeCode !== undefined && tlsCodePattern.test(nodeCode)) {
    return { code: 'CAIRN_E_STORE_BAD_ENDPOINT', retryable: false, detail: `TLS verification failed (${nodeCode})` };
  }
  if (nodeCode !== undefined && transientNetworkCodes.has(nodeCode)) {
    return { code: 'CAIRN_E_STORE_UNAVAILABLE', retryable: true, detail: `connection error ${nodeCode}` };
  }
  if (nodeCode === 'ENOTFOUND') return { code: 'CAIRN_E_STORE_UNAVAILABLE', retryable: false, detail: 'the endpoint host name does not resolve (ENOTFOUND)' };
  // Node's own wording for a connection closed under a request or response body.
  if (message === 'socket hang up' || message === 'aborted' || message === 'Premature close') {
    return { code: 'CAIRN_E_STORE_UNAVAILABLE', retryable: true, detail: `connection error (${message})` };
  }
  if (message.startsWith('Checksum mismatch')) {
    return { code: 'CAIRN_E_CORRUPT', retryable: true, detail: 'the response body did not match its checksum' };
  }
  const name = safeS3Code(e.name) ?? 'unknown error';
  return { code: 'CAIRN_E_INTERNAL', retryable: false, detail: `unexpected client error ${name}${nodeCode ? ` (${nodeCode})` : ''}` };
}

export function classifyHttp(status: number, s3Code: string | undefined): Failure {
  const base = { httpStatus: status, ...(s3Code !== undefined ? { s3Code } : {}) };
  // The SDK names errors without a body after the status text ("NotFound") or "Unknown": say the status.
  const detail = `HTTP ${status}${s3Code && s3Code !== 'Unknown' && s3Code !== 'UnknownError' ? ` ${s3Code}` : ''}`;
  if (s3Code !== undefined && transientS3Codes.has(s3Code) && status !== 501) {
    return { ...base, code: s3Code === 'RequestTimeTooSkewed' ? 'CAIRN_E_STORE_ACCESS_DENIED' : 'CAIRN_E_STORE_UNAVAILABLE', retryable: true, detail };
  }
  if (status >= 300 && status < 400) {
    return { ...base, code: 'CAIRN_E_STORE_BAD_ENDPOINT', retryable: false, detail: `${detail} (a redirect, which is never followed: check the endpoint, region and addressing style)` };
  }
  if (status === 401 || status === 403 || (s3Code !== undefined && accessCodes.has(s3Code))) {
    return { ...base, code: 'CAIRN_E_STORE_ACCESS_DENIED', retryable: false, detail };
  }
  if (s3Code === 'AuthorizationHeaderMalformed' || s3Code === 'IllegalLocationConstraintException') {
    return { ...base, code: 'CAIRN_E_STORE_BAD_ENDPOINT', retryable: false, detail: `${detail} (check the region)` };
  }
  if (status === 404) return { ...base, code: 'CAIRN_E_STORE_NOT_FOUND', retryable: false, detail };
  if (status === 412) return { ...base, code: 'CAIRN_E_STORE_EXISTS', retryable: false, detail };
  if (status === 416) return { ...base, code: 'CAIRN_E_INVALID_ARGUMENT', retryable: false, detail: `${detail} (the range is outside the object)` };
  if (status === 408 || status === 429) return { ...base, code: 'CAIRN_E_STORE_UNAVAILABLE', retryable: true, detail };
  if (status === 501) return { ...base, code: 'CAIRN_E_STORE_BAD_ENDPOINT', retryable: false, detail: `${detail} (the endpoint does not implement this request)` };
  if (status >= 500) return { ...base, code: 'CAIRN_E_STORE_UNAVAILABLE', retryable: true, detail };
  // Any other 4xx: the store refused a request we built; retrying the same request cannot help.
  return { ...base, code: 'CAIRN_E_INTERNAL', retryable: false, detail: `${detail} (the store refused the request)` };
}
