// A hostile index: data locations outside their pack or in another lineage's (or tenant's)
// prefix, entries out of order, duplicated, without their parent directory or below a file, a
// root that is missing or repeated, and locations that do not add up. Each is refused
// (CAIRN_E_CORRUPT for locations, CAIRN_E_HOSTILE_ARCHIVE for the tree's shape) naming the entry
// or the object; other lineages are never read. Benign twins of the same shapes restore.
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { lineageId, lineagePrefix, packKeyOf } from '../../../common/src/format/layout.ts';
import { forged, noise } from './archive-builder.ts';
import { copyObject, hostileSuite, recording, refused, restoreInto } from './sandbox.ts';

const { box, run, refusedCleanly, stores } = hostileSuite(inject('cluster'));
const x = noise(4000, 21);
const y = noise(7000, 22);
const otherLineage = lineageId({ clusterUid: 'hostile-cluster', pvcUid: 'pvc-2' });

describe('data locations', () => {
  it('refuses an entry whose frame starts beyond the end of its pack', async () => {
    const r = await run(forged().root().file('x', x).raw((e, l) => {
      e.loc!.offset = l.packs[0]!.size + 10;
    }));
    await refused(r.restored, 'CAIRN_E_CORRUPT', r.backup.packs[0]!.key, 'outside its pack');
  });

  it('refuses an entry whose frame runs past the end of its pack', async () => {
    const r = await run(forged().root().file('x', x).raw((e, l) => {
      e.loc!.frames = [l.packs[0]!.size];
    }));
    await refused(r.restored, 'CAIRN_E_CORRUPT', r.backup.packs[0]!.key, 'outside its pack');
  });

  it('benign twin: the same archive with its true locations restores', async () => {
    const r = await run(forged().root().file('x', x).file('y', y));
    await r.restored;
    expect(await readFile(join(r.box.target, 'x'))).toEqual(x);
    expect(await readFile(join(r.box.target, 'y'))).toEqual(y);
  });

  it("refuses a pack that exists only under another lineage's prefix, and never reads that prefix", async () => {
    const r = await run(forged().root().file('x', x).file('y', y));
    await r.restored;
    // Move the pack to another lineage of the same bucket and prefix.
    const pack = r.backup.packs[0]!;
    await copyObject(r.store, pack.key, r.store, packKeyOf(otherLineage, pack.id));
    await r.store.deleteObject(pack.key);
    const rec = recording(r.store);
    const target = join(r.box.base, 'again');
    await mkdir(target);
    await refused(restoreInto(rec.store, 'b1', target), 'CAIRN_E_CORRUPT', pack.key, 'missing');
    expect(rec.reads.filter((k) => k.startsWith(lineagePrefix(otherLineage)))).toEqual([]);
    expect(rec.reads).toContain(pack.key);
  });

  it("refuses a pack that exists only in the other tenant's bucket", async () => {
    const prefix = `hostile/${randomUUID()}`;
    const mine = stores.make('team-a', prefix);
    const theirs = stores.make('team-b', prefix);
    const b = await forged().root().file('x', x).write(mine, 'b1');
    const pack = b.packs[0]!;
    await copyObject(mine, pack.key, theirs);
    await mine.deleteObject(pack.key);
    const sb = await box();
    const before = await sb.outsideState();
    await refused(restoreInto(mine, 'b1', sb.target), 'CAIRN_E_CORRUPT', pack.key, 'missing');
    expect(await sb.outsideState()).toEqual(before);
  });

  it("refuses a manifest whose volume claims another lineage than its index", async () => {
    await refusedCleanly(forged().root().file('x', x).manifest((m) => {
      m.volumes[0]!.lineage = otherLineage;
    }), 'CAIRN_E_CORRUPT', 'index header does not belong');
  });

  it('refuses an index whose header names another backup', async () => {
    await refusedCleanly(forged().root().file('x', x).indexHeader({ backup: 'b0' }), 'CAIRN_E_CORRUPT', 'index header does not belong');
  });

  it('refuses a non-empty file without a data location', async () => {
    await refusedCleanly(forged().root().entry('x', { size: 100 }), 'CAIRN_E_HOSTILE_ARCHIVE', '"x"', 'without a data location');
  });

  it('refuses locations that do not add up: too few bytes, too many frames, data offset past its frame', async () => {
    const few = await run(forged().root().file('x', x).raw((e) => {
      e.size = x.length + 1000;
    }));
    await refused(few.restored, 'CAIRN_E_CORRUPT', '"x"', 'frames hold');
    const many = await run(forged().frameSize(2048).root().file('x', x).raw((e) => {
      e.size = 100;
    }));
    await refused(many.restored, 'CAIRN_E_CORRUPT', '"x"', 'more frames');
    const past = await run(forged().root().file('x', x).raw((e) => {
      e.loc!.skip = 1 << 20;
    }));
    await refused(past.restored, 'CAIRN_E_CORRUPT', '"x"', 'past its frame');
  });
});

describe('shape of the tree', () => {
  it('refuses entries out of order (b before a)', async () => {
    await refusedCleanly(forged().root().file('b', y).dir('a').file('a/x', x), 'CAIRN_E_HOSTILE_ARCHIVE', '"a"', 'order');
  });

  it('refuses a duplicated path', async () => {
    const { run: r } = await refusedCleanly(forged().root().file('a', x).file('a', y), 'CAIRN_E_HOSTILE_ARCHIVE', '"a"', 'duplicate');
    expect(await readFile(join(r.box.target, 'a'))).toEqual(x);
  });

  it('refuses a missing parent directory (a/b/c without a/b)', async () => {
    const { run: r } = await refusedCleanly(forged().root().dir('a').file('a/b/c', x), 'CAIRN_E_HOSTILE_ARCHIVE', 'a/b/c', 'parent');
    expect(await readdir(join(r.box.target, 'a'))).toEqual([]);
  });

  it('refuses a file whose parent is a file', async () => {
    await refusedCleanly(forged().root().file('f', y).file('f/x', x), 'CAIRN_E_HOSTILE_ARCHIVE', 'f/x', 'parent');
  });

  it('refuses an index whose first entry is not the root, and a second root', async () => {
    await refusedCleanly(forged().dir('a').file('a/x', x), 'CAIRN_E_HOSTILE_ARCHIVE', 'root directory');
    await refusedCleanly(forged().root().file('x', x).root(), 'CAIRN_E_HOSTILE_ARCHIVE', 'second root');
    await refusedCleanly(forged().entry('', { type: 'file' }), 'CAIRN_E_HOSTILE_ARCHIVE', 'root directory');
  });

  it('benign twin: the same names in a well-formed tree restore', async () => {
    const r = await run(forged().root().dir('a').dir('a/b').file('a/b/c', x).file('a/x', x).file('b', y).dir('f').file('f/x', x));
    expect(await r.restored).toMatchObject({ dirs: 4, files: 4 });
    expect(await readFile(join(r.box.target, 'a/b/c'))).toEqual(x);
    expect(await readFile(join(r.box.target, 'b'))).toEqual(y);
    expect((await lstat(join(r.box.target, 'f'))).isDirectory()).toBe(true);
  });
});
