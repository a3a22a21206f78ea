// The backup manifest: written last, with If-None-Match, so its presence means the backup is
// complete and a second run can never complete the same backup twice. Plain JSON, or a sealed
// envelope whose authenticated content binds it to its own key (a manifest cannot be moved to
// another backup's name).
import { CairnError } from '../errors.ts';
import { FORMAT_VERSION, checkBackupName, checkLineageId, checkPackId, checkVolumeId, indexKey } from './layout.ts';
import { ObjectSealer, keyFingerprint, openObject } from './seal.ts';

export interface VolumeRecord {
  id: string;
  lineage: string;
  /** Object key of the index, relative to the location's prefix. */
  index: string;
  indexSha256: string;
  entries: number;
  files: number;
  bytes: number;
  /** Bytes this backup uploaded (new packs and the index). */
  storedBytes: number;
  packs: string[];
  warnings: number;
  /** Free-form facts about the source (namespace, PVC, pod) for people and the sync loop. */
  source?: Record<string, string>;
}

export interface Manifest {
  cairn: 'backup-manifest';
  version: number;
  backup: string;
  createdAt: string;
  completedAt: string;
  encrypted: boolean;
  keyFingerprint?: string;
  /** Parent backup of an incremental run, for information. */
  parent?: string;
  volumes: VolumeRecord[];
  labels?: Record<string, string>;
}

export function encodeManifest(m: Manifest, objectKey: string, key?: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(m));
  if (!key) return json;
  const sealer = new ObjectSealer(key, objectKey);
  const sealed = Buffer.concat([sealer.header, sealer.seal(json, true)]);
  return Buffer.from(JSON.stringify({ cairn: 'backup-manifest', version: FORMAT_VERSION, encrypted: true, keyFingerprint: keyFingerprint(key), sealed: sealed.toString('base64') }));
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CairnError('CAIRN_E_FORMAT', `${where}: not a JSON object`);
  return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, k: string, where: string, max = 1024): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length > max) throw new CairnError('CAIRN_E_FORMAT', `${where}: ${k} must be a string of at most ${max} characters`);
  return v;
}

function num(o: Record<string, unknown>, k: string, where: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new CairnError('CAIRN_E_FORMAT', `${where}: ${k} must be a non-negative integer`);
  return v;
}

function strMap(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  const o = obj(v, where);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(o).slice(0, 64)) if (typeof x === 'string' && k.length <= 256 && x.length <= 1024) out[k] = x;
  return out;
}

/** Parses and validates a manifest read from the bucket (hostile input). */
export function decodeManifest(data: Buffer, objectKey: string, expectBackup: string, key?: Buffer): Manifest {
  const where = objectKey;
  if (data.length > 16 << 20) throw new CairnError('CAIRN_E_LIMIT_EXCEEDED', `${where}: manifest larger than 16 MiB`);
  let outer: Record<string, unknown>;
  try {
    outer = obj(JSON.parse(data.toString('utf8')), where);
  } catch (err) {
    if (err instanceof CairnError) throw err;
    throw new CairnError('CAIRN_E_FORMAT', `${where}: not JSON`);
  }
  if (outer.cairn !== 'backup-manifest' || outer.version !== FORMAT_VERSION) throw new CairnError('CAIRN_E_FORMAT', `${where}: not a Cairn v${FORMAT_VERSION} backup manifest`);
  let m = outer;
  if (outer.encrypted === true) {
    if (!key) throw new CairnError('CAIRN_E_WRONG_KEY', `${where}: the backup is encrypted and the location has no key`);
    if (outer.keyFingerprint !== keyFingerprint(key)) throw new CairnError('CAIRN_E_WRONG_KEY', `${where}: the backup was encrypted with a different key`);
    const sealed = Buffer.from(str(outer, 'sealed', where, 32 << 20), 'base64');
    m = obj(JSON.parse(openObject(key, objectKey, sealed).map((b) => b.toString('utf8')).join('')), where);
  } else if (key) {
    throw new CairnError('CAIRN_E_WRONG_KEY', `${where}: the location has a key but the backup is not encrypted`);
  }
  const backup = str(m, 'backup', where, 253);
  if (backup !== expectBackup) throw new CairnError('CAIRN_E_CORRUPT', `${where}: manifest names backup ${JSON.stringify(backup)}, not ${JSON.stringify(expectBackup)}`);
  checkBackupName(backup);
  const vols = m.volumes;
  if (!Array.isArray(vols) || vols.length > 10_000) throw new CairnError('CAIRN_E_FORMAT', `${where}: volumes must be a list of at most 10000`);
  const volumes = vols.map((v, i): VolumeRecord => {
    const w = `${where} volume ${i}`;
    const r = obj(v, w);
    const packs = r.packs;
    if (!Array.isArray(packs) || packs.length > 1_000_000) throw new CairnError('CAIRN_E_FORMAT', `${w}: packs must be a list`);
    const rec: VolumeRecord = {
      id: checkVolumeId(str(r, 'id', w, 253)), lineage: checkLineageId(str(r, 'lineage', w, 130)), index: str(r, 'index', w, 600),
      indexSha256: str(r, 'indexSha256', w, 64), entries: num(r, 'entries', w), files: num(r, 'files', w), bytes: num(r, 'bytes', w),
      storedBytes: num(r, 'storedBytes', w), packs: packs.map((p) => checkPackId(String(p))), warnings: num(r, 'warnings', w),
    };
    if (rec.index !== indexKey(backup, rec.id)) throw new CairnError('CAIRN_E_CORRUPT', `${w}: index key ${JSON.stringify(rec.index)} is not this backup's`);
    const source = strMap(r.source, w);
    if (source) rec.source = source;
    return rec;
  });
  const out: Manifest = {
    cairn: 'backup-manifest', version: FORMAT_VERSION, backup, createdAt: str(m, 'createdAt', where, 64), completedAt: str(m, 'completedAt', where, 64),
    encrypted: outer.encrypted === true, volumes,
  };
  if (typeof outer.keyFingerprint === 'string') out.keyFingerprint = outer.keyFingerprint;
  if (typeof m.parent === 'string') out.parent = checkBackupName(m.parent);
  const labels = strMap(m.labels, where);
  if (labels) out.labels = labels;
  return out;
}
