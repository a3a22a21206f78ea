// Integrity of an encrypted backup against a writer of the bucket who lacks the key: frames
// swapped or reordered within a pack, a truncated pack, an index without its final frame, and a
// pack, index or manifest copied from backup "a" over backup "b" are each detected
// (CAIRN_E_CORRUPT, or CAIRN_E_FORMAT for a downgraded object), never restored as something else;
// a wrong or missing key is CAIRN_E_WRONG_KEY. The untouched backup restores identical.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setAttribute } from 'fs-xattr';
import { describe, expect, inject, it } from 'vitest';
import { encodeManifest, type Manifest } from '../../../common/src/format/manifest.ts';
import { OBJECT_MAGIC, OBJECT_SALT_BYTES } from '../../../common/src/format/seal.ts';
import { Secret } from '../../../common/src/secret.ts';
import { copyObject, hostileSuite, refused, restoreInto, treeState } from '../hostile/sandbox.ts';
import { backupOf, entriesOf, entry, makeTree, manifestOf, packKeyOfEntry, rewrite, sealedFrames } from './tamper-kit.ts';

const { box, stores } = hostileSuite(inject('cluster'));

/** A tree backed up as "a" (unless `onlyB`) and "b", with one key, into a fresh store. */
async function setup(tree: (root: string) => Promise<void> = makeTree, onlyB = false): Promise<{ src: string; dst: string; key: Secret<Buffer>; store: ReturnType<typeof stores.make>; a: Awaited<ReturnType<typeof backupOf>> | undefined; b: Awaited<ReturnType<typeof backupOf>> }> {
  const sb = await box();
  const src = join(sb.base, 'src');
  await mkdir(src);
  await tree(src);
  const store = stores.make('team-a', `tamper/${randomUUID()}`);
  const key = new Secret(randomBytes(32));
  const a = onlyB ? undefined : await backupOf(src, store, 'a', key);
  const b = await backupOf(src, store, 'b', key);
  return { src, dst: sb.target, key, store, a, b };
}

/** The pack holding b's big file, and the sealed frames of that file's data (index order). */
async function bigFrames(s: Awaited<ReturnType<typeof setup>>): Promise<{ key: string; frames: Array<[number, number]> }> {
  const big = entry(await entriesOf(s.store, s.b, s.key), 'big');
  const key = packKeyOfEntry(big);
  const all = sealedFrames(await s.store.getObject(key));
  const first = all.findIndex(([off]) => off === big.loc!.offset);
  expect(first).toBeGreaterThanOrEqual(0);
  return { key, frames: all.slice(first, first + big.loc!.frames.length) };
}

