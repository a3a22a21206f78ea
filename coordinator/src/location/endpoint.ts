// The endpoint policy of DESIGN 3.8 for a BackupStorageLocation's spec.config.endpoint: parse it
// (http or https, a host and an optional port, nothing else), resolve the host once, refuse it
// when any address it resolves to is refused by the admin's AddressPolicy, and pin the first
// address. Whoever connects afterwards (the coordinator's own store, and the agent through the
// job's StorageTarget.pinnedAddress) connects to that pinned address and never asks DNS again,
// so a name that answers with a public address for the check and with 127.0.0.1 a moment later
// (DNS rebinding) never gets a connection to 127.0.0.1. See docs/locations.md.
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { checkAddress, unmapIPv4, type AddressPolicy } from '../../../common/src/net/address-policy.ts';
import { isCairnError } from '../../../common/src/errors.ts';
import { LocationError } from './reasons.ts';

export interface LookupAddress {
  address: string;
  family: number;
}

/** Every address a host name resolves to, in the resolver's order. */
export type HostLookup = (hostname: string) => Promise<readonly LookupAddress[]>;

/** node:dns lookup (getaddrinfo: /etc/hosts, then DNS), all addresses, unsorted. */
export const systemLookup: HostLookup = (hostname) => dns.lookup(hostname, { all: true, order: 'verbatim' });

export interface ParsedEndpoint {
  /** scheme://host[:port], normalised (the WHATWG URL parser's origin: lowercase, IPv4 in dotted form, default port dropped). */
  url: string;
  scheme: 'http' | 'https';
  /** The host name or IP address without IPv6 brackets. */
  host: string;
  port: number;
  /** The host is an IP address literal (no DNS lookup happens). */
  isAddress: boolean;
}

export interface ResolvedEndpoint extends ParsedEndpoint {
  /** The address every connection goes to: the first address of the one lookup (or the literal). */
  pinnedAddress: string;
  /** Every address the lookup returned; all of them passed the policy. */
  addresses: string[];
}

function invalid(message: string): LocationError {
  return new LocationError('EndpointInvalid', `spec.config.endpoint: ${message}`);
}

/**
 * Parses an endpoint as the CRD describes it: http or https, a host and an optional port; no
 * user info, path, query, fragment, whitespace or control characters.
 */
export function parseEndpoint(raw: string): ParsedEndpoint {
  if (raw.length === 0 || raw.length > 2048) throw invalid('must be 1 to 2048 characters');
  // The URL parser silently drops tabs and newlines inside and spaces around: refuse them instead.
  if (/[^\x21-\x7e]/.test(raw)) throw invalid('must be printable ASCII without spaces (write an international host name in its xn-- form)');
  if (raw.includes('@')) throw invalid('must not contain user info ("@"); credentials come from the Secret');
  if (raw.includes('?') || raw.includes('#')) throw invalid('must not have a query or fragment');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid('is not a URL; expected e.g. https://minio.example.com:9000');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`scheme ${JSON.stringify(url.protocol.replace(/:$/, ''))} is not allowed; use https or http`);
  if (url.hostname === '') throw invalid('has no host');
  if (url.pathname !== '/' && url.pathname !== '') throw invalid('must not have a path; put a path inside the bucket in spec.objectStorage.prefix');
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const port = url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid('port must be 1 to 65535');
  const host = url.hostname.startsWith('[') && url.hostname.endsWith(']') ? url.hostname.slice(1, -1) : url.hostname;
  return { url: url.origin, scheme, host, port, isAddress: isIP(host) !== 0 };
}

/** The endpoint used when a BSL sets none: AWS S3 in the region (as Velero). */
export function defaultEndpoint(region: string): string {
  return `https://s3.${region}.amazonaws.com`;
}

function hostPort(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * Parses the endpoint, resolves its host exactly once (an IP literal is used as it is), checks
 * every address against the policy, and pins the first. Throws a LocationError:
 * EndpointInvalid, EndpointRefused or EndpointUnresolvable.
 */
export async function resolveEndpoint(endpointUrl: string, policy: AddressPolicy, opts: { lookup?: HostLookup } = {}): Promise<ResolvedEndpoint> {
  const parsed = parseEndpoint(endpointUrl);
  let addresses: string[];
  if (parsed.isAddress) {
    addresses = [parsed.host];
  } else {
    let answers: readonly LookupAddress[];
    try {
      answers = await (opts.lookup ?? systemLookup)(parsed.host);
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      const safe = typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,31}$/.test(code) ? ` (${code})` : '';
      throw new LocationError('EndpointUnresolvable', `spec.config.endpoint: host ${parsed.host} does not resolve${safe}`);
    }
    // Unmapped and deduplicated, keeping the resolver's order.
    addresses = [...new Set(answers.map((a) => unmapIPv4(a.address.toLowerCase())))];
    if (addresses.length === 0) throw new LocationError('EndpointUnresolvable', `spec.config.endpoint: host ${parsed.host} resolves to no address`);
  }
  for (const ip of addresses) {
    try {
      checkAddress(ip, parsed.port, policy);
    } catch (err) {
      if (!isCairnError(err, 'CAIRN_E_STORE_BAD_ENDPOINT')) throw err;
      const via = parsed.isAddress ? '' : `host ${parsed.host} resolves to ${hostPort(ip, parsed.port)}${addresses.length > 1 ? ` (one of ${addresses.length} addresses; all must be allowed)` : ''}: `;
      throw new LocationError('EndpointRefused', `spec.config.endpoint ${parsed.url} is refused by the endpoint policy: ${via}${err.message}`);
    }
  }
  return { ...parsed, pinnedAddress: addresses[0]!, addresses };
}
