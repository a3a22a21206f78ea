// The storage behind a PV, in a form two PVs can be compared by: CSI driver + volumeHandle, NFS
// server + export path (normalised; nested exports conflict either way), hostPath/local path.
// Two PVs whose identities conflict show the same bytes, so a PV that shares its identity with a
// PV of another namespace is never backed up (DESIGN 3.4). Pure functions, unit-tested.
import { isIPv6 } from 'node:net';
import type { V1PersistentVolume } from '@kubernetes/client-node';

export type BackingIdentity =
  | { kind: 'csi'; driver: string; volumeHandle: string }
  | { kind: 'nfs'; server: string; path: string }
  | { kind: 'node-path'; source: 'hostPath' | 'local'; path: string }
  | { kind: 'other'; source: string };

/**
 * Normalises an NFS export path for comparison: "/exports//a/" and "/exports/./a" are
 * "/exports/a"; ".." is resolved lexically and cannot climb above "/". A relative path is read
 * from "/" (the server decides what it means; treating it as the widest reading is the safe side).
 */
export function normaliseExportPath(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/** True when `path` is what the agent accepts as a job's NFS path: absolute, no "." or "..", no NUL. */
export function isPlainExportPath(path: string): boolean {
  return path.startsWith('/') && !path.includes('\0') && path.length <= 4096 && path.split('/').every((p) => p !== '.' && p !== '..');
}

/** True when one path is the other or lies below it ("/exports" contains "/exports/a", not "/exports-b"). */
export function pathsNest(a: string, b: string): boolean {
  const contains = (outer: string, inner: string) => outer === '/' || inner === outer || inner.startsWith(`${outer}/`);
  return contains(a, b) || contains(b, a);
}

/**
 * Canonical NFS server: lower case, no brackets or trailing dot; IP addresses in one spelling
 * (the WHATWG host parser reads "010.0.0.5", "10.5" and "0xa.0.0.5" as inet_aton does, which is
 * how mount.nfs reads them), IPv4-mapped IPv6 as IPv4. Undefined when it is no host name or IP.
 */
export function normaliseNfsServer(server: string): string | undefined {
  let s = server.trim().toLowerCase();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (isIPv6(s)) {
    const host = new URL(`http://[${s}]/`).hostname.slice(1, -1);
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
    if (!mapped) return host;
    const hi = parseInt(mapped[1]!, 16);
    const lo = parseInt(mapped[2]!, 16);
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  }
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?\.?$/.test(s) || s.length > 254) return undefined;
  try {
    return new URL(`http://${s}/`).hostname.replace(/\.$/, '');
  } catch {
    return undefined;
  }
}

export function backingIdentity(pv: V1PersistentVolume): BackingIdentity {
  const spec = pv.spec ?? {};
  if (spec.csi) return { kind: 'csi', driver: spec.csi.driver.toLowerCase(), volumeHandle: spec.csi.volumeHandle };
  if (spec.nfs) {
    return { kind: 'nfs', server: normaliseNfsServer(spec.nfs.server) ?? spec.nfs.server.trim().toLowerCase(), path: normaliseExportPath(spec.nfs.path) };
  }
  if (spec.hostPath) return { kind: 'node-path', source: 'hostPath', path: normaliseExportPath(spec.hostPath.path) };
  if (spec.local) return { kind: 'node-path', source: 'local', path: normaliseExportPath(spec.local.path) };
  const source = Object.keys(spec).find((k) => !notSources.has(k) && (spec as Record<string, unknown>)[k] != null) ?? 'none';
  return { kind: 'other', source };
}

const notSources = new Set([
  'accessModes', 'capacity', 'claimRef', 'mountOptions', 'nodeAffinity', 'persistentVolumeReclaimPolicy', 'storageClassName', 'volumeAttributesClassName', 'volumeMode',
]);

/** True when two identities can show the same bytes. */
export function identitiesConflict(a: BackingIdentity, b: BackingIdentity): boolean {
  if (a.kind === 'csi' && b.kind === 'csi') return a.driver === b.driver && a.volumeHandle === b.volumeHandle;
  if (a.kind === 'nfs' && b.kind === 'nfs') return a.server === b.server && pathsNest(a.path, b.path);
  // hostPath and local PVs are both directories on nodes; either may contain the other.
  if (a.kind === 'node-path' && b.kind === 'node-path') return pathsNest(a.path, b.path);
  return false;
}

export function describeIdentity(id: BackingIdentity): string {
  switch (id.kind) {
    case 'csi':
      return `CSI driver ${id.driver}, volumeHandle ${id.volumeHandle}`;
    case 'nfs':
      return `NFS ${id.server}:${id.path}`;
    case 'node-path':
      return `${id.source} path ${id.path}`;
    case 'other':
      return `${id.source} volume`;
  }
}

/** The namespaces a PV belongs to by its claimRef and its admin tenant label. */
export function pvNamespaces(pv: V1PersistentVolume, tenantLabel: string): string[] {
  const out = new Set<string>();
  const claimNs = pv.spec?.claimRef?.namespace;
  if (claimNs) out.add(claimNs);
  const label = pv.metadata?.labels?.[tenantLabel];
  if (label) out.add(label);
  return [...out];
}

/**
 * PVs other than `pv` that share its backing storage and belong (by claimRef or tenant label)
 * to a namespace other than `namespace`. Unclaimed, unlabelled PVs belong to no one yet.
 */
export function sharedWithOtherNamespaces(pv: V1PersistentVolume, allPvs: readonly V1PersistentVolume[], namespace: string, tenantLabel: string): V1PersistentVolume[] {
  const mine = backingIdentity(pv);
  return allPvs.filter((other) => {
    if (other.metadata?.name === pv.metadata?.name) return false;
    if (!pvNamespaces(other, tenantLabel).some((ns) => ns !== namespace)) return false;
    return identitiesConflict(mine, backingIdentity(other));
  });
}
