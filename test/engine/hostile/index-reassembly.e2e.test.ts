// Regression for a finding of the restore fuzzer (test/fuzz/): the index reader searched the
// whole unfinished line again for every new frame, and copied the whole unfinished frame again
// for every new chunk of the stream. An index whose long line arrives in many tiny frames (a
// 1 MiB line in 8-byte frames: 130 s, and an index may hold many such lines), or whose frame
// arrives in tiny chunks from the endpoint (the tenant's; a 6 MiB frame in 64-byte chunks:
// 130 s), kept a node's CPU busy for time quadratic in its size. Both are linear now (2 s and
// 0.4 s on the same busy machine). Benign twin: a legit index cut into tiny frames and delivered
// in tiny chunks restores.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, inject, it } from 'vitest';
import { compressFrame, decompressFrame, splitFrames } from '../../../common/src/format/zstd-frame.ts';
import type { ObjectStore } from '../../../common/src/store/object-store.ts';
import { forged, noise, type ArchiveBuilder, type ForgedBackup } from './archive-builder.ts';
import { hostileSuite, namesIn, refused, restoreInto, type Sandbox } from './sandbox.ts';

const { stores, box } = hostileSuite(inject('cluster'));

async function written(archive: ArchiveBuilder): Promise<{ b: Sandbox; store: ObjectStore; backup: ForgedBackup }> {
  const b = await box();
  const store = stores.make();
  return { b, store, backup: await archive.write(store, 'b1') };
}

/** The index text of a forged unencrypted backup. */
async function indexText(store: ObjectStore, b: ForgedBackup): Promise<Buffer> {
  const raw = await store.getObject(b.indexKey);
  return Buffer.concat([...splitFrames(raw, b.indexKey)].map((f) => decompressFrame(f, { maxFrameBytes: 16 << 20, maxRatio: 100_000 }, b.indexKey)));
}

/** Replaces the index of a forged (unencrypted) backup with `text` cut into frames of `frameBytes`. */
async function rewriteIndex(store: ObjectStore, b: ForgedBackup, text: Buffer, frameBytes: number): Promise<void> {
  const frames: Buffer[] = [];
  for (let pos = 0; pos < text.length; pos += frameBytes) frames.push(compressFrame(text.subarray(pos, pos + frameBytes), 1));
  const body = Buffer.concat(frames);
  await store.putObject(b.indexKey, body);
  const m = JSON.parse((await store.getObject(b.manifestKey)).toString()) as { volumes: Array<{ indexSha256: string }> };
  m.volumes[0]!.indexSha256 = createHash('sha256').update(body).digest('hex');
  await store.putObject(b.manifestKey, Buffer.from(JSON.stringify(m)));
}

/** The store, with the index's stream delivered in chunks of `chunkBytes` (as a slow endpoint would). */
function chunked(store: ObjectStore, indexKey: string, chunkBytes: number): ObjectStore {
  const rechunk = async function* (s: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const c of s) for (let i = 0; i < c.length; i += chunkBytes) yield c.subarray(i, i + chunkBytes);
  };
  return new Proxy(store, {
    get(t, p): unknown {
      if (p === 'getObjectStream') {
        return async (k: string, o: Parameters<ObjectStore['getObjectStream']>[1]): Promise<Readable> => {
          const s = await t.getObjectStream(k, o);
          return k === indexKey ? Readable.from(rechunk(s)) : s;
        };
      }
      const v: unknown = Reflect.get(t, p, t);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

const header = (b: ForgedBackup): string => JSON.stringify({ cairn: 'index', version: 1, backup: b.backup, volume: b.volumeId, lineage: b.lineage, encrypted: false });

describe('index reassembly', () => {
  it('refuses a line of more than 1 MiB that arrives in 8-byte frames, quickly (CAIRN_E_LIMIT_EXCEEDED)', async () => {
    const { b, store, backup } = await written(forged().root().file('f', noise(100)));
    await rewriteIndex(store, backup, Buffer.from(`${header(backup)}\n{"path":"${'x'.repeat((1 << 20) + 100)}`), 8);
    const before = await b.outsideState();
    const started = Date.now();
    await refused(restoreInto(store, 'b1', b.target), 'CAIRN_E_LIMIT_EXCEEDED', backup.indexKey, 'a line longer than');
    // 131000 frames: 2 s; the quadratic reader took 130 s.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await b.outsideState()).toEqual(before);
    expect(await namesIn(b.target)).toEqual([]);
  });

  it('refuses a 6 MiB index frame of junk delivered in 64-byte chunks, quickly (CAIRN_E_FORMAT)', async () => {
    const { b, store, backup } = await written(forged().root().file('f', noise(100)));
    const junk = Buffer.from(noise(4_700_000, 9).toString('base64').replace(/(.{120})/g, '$1\n'));
    await rewriteIndex(store, backup, Buffer.concat([Buffer.from(`${header(backup)}\n`), junk]), 8 << 20);
    const started = Date.now();
    await refused(restoreInto(chunked(store, backup.indexKey, 64), 'b1', b.target), 'CAIRN_E_FORMAT', backup.indexKey, 'line 2', 'not JSON');
    // Some 75000 chunks: 0.4 s; the quadratic reader took 130 s.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await namesIn(b.target)).toEqual([]);
  });

  it('benign twin: a legit index cut into 7-byte frames and delivered in 5-byte chunks restores', async () => {
    const data = noise(3000, 4);
    const { b, store, backup } = await written(forged().root().dir('d').file('d/a', data).file('d/b', Buffer.from('b\n')).symlink('d/l', 'a'));
    await rewriteIndex(store, backup, await indexText(store, backup), 7);
    expect(await restoreInto(chunked(store, backup.indexKey, 5), 'b1', b.target)).toMatchObject({ files: 2, symlinks: 1, dirs: 2 });
    expect(await namesIn(join(b.target, 'd'))).toEqual(['a', 'b', 'l']);
    expect(await readFile(join(b.target, 'd/a'))).toEqual(data);
  });
});
