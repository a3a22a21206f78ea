// validateLocation against the real API server (Secrets read as the coordinator would) and the
// real MinIO of the cluster, allowed through the admin allow-list: Available with the tenant's
// own credentials, and each reason for Unavailable beside it. Messages never carry a secret.
import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createS3Store, type ObjectStore, type S3StoreConfig } from '../../../common/src/store/object-store.ts';
import type { BackupStorageLocation } from '../../../common/src/generated/crds.ts';
import { secretReader, validateLocation, type LocationUnavailable, type LocationValidation, type ValidateOptions } from '../../../coordinator/src/location/index.ts';
import { bslObject, clusterPolicy, Created, credentialsFile, unique } from './location-fixtures.ts';

const cluster = inject('cluster');
const created = new Created(cluster);
const minio = new URL(cluster.minio.endpoint);
const teamA = cluster.minio.tenants['team-a']!;
const teamB = cluster.minio.tenants['team-b']!;
const id = unique();
const creds = `minio-${id}`;
const encKey = randomBytes(32);
const readSecret = secretReader(created.admin.makeApiClient(CoreV1Api));
const fast = { maxAttempts: 2, retry: { baseDelayMs: 10, maxDelayMs: 20 }, timeouts: { connectMs: 2000, idleMs: 5000 } };
const secretsOf = [teamA.secretAccessKey, teamB.secretAccessKey, cluster.minio.root.secretAccessKey, encKey.toString('base64'), encKey.toString('hex')];

function opts(extra: Partial<ValidateOptions> = {}): ValidateOptions {
  return { readSecret, policy: clusterPolicy([minio.host]), storeOptions: fast, ...extra };
}

function loc(name: string, spec: Partial<BackupStorageLocation['spec']> = {}, namespace = 'team-a'): BackupStorageLocation {
  return bslObject(name, namespace, {
    objectStorage: { bucket: 'team-a', prefix: `loc-${id}/${name}` },
    config: { endpoint: cluster.minio.endpoint, region: 'us-east-1', forcePathStyle: true },
    credential: { name: creds, key: 'cloud' },
    ...spec,
  });
}

function unavailable(r: LocationValidation, reason: LocationUnavailable['reason']): LocationUnavailable {
  expect(r.phase, r.message).toBe('Unavailable');
  expect((r as LocationUnavailable).reason, r.message).toBe(reason);
  for (const s of secretsOf) expect(r.message).not.toContain(s);
  return r as LocationUnavailable;
}

