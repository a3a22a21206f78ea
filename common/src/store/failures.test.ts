import { describe, expect, it } from 'vitest';
import { CairnError } from '../errors.ts';
import { classify } from './failures.ts';

const http = (status: number, code?: string, message = 'text the endpoint chose'): Error =>
  Object.assign(new Error(message), { name: code ?? 'Unknown', ...(code ? { Code: code } : {}), $metadata: { httpStatusCode: status } });
const net = (code: string, message = `read ${code}`): Error => Object.assign(new Error(message), { code });

describe('classifying S3 failures', () => {
  it.each([
    [http(500, 'InternalError'), 'CAIRN_E_STORE_UNAVAILABLE', true],
    [http(502), 'CAIRN_E_STORE_UNAVAILABLE', true],
    [http(503, 'SlowDown'), 'CAIRN_E_STORE_UNAVAILABLE', true],
    [http(503, 'ServiceUnavailable'), 'CAIRN_E_STORE_UNAVAILABLE', true],
    [http(504), 'CAIRN_E_STORE_UNAVAILABLE', true],
    [http(429, 'TooManyRequestsException'), 'CAIRN_E_STORE_UNAVAILABLE', true],
    [http(400, 'RequestTimeout'), 'CAIRN_E_STORE_UNAVAILABLE', true],
    [http(403, 'AccessDenied'), 'CAIRN_E_STORE_ACCESS_DENIED', false],
    [http(403, 'SignatureDoesNotMatch'), 'CAIRN_E_STORE_ACCESS_DENIED', false],
    [http(400, 'ExpiredToken'), 'CAIRN_E_STORE_ACCESS_DENIED', false],
    [http(404, 'NoSuchKey'), 'CAIRN_E_STORE_NOT_FOUND', false],
    [http(404, 'NotFound'), 'CAIRN_E_STORE_NOT_FOUND', false],
    [http(412, 'PreconditionFailed'), 'CAIRN_E_STORE_EXISTS', false],
    [http(301, 'PermanentRedirect'), 'CAIRN_E_STORE_BAD_ENDPOINT', false],
    [http(307, 'TemporaryRedirect'), 'CAIRN_E_STORE_BAD_ENDPOINT', false],
    [http(501, 'NotImplemented'), 'CAIRN_E_STORE_BAD_ENDPOINT', false],
    [http(400, 'InvalidArgument'), 'CAIRN_E_INTERNAL', false],
    [net('ECONNRESET'), 'CAIRN_E_STORE_UNAVAILABLE', true],
    [net('EPIPE'), 'CAIRN_E_STORE_UNAVAILABLE', true],
    [net('ECONNREFUSED'), 'CAIRN_E_STORE_UNAVAILABLE', true],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'CAIRN_E_STORE_UNAVAILABLE', true],
    [Object.assign(new Error('the request socket timed out'), { name: 'TimeoutError' }), 'CAIRN_E_STORE_UNAVAILABLE', true],
    [net('ERR_TLS_CERT_ALTNAME_INVALID'), 'CAIRN_E_STORE_BAD_ENDPOINT', false],
    [net('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'CAIRN_E_STORE_BAD_ENDPOINT', false],
    [Object.assign(new Error('This operation was aborted'), { name: 'AbortError' }), 'CAIRN_E_ABORTED', false],
    [new CairnError('CAIRN_E_LIMIT_EXCEEDED', 'too big'), 'CAIRN_E_LIMIT_EXCEEDED', false],
    [new Error('Checksum mismatch: expected "a" but received "b" in response header "x-amz-checksum-crc32".'), 'CAIRN_E_CORRUPT', true],
  ])('%s -> %s (retried: %s)', (err, code, retryable) => {
    expect(classify(err)).toMatchObject({ code, retryable });
  });

  it('never repeats the endpoint message, and drops a code that is not an identifier', () => {
    const f = classify(http(403, '<b>pwned</b> AKIAEXAMPLE', 'AKIAEXAMPLE secret body'));
    expect(f.detail).toBe('HTTP 403');
    expect(f.s3Code).toBeUndefined();
    expect(classify(http(403, 'AccessDenied', 'body text')).detail).toBe('HTTP 403 AccessDenied');
  });
});
