// SSRF through a BackupStorageLocation endpoint (DESIGN 3.8, issue 7 item 6), against the real
// MinIO of the cluster: loopback, link-local, metadata, unspecified, IPv4-mapped and cluster
// addresses are refused before any connection, whether written as literals or reached through a
// host name; the same MinIO is accepted through the admin allow-list. DNS rebinding between the
// coordinator's check and the agent's connect does not reach the rebound address, and nothing
// the endpoint answers is echoed into the status message.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { checkAddress } from '../../../common/src/net/address-policy.ts';
import { Secret } from '../../../common/src/secret.ts';
import { createS3Store, type ObjectStore, type S3StoreConfig } from '../../../common/src/store/object-store.ts';
import type { BackupStorageLocation } from '../../../common/src/generated/crds.ts';
import { validateStorage } from '../../../agent/src/jobs/validate-job.ts';
import {
  agentStorageTarget, secretReader, validateLocation, type HostLookup, type LocationUnavailable, type LocationValidation, type ValidateOptions,
} from '../../../coordinator/src/location/index.ts';
import { FaultProxy } from '../../store/fault-proxy.ts';
import { bslObject, clusterPolicy, Created, credentialsFile, unique } from './location-fixtures.ts';

const cluster = inject('cluster');
const created = new Created(cluster);
const minio = new URL(cluster.minio.endpoint);
const port = Number(minio.port);
const teamA = cluster.minio.tenants['team-a']!;
const id = unique();
const creds = `minio-${id}`;
const readSecret = secretReader(created.admin.makeApiClient(CoreV1Api));
const fast = { maxAttempts: 2, retry: { baseDelayMs: 10, maxDelayMs: 20 }, timeouts: { connectMs: 2000, idleMs: 5000 } };

/** Every store the validator built; a refused endpoint must build none (so nothing connects). */
const built: S3StoreConfig[] = [];
const spyFactory = (c: S3StoreConfig): ObjectStore => {
  built.push(c);
  return createS3Store(c);
};

function opts(allow: string[], extra: Partial<ValidateOptions> = {}): ValidateOptions {
  return { readSecret, policy: clusterPolicy(allow), storeOptions: fast, storeFactory: spyFactory, ...extra };
}

function loc(name: string, endpoint: string, spec: Partial<BackupStorageLocation['spec']> = {}): BackupStorageLocation {
  return bslObject(`${name}-${id}`, 'team-a', {
    objectStorage: { bucket: 'team-a', prefix: `ssrf-${id}` }, config: { endpoint, region: 'us-east-1', forcePathStyle: true },
    credential: { name: creds, key: 'cloud' }, ...spec,
  });
}

