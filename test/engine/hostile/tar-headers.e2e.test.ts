// Names come from the index, never from the pack's tar headers: a pack whose tar stream says
// "../../evil" (plain ustar, GNU 'L' long name, PAX 'path' record, an absolute name) while the
// index says "ok.txt" restores ok.txt and nothing else, anywhere. The forged packs are checked
// with GNU tar to really carry those names.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { encodeHeader } from '../../../common/src/format/tar-header.ts';
import { forged, newTenantKey, noise, rawTarHeader, tarData } from './archive-builder.ts';
import { hostileSuite, namesIn, treeState } from './sandbox.ts';
import { Secret } from '../../../common/src/secret.ts';

const { run } = hostileSuite(inject('cluster'));
const data = noise(3000, 31);

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.from(`${len}${body}`);
}

const lies: Array<[string, (outside: string) => Buffer, string]> = [
  ['a ustar name "../../evil"', () => rawTarHeader(Buffer.from('../../evil'), '0', data.length), '../../evil'],
  ['a GNU long name (typeflag L) "../../evil-gnu"', () => {
    const name = Buffer.from(`../../evil-gnu-${'g'.repeat(120)}\u0000`);
    return Buffer.concat([rawTarHeader(Buffer.from('././@LongLink'), 'L', name.length), tarData(name), rawTarHeader(Buffer.from('short'), '0', data.length)]);
  }, `../../evil-gnu-${'g'.repeat(120)}`],
  ['a PAX path record "../../evil-pax"', () => {
    const rec = paxRecord('path', '../../evil-pax');
    return Buffer.concat([rawTarHeader(Buffer.from('PaxHeaders/ok.txt'), 'x', rec.length), tarData(rec), rawTarHeader(Buffer.from('ok.txt'), '0', data.length)]);
  }, '../../evil-pax'],
  ['a long PAX path made by the format codec', () => encodeHeader({ name: Buffer.from(`../../evil-long-${'p'.repeat(120)}`), type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtimeSeconds: 1 }), `../../evil-long-${'p'.repeat(120)}`],
  ['an absolute name pointing beside the target', (outside) => rawTarHeader(Buffer.from(join(outside, 'evil-abs').slice(0, 99)), '0', data.length), 'evil-abs'],
];

describe('tar headers that lie about names', () => {
  for (const [what, header, shownAs] of lies) {
    it(`restores ok.txt from the index when the pack has ${what}`, async () => {
      const r = await run((box) => forged().root().dir('dir').file('dir/ok.txt', data, 0o640, { tarHeader: header(box.outside) }));
      // The pack really carries the lie: GNU tar lists it.
      const packFile = join(r.box.base, 'pack.zst');
      await writeFile(packFile, await r.store.getObject(r.backup.packs[0]!.key));
      const listing = execFileSync('sh', ['-c', 'zstd -dcq "$1" | tar -tf - 2>/dev/null; true', 'sh', packFile]).toString();
      expect(listing).toContain(shownAs);
      const before = await treeState(r.box.base, new Set([r.box.target, packFile]));
      expect(await r.restored).toMatchObject({ files: 1, dirs: 2 });
      expect(await treeState(r.box.base, new Set([r.box.target, packFile]))).toEqual(before);
      expect(await namesIn(r.box.target)).toEqual(['dir']);
      expect(await namesIn(join(r.box.target, 'dir'))).toEqual(['ok.txt']);
      expect(await readFile(join(r.box.target, 'dir/ok.txt'))).toEqual(data);
      expect(await namesIn(r.box.outside)).toEqual(['canary']);
    });
  }

  it('the same with an encrypted pack', async () => {
    const key = newTenantKey();
    const r = await run(forged().withKey(key).root().file('ok.txt', data, 0o600, { tarHeader: rawTarHeader(Buffer.from('../../evil'), '0', data.length) }), { key: new Secret(key) });
    await r.restored;
    expect(await namesIn(r.box.base)).toEqual(['outside', 'target']);
    expect(await readFile(join(r.box.target, 'ok.txt'))).toEqual(data);
  });

  it('benign twin: a pack with honest headers restores the same tree', async () => {
    const r = await run(forged().root().dir('dir').file('dir/ok.txt', data, 0o640));
    await r.restored;
    expect(await namesIn(join(r.box.target, 'dir'))).toEqual(['ok.txt']);
    expect(await readFile(join(r.box.target, 'dir/ok.txt'))).toEqual(data);
  });
});
