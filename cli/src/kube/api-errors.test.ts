import { describe, expect, it } from 'vitest';
import { apiException } from '../commands/fake-ctx.ts';
import { apiError, kubeFailure } from './api-errors.ts';

const ctx = { action: 'list Backups of all namespaces', server: 'https://10.0.0.1:6443' };

describe('apiError', () => {
  it('403 is Forbidden (exit 3) with the API server\'s message, then the hint', () => {
    const e = apiError(apiException(403, 'Forbidden', 'backups.cairn.dev is forbidden: User "alice" cannot list resource "backups" in API group "cairn.dev" at the cluster scope'), { ...ctx, forbiddenHint: 'needs a cluster-wide role' });
    expect(e.reason).toBe('Forbidden');
    expect(e.exitCode).toBe(3);
    expect(e.message).toBe('cannot list Backups of all namespaces: backups.cairn.dev is forbidden: User "alice" cannot list resource "backups" in API group "cairn.dev" at the cluster scope; needs a cluster-wide role');
  });

  it('404 of a named object is NotFound (exit 4); 404 of the resource type is NotInstalled (exit 4)', () => {
    expect(apiError(apiException(404, 'NotFound', 'backups.cairn.dev "x" not found', 'x'), { ...ctx, notFound: 'backup "x" not found in namespace a' })).toMatchObject({ reason: 'NotFound', message: 'backup "x" not found in namespace a', exitCode: 4 });
    const missingType = apiException(404, 'NotFound', 'the server could not find the requested resource');
    expect(apiError(missingType, ctx)).toMatchObject({ reason: 'NotInstalled', exitCode: 4 });
    expect(apiError(missingType, { ...ctx, notInstalled: 'NodeAgents are not available' }).message).toBe('NodeAgents are not available');
  });

  it('409 AlreadyExists is exit 5, 422 Invalid exit 2 with the field the API server named, 401 and 5xx exit 3', () => {
    expect(apiError(apiException(409, 'AlreadyExists', 'backups.cairn.dev "b" already exists', 'b'), ctx)).toMatchObject({ reason: 'AlreadyExists', exitCode: 5 });
    const invalid = apiError(apiException(422, 'Invalid', 'Backup.cairn.dev "b" is invalid: spec.ttl: Invalid value: "3 days": ttl must be a Go duration', 'b'), ctx);
    expect(invalid).toMatchObject({ reason: 'Invalid', exitCode: 2 });
    expect(invalid.message).toMatch(/spec\.ttl: Invalid value: "3 days"/);
    const unauthorized = Object.assign(new Error('Unauthorized'), { code: 401, body: undefined });
    expect(apiError(unauthorized, ctx)).toMatchObject({ reason: 'Unauthorized', exitCode: 3 });
    expect(apiError(apiException(500, 'InternalError', 'etcdserver: request timed out'), ctx)).toMatchObject({ reason: 'ApiError', exitCode: 3, message: 'cannot list Backups of all namespaces: HTTP 500: etcdserver: request timed out' });
  });

  it('no answer at all is Unreachable (exit 3) naming the server and the socket error', () => {
    const err = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:6443'), { code: 'ECONNREFUSED' }) });
    expect(apiError(err, ctx)).toMatchObject({ reason: 'Unreachable', exitCode: 3, message: 'cannot list Backups of all namespaces: the API server at https://10.0.0.1:6443 could not be reached: connect ECONNREFUSED 10.0.0.1:6443' });
  });

  it('reads a Status body given as text or as an object', () => {
    expect(kubeFailure({ code: 404, body: { message: 'm', reason: 'NotFound', details: { name: 'x' } } })).toEqual({ status: 404, reason: 'NotFound', message: 'm', namedObject: true });
    expect(kubeFailure({ code: 502, body: '<html>bad gateway</html>' })).toEqual({ status: 502, message: '<html>bad gateway</html>', namedObject: false });
  });
});
