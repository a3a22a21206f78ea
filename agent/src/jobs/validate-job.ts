// Strict validation of a job from the coordinator: every field has a closed shape, and nothing
// that could be a path is accepted (the agent builds the kubelet path itself from checked parts).
// A bad field fails with CAIRN_E_INVALID_ARGUMENT naming it and what is allowed.
import { isIP } from 'node:net';
import { CairnError } from '../../../common/src/errors.ts';
import type { BackupJob, JobIdentity, RestoreJob, StorageTarget, VolumeRef } from '../../../common/src/generated/proto/agent.ts';
import type { SandboxJob, StorageConfig } from './sandbox-job.ts';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const csiDriver = /^(?=.{1,63}$)[a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?$/;
const jobId = /^[A-Za-z0-9._-]{1,128}$/;
const lineagePart = /^[a-z0-9]([-a-z0-9]{0,62}[a-z0-9])?$/;

export const defaultPluginDirs = ['kubernetes.io~csi', 'kubernetes.io~nfs'] as const;

function bad(field: string, allowed: string): never {
  throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `${field} is not allowed: ${allowed}`);
}

function match(value: string | undefined, re: RegExp, field: string, allowed: string): string {
  if (value === undefined || !re.test(value)) bad(field, allowed);
  return value;
}

export interface ValidVolume {
  podUid: string;
  volumeName: string;
  pluginDir: string;
  pvName: string;
  source: { kind: 'csi'; driver: string; volumeHandle: string } | { kind: 'nfs'; server: string; path: string };
}

export function validateIdentity(id: JobIdentity | undefined, kind: 'Backup' | 'Restore'): JobIdentity {
  if (!id) bad('identity', 'required');
  match(id.jobId, jobId, 'identity.jobId', '1-128 of A-Z a-z 0-9 . _ -');
  match(id.namespace, dnsLabel, 'identity.namespace', 'a DNS-1123 label');
  if (id.ownerKind !== kind) bad('identity.ownerKind', kind);
  match(id.ownerName, dnsSubdomain, 'identity.ownerName', 'a DNS-1123 subdomain');
  return id;
}

/** Normalises an NFS export path: absolute, no "." or ".." or empty components, no NUL. */
export function normaliseNfsPath(path: string): string {
  if (!path.startsWith('/') || path.includes('\0') || path.length > 4096) bad('volume.nfs.path', 'an absolute path without NUL, at most 4096 bytes');
  const parts = path.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '.' || p === '..')) bad('volume.nfs.path', 'no "." or ".." components');
  return `/${parts.join('/')}`;
}

export function validateVolume(v: VolumeRef | undefined, pluginDirs: readonly string[]): ValidVolume {
  if (!v) bad('volume', 'required');
  const podUid = match(v.podUid, uuid, 'volume.podUid', 'a lowercase UUID');
  const volumeName = match(v.volumeName, dnsLabel, 'volume.volumeName', 'a DNS-1123 label');
  if (!pluginDirs.includes(v.pluginDir)) bad('volume.pluginDir', `one of ${pluginDirs.join(', ')}`);
  const pvName = match(v.pvName, dnsSubdomain, 'volume.pvName', 'a DNS-1123 subdomain');
  const s = v.source;
  if (s?.$case === 'csi') {
    if (v.pluginDir !== 'kubernetes.io~csi') bad('volume.pluginDir', 'kubernetes.io~csi for a CSI volume');
    const driver = match(s.value.driver, csiDriver, 'volume.csi.driver', 'a CSI driver name (DNS-1123 subdomain, at most 63)');
    const h = s.value.volumeHandle;
    if (h.length === 0 || h.length > 4096 || h.includes('\0')) bad('volume.csi.volumeHandle', 'non-empty, at most 4096 bytes, no NUL');
    return { podUid, volumeName, pluginDir: v.pluginDir, pvName, source: { kind: 'csi', driver, volumeHandle: h } };
  }
  if (s?.$case === 'nfs') {
    if (v.pluginDir !== 'kubernetes.io~nfs') bad('volume.pluginDir', 'kubernetes.io~nfs for an NFS volume');
    const server = s.value.server;
    if (!(isIP(server) !== 0 || dnsSubdomain.test(server))) bad('volume.nfs.server', 'an IP address or a DNS name');
    return { podUid, volumeName, pluginDir: v.pluginDir, pvName, source: { kind: 'nfs', server, path: normaliseNfsPath(s.value.path) } };
  }
  bad('volume.source', 'a CSI or NFS source');
}

