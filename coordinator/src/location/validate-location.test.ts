// validateLocation with fake Secrets, DNS and store: the order of the checks, which namespace is
// read, what the store is built with, how store failures become reasons, and that no message
// carries a secret or endpoint text. The real thing is in test/coordinator/location/.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BackupStorageLocation } from '../../../common/src/generated/crds.ts';
import type { AddressPolicy } from '../../../common/src/net/address-policy.ts';
import type { ObjectStore, S3StoreConfig } from '../../../common/src/store/object-store.ts';
import { StoreError } from '../../../common/src/store/failures.ts';
import { CairnError, type ErrorCode } from '../../../common/src/errors.ts';
import type { HostLookup } from './endpoint.ts';
import { agentStorageTarget, validateLocation, type LocationUnavailable, type ReadSecret, type ValidateOptions } from './validate-location.ts';
import type { SecretData } from './credentials.ts';

const policy: AddressPolicy = { allow: new Set(), refusedCidrs: ['10.96.0.0/16'] };
const publicIp = '203.0.113.10';
const accessKey = 'AKIACANARYACCESS0001';
const secretKey = 'canary-secret-access-key-0123456789';
const encKey = randomBytes(32);

function b64(s: string | Buffer): string {
  return Buffer.from(s).toString('base64');
}

function bsl(spec: Partial<BackupStorageLocation['spec']> = {}, namespace = 'team-a'): BackupStorageLocation {
  return {
    apiVersion: 'cairn.dev/v1alpha1', kind: 'BackupStorageLocation', metadata: { name: 'loc', namespace },
    spec: {
      objectStorage: { bucket: 'team-a', prefix: 'cluster-1' },
      config: { endpoint: 'https://s3.example.com', region: 'eu-central-1', forcePathStyle: true },
      credential: { name: 'creds', key: 'cloud' },
      ...spec,
    },
  };
}

class World {
  secrets = new Map<string, SecretData>([
    ['team-a/creds', { data: { cloud: b64(`[default]\naws_access_key_id=${accessKey}\naws_secret_access_key=${secretKey}\n`) } }],
    ['team-a/enc', { data: { key: b64(encKey) } }],
    ['team-b/creds', { data: { cloud: b64('[default]\naws_access_key_id=B\naws_secret_access_key=B\n') } }],
  ]);
  secretReads: string[] = [];
  lookups: string[] = [];
  configs: S3StoreConfig[] = [];
  closed = 0;
  checkBucket: () => Promise<void> = () => Promise.resolve();

  readSecret: ReadSecret = (ns, name) => {
    this.secretReads.push(`${ns}/${name}`);
    return Promise.resolve(this.secrets.get(`${ns}/${name}`));
  };

  lookup: HostLookup = (host) => {
    this.lookups.push(host);
    return Promise.resolve([{ address: publicIp, family: 4 }]);
  };

  storeFactory = (config: S3StoreConfig): ObjectStore => {
    this.configs.push(config);
    const unused = () => Promise.reject(new Error('not used by validation'));
    return {
      bucket: config.bucket, prefix: config.prefix,
      getObject: unused, getObjectStream: unused, putObject: unused, upload: unused, headObject: unused, deleteObject: unused, deleteObjects: unused,
      abortMultipartUpload: unused,
      list: () => ({ [Symbol.asyncIterator]: () => ({ next: unused }) }),
      listMultipartUploads: () => ({ [Symbol.asyncIterator]: () => ({ next: unused }) }),
      checkBucket: () => this.checkBucket(),
      close: () => {
        this.closed++;
      },
    };
  };

  opts(extra: Partial<ValidateOptions> = {}): ValidateOptions {
    return { readSecret: this.readSecret, policy, lookup: this.lookup, storeFactory: this.storeFactory, ...extra };
  }
}

function storeError(code: ErrorCode, httpStatus: number | undefined, s3Code?: string): StoreError {
  return new StoreError(code, `HeadBucket bucket team-a failed: HTTP ${httpStatus} ${s3Code} <Message>body text</Message>`,
    { operation: 'HeadBucket', bucket: 'team-a' }, { attempts: 1, ...(httpStatus !== undefined ? { httpStatus } : {}), ...(s3Code ? { s3Code } : {}) });
}

function expectUnavailable(r: Awaited<ReturnType<typeof validateLocation>>, reason: LocationUnavailable['reason']): LocationUnavailable {
  expect(r.phase, r.message).toBe('Unavailable');
  const u = r as LocationUnavailable;
  expect(u.reason).toBe(reason);
  for (const s of [accessKey, secretKey, encKey.toString('base64'), 'body text']) expect(u.message).not.toContain(s);
  return u;
}

