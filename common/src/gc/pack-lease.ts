// A running incremental backup reuses packs of its parent. Until its own index is complete, a
// lease object names those packs, so a garbage collection that runs meanwhile (after the parent
// was deleted, say) keeps them. Leases expire; a backup removes its own when it is done.
import { CairnError } from '../errors.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { ROOT, checkBackupName, checkLineageId, checkPackId } from '../format/layout.ts';

export const leasesPrefix = `${ROOT}/leases/`;

export interface PackLease {
  backup: string;
  lineage: string;
  packs: string[];
  expiresAt: number;
}

export const leaseKey = (lineage: string, backup: string): string => `${leasesPrefix}${checkLineageId(lineage)}/${checkBackupName(backup)}.json`;

export async function writeLease(store: ObjectStore, lease: PackLease, signal?: AbortSignal): Promise<string> {
  const key = leaseKey(lease.lineage, lease.backup);
  await store.putObject(key, Buffer.from(JSON.stringify(lease)), { contentType: 'application/json', ...(signal ? { signal } : {}) });
  return key;
}

export function decodeLease(data: Buffer, where: string): PackLease {
  try {
    const v = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    if (!Array.isArray(v.packs) || typeof v.expiresAt !== 'number') throw new Error('shape');
    return { backup: checkBackupName(String(v.backup)), lineage: checkLineageId(String(v.lineage)), packs: v.packs.map((p) => checkPackId(String(p))), expiresAt: v.expiresAt };
  } catch {
    throw new CairnError('CAIRN_E_FORMAT', `${where}: not a pack lease`);
  }
}
