import { describe, expect, it } from 'vitest';
import type { AddressPolicy } from '../../../common/src/net/address-policy.ts';
import { parseEndpoint, resolveEndpoint, type HostLookup } from './endpoint.ts';
import { isLocationError, type LocationReason } from './reasons.ts';

const policy: AddressPolicy = { allow: new Set(['127.0.0.1:9000', '10.0.0.5:9000']), refusedCidrs: ['10.96.0.0/16', '10.244.0.0/16'] };
const publicIp = '203.0.113.10';

function fixed(...addresses: string[]): HostLookup & { calls: string[] } {
  const calls: string[] = [];
  const fn = (host: string) => {
    calls.push(host);
    return Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  };
  return Object.assign(fn, { calls });
}

async function refusal(p: Promise<unknown>, reason: LocationReason): Promise<string> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(isLocationError(err, reason), `expected ${reason}, got ${String(err)}`).toBe(true);
  return (err as Error).message;
}

describe('parseEndpoint', () => {
  it('normalises scheme, host and default ports', () => {
    expect(parseEndpoint('https://MinIO.Example.com')).toEqual({ url: 'https://minio.example.com', scheme: 'https', host: 'minio.example.com', port: 443, isAddress: false });
    expect(parseEndpoint('http://s3.local:9000/')).toMatchObject({ url: 'http://s3.local:9000', port: 9000 });
    expect(parseEndpoint('http://[::1]:9000')).toMatchObject({ host: '::1', port: 9000, isAddress: true, url: 'http://[::1]:9000' });
    // IPv4 written in other forms becomes dotted: the policy sees the real address.
    expect(parseEndpoint('http://2130706433:9000')).toMatchObject({ host: '127.0.0.1', isAddress: true });
    expect(parseEndpoint('http://0x7f.1')).toMatchObject({ host: '127.0.0.1', port: 80 });
    expect(parseEndpoint('http://[::ffff:127.0.0.1]:9000')).toMatchObject({ host: '::ffff:7f00:1', isAddress: true });
  });

  it.each([
    ['ftp://s3.example.com', 'scheme "ftp"'],
    ['file:///etc/passwd', 'scheme "file"'],
    ['https://user:pw@s3.example.com', 'user info'],
    ['https://@s3.example.com', 'user info'],
    ['https://s3.example.com/bucket', 'must not have a path'],
    ['https://s3.example.com/?x=1', 'query or fragment'],
    ['https://s3.example.com?', 'query or fragment'],
    ['https://s3.example.com#frag', 'query or fragment'],
    ['https://s3.exa\tmple.com', 'printable ASCII'],
    [' https://s3.example.com', 'printable ASCII'],
    ['https://s3.example.com:0', 'port'],
    ['not a url', 'printable ASCII'],
    ['s3.example.com', 'not a URL'],
    ['', '1 to 2048'],
  ])('refuses %j (%s)', (raw, why) => {
    let err: unknown;
    try {
      parseEndpoint(raw);
    } catch (e) {
      err = e;
    }
    expect(isLocationError(err, 'EndpointInvalid')).toBe(true);
    expect((err as Error).message).toContain(why);
    expect((err as Error).message).toMatch(/^spec\.config\.endpoint/);
  });
});

describe('resolveEndpoint', () => {
  it('pins the first address of one lookup', async () => {
    const lookup = fixed(publicIp, '198.51.100.7');
    const r = await resolveEndpoint('https://s3.example.com', policy, { lookup });
    expect(r).toMatchObject({ pinnedAddress: publicIp, addresses: [publicIp, '198.51.100.7'], host: 's3.example.com', port: 443 });
    expect(lookup.calls).toEqual(['s3.example.com']);
  });

  it('uses an IP literal as it is, without a lookup', async () => {
    const lookup = fixed('127.0.0.1');
    expect(await resolveEndpoint(`http://${publicIp}:9000`, policy, { lookup })).toMatchObject({ pinnedAddress: publicIp });
    expect(lookup.calls).toEqual([]);
  });

  it.each([
    ['http://127.0.0.1', 'loopback'],
    ['http://127.0.0.1:9001', 'loopback'], // allow-listed only on port 9000
    ['http://169.254.169.254', 'link-local'],
    ['http://[fd00:ec2::254]', 'link-local'],
    ['http://[fe80::1]', 'link-local'],
    ['http://0.0.0.0:9000', 'unspecified'],
    ['http://[::]:9000', 'unspecified'],
    ['http://[::1]:9000', 'loopback'],
    ['http://[::ffff:127.0.0.1]:9001', 'loopback'],
    ['http://[::ffff:169.254.169.254]', 'link-local'],
    ['http://10.96.0.10', "cluster's pod or service range"],
    ['http://10.244.3.4:9000', "cluster's pod or service range"],
    ['http://192.168.1.10:9000', 'private'],
    ['http://10.0.0.5:9001', 'private'],
  ])('refuses %s (%s)', async (url, why) => {
    const msg = await refusal(resolveEndpoint(url, policy), 'EndpointRefused');
    expect(msg).toContain(why);
  });

  it('accepts allow-listed ip:port pairs, even loopback and private ones', async () => {
    expect((await resolveEndpoint('http://127.0.0.1:9000', policy)).pinnedAddress).toBe('127.0.0.1');
    expect((await resolveEndpoint('http://10.0.0.5:9000', policy)).pinnedAddress).toBe('10.0.0.5');
  });

  it('refuses a name when any address it resolves to is refused, and says which', async () => {
    const msg = await refusal(resolveEndpoint('https://s3.example.com', policy, { lookup: fixed(publicIp, '169.254.169.254') }), 'EndpointRefused');
    expect(msg).toContain('host s3.example.com resolves to 169.254.169.254:443 (one of 2 addresses; all must be allowed)');
    await refusal(resolveEndpoint('https://s3.example.com', policy, { lookup: fixed('::ffff:127.0.0.1') }), 'EndpointRefused');
    await refusal(resolveEndpoint('https://s3.example.com', policy, { lookup: fixed('10.96.0.1') }), 'EndpointRefused');
  });

  it('pins an IPv4-mapped answer in its IPv4 form', async () => {
    expect((await resolveEndpoint('http://minio.local:9000', policy, { lookup: fixed('::ffff:127.0.0.1') })).pinnedAddress).toBe('127.0.0.1');
  });

  it('DNS rebinding: the check and the pin come from the same single answer', async () => {
    let n = 0;
    const rebinding: HostLookup = () => Promise.resolve([{ address: n++ === 0 ? publicIp : '127.0.0.1', family: 4 }]);
    const first = await resolveEndpoint('https://rebind.example.com', policy, { lookup: rebinding });
    expect(first.pinnedAddress).toBe(publicIp);
    expect(n).toBe(1);
    // The name now answers 127.0.0.1: a new resolution is refused; the pinned one stays what it was checked as.
    await refusal(resolveEndpoint('https://rebind.example.com', policy, { lookup: rebinding }), 'EndpointRefused');
    expect(first.pinnedAddress).toBe(publicIp);
  });

  it('a name that does not resolve is EndpointUnresolvable', async () => {
    const failing: HostLookup = () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' }));
    expect(await refusal(resolveEndpoint('https://nowhere.invalid', policy, { lookup: failing }), 'EndpointUnresolvable')).toContain('(ENOTFOUND)');
    await refusal(resolveEndpoint('https://empty.example.com', policy, { lookup: fixed() }), 'EndpointUnresolvable');
  });

  it('really resolves localhost through node:dns and refuses it', async () => {
    await refusal(resolveEndpoint('http://localhost:9001', policy), 'EndpointRefused');
  });
});
