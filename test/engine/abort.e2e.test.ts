// Cancelling: a backup or restore stops promptly when its signal aborts, and a cancelled backup
// leaves no multipart upload (no parts) behind in the bucket.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { backup, restore } from '../../agent/src/engine/index.ts';
import { keys, lineage, multipartUploads, scratch, tenantStore } from './helpers.ts';

const cluster = inject('cluster');

async function bigTree(): Promise<string> {
  const root = await scratch('abort');
  for (let i = 0; i < 12; i++) await writeFile(join(root, `big-${i}`), randomBytes(16 << 20));
  return root;
}

describe('cancellation', () => {
  it('aborts a backup promptly and leaves no parts or manifest', async () => {
    const store = tenantStore(cluster);
    const src = await bigTree();
    const ac = new AbortController();
    const started = Date.now();
    let abortedAt = 0;
    const run = backup(src, store, {
      backupName: 'cut', lineage, tuning: { partSize: 5 << 20 },
      onProgress: (p) => { if (p.bytesDone > 40 << 20 && !ac.signal.aborted) { abortedAt = Date.now(); ac.abort(); } },
      signal: ac.signal,
    });
    await expect(run).rejects.toMatchObject({ code: 'CAIRN_E_ABORTED' });
    expect(abortedAt).toBeGreaterThan(started);
    expect(Date.now() - abortedAt).toBeLessThan(3_000);
    expect(await multipartUploads(store)).toEqual([]);
    expect((await keys(store)).filter((k) => k.endsWith('manifest.json'))).toEqual([]);
  });

  it('aborts a restore promptly', async () => {
    const store = tenantStore(cluster);
    const src = await bigTree();
    await backup(src, store, { backupName: 'whole', lineage });
    const ac = new AbortController();
    let abortedAt = 0;
    const run = restore(store, 'whole', await scratch('abort-dst'), {
      maxBytes: 1 << 30, signal: ac.signal,
      onProgress: (p) => { if (p.bytesDone > 16 << 20 && !ac.signal.aborted) { abortedAt = Date.now(); ac.abort(); } },
    });
    await expect(run).rejects.toMatchObject({ code: 'CAIRN_E_ABORTED' });
    expect(Date.now() - abortedAt).toBeLessThan(3_000);
  });
});