describe('validateLocation', () => {
  it('Available: Secrets read in the BSL namespace only, one lookup, the store built with the pinned address and the tenant credentials', async () => {
    const w = new World();
    const r = await validateLocation(bsl({ encryption: { keySecret: { name: 'enc', key: 'key' } } }), w.opts());
    expect(r).toMatchObject({ phase: 'Available', reason: 'Validated', pinnedAddress: publicIp });
    expect(r.message).toBe(`bucket team-a prefix cluster-1 at https://s3.example.com (address ${publicIp}) is readable with the credentials in key "cloud" of Secret team-a/creds`);
    expect(w.secretReads).toEqual(['team-a/creds', 'team-a/enc']);
    expect(w.lookups).toEqual(['s3.example.com']);
    expect(w.configs).toHaveLength(1);
    const c = w.configs[0]!;
    expect(c).toMatchObject({ endpoint: 'https://s3.example.com', pinnedAddress: publicIp, bucket: 'team-a', prefix: 'cluster-1', region: 'eu-central-1', forcePathStyle: true });
    expect(c.credentials.reveal()).toEqual({ accessKeyId: accessKey, secretAccessKey: secretKey });
    expect(w.closed).toBe(1);
    expect(r.phase === 'Available' && r.store).toBe(undefined);
  });

  it('the agent target carries the same endpoint, pinned address, credentials and key', async () => {
    const w = new World();
    const r = await validateLocation(bsl({ encryption: { keySecret: { name: 'enc', key: 'key' } } }), w.opts());
    if (r.phase !== 'Available') throw new Error(r.message);
    expect(agentStorageTarget(r.location)).toEqual({
      endpoint: 'https://s3.example.com', pinnedAddress: publicIp, bucket: 'team-a', prefix: 'cluster-1', region: 'eu-central-1',
      forcePathStyle: true, caCertPem: '', credentials: { accessKeyId: accessKey, secretAccessKey: secretKey, sessionToken: '' }, encryptionKey: encKey,
    });
  });

  it('defaults: AWS endpoint of the region (us-east-1 when absent), virtual-hosted, no prefix, ReadWrite', async () => {
    const w = new World();
    const r = await validateLocation(bsl({ config: {}, objectStorage: { bucket: 'team-a' } }), w.opts());
    expect(r.phase).toBe('Available');
    expect(w.lookups).toEqual(['s3.us-east-1.amazonaws.com']);
    expect(w.configs[0]).toMatchObject({ endpoint: 'https://s3.us-east-1.amazonaws.com', region: 'us-east-1', forcePathStyle: false, prefix: '' });
    expect(r.phase === 'Available' && r.location.accessMode).toBe('ReadWrite');
  });

  it('a refused endpoint is refused before any Secret is read or any store is built', async () => {
    const w = new World();
    const u = expectUnavailable(await validateLocation(bsl({ config: { endpoint: 'http://169.254.169.254' } }), w.opts()), 'EndpointRefused');
    expect(u.code).toBe('CAIRN_E_STORE_BAD_ENDPOINT');
    expect(w.secretReads).toEqual([]);
    expect(w.configs).toEqual([]);
  });

  it('a Secret is only ever looked up in the BSL namespace, so another namespace\'s Secret of that name is not found', async () => {
    const w = new World();
    const u = expectUnavailable(await validateLocation(bsl({}, 'team-c'), w.opts()), 'CredentialSecretMissing');
    expect(u.message).toBe('spec.credential: Secret team-c/creds does not exist in the BackupStorageLocation\'s namespace');
    expect(u.code).toBe('CAIRN_E_NOT_FOUND');
    expect(w.secretReads).toEqual(['team-c/creds']);
  });

  it('Secret problems: missing key, bad format, missing or bad encryption key, API errors', async () => {
    const w = new World();
    expect(expectUnavailable(await validateLocation(bsl({ credential: { name: 'creds', key: 'nope' } }), w.opts()), 'CredentialSecretMissing').message)
      .toBe('Secret team-a/creds has no key "nope" (it has "cloud")');
    w.secrets.set('team-a/bad', { data: { cloud: b64(`${accessKey}:${secretKey}`) } });
    expectUnavailable(await validateLocation(bsl({ credential: { name: 'bad', key: 'cloud' } }), w.opts()), 'CredentialSecretInvalid');
    expect(expectUnavailable(await validateLocation(bsl({ encryption: { keySecret: { name: 'gone', key: 'key' } } }), w.opts()), 'EncryptionKeySecretMissing').message)
      .toContain('spec.encryption.keySecret: Secret team-a/gone does not exist');
    w.secrets.set('team-a/short', { data: { key: b64(encKey.subarray(0, 16)) } });
    expectUnavailable(await validateLocation(bsl({ encryption: { keySecret: { name: 'short', key: 'key' } } }), w.opts()), 'EncryptionKeyInvalid');
    const failing = new World();
    failing.readSecret = () => Promise.reject(Object.assign(new Error('HTTP-Code: 500 Body: {"secret":"leak"}'), { code: 500 }));
    const u = expectUnavailable(await validateLocation(bsl(), failing.opts()), 'SecretUnreadable');
    expect(u.message).toBe('spec.credential: the coordinator could not read Secret team-a/creds (HTTP 500); it will try again');
    expect(w.configs).toEqual([]);
  });

  it.each([
    ['CAIRN_E_STORE_NOT_FOUND', 404, 'NoSuchBucket', 'BucketNotFound', 'HeadBucket answered HTTP 404 NoSuchBucket'],
    ['CAIRN_E_STORE_ACCESS_DENIED', 403, 'AccessDenied', 'AccessDenied', 'may not read and list bucket team-a prefix cluster-1'],
    ['CAIRN_E_STORE_ACCESS_DENIED', 403, 'CanaryCode0123', 'AccessDenied', 'HeadBucket answered HTTP 403'],
    ['CAIRN_E_STORE_UNAVAILABLE', 503, 'SlowDown', 'Unreachable', 'HTTP 503 SlowDown'],
    ['CAIRN_E_STORE_BAD_ENDPOINT', 301, 'PermanentRedirect', 'EndpointMisconfigured', 'redirects are never followed'],
    ['CAIRN_E_INTERNAL', 400, 'CanaryCode0123', 'ValidationError', 'HeadBucket answered HTTP 400 (CAIRN_E_INTERNAL)'],
  ] as const)('%s HTTP %i %s is %s', async (code, status, s3Code, reason, text) => {
    const w = new World();
    w.checkBucket = () => Promise.reject(storeError(code, status, s3Code));
    const u = expectUnavailable(await validateLocation(bsl(), w.opts()), reason);
    expect(u.message).toContain(text);
    expect(u.message).not.toContain('CanaryCode0123');
    expect(u.pinnedAddress).toBe(publicIp);
    expect(w.closed).toBe(1);
  });

  it('a network failure keeps the store\'s message (built from Node error codes only)', async () => {
    const w = new World();
    w.checkBucket = () => Promise.reject(new StoreError('CAIRN_E_STORE_UNAVAILABLE', 'HeadBucket bucket team-a failed: connection error ECONNREFUSED (after 6 attempts)',
      { operation: 'HeadBucket', bucket: 'team-a' }, { attempts: 6 }));
    expect(expectUnavailable(await validateLocation(bsl(), w.opts()), 'Unreachable').message)
      .toBe(`https://s3.example.com (address ${publicIp}) could not be reached for bucket team-a prefix cluster-1: HeadBucket bucket team-a failed: connection error ECONNREFUSED (after 6 attempts)`);
  });

  it('a bucket or region the store refuses to configure is InvalidLocation', async () => {
    const w = new World();
    w.storeFactory = () => {
      throw new CairnError('CAIRN_E_INVALID_ARGUMENT', 'region "EU_Central" is not allowed; expected e.g. us-east-1');
    };
    expectUnavailable(await validateLocation(bsl(), w.opts()), 'InvalidLocation');
  });

  it('an abort rejects instead of reporting Unavailable', async () => {
    const w = new World();
    const ac = new AbortController();
    w.checkBucket = () => {
      ac.abort();
      return Promise.reject(new CairnError('CAIRN_E_ABORTED', 'aborted'));
    };
    await expect(validateLocation(bsl(), w.opts({ signal: ac.signal }))).rejects.toMatchObject({ code: 'CAIRN_E_ABORTED' });
    expect(w.closed).toBe(1);
  });

  it('keepStore returns the store; a ReadOnly location\'s store refuses every write', async () => {
    const w = new World();
    const rw = await validateLocation(bsl(), w.opts({ keepStore: true }));
    expect(rw.phase === 'Available' && rw.store).toBeTruthy();
    const ro = await validateLocation(bsl({ accessMode: 'ReadOnly' }), w.opts({ keepStore: true }));
    if (ro.phase !== 'Available' || !ro.store) throw new Error('expected a store');
    expect(ro.message).toContain('ReadOnly: Cairn never writes to it');
    await expect(ro.store.putObject('k', Buffer.from('x'))).rejects.toMatchObject({ code: 'CAIRN_E_INVALID_ARGUMENT', message: expect.stringContaining('team-a/loc is ReadOnly') as unknown });
    await expect(ro.store.deleteObjects(['k'])).rejects.toMatchObject({ code: 'CAIRN_E_INVALID_ARGUMENT' });
    await expect(ro.store.deleteObject('k')).rejects.toMatchObject({ code: 'CAIRN_E_INVALID_ARGUMENT' });
    await expect(ro.store.abortMultipartUpload('k', 'u')).rejects.toMatchObject({ code: 'CAIRN_E_INVALID_ARGUMENT' });
    await ro.store.checkBucket();
    ro.store.close();
    expect(w.closed).toBe(1);
  });
});
