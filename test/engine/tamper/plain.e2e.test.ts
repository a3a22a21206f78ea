// Integrity of an unencrypted backup against a writer of the bucket: a flipped byte in a pack or
// in the index fails the restore with CAIRN_E_CORRUPT naming the object; a manifest that names
// another backup or another backup's index is refused; a key given for a backup that has none is
// CAIRN_E_WRONG_KEY. Beside them, the untouched backup restores identical to its source.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { Secret } from '../../../common/src/secret.ts';
import { indexKey } from '../../../common/src/format/layout.ts';
import { copyObject, hostileSuite, listKeys, refused, restoreInto, treeState } from '../hostile/sandbox.ts';
import { backupOf, entriesOf, entry, flipAt, makeTree, manifestOf, packKeyOfEntry, rewrite } from './tamper-kit.ts';

const { box, stores } = hostileSuite(inject('cluster'));

/** A tree backed up twice (backups "a" and "b" of the same lineage) into a fresh store. */
async function setup(): Promise<{ src: string; dst: string; store: ReturnType<typeof stores.make>; a: Awaited<ReturnType<typeof backupOf>>; b: Awaited<ReturnType<typeof backupOf>> }> {
  const sb = await box();
  const src = join(sb.base, 'src');
  await mkdir(src);
  await makeTree(src);
  const store = stores.make('team-a', `tamper/${randomUUID()}`);
  const a = await backupOf(src, store, 'a');
  const b = await backupOf(src, store, 'b');
  return { src, dst: sb.target, store, a, b };
}

describe('tampering with an unencrypted backup', () => {
  it('benign twin: the untouched backup restores identical to its source', async () => {
    const s = await setup();
    const r = await restoreInto(s.store, 'b', s.dst);
    expect(r).toMatchObject({ files: 5, hardlinks: 1, symlinks: 1 });
    expect(await treeState(s.dst)).toEqual(await treeState(s.src));
  });

  for (const [where, at] of [['middle', 0.5], ['last byte (the frame checksum)', 1]] as const) {
    it(`a byte flipped in a pack (${where} of a frame) fails CAIRN_E_CORRUPT naming the pack`, async () => {
      const s = await setup();
      const big = entry(await entriesOf(s.store, s.b), 'big');
      const key = packKeyOfEntry(big);
      const frame = big.loc!.frames[1]!;
      const offset = big.loc!.offset + big.loc!.frames[0]! + Math.min(frame - 1, Math.floor(frame * at));
      await rewrite(s.store, key, flipAt(offset));
      // Fetching only one frame ahead: the frames behind the bad one must not keep the restore from ending.
      await refused(restoreInto(s.store, 'b', s.dst, { fetchAhead: 1 }), 'CAIRN_E_CORRUPT', key);
    });
  }

  for (const [where, at] of [['middle', 0.5], ['last byte', -1], ['second byte: the zstd magic number', 1]] as const) {
    it(`a byte flipped in the index (${where}) fails CAIRN_E_CORRUPT naming the index`, async () => {
      const s = await setup();
      await rewrite(s.store, s.b.volume.index, (buf) => flipAt(at === 0.5 ? Math.floor(buf.length / 2) : at)(buf));
      await refused(restoreInto(s.store, 'b', s.dst), 'CAIRN_E_CORRUPT', s.b.volume.index);
    });
  }

  it("backup a's index copied over backup b's is refused", async () => {
    const s = await setup();
    await copyObject(s.store, s.a.volume.index, s.store, s.b.volume.index);
    await refused(restoreInto(s.store, 'b', s.dst), 'CAIRN_E_CORRUPT', s.b.volume.index);
  });

  it("backup a's manifest copied over backup b's is refused (it names another backup)", async () => {
    const s = await setup();
    await copyObject(s.store, manifestOf('a'), s.store, manifestOf('b'));
    await refused(restoreInto(s.store, 'b', s.dst), 'CAIRN_E_CORRUPT', manifestOf('b'), '"a"');
  });

  it("a manifest that points at another backup's index (with that index's true SHA-256) is refused", async () => {
    const s = await setup();
    await rewrite(s.store, manifestOf('b'), (buf) => {
      const m = JSON.parse(buf.toString()) as { volumes: Array<{ index: string; indexSha256: string }> };
      m.volumes[0]!.index = indexKey('a', 'data');
      m.volumes[0]!.indexSha256 = s.a.volume.indexSha256;
      return Buffer.from(JSON.stringify(m));
    });
    await refused(restoreInto(s.store, 'b', s.dst), 'CAIRN_E_CORRUPT', manifestOf('b'), indexKey('a', 'data'));
  });

  it('a manifest whose index SHA-256 does not match the index is refused', async () => {
    const s = await setup();
    await rewrite(s.store, manifestOf('b'), (buf) => {
      const m = JSON.parse(buf.toString()) as { volumes: Array<{ indexSha256: string }> };
      m.volumes[0]!.indexSha256 = createHash('sha256').update('another index').digest('hex');
      return Buffer.from(JSON.stringify(m));
    });
    await refused(restoreInto(s.store, 'b', s.dst), 'CAIRN_E_CORRUPT', s.b.volume.index, 'SHA-256');
  });

  it('a key given for a backup written without one is CAIRN_E_WRONG_KEY', async () => {
    const s = await setup();
    await refused(restoreInto(s.store, 'b', s.dst, { key: new Secret(Buffer.alloc(32, 7)) }), 'CAIRN_E_WRONG_KEY', manifestOf('b'));
    expect((await listKeys(s.store)).filter((k) => k.endsWith('.pack')).length).toBeGreaterThan(0);
  });
});
