// A digest of a directory tree's regular files (relative path, size, content), used to check
// that every tool restored exactly the dataset. Directories only contribute through their
// files' paths; any other entry type (symlink, device, ...) makes the digest differ.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { forEachLimit } from '../pool.ts';

export interface TreeSummary {
  files: number;
  bytes: number;
  digest: string;
}

const STREAM_ABOVE = 8 * 1024 * 1024;

async function fileHash(path: string, size: number): Promise<string> {
  if (size <= STREAM_ABOVE) return createHash('sha256').update(await readFile(path)).digest('hex');
  const h = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: 1024 * 1024 }), h);
  return h.digest('hex');
}

export async function summarizeTree(root: string): Promise<TreeSummary> {
  const total = createHash('sha256');
  let files = 0;
  let bytes = 0;
  const walk = async (dir: string, rel: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const lines: string[] = new Array<string>(entries.length).fill('');
    const fileIdx: number[] = [];
    entries.forEach((e, i) => {
      if (e.isFile()) fileIdx.push(i);
      else if (!e.isDirectory()) lines[i] = `other ${rel}${e.name}\n`;
    });
    // Files above STREAM_ABOVE are streamed, so 16 in flight keep memory small.
    await forEachLimit(fileIdx, 16, async (i) => {
      const e = entries[i]!;
      const path = join(dir, e.name);
      const { size } = await lstat(path);
      lines[i] = `file ${rel}${e.name} ${size} ${await fileHash(path, size)}\n`;
      files++;
      bytes += size;
    });
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.isDirectory()) await walk(join(dir, e.name), `${rel}${e.name}/`);
      else total.update(lines[i]!);
    }
  };
  await walk(root, '');
  return { files, bytes, digest: total.digest('hex') };
}
