// The connections an S3 store makes: our own http/https Agents, so that
// - a pinned address is used for every connection (the agent's `lookup` answers with it and DNS
//   is never asked), while the Host header, TLS SNI, certificate check and SigV4 signature still
//   use the endpoint's host name;
// - only the endpoint's host (and `<bucket>.<host>` for virtual-hosted addressing) is ever
//   connected to: any other name is refused inside `lookup`;
// - a tenant's CA bundle, when given, is the only trust anchor for that endpoint;
// - no environment proxy or global agent setting applies.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { CairnError } from '../errors.ts';

export interface TransportOptions {
  endpoint: string;
  pinnedAddress?: string | undefined;
  bucket: string;
  forcePathStyle: boolean;
  caCertPem?: string | undefined;
  /** TCP (and TLS) connect timeout per attempt. */
  connectTimeoutMs: number;
  /** A socket with no bytes moving in either direction for this long fails the attempt. */
  idleTimeoutMs: number;
  maxSockets: number;
}

export interface Transport {
  endpoint: URL;
  /** NodeHttpHandler options for the S3 client's `requestHandler`. */
  handlerOptions: { httpAgent?: HttpAgent; httpsAgent?: HttpsAgent; connectionTimeout: number; socketTimeout: number };
  destroy(): void;
}

function badEndpoint(message: string): CairnError {
  return new CairnError('CAIRN_E_STORE_BAD_ENDPOINT', message);
}

/** The endpoint as a URL: http or https, a host, no credentials, query or fragment. */
export function parseEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw badEndpoint('storage endpoint is not a URL; expected e.g. https://s3.example.com');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw badEndpoint(`storage endpoint scheme ${JSON.stringify(url.protocol)} is not allowed; use https: or http:`);
  if (url.username !== '' || url.password !== '') throw badEndpoint('storage endpoint must not contain user info; credentials come from the Secret');
  if (url.search !== '' || url.hash !== '') throw badEndpoint('storage endpoint must not have a query or fragment');
  if (url.hostname === '') throw badEndpoint('storage endpoint has no host');
  return url;
}

function bareHost(hostname: string): string {
  return (hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname).toLowerCase();
}

export function createTransport(o: TransportOptions): Transport {
  const endpoint = parseEndpoint(o.endpoint);
  const host = bareHost(endpoint.hostname);
  const pinned = o.pinnedAddress;
  if (pinned !== undefined) {
    if (isIP(pinned) === 0) throw badEndpoint('pinned address is not an IP address');
    if (isIP(host) !== 0 && host !== pinned.toLowerCase()) throw badEndpoint('the endpoint is an IP address other than the pinned address');
  }
  const allowed = new Set([host]);
  if (!o.forcePathStyle && isIP(host) === 0) allowed.add(`${o.bucket.toLowerCase()}.${host}`);

  const lookup: LookupFunction = (hostname, options, callback) => {
    const name = hostname.toLowerCase();
    if (!allowed.has(name)) {
      callback(Object.assign(badEndpoint('refused to connect to a host other than the storage endpoint'), { errno: 0, syscall: 'lookup' }), '', 0);
      return;
    }
    if (pinned === undefined) {
      dnsLookup(hostname, options, callback);
      return;
    }
    const family = isIP(pinned);
    if (options.all) (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, [{ address: pinned, family }]);
    else callback(null, pinned, family);
  };

  const common = { keepAlive: true, maxSockets: o.maxSockets, lookup };
  // Both agents always exist, so the SDK never makes a default one (which would not pin).
  const handlerOptions: Transport['handlerOptions'] = {
    connectionTimeout: o.connectTimeoutMs,
    socketTimeout: o.idleTimeoutMs,
    httpAgent: new HttpAgent(common),
    httpsAgent: new HttpsAgent({ ...common, ...(o.caCertPem !== undefined ? { ca: o.caCertPem } : {}), rejectUnauthorized: true }),
  };
  return {
    endpoint,
    handlerOptions,
    destroy: () => {
      handlerOptions.httpAgent?.destroy();
      handlerOptions.httpsAgent?.destroy();
    },
  };
}
