// Regression for a finding: an incremental backup hung when a changed file was followed by more
// unchanged entries than may wait for the index (their frame never filled, so nothing resolved).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { backup, restore } from '../../agent/src/engine/index.ts';
import { digestTree, lineage, scratch, tenantStore } from './helpers.ts';

const cluster = inject('cluster');

describe('index entries waiting for a frame', () => {
  it('an incremental backup with a changed file before many unchanged ones completes', async () => {
    const store = tenantStore(cluster);
    const src = await scratch('pending');
    for (let i = 0; i < 400; i++) await writeFile(join(src, `f${String(i).padStart(4, '0')}`), `file ${i}`);
    const tuning = { indexPending: 50 };
    await backup(src, store, { backupName: 'full', lineage, tuning });
    await writeFile(join(src, 'f0000'), 'changed first file');
    const inc = await backup(src, store, { backupName: 'inc', lineage, parent: 'full', tuning });
    expect(inc.filesRead).toBe(1);
    const dst = await scratch('pending-dst');
    await restore(store, 'inc', dst, { maxBytes: 1 << 30 });
    const got = await digestTree(dst);
    const want = await digestTree(src);
    got.delete('');
    want.delete('');
    expect(got).toEqual(want);
  }, 60_000);
});
