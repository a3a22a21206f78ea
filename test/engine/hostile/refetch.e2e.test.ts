// Work amplification: an index whose entries cycle through more frames than a restore keeps open
// makes it fetch and decompress the same frames again and again (a 1 MiB frame for each 1-byte
// file here). The restore refuses once the bytes it decompressed again pass those it fetched the
// first time plus 256 MiB (refetch-budget.ts), long before the index ends. Benign twin: the same
// entries and frames, each frame's entries together: every frame is fetched once and all restore.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import type { IndexEntry } from '../../../common/src/format/index-entry.ts';
import { forged, type ArchiveBuilder } from './archive-builder.ts';
import { hostileSuite, refused } from './sandbox.ts';

const { run } = hostileSuite(inject('cluster'));

const FRAMES = 300;
const ENTRIES = 9000;
const name = (i: number): string => `z${String(i).padStart(5, '0')}`;

/**
 * FRAMES packs of one frame each (a file of 1 MiB of zeros: a few hundred bytes stored), and
 * ENTRIES 1-byte files, entry i in frame `frameOf(i)`; the files the frames were made of are
 * not in the index.
 */
function pointing(frameOf: (i: number) => number): ArchiveBuilder {
  const b = forged().frameSize(2 << 20).root();
  for (let k = 0; k < FRAMES; k++) b.newPack().file(`base${k}`, Buffer.alloc(1 << 20));
  for (let i = 0; i < ENTRIES; i++) b.entry(name(i), { size: 1 });
  return b.order((entries: IndexEntry[]) => {
    const base = entries.filter((e) => e.path.toString().startsWith('base'));
    const rest = entries.filter((e) => !e.path.toString().startsWith('base'));
    rest.forEach((e, i) => {
      if (e.path.length > 0) e.loc = { ...base[frameOf(i - 1)]!.loc! };
    });
    return rest;
  });
}

describe('frames fetched again and again', () => {
  it('refuses an index that cycles through more frames than are kept open', async () => {
    const r = await run(pointing((i) => i % FRAMES));
    const err = await refused(r.restored, 'CAIRN_E_LIMIT_EXCEEDED', 'again and again', 'entry "z');
    // Refused as soon as the budget ran out: after about 557 frames fetched again, not 8700.
    const [, again, first] = /\((\d+) MiB decompressed again for (\d+) MiB of frames fetched once/.exec(err.message) ?? [];
    expect(Number(first)).toBeLessThanOrEqual(300);
    expect(Number(again)).toBeGreaterThanOrEqual(Number(first) + 255); // (both rounded to whole MiB)
    expect(Number(again)).toBeLessThan(Number(first) + 256 + 8);
  });

  it('benign twin: each frame\'s entries together restore, each frame fetched once', async () => {
    const r = await run(pointing((i) => Math.floor(i / (ENTRIES / FRAMES))));
    const res = await r.restored;
    expect(res.files).toBe(ENTRIES);
    expect(res.frameBytes).toEqual({ first: FRAMES * ((1 << 20) + 512), again: 0 });
    expect(await readFile(join(r.box.target, name(ENTRIES - 1)))).toEqual(Buffer.alloc(1));
  });
});