function lookupOf(...answers: string[][]): HostLookup & { calls: string[] } {
  const calls: string[] = [];
  const fn: HostLookup = (host) => {
    calls.push(host);
    const a = answers[Math.min(calls.length - 1, answers.length - 1)]!;
    return Promise.resolve(a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };
  return Object.assign(fn, { calls });
}

function available(r: LocationValidation): Extract<LocationValidation, { phase: 'Available' }> {
  if (r.phase !== 'Available') throw new Error(`expected Available: ${r.reason}: ${r.message}`);
  return r;
}

function unavailable(r: LocationValidation, reason: LocationUnavailable['reason']): LocationUnavailable {
  expect(r.phase, r.message).toBe('Unavailable');
  expect((r as LocationUnavailable).reason, r.message).toBe(reason);
  expect(r.message).not.toContain(teamA.secretAccessKey);
  return r as LocationUnavailable;
}

beforeAll(async () => {
  await created.secret('team-a', creds, { cloud: credentialsFile(teamA.accessKeyId, teamA.secretAccessKey) });
});

afterAll(() => created.cleanup());

describe('endpoint policy: refused before any connection, even with MinIO allow-listed', () => {
  const allow = [minio.host];

  it.each([
    ['the metadata service', 'http://169.254.169.254'],
    ['the metadata service on MinIO\'s port', `http://169.254.169.254:${port}`],
    ['the IPv6 metadata service', 'http://[fd00:ec2::254]'],
    ['link-local', `http://169.254.0.1:${port}`],
    ['unspecified 0.0.0.0 (reaches local listeners on Linux)', `http://0.0.0.0:${port}`],
    ['unspecified ::', `http://[::]:${port}`],
    ['IPv4-mapped loopback on another port', `http://[::ffff:127.0.0.1]:${port + 1}`],
    ['IPv4-mapped metadata', 'http://[::ffff:169.254.169.254]'],
    ['IPv6 loopback', `http://[::1]:${port}`],
    ['loopback on another port than the allow-listed one', `http://127.0.0.1:${port + 1}`],
    ['another loopback address', `http://127.0.0.2:${port}`],
    ['loopback in decimal', `http://2130706433:${port + 1}`],
    ['the service CIDR (the API server\'s ClusterIP)', 'https://10.96.0.1'],
    ['the service CIDR', `http://10.96.0.10:${port}`],
    ['the pod CIDR', 'http://10.244.1.5:9000'],
    ['a private address not allow-listed', 'http://192.168.10.10:9000'],
    ['localhost through the system resolver', `http://localhost:${port + 1}`],
  ])('%s: %s', async (_what, endpoint) => {
    const before = built.length;
    const r = unavailable(await validateLocation(loc('refused', endpoint), opts(allow)), 'EndpointRefused');
    expect(r.code).toBe('CAIRN_E_STORE_BAD_ENDPOINT');
    expect(r.message).toContain('is refused by the endpoint policy');
    expect(built.length).toBe(before);
  });

  const spellings = [
    cluster.minio.endpoint, `http://[::ffff:127.0.0.1]:${port}`, `http://[::ffff:7f00:1]:${port}`, `http://2130706433:${port}`, `http://0x7f000001:${port}`,
    `http://127.1:${port}`,
  ];

  it.each(spellings)('MinIO\'s own address is refused when not allow-listed, in any spelling: %s', async (endpoint) => {
    const before = built.length;
    const r = unavailable(await validateLocation(loc('noallow', endpoint), opts([])), 'EndpointRefused');
    expect(r.message).toContain(`${port} is loopback`);
    expect(built.length).toBe(before);
  });

  it.each(spellings)('twin: allow-listed as 127.0.0.1:port, the same address is Available in any spelling: %s', async (endpoint) => {
    available(await validateLocation(loc('allowed', endpoint), opts(allow)));
  });

  it.each([
    ['loopback', ['127.0.0.1'], [] as string[]],
    ['the metadata service', ['169.254.169.254'], [minio.host]],
    ['an IPv4-mapped loopback', ['::ffff:127.0.0.1'], []],
    ['the service CIDR', ['10.96.0.10'], [minio.host]],
    ['a public address and loopback', ['203.0.113.10', '127.0.0.1'], []],
    ['loopback first, then a public address', ['127.0.0.1', '203.0.113.10'], []],
  ])('a host name resolving to %s is refused', async (_what, answer, allowList) => {
    const before = built.length;
    const lookup = lookupOf(answer);
    const r = unavailable(await validateLocation(loc('named', `http://storage-${id}.example.com:${port}`), opts(allowList, { lookup })), 'EndpointRefused');
    expect(r.message).toContain(`host storage-${id}.example.com resolves to`);
    expect(lookup.calls).toEqual([`storage-${id}.example.com`]);
    expect(built.length).toBe(before);
  });

  it('twin: a host name resolving to the allow-listed address is Available, and the connection goes to the pinned address (the .test name resolves nowhere)', async () => {
    const lookup = lookupOf(['127.0.0.1']);
    const r = available(await validateLocation(loc('named-ok', `http://minio-${id}.cairn.test:${port}`), opts(allow, { lookup })));
    expect(r.pinnedAddress).toBe('127.0.0.1');
    expect(lookup.calls).toHaveLength(1);
    expect(built.at(-1)).toMatchObject({ endpoint: `http://minio-${id}.cairn.test:${port}`, pinnedAddress: '127.0.0.1' });
  });
});

/** Listens on `host` at `port` (0: any). */
async function listen(server: Server | HttpServer, host: string, p: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

describe('DNS rebinding between the coordinator\'s check and the agent\'s connect', () => {
  // The name first answers 127.0.0.9 (allow-listed: a TCP forwarder to MinIO listens there), then
  // 127.0.0.1 (not allow-listed: a recorder listens there on the same port, standing in for an
  // internal service). Whatever the agent does with the job, it must only ever reach 127.0.0.9.
  const good = '127.0.0.9';
  let forwarder: Server;
  let victim: Server;
  let shared = 0;
  const forwarded: Socket[] = [];
  const victimConnections: Socket[] = [];

  beforeAll(async () => {
    for (let attempt = 0; ; attempt++) {
      forwarder = createServer((s) => {
        forwarded.push(s);
        const up = createConnection(port, '127.0.0.1');
        s.pipe(up).pipe(s);
        s.on('error', () => up.destroy());
        up.on('error', () => s.destroy());
      });
      victim = createServer((s) => {
        victimConnections.push(s);
        s.destroy();
      });
      shared = await listen(forwarder, good, 0);
      try {
        await listen(victim, '127.0.0.1', shared);
        break;
      } catch (err) {
        forwarder.close();
        if (attempt > 10) throw err;
      }
    }
  });

  afterAll(async () => {
    for (const s of [...forwarded, ...victimConnections]) s.destroy();
    await new Promise((r) => forwarder.close(r));
    await new Promise((r) => victim.close(r));
  });

  it('the agent gets the address that was checked, connects there, and never reaches the rebound address', async () => {
    const host = `rebind-${id}.example.com`;
    const lookup = lookupOf([good], ['127.0.0.1']);
    const endpoint = `http://${host}:${shared}`;
    const allow = [`${good}:${shared}`];
    const r = available(await validateLocation(loc('rebind', endpoint), opts(allow, { lookup })));
    expect(r.pinnedAddress).toBe(good);
    expect(lookup.calls).toEqual([host]);

    // What the coordinator sends the agent, and what the agent makes of it (its own validation,
    // its own policy check of the pinned address, the store built as its job runner builds it).
    const target = agentStorageTarget(r.location);
    expect(target).toMatchObject({ endpoint, pinnedAddress: good });
    const s = validateStorage(target);
    checkAddress(s.pinnedAddress, shared, clusterPolicy(allow));
    const store = createS3Store({
      endpoint: s.endpoint, pinnedAddress: s.pinnedAddress, bucket: s.bucket, prefix: s.prefix, region: s.region, forcePathStyle: s.forcePathStyle,
      credentials: new Secret({ accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey }), maxAttempts: 1,
    });
    try {
      await store.putObject('rebind-probe', Buffer.from('through the pin'));
      expect((await store.getObject('rebind-probe')).toString()).toBe('through the pin');
    } finally {
      store.close();
    }
    expect(forwarded.length).toBeGreaterThan(0);
    expect(victimConnections).toHaveLength(0);
    expect(lookup.calls).toHaveLength(1); // neither the store nor the "agent" asked DNS

    // The next check sees the rebound answer and refuses the location.
    const again = unavailable(await validateLocation(loc('rebind', endpoint), opts(allow, { lookup })), 'EndpointRefused');
    expect(again.message).toContain(`host ${host} resolves to 127.0.0.1:${shared}`);
    expect(victimConnections).toHaveLength(0);
  });
});

describe('nothing the endpoint answers reaches the status message', () => {
  let proxy: FaultProxy;
  let elsewhere: HttpServer;
  const elsewhereRequests: string[] = [];
  const canary = `canary${id}x`;
  const allow = () => [new URL(proxy.endpoint).host];

  beforeAll(async () => {
    proxy = await FaultProxy.start(cluster.minio.endpoint);
    elsewhere = createHttpServer((req, res) => {
      elsewhereRequests.push(req.url ?? '');
      res.end(canary);
    });
    await listen(elsewhere, '127.0.0.1', 0);
  });

  afterAll(async () => {
    await proxy.close();
    await new Promise((r) => elsewhere.close(r));
  });

  async function check(rules: Parameters<FaultProxy['addRule']>[0][]): Promise<LocationValidation> {
    proxy.reset();
    for (const rule of rules) proxy.addRule(rule);
    const r = await validateLocation(loc('canary', proxy.endpoint), opts(allow()));
    expect(r.message).not.toContain(canary);
    expect(r.message.toLowerCase()).not.toContain(canary.toLowerCase());
    return r;
  }

  it('twin: through the proxy with no fault, the location is Available', async () => {
    available(await check([]));
    expect(proxy.seen().length).toBeGreaterThanOrEqual(2);
  });

  it('an S3 error whose Code and Message carry the canary (as 403)', async () => {
    const r = unavailable(await check([
      { method: 'GET', action: { kind: 'error', status: 403, code: canary, message: `${canary} secret internal text` } },
    ]), 'AccessDenied');
    expect(r.message).toContain('ListObjectsV2 answered HTTP 403');
  });

  it('an S3 error whose Code carries the canary (as 400)', async () => {
    const r = unavailable(await check([{ method: 'GET', action: { kind: 'error', status: 400, code: canary, message: canary } }]), 'ValidationError');
    expect(r.message).toContain('HTTP 400');
  });

  it('a known S3 code is named, its Message is not', async () => {
    const r = unavailable(await check([{ method: 'GET', action: { kind: 'error', status: 403, code: 'AccessDenied', message: canary } }]), 'AccessDenied');
    expect(r.message).toContain('HTTP 403 AccessDenied');
  });

  it('a redirect with the canary in its body and Location is not followed', async () => {
    const location = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/${canary}`;
    for (const status of [301, 302, 307, 308]) {
      const r = unavailable(await check([
        { method: 'HEAD', action: { kind: 'respond', status, headers: { location, 'x-canary': canary } } },
        { method: 'GET', action: { kind: 'respond', status, headers: { location, 'x-canary': canary, 'content-type': 'application/xml' }, body: `<Error><Code>${canary}</Code><Message>${canary}</Message><Endpoint>${canary}</Endpoint></Error>` } },
      ]), 'EndpointMisconfigured');
      expect(r.message).toContain(`HeadBucket answered HTTP ${status}`);
      expect(r.message).toContain('redirects are never followed');
      expect(proxy.seen()).toHaveLength(1);
    }
    expect(elsewhereRequests).toEqual([]);
  });

  it('a 5xx with the canary in body and headers, after retries', async () => {
    const r = unavailable(await check([
      { method: 'HEAD', action: { kind: 'respond', status: 200 } },
      { method: 'GET', action: { kind: 'respond', status: 503, headers: { 'x-canary': canary, 'content-type': 'application/xml' }, body: `<Error><Code>SlowDown</Code><Message>${canary}</Message></Error>` } },
    ]), 'Unreachable');
    expect(r.message).toContain('ListObjectsV2 answered HTTP 503 SlowDown after 2 attempts');
  });

  it('a 200 that is not S3 at all, with the canary as its body, is not a bucket', async () => {
    const r = await check([
      { method: 'HEAD', action: { kind: 'respond', status: 200 } },
      { method: 'GET', action: { kind: 'respond', status: 200, headers: { 'content-type': 'text/html' }, body: `<html><body>${canary}</body></html>` } },
    ]);
    // checkBucket requires a ListBucketResult naming the bucket; the page is never echoed.
    const u = unavailable(r, 'EndpointMisconfigured');
    expect(u.message).not.toContain(canary);
  });
});
