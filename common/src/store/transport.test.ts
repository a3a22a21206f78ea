import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createTransport, parseEndpoint, type TransportOptions } from './transport.ts';

const base: TransportOptions = { endpoint: 'https://s3.example.test:9000', bucket: 'team-a', forcePathStyle: false, connectTimeoutMs: 1000, idleTimeoutMs: 1000, maxSockets: 4 };

function lookupOf(o: TransportOptions): (host: string, all: boolean) => Promise<string | LookupAddress[]> {
  const t = createTransport(o);
  const lookup = (t.handlerOptions.httpsAgent as unknown as { options: { lookup: LookupFunction } }).options.lookup;
  return (host, all) => new Promise((resolve, reject) => {
    lookup(host, { all }, (err: NodeJS.ErrnoException | null, address: string | LookupAddress[]) => (err ? reject(err) : resolve(address)));
  });
}

describe('endpoint URLs', () => {
  it('refuses credentials, query, fragment and other schemes', () => {
    for (const bad of ['ftp://s3.example.test', 'https://user:pw@s3.example.test', 'https://s3.example.test/?x=1', 'https://s3.example.test/#f', 'not a url']) {
      expect(() => parseEndpoint(bad), bad).toThrow(expect.objectContaining({ code: 'CAIRN_E_STORE_BAD_ENDPOINT' }) as Error);
    }
    expect(parseEndpoint('http://127.0.0.1:9000').host).toBe('127.0.0.1:9000');
  });
  it('refuses a pinned address that is not an IP', () => {
    expect(() => createTransport({ ...base, pinnedAddress: 'evil.example' })).toThrow(expect.objectContaining({ code: 'CAIRN_E_STORE_BAD_ENDPOINT' }) as Error);
  });
});

describe('pinned connections', () => {
  it('answers the endpoint host and the virtual-hosted bucket host with the pinned address, one or all', async () => {
    const lookup = lookupOf({ ...base, pinnedAddress: '192.0.2.7' });
    expect(await lookup('s3.example.test', false)).toBe('192.0.2.7');
    expect(await lookup('TEAM-A.s3.example.test', true)).toEqual([{ address: '192.0.2.7', family: 4 }]);
  });
  it('refuses to connect anywhere else, pinned or not', async () => {
    await expect(lookupOf({ ...base, pinnedAddress: '192.0.2.7' })('169.254.169.254.nip.io', false)).rejects.toMatchObject({ code: 'CAIRN_E_STORE_BAD_ENDPOINT' });
    await expect(lookupOf(base)('team-b.s3.example.test', false)).rejects.toMatchObject({ code: 'CAIRN_E_STORE_BAD_ENDPOINT' });
  });
  it('with path-style addressing, only the endpoint host itself', async () => {
    await expect(lookupOf({ ...base, forcePathStyle: true, pinnedAddress: '192.0.2.7' })('team-a.s3.example.test', false)).rejects.toMatchObject({ code: 'CAIRN_E_STORE_BAD_ENDPOINT' });
  });
});
