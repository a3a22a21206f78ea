// Where everything lives in the bucket (format v1), relative to the location's prefix:
//   cairn/v1/backups/<backup>/manifest.json           written last: its presence means complete
//   cairn/v1/backups/<backup>/volumes/<id>.index.zst   the volume's file index
//   cairn/v1/packs/<lineage>/<pack-id>.pack            data: zstd frames that decompress to tar
//   cairn/v1/locks/<name>                              locks taken by conditional PUT
import { randomBytes } from 'node:crypto';
import { CairnError } from '../errors.ts';

export const FORMAT_VERSION = 1;
export const ROOT = 'cairn/v1';

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const lineagePart = /^[a-z0-9]([-a-z0-9]{0,62}[a-z0-9])?$/;
const packIdPattern = /^[0-9a-f]{12}-[0-9a-f]{32}$/;

function check(ok: boolean, field: string, value: string, allowed: string): void {
  if (!ok) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `${field} ${JSON.stringify(value.slice(0, 80))} is not allowed: ${allowed}`);
}

export function checkBackupName(name: string): string {
  check(name.length <= 253 && dnsSubdomain.test(name), 'backup name', name, 'a DNS-1123 subdomain (lowercase letters, digits, "-" and ".")');
  return name;
}

export function checkVolumeId(id: string): string {
  check(id.length <= 253 && dnsSubdomain.test(id), 'volume id', id, 'a DNS-1123 subdomain');
  return id;
}

export interface Lineage {
  clusterUid: string;
  pvcUid: string;
}

/** The lineage of a volume: backups of the same PVC of the same cluster share its packs. */
export function lineageId(l: Lineage): string {
  check(lineagePart.test(l.clusterUid), 'lineage cluster UID', l.clusterUid, 'lowercase letters, digits and "-", at most 64');
  check(lineagePart.test(l.pvcUid), 'lineage PVC UID', l.pvcUid, 'lowercase letters, digits and "-", at most 64');
  return `${l.clusterUid}.${l.pvcUid}`;
}

export function checkLineageId(id: string): string {
  const [c, p, ...rest] = id.split('.');
  check(rest.length === 0 && c !== undefined && p !== undefined && lineagePart.test(c) && lineagePart.test(p), 'lineage', id, '<cluster-uid>.<pvc-uid>');
  return id;
}

/** Pack ids sort by creation time (12 hex digits of milliseconds), then 128 random bits. */
export function newPackId(now = Date.now()): string {
  return `${now.toString(16).padStart(12, '0')}-${randomBytes(16).toString('hex')}`;
}

export function checkPackId(id: string): string {
  check(packIdPattern.test(id), 'pack id', id, '12 hex digits, "-", 32 hex digits');
  return id;
}

export const backupsPrefix = `${ROOT}/backups/`;
export const packsPrefix = `${ROOT}/packs/`;
export const backupPrefix = (backup: string): string => `${backupsPrefix}${checkBackupName(backup)}/`;
export const manifestKey = (backup: string): string => `${backupPrefix(backup)}manifest.json`;
export const indexKey = (backup: string, volumeId: string): string => `${backupPrefix(backup)}volumes/${checkVolumeId(volumeId)}.index.zst`;
export const lineagePrefix = (lineage: string): string => `${packsPrefix}${checkLineageId(lineage)}/`;
export const packKeyOf = (lineage: string, packId: string): string => `${lineagePrefix(lineage)}${checkPackId(packId)}.pack`;
export const lockKey = (name: string): string => `${ROOT}/locks/${name}`;

/** Parses `cairn/v1/packs/<lineage>/<pack-id>.pack`; undefined for any other key. */
export function parsePackKey(key: string): { lineage: string; packId: string } | undefined {
  const m = /^cairn\/v1\/packs\/([^/]+)\/([^/]+)\.pack$/.exec(key);
  if (!m) return undefined;
  try {
    return { lineage: checkLineageId(m[1]!), packId: checkPackId(m[2]!) };
  } catch {
    return undefined;
  }
}
