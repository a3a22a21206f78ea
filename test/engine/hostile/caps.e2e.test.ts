// Caps: depth, entry count, total size (maxBytes, the target's capacity) and decompression (a
// frame declaring more than 16 MiB, a frame whose declared size is far beyond what its bytes can
// hold, a frame that does not declare its size). Each over-cap archive fails with
// CAIRN_E_LIMIT_EXCEEDED (or CAIRN_E_FORMAT) naming the entry or the pack; its benign twin is
// large but allowed and restores byte for byte.
import { createHash } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Compressor } from 'zstd-napi';
import { describe, expect, inject, it } from 'vitest';
import { compressFrame } from '../../../common/src/format/zstd-frame.ts';
import { forged, noise, type ArchiveBuilder } from './archive-builder.ts';
import { MiB, hostileSuite, refused } from './sandbox.ts';

const { run } = hostileSuite(inject('cluster'));
const data = noise(1000, 5);

/** A tree a/b/c/... of `depth` directories with a file at the bottom (depth + 1 levels). */
function deep(depth: number): ArchiveBuilder {
  const names = 'abcdefghijklmnop'.slice(0, depth).split('');
  const b = forged().root();
  for (let i = 1; i <= depth; i++) b.dir(names.slice(0, i).join('/'));
  return b.file(`${names.join('/')}/z`, data);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('depth, entries and size', () => {
  it('refuses an entry deeper than maxDepth', async () => {
    const r = await run(deep(4), { maxDepth: 4 });
    await refused(r.restored, 'CAIRN_E_LIMIT_EXCEEDED', 'a/b/c/d/z', 'deeper than 4');
    await expect(lstat(join(r.box.target, 'a/b/c/d/z'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('benign twin: an entry exactly at maxDepth restores', async () => {
    const r = await run(deep(3), { maxDepth: 4 });
    await r.restored;
    expect(await readFile(join(r.box.target, 'a/b/c/z'))).toEqual(data);
  });

  it('refuses more entries than maxEntries', async () => {
    const b = forged().root();
    for (let i = 0; i < 6; i++) b.file(`f${i}`, data);
    const r = await run(b, { maxEntries: 6 });
    await refused(r.restored, 'CAIRN_E_LIMIT_EXCEEDED', 'more than 6 entries');
    await expect(lstat(join(r.box.target, 'f5'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('benign twin: exactly maxEntries entries restore', async () => {
    const b = forged().root();
    for (let i = 0; i < 5; i++) b.file(`f${i}`, data);
    const r = await run(b, { maxEntries: 6 });
    expect(await r.restored).toMatchObject({ files: 5, dirs: 1 });
  });

  it('refuses a 10 MiB file with maxBytes of 1 MiB, before writing it', async () => {
    const r = await run(forged().frameSize(4 * MiB).root().file('big', noise(10 * MiB, 9)), { maxBytes: MiB });
    await refused(r.restored, 'CAIRN_E_LIMIT_EXCEEDED', '"big"', `${MiB}-byte limit`);
    await expect(lstat(join(r.box.target, 'big'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses files that are each small but together exceed maxBytes', async () => {
    const part = noise(400 << 10, 2);
    const r = await run(forged().root().file('a', part).file('b', part).file('c', part), { maxBytes: MiB });
    await refused(r.restored, 'CAIRN_E_LIMIT_EXCEEDED', '"c"');
  });

  it('benign twin: a file of exactly maxBytes restores', async () => {
    const big = noise(MiB, 9);
    const r = await run(forged().frameSize(4 * MiB).root().file('big', big), { maxBytes: MiB });
    expect(await r.restored).toMatchObject({ bytes: MiB });
    expect(sha(await readFile(join(r.box.target, 'big')))).toBe(sha(big));
  });
});

describe('decompression bombs', () => {
  it('refuses a frame of 64 MiB of zeros (over the 16 MiB frame cap), naming the pack', async () => {
    const frame = compressFrame(Buffer.alloc(64 * MiB), 3);
    const r = await run(forged().root().fileFrames('bomb', 64 * MiB, [frame]));
    const err = await refused(r.restored, 'CAIRN_E_LIMIT_EXCEEDED', r.backup.packs[0]!.key, 'frame cap');
    expect(err.message).toContain(String(64 * MiB));
  });

  it('refuses a frame whose declared size is far beyond what its bytes can hold (ratio cap)', async () => {
    // 13 bytes: a frame header declaring 8 MiB, then one RLE block (which can hold at most 128 KiB).
    const lie = Buffer.alloc(13);
    lie.writeUInt32LE(0xfd2fb528, 0);
    lie[4] = 0xa0; // single segment, 4-byte content size, no checksum
    lie.writeUInt32LE(8 * MiB, 5);
    const bh = 1 | (1 << 1) | ((128 << 10) << 3); // last block, RLE, 128 KiB
    lie.writeUIntLE(bh, 9, 3);
    const r = await run(forged().root().fileFrames('bomb', 8 * MiB, [lie]));
    await refused(r.restored, 'CAIRN_E_LIMIT_EXCEEDED', r.backup.packs[0]!.key, 'ratio');
  });

  it('refuses a frame that does not declare its content size', async () => {
    const c = new Compressor();
    c.setParameters({ compressionLevel: 3, contentSizeFlag: false, checksumFlag: true });
    const r = await run(forged().root().fileFrames('sizeless', data.length, [c.compress(data)]));
    await refused(r.restored, 'CAIRN_E_FORMAT', r.backup.packs[0]!.key, 'content size');
  });

  it('benign twin: 8 MiB of zeros in one frame (about 30000:1) and 16 MiB in two restore', async () => {
    const eight = compressFrame(Buffer.alloc(8 * MiB), 3);
    const r = await run(forged().root().fileFrames('eight', 8 * MiB, [eight]).fileFrames('sixteen', 16 * MiB, [eight, eight]));
    expect(await r.restored).toMatchObject({ bytes: 24 * MiB });
    expect(sha(await readFile(join(r.box.target, 'eight')))).toBe(sha(Buffer.alloc(8 * MiB)));
    expect(sha(await readFile(join(r.box.target, 'sixteen')))).toBe(sha(Buffer.alloc(16 * MiB)));
  });
});
