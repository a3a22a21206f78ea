// What a Backup synced from a bucket looks like (DESIGN 3.11): a name, two labels and a spec
// naming the location, nothing else. Its status is built from the manifest, every value checked
// or clipped so that a hostile manifest can neither break the status write (the CRD's formats)
// nor put text the schema does not expect into the object.
import { API_VERSION, LABEL_SYNCED, type Backup, type BackupStatus, type VolumeStatus } from '../../../common/src/crds.ts';
import type { Manifest } from '../../../common/src/format/manifest.ts';

/** Label on every Backup the sync loop created; value "true". */
export const syncedLabel = LABEL_SYNCED;
/** Label on every Backup the sync loop created; value: the BackupStorageLocation's name. */
export const locationLabel = 'cairn.dev/storage-location';

/**
 * At most this many entries in status.volumes (the progress sums still cover every volume):
 * 1000 entries of two 253-character names are about 600 KB, well inside etcd's 1.5 MiB.
 */
export const maxStatusVolumes = 1000;

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

export function syncedMessage(location: string): string {
  return `synced from BackupStorageLocation ${location}`;
}

/** The Backup to create: nothing from the bucket but its name. */
export function syncedBackup(namespace: string, name: string, location: string): Backup {
  return {
    apiVersion: API_VERSION,
    kind: 'Backup',
    metadata: { name, namespace, labels: { [syncedLabel]: 'true', [locationLabel]: location } },
    spec: { storageLocation: location },
  };
}

/** Whether `b` is exactly what `syncedBackup` creates for this location (labels and spec). */
export function isSyncedFrom(b: Backup, location: string): boolean {
  const labels = b.metadata.labels ?? {};
  const spec = b.spec as unknown as Record<string, unknown>;
  return labels[syncedLabel] === 'true' && labels[locationLabel] === location && Object.keys(spec).length === 1 && spec.storageLocation === location;
}

/** A manifest's timestamp as RFC 3339 (the CRD's date-time), or undefined when it is not one. */
export function timestamp(s: string): string | undefined {
  if (!rfc3339.test(s)) return undefined;
  const ms = Date.parse(s.toUpperCase());
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

const add = (a: number, b: number): number => Math.min(Number.MAX_SAFE_INTEGER, a + b);

/** The status of a Backup synced from `manifest` (already decoded and checked by decodeManifest). */
export function syncedStatus(manifest: Manifest, location: string): BackupStatus {
  let bytes = 0;
  let files = 0;
  for (const v of manifest.volumes) {
    bytes = add(bytes, v.bytes);
    files = add(files, v.files);
  }
  // The volume id is a checked DNS subdomain; the source PVC is free text in the manifest, used
  // only when it is a valid PVC name.
  const volumes = manifest.volumes.slice(0, maxStatusVolumes).map((v): VolumeStatus => {
    const pvc = v.source?.pvc;
    return { pvc: pvc !== undefined && pvc.length <= 253 && dnsSubdomain.test(pvc) ? pvc : v.id, volume: v.id, phase: 'Completed', bytes: v.bytes, files: v.files };
  });
  const status: BackupStatus = {
    phase: 'Completed',
    message: syncedMessage(location),
    volumes,
    progress: { totalBytes: bytes, bytesDone: bytes, totalFiles: files, filesDone: files },
  };
  const start = timestamp(manifest.createdAt);
  const end = timestamp(manifest.completedAt);
  if (start) status.startTimestamp = start;
  if (end) status.completionTimestamp = end;
  return status;
}