/** A store factory that records every call the validator makes on the real store. */
function recording(): { factory: (c: S3StoreConfig) => ObjectStore; calls: string[] } {
  const calls: string[] = [];
  const factory = (c: S3StoreConfig): ObjectStore => {
    const store = createS3Store(c);
    return new Proxy(store, {
      get(target, prop, receiver) {
        const v: unknown = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]): unknown => {
          calls.push(String(prop));
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  };
  return { factory, calls };
}

const root = new S3Client({
  endpoint: cluster.minio.endpoint, region: 'us-east-1', forcePathStyle: true,
  credentials: { accessKeyId: cluster.minio.root.accessKeyId, secretAccessKey: cluster.minio.root.secretAccessKey },
});

async function keysUnder(bucket: string, prefix: string): Promise<string[]> {
  const r = await root.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key!);
}

beforeAll(async () => {
  await created.secret('team-a', creds, { cloud: credentialsFile(teamA.accessKeyId, teamA.secretAccessKey) });
  await created.secret('team-a', `enc-${id}`, { key: encKey, b64: `${encKey.toString('base64')}\n`, short: encKey.subarray(0, 31) });
  await created.secret('team-a', `root-${id}`, { cloud: credentialsFile(cluster.minio.root.accessKeyId, cluster.minio.root.secretAccessKey) });
  await created.secret('team-a', `wrong-${id}`, { cloud: credentialsFile(teamA.accessKeyId, 'not-the-secret-key-0123456789') });
  await created.secret('team-a', `json-${id}`, { cloud: JSON.stringify({ accessKey: teamA.accessKeyId, secretKey: teamA.secretAccessKey }) });
});

afterAll(async () => {
  root.destroy();
  await created.cleanup();
});

describe('validateLocation on real MinIO', () => {
  it('Available: team-a credentials on bucket team-a through the allow-listed, pinned address; the returned store works', async () => {
    const r = await validateLocation(loc('ok', { encryption: { keySecret: { name: `enc-${id}`, key: 'key' } } }), opts({ keepStore: true }));
    if (r.phase !== 'Available') throw new Error(`expected Available: ${r.reason}: ${r.message}`);
    expect(r.pinnedAddress).toBe('127.0.0.1');
    expect(r.message).toContain(`readable with the credentials in key "cloud" of Secret team-a/${creds}`);
    expect(r.location.encryptionKey?.reveal()).toEqual(encKey);
    expect(r.location.accessMode).toBe('ReadWrite');
    try {
      await r.store!.putObject('probe', Buffer.from('hello'));
      expect((await r.store!.getObject('probe')).toString()).toBe('hello');
    } finally {
      r.store!.close();
    }
  });

  it('the encryption key may be stored as base64 text; 31 bytes is EncryptionKeyInvalid', async () => {
    const r = await validateLocation(loc('b64', { encryption: { keySecret: { name: `enc-${id}`, key: 'b64' } } }), opts());
    expect(r.phase === 'Available' && r.location.encryptionKey?.reveal()).toEqual(encKey);
    const bad = unavailable(await validateLocation(loc('short', { encryption: { keySecret: { name: `enc-${id}`, key: 'short' } } }), opts()), 'EncryptionKeyInvalid');
    expect(bad.message).toContain(`key "short" of Secret team-a/enc-${id} is 31 bytes`);
  });

  it('ReadOnly: validation only reads (HeadBucket and a one-key list), writes nothing, and the store it returns refuses writes', async () => {
    const rec = recording();
    const prefix = `loc-${id}/readonly`;
    const r = await validateLocation(loc('ro', { accessMode: 'ReadOnly', objectStorage: { bucket: 'team-a', prefix } }), opts({ storeFactory: rec.factory, keepStore: true }));
    if (r.phase !== 'Available') throw new Error(r.message);
    expect(rec.calls).toEqual(['checkBucket']);
    await expect(r.store!.putObject('x', Buffer.from('x'))).rejects.toMatchObject({ code: 'CAIRN_E_INVALID_ARGUMENT' });
    await expect(r.store!.deleteObjects(['x'])).rejects.toMatchObject({ code: 'CAIRN_E_INVALID_ARGUMENT' });
    r.store!.close();
    expect(rec.calls).toEqual(['checkBucket', 'close']);
    expect(await keysUnder('team-a', prefix)).toEqual([]);
  });

  it('AccessDenied: team-a credentials on team-b\'s bucket; naming the Secret, not the keys', async () => {
    const r = unavailable(await validateLocation(loc('b-bucket', { objectStorage: { bucket: 'team-b' } }), opts()), 'AccessDenied');
    expect(r.code).toBe('CAIRN_E_STORE_ACCESS_DENIED');
    expect(r.message).toContain(`the credentials in key "cloud" of Secret team-a/${creds} may not read and list bucket team-b`);
    expect(r.message).toContain('HTTP 403');
    expect(r.message).not.toContain(teamA.accessKeyId);
    expect(r.pinnedAddress).toBe('127.0.0.1');
  });

  it('AccessDenied: a wrong secret key', async () => {
    const r = unavailable(await validateLocation(loc('wrong', { credential: { name: `wrong-${id}`, key: 'cloud' } }), opts()), 'AccessDenied');
    expect(r.message).not.toContain('not-the-secret-key');
  });

  it('BucketNotFound (with credentials that may see every bucket: MinIO answers 403 rather than 404 to a tenant user for a bucket outside its policy)', async () => {
    const r = unavailable(await validateLocation(loc('nobucket', { objectStorage: { bucket: `nothere-${id}` }, credential: { name: `root-${id}`, key: 'cloud' } }), opts()), 'BucketNotFound');
    expect(r.code).toBe('CAIRN_E_STORE_NOT_FOUND');
    expect(r.message).toContain(`bucket nothere-${id} does not exist at ${cluster.minio.endpoint}`);
  });

  it('CredentialSecretMissing: no such Secret, or no such key, each named', async () => {
    const gone = unavailable(await validateLocation(loc('nosecret', { credential: { name: `gone-${id}`, key: 'cloud' } }), opts()), 'CredentialSecretMissing');
    expect(gone.message).toBe(`spec.credential: Secret team-a/gone-${id} does not exist in the BackupStorageLocation's namespace`);
    const nokey = unavailable(await validateLocation(loc('nokey', { credential: { name: creds, key: 'aws' } }), opts()), 'CredentialSecretMissing');
    expect(nokey.message).toBe(`Secret team-a/${creds} has no key "aws" (it has "cloud")`);
  });

  it('CredentialSecretInvalid: a Secret in another format (JSON keys) is refused without echoing it', async () => {
    const r = unavailable(await validateLocation(loc('json', { credential: { name: `json-${id}`, key: 'cloud' } }), opts()), 'CredentialSecretInvalid');
    expect(r.message).toContain(`key "cloud" of Secret team-a/json-${id} is not a usable AWS shared-credentials file`);
    expect(r.message).not.toContain(teamA.accessKeyId);
  });

  it('a BSL in team-b naming team-a\'s Secret by name finds nothing: Secrets are read in the BSL\'s own namespace only', async () => {
    const r = unavailable(await validateLocation(loc('cross', {}, 'team-b'), opts()), 'CredentialSecretMissing');
    expect(r.message).toContain(`Secret team-b/${creds} does not exist`);
  });

  it('Unreachable: an allow-listed address where nothing listens', async () => {
    const port = Number(minio.port) === 1 ? 2 : 1; // ports 1-2 have no listener on a test machine
    const r = unavailable(await validateLocation(loc('closed', { config: { endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true } }),
      opts({ policy: clusterPolicy([minio.host, `127.0.0.1:${port}`]) })), 'Unreachable');
    expect(r.message).toContain('ECONNREFUSED');
  });
});
