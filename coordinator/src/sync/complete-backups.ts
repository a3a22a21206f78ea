// The backups a bucket holds complete: those whose manifest exists (it is written last, so its
// presence means complete; docs/format.md). The store lists keys without a delimiter, so this
// walks every key under cairn/v1/backups/ and keeps only the names, never the objects.
import { backupsPrefix } from '../../../common/src/format/layout.ts';
import type { ObjectStore } from '../../../common/src/store/object-store.ts';

const manifestSuffix = '/manifest.json';

/**
 * The names of `cairn/v1/backups/<name>/manifest.json` keys, sorted by code unit, unchecked: a
 * name may be anything the bucket's owner wrote (the caller checks it).
 */
export async function listCompleteBackups(store: ObjectStore, signal?: AbortSignal): Promise<string[]> {
  const names: string[] = [];
  for await (const o of store.list(backupsPrefix, signal ? { signal } : {})) {
    if (!o.key.startsWith(backupsPrefix) || !o.key.endsWith(manifestSuffix)) continue;
    const name = o.key.slice(backupsPrefix.length, -manifestSuffix.length);
    if (name !== '') names.push(name);
  }
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
