// The backup manifest writer: the manifest is written last and only once (If-None-Match), so
// its presence means the backup is complete and a second run fails CAIRN_E_STORE_EXISTS.
import type { Secret } from '../secret.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { checkBackupName, manifestKey } from './layout.ts';
import { encodeManifest, type Manifest, type VolumeRecord } from './manifest.ts';
import { checkKey, keyFingerprint } from './seal.ts';

export interface ManifestOptions {
  key?: Secret<Buffer> | undefined;
  signal?: AbortSignal;
  createdAt?: Date;
  parent?: string;
  labels?: Record<string, string>;
}

export async function writeManifest(store: ObjectStore, backupName: string, volumes: VolumeRecord[], o: ManifestOptions = {}): Promise<Manifest> {
  const key = o.key ? checkKey(o.key) : undefined;
  const m: Manifest = {
    cairn: 'backup-manifest', version: 1, backup: checkBackupName(backupName), createdAt: (o.createdAt ?? new Date()).toISOString(), completedAt: new Date().toISOString(),
    encrypted: key !== undefined, ...(key ? { keyFingerprint: keyFingerprint(key) } : {}), ...(o.parent ? { parent: o.parent } : {}), volumes, ...(o.labels ? { labels: o.labels } : {}),
  };
  const mk = manifestKey(backupName);
  await store.putObject(mk, encodeManifest(m, mk, key), { ifNoneMatch: true, contentType: 'application/json', ...(o.signal ? { signal: o.signal } : {}) });
  return m;
}

