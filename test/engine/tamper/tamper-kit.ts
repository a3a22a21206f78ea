// Tools of the tamper suites: a small generated tree, real backups of it with the engine, the
// index read back to find where file data lies, and byte-level edits of objects in the bucket.
import { link, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { CompressPool, backup, type BackupResult } from '../../../agent/src/engine/index.ts';
import { openIndex } from '../../../common/src/format/index-object.ts';
import type { IndexEntry } from '../../../common/src/format/index-entry.ts';
import { manifestKey, packKeyOf } from '../../../common/src/format/layout.ts';
import type { Secret } from '../../../common/src/secret.ts';
import type { ObjectStore } from '../../../common/src/store/object-store.ts';
import { defaultReadLimits } from '../../../agent/src/engine/read-limits.ts';
import { noise } from '../hostile/archive-builder.ts';

export const lineage = { clusterUid: 'tamper-cluster', pvcUid: 'pvc-1' };

/** Frames of 64 KiB, so the 320 KiB file spans several frames of equal stored size. */
export const tuning = { frameBytes: 64 << 10 };

/** A small tree: a file spanning frames, small files, a symlink, a hardlink pair, an empty file. */
export async function makeTree(root: string, seed = 1): Promise<void> {
  await mkdir(join(root, 'a'));
  await writeFile(join(root, 'a/one'), noise(20_000, seed));
  await writeFile(join(root, 'a/two'), 'two\n'.repeat(500));
  await writeFile(join(root, 'big'), noise(320 << 10, seed + 1));
  await writeFile(join(root, 'empty'), '');
  await writeFile(join(root, 'h1'), noise(3000, seed + 2));
  await link(join(root, 'h1'), join(root, 'h2'));
  await symlink('a/one', join(root, 'link'));
}

let pool: CompressPool | undefined;
afterAll(async () => {
  await pool?.close();
  pool = undefined;
});

/** A backup with the engine (one compression pool per test file, as the agent keeps one). */
export function backupOf(root: string, store: ObjectStore, backupName: string, key?: Secret<Buffer>): Promise<BackupResult> {
  pool ??= new CompressPool(2);
  return backup(root, store, { backupName, lineage, tuning, pool, ...(key ? { key } : {}) });
}

/** The entries of a backup's (only) volume, read with the format codec. */
export async function entriesOf(store: ObjectStore, b: BackupResult, key?: Secret<Buffer>): Promise<IndexEntry[]> {
  const reader = await openIndex(await store.getObjectStream(b.volume.index), {
    objectKey: b.volume.index, expectSha256: b.volume.indexSha256, limits: defaultReadLimits, ...(key ? { key: key.reveal() } : {}),
  });
  const out: IndexEntry[] = [];
  for (;;) {
    const r = await reader.entries.next();
    if (r.done) return out;
    out.push(r.value);
  }
}

export function entry(entries: IndexEntry[], path: string): IndexEntry {
  const e = entries.find((x) => x.path.toString() === path);
  if (!e) throw new Error(`no entry ${path}`);
  return e;
}

export const packKeyOfEntry = (e: IndexEntry): string => packKeyOf(`${lineage.clusterUid}.${lineage.pvcUid}`, e.loc!.pack);
export const manifestOf = (backupName: string): string => manifestKey(backupName);

/** Rewrites an object with `edit` applied to its bytes. */
export async function rewrite(store: ObjectStore, key: string, edit: (b: Buffer) => Buffer): Promise<void> {
  await store.putObject(key, edit(Buffer.from(await store.getObject(key))));
}

/** Flips every bit of the byte at `at` (negative: from the end). */
export const flipAt = (at: number) => (b: Buffer): Buffer => {
  const i = at < 0 ? b.length + at : at;
  b[i] = b[i]! ^ 0xff;
  return b;
};

/** Sealed frames of an encrypted pack or object body: [offset, length] of each (u32 BE length prefix). */
export function sealedFrames(b: Buffer, start = 0): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let pos = start; pos < b.length;) {
    const len = 4 + b.readUInt32BE(pos);
    out.push([pos, len]);
    pos += len;
  }
  return out;
}
