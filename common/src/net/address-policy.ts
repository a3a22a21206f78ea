// Which addresses a storage endpoint may resolve to (DESIGN 3.8). Loopback, link-local (and the
// cloud metadata addresses), unspecified and multicast addresses, their IPv4-mapped forms, and
// the cluster's own ranges are refused; private addresses are allowed only as host:port pairs an
// admin listed. Used by the coordinator for its checks and by the agent, which connects.
import { BlockList, isIP } from 'node:net';
import { CairnError } from '../errors.ts';

export interface AddressPolicy {
  /** "ip:port" pairs an admin allowed even though the address is private or local. */
  allow: ReadonlySet<string>;
  /** Extra refused CIDRs: the cluster's pod and service ranges. */
  refusedCidrs: readonly string[];
  /** Allow other private (RFC 1918, ULA) addresses without listing them. Default false. */
  allowPrivate?: boolean;
}

function blockList(cidrs: readonly string[]): BlockList {
  const b = new BlockList();
  for (const c of cidrs) {
    const [net, bits] = c.split('/');
    b.addSubnet(net!, Number(bits), isIP(net!) === 6 ? 'ipv6' : 'ipv4');
  }
  return b;
}

const alwaysRefused = blockList([
  '0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '240.0.0.0/4', '100.64.0.0/10',
  '::/128', '::1/128', 'fe80::/10', 'ff00::/8', 'fd00:ec2::254/128',
]);
const privateRanges = blockList(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']);

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as plain IPv4; anything else unchanged. */
export function unmapIPv4(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (m) return m[1]!;
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (hex) {
    const a = parseInt(hex[1]!, 16);
    const b = parseInt(hex[2]!, 16);
    return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  return ip;
}

/** Throws CAIRN_E_STORE_BAD_ENDPOINT naming why `ip:port` may not be connected to. */
export function checkAddress(ipIn: string, port: number, p: AddressPolicy): void {
  const ip = unmapIPv4(ipIn);
  const family = isIP(ip);
  if (family === 0) throw new CairnError('CAIRN_E_STORE_BAD_ENDPOINT', `${JSON.stringify(ipIn)} is not an IP address`);
  const type = family === 6 ? 'ipv6' : 'ipv4';
  const hostPort = family === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
  if (p.allow.has(hostPort)) return;
  if (alwaysRefused.check(ip, type)) throw new CairnError('CAIRN_E_STORE_BAD_ENDPOINT', `endpoint address ${hostPort} is loopback, link-local, unspecified or otherwise reserved and is not on the admin allow-list`);
  if (p.refusedCidrs.length > 0 && blockList(p.refusedCidrs).check(ip, type)) throw new CairnError('CAIRN_E_STORE_BAD_ENDPOINT', `endpoint address ${hostPort} is inside the cluster's pod or service range`);
  if (!p.allowPrivate && privateRanges.check(ip, type)) throw new CairnError('CAIRN_E_STORE_BAD_ENDPOINT', `endpoint address ${hostPort} is private and is not on the admin allow-list`);
}