describe('tampering with an encrypted backup', () => {
  it('benign twin: the untouched backup restores identical to its source', async () => {
    const s = await setup();
    await restoreInto(s.store, 'b', s.dst, { key: s.key });
    expect(await treeState(s.dst)).toEqual(await treeState(s.src));
  });

  it('two frames of the same size swapped within a pack fail authentication', async () => {
    const s = await setup();
    const { key, frames } = await bigFrames(s);
    const [f1, f2] = [frames[1]!, frames[2]!];
    expect(f1[1]).toBe(f2[1]); // same stored size: every offset in the index still lands on a frame
    await rewrite(s.store, key, (buf) => {
      const one = Buffer.from(buf.subarray(f1[0], f1[0] + f1[1]));
      buf.copy(buf, f1[0], f2[0], f2[0] + f2[1]);
      one.copy(buf, f2[0]);
      return buf;
    });
    await refused(restoreInto(s.store, 'b', s.dst, { key: s.key }), 'CAIRN_E_CORRUPT', key, 'authentication');
  });

  it('frames reordered within a pack (the first moved to the end) are detected', async () => {
    const s = await setup();
    const { key } = await bigFrames(s);
    await rewrite(s.store, key, (buf) => {
      const [f0] = sealedFrames(buf);
      return Buffer.concat([buf.subarray(f0![1]), buf.subarray(0, f0![1])]);
    });
    await refused(restoreInto(s.store, 'b', s.dst, { key: s.key }), 'CAIRN_E_CORRUPT', key);
  });

  it('a truncated pack is detected', async () => {
    const s = await setup();
    const { key, frames } = await bigFrames(s);
    const last = frames[frames.length - 1]!;
    await rewrite(s.store, key, (buf) => buf.subarray(0, last[0] + Math.floor(last[1] / 2)));
    await refused(restoreInto(s.store, 'b', s.dst, { key: s.key }), 'CAIRN_E_CORRUPT', key);
  });

  it('an index without its final frame is detected', async () => {
    // 300 files with a 3000-byte user.* xattr each: an index of more than one frame (about 1 MiB each).
    const s = await setup(async (root) => {
      await makeTree(root);
      await mkdir(join(root, 'many'));
      for (let i = 0; i < 300; i++) {
        const f = join(root, 'many', String(i).padStart(4, '0'));
        await writeFile(f, '');
        await setAttribute(f, 'user.pad', randomBytes(3000));
      }
    }, true);
    const idx = s.b.volume.index;
    let kept = 0;
    await rewrite(s.store, idx, (buf) => {
      expect(buf.subarray(0, 4)).toEqual(OBJECT_MAGIC);
      const frames = sealedFrames(buf, OBJECT_MAGIC.length + OBJECT_SALT_BYTES);
      expect(frames.length).toBeGreaterThan(1);
      kept = frames.length - 1;
      return buf.subarray(0, frames[frames.length - 1]![0]);
    });
    expect(kept).toBeGreaterThan(0);
    await refused(restoreInto(s.store, 'b', s.dst, { key: s.key }), 'CAIRN_E_CORRUPT', idx, 'truncated');
  });

  it("backup a's pack copied over backup b's (same lineage, same content) is detected", async () => {
    const s = await setup();
    const aBig = entry(await entriesOf(s.store, s.a!, s.key), 'big');
    const bBig = entry(await entriesOf(s.store, s.b, s.key), 'big');
    expect(aBig.loc!.pack).not.toBe(bBig.loc!.pack);
    expect(aBig.loc!.frames).toEqual(bBig.loc!.frames);
    await copyObject(s.store, packKeyOfEntry(aBig), s.store, packKeyOfEntry(bBig));
    await refused(restoreInto(s.store, 'b', s.dst, { key: s.key }), 'CAIRN_E_CORRUPT', packKeyOfEntry(bBig));
  });

  it("backup a's index copied over backup b's is detected", async () => {
    const s = await setup();
    await copyObject(s.store, s.a!.volume.index, s.store, s.b.volume.index);
    await refused(restoreInto(s.store, 'b', s.dst, { key: s.key }), 'CAIRN_E_CORRUPT', s.b.volume.index);
  });

  it("backup a's manifest copied over backup b's is detected", async () => {
    const s = await setup();
    await copyObject(s.store, manifestOf('a'), s.store, manifestOf('b'));
    await refused(restoreInto(s.store, 'b', s.dst, { key: s.key }), 'CAIRN_E_CORRUPT', manifestOf('b'));
  });

  it('a wrong key is CAIRN_E_WRONG_KEY, and so is no key', async () => {
    const s = await setup();
    await refused(restoreInto(s.store, 'b', s.dst, { key: new Secret(randomBytes(32)) }), 'CAIRN_E_WRONG_KEY', manifestOf('b'));
    await refused(restoreInto(s.store, 'b', s.dst), 'CAIRN_E_WRONG_KEY', manifestOf('b'));
  });

  it('a plain manifest put in place of the sealed one (a downgrade) is refused with the key and without it', async () => {
    const s = await setup();
    const plain: Manifest = { ...s.b.manifest!, encrypted: false };
    delete plain.keyFingerprint;
    await s.store.putObject(manifestOf('b'), encodeManifest(plain, manifestOf('b')));
    await refused(restoreInto(s.store, 'b', s.dst, { key: s.key }), 'CAIRN_E_WRONG_KEY', manifestOf('b'));
    // Without a key the plain manifest is read, but the index it names is sealed.
    await refused(restoreInto(s.store, 'b', s.dst), 'CAIRN_E_FORMAT', s.b.volume.index, 'encrypted');
  });
});