export function validateStorage(s: StorageTarget | undefined): StorageConfig {
  if (!s) bad('storage', 'required');
  let url: URL;
  try {
    url = new URL(s.endpoint);
  } catch {
    bad('storage.endpoint', 'an http(s) URL');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search || url.hash) bad('storage.endpoint', 'an http(s) URL without credentials, query or fragment');
  if (isIP(s.pinnedAddress) === 0) bad('storage.pinnedAddress', 'the IP address the coordinator resolved the endpoint to');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s.bucket)) bad('storage.bucket', 'an S3 bucket name');
  if (s.prefix.length > 512 || s.prefix.split('/').some((p) => p === '..' || p === '.') || s.prefix.includes('\0')) bad('storage.prefix', 'at most 512 bytes, no "." or ".." segments');
  if (!/^[a-z0-9-]{1,64}$/.test(s.region || 'us-east-1')) bad('storage.region', 'e.g. us-east-1');
  const c = s.credentials;
  if (!c || c.accessKeyId.length === 0 || c.secretAccessKey.length === 0 || c.accessKeyId.length > 256 || c.secretAccessKey.length > 256) bad('storage.credentials', 'an access key id and a secret access key');
  if (s.encryptionKey !== undefined && s.encryptionKey.length !== 32) bad('storage.encryptionKey', 'exactly 32 bytes when present');
  return {
    endpoint: url.href, pinnedAddress: s.pinnedAddress, bucket: s.bucket, prefix: s.prefix, region: s.region || 'us-east-1', forcePathStyle: s.forcePathStyle,
    ...(s.caCertPem ? { caCertPem: s.caCertPem } : {}), accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey,
    ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}), ...(s.encryptionKey !== undefined ? { encryptionKey: Buffer.from(s.encryptionKey).toString('base64') } : {}),
  };
}

export interface ValidJob {
  identity: JobIdentity;
  volume: ValidVolume;
  sandbox: SandboxJob;
}

export function validateBackupJob(j: BackupJob, pluginDirs: readonly string[] = defaultPluginDirs): ValidJob {
  const identity = validateIdentity(j.identity, 'Backup');
  const volume = validateVolume(j.volume, pluginDirs);
  const storage = validateStorage(j.storage);
  match(j.backupName, dnsSubdomain, 'backupName', 'a DNS-1123 subdomain');
  match(j.volumeId, dnsSubdomain, 'volumeId', 'a DNS-1123 subdomain');
  if (!j.lineage) bad('lineage', 'required');
  match(j.lineage.clusterUid, lineagePart, 'lineage.clusterUid', 'lowercase letters, digits and "-"');
  match(j.lineage.pvcUid, lineagePart, 'lineage.pvcUid', 'lowercase letters, digits and "-"');
  if (j.parentBackup !== undefined) match(j.parentBackup, dnsSubdomain, 'parentBackup', 'a DNS-1123 subdomain');
  return {
    identity, volume,
    sandbox: {
      kind: 'backup', storage, backupName: j.backupName, volumeId: j.volumeId, lineage: { clusterUid: j.lineage.clusterUid, pvcUid: j.lineage.pvcUid },
      ...(j.parentBackup !== undefined ? { parent: j.parentBackup } : {}), source: { namespace: identity.namespace, pv: volume.pvName, podUid: volume.podUid },
    },
  };
}

export function validateRestoreJob(j: RestoreJob, pluginDirs: readonly string[] = defaultPluginDirs): ValidJob {
  const identity = validateIdentity(j.identity, 'Restore');
  const volume = validateVolume(j.volume, pluginDirs);
  const storage = validateStorage(j.storage);
  match(j.backupName, dnsSubdomain, 'backupName', 'a DNS-1123 subdomain');
  match(j.sourceVolumeId, dnsSubdomain, 'sourceVolumeId', 'a DNS-1123 subdomain');
  if (j.paths.length > 1000) bad('paths', 'at most 1000');
  for (const p of j.paths) {
    const s = Buffer.from(p);
    if (s.length === 0 || s.length > 4095 || s.includes(0) || s[0] === 0x2f || s.toString('latin1').split('/').some((c) => c === '..' || c === '.' || c === '')) {
      bad('paths', 'relative paths without ".", ".." or empty components, NUL or a leading "/"');
    }
  }
  if (!Number.isSafeInteger(j.maxBytes) || j.maxBytes <= 0) bad('maxBytes', 'a positive byte count (the target volume capacity)');
  return {
    identity, volume,
    sandbox: { kind: 'restore', storage, backupName: j.backupName, volumeId: j.sourceVolumeId, paths: j.paths.map((p) => Buffer.from(p).toString('base64')), maxBytes: j.maxBytes },
  };
}
