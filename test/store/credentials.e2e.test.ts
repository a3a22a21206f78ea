// Explicit credentials only: with AWS_* variables, profile files, an endpoint override and
// instance-metadata/container endpoints all pointing elsewhere (and the variables holding
// credentials that WOULD work on the bucket), the store uses exactly what it was given.
import { createServer, type Server } from 'node:http';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { Secret } from '../../common/src/secret.ts';
import { caught, storeFor } from './helpers.ts';

const cluster = inject('cluster');
const teamA = cluster.minio.tenants['team-a']!;

describe('explicit credentials only', () => {
  let recorder: Server;
  const hits: string[] = [];

  beforeAll(async () => {
    // Anything that talks to this server took a setting from the environment.
    recorder = createServer((req, res) => {
      hits.push(`${req.method} ${req.headers.host}${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ AccessKeyId: teamA.accessKeyId, SecretAccessKey: teamA.secretAccessKey, Token: '', Expiration: '2999-01-01T00:00:00Z' }));
    });
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
    const trap = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
    const dir = await mkdtemp(join(tmpdir(), 'cairn-aws-env-'));
    const profile = `[default]\naws_access_key_id = ${teamA.accessKeyId}\naws_secret_access_key = ${teamA.secretAccessKey}\nregion = eu-bogus-1\nendpoint_url = ${trap}\n[profile bogus]\naws_access_key_id = ${teamA.accessKeyId}\naws_secret_access_key = ${teamA.secretAccessKey}\nendpoint_url = ${trap}\n`;
    await writeFile(join(dir, 'config'), profile);
    await writeFile(join(dir, 'credentials'), profile.replaceAll('profile bogus', 'bogus'));
    const env: Record<string, string> = {
      // team-a's working credentials: a client that fell back to them would get into team-a's bucket
      AWS_ACCESS_KEY_ID: teamA.accessKeyId,
      AWS_SECRET_ACCESS_KEY: teamA.secretAccessKey,
      AWS_PROFILE: 'bogus',
      AWS_CONFIG_FILE: join(dir, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
      AWS_ENDPOINT_URL: trap,
      AWS_ENDPOINT_URL_S3: trap,
      AWS_REGION: 'eu-bogus-1',
      AWS_DEFAULT_REGION: 'eu-bogus-1',
      AWS_DEFAULTS_MODE: 'auto',
      AWS_RETRY_MODE: 'adaptive',
      AWS_MAX_ATTEMPTS: '1',
      AWS_USE_FIPS_ENDPOINT: 'true',
      AWS_USE_DUALSTACK_ENDPOINT: 'true',
      AWS_S3_USE_ARN_REGION: 'true',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: trap,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${trap}/creds`,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      HTTP_PROXY: trap,
      HTTPS_PROXY: trap,
    };
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await new Promise<void>((resolve) => recorder.close(() => resolve()));
  });

  it('control: the trap is armed, a client left to its defaults takes team-a credentials from the environment', async () => {
    const bare = new S3Client({ endpoint: cluster.minio.endpoint, forcePathStyle: true, useFipsEndpoint: false, useDualstackEndpoint: false, maxAttempts: 1 });
    await bare.send(new PutObjectCommand({ Bucket: teamA.bucket, Key: 'store-tests/env-control.txt', Body: 'env creds work' }));
    bare.destroy();
    // AWS_DEFAULTS_MODE=auto made it ask the "instance metadata service" (our trap) for a region.
    expect(hits).toContainEqual(expect.stringMatching(/ \S+\/latest\/meta-data\/placement\/region$/));
    hits.length = 0;
  });

  it('the given credentials work on their own bucket, and nothing from the environment is contacted', async () => {
    const store = storeFor(cluster, 'team-b');
    await store.putObject('probe.txt', Buffer.from('b'));
    expect((await store.getObject('probe.txt')).toString()).toBe('b');
    await store.checkBucket();
    store.close();
    expect(hits).toEqual([]);
  });

  it("team-b's explicit credentials are refused on team-a's bucket although the environment holds team-a's", async () => {
    const store = storeFor(cluster, 'team-b', { bucket: teamA.bucket });
    expect(await caught(store.putObject('intrusion.txt', Buffer.from('x')))).toMatchObject({ code: 'CAIRN_E_STORE_ACCESS_DENIED' });
    store.close();
    expect(hits).toEqual([]);
  });

  it('wrong explicit credentials fail with CAIRN_E_STORE_ACCESS_DENIED; neither they nor the right ones appear in the error', async () => {
    const store = storeFor(cluster, 'team-a', { credentials: new Secret({ accessKeyId: teamA.accessKeyId, secretAccessKey: 'wrong-secret-canary-91f2' }) });
    const err = await caught(store.putObject('x', Buffer.from('x')));
    expect(err).toMatchObject({ code: 'CAIRN_E_STORE_ACCESS_DENIED', s3Code: 'SignatureDoesNotMatch' });
    expect(JSON.stringify({ ...err, message: err.message, stack: err.stack })).not.toContain('wrong-secret-canary');
    expect(err.message).not.toContain(teamA.secretAccessKey);
    store.close();
    expect(hits).toEqual([]);
  });
});
