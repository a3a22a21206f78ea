// The bytes of one dataset file, original or mutated, derived from (spec hash, variant, index).
import { open, writeFile } from 'node:fs/promises';
import { Prng } from './prng.ts';
import { TextSource } from './text.ts';
import type { DatasetSpec } from './spec.ts';

const CHUNK = 4 * 1024 * 1024;
/** A mutated large file gets this many fresh bytes in its middle; smaller files are rewritten whole. */
export const MUTATION_BYTES = 1024 * 1024;

interface SmallFile {
  size: number;
  text: boolean;
  prng: Prng;
}

function smallFile(spec: DatasetSpec, hash: string, index: number, variant: string): SmallFile {
  if (spec.layout.kind !== 'tree') throw new Error('smallFile on a large-file dataset');
  const prng = new Prng(`${hash}/${variant}/${index}`);
  const size = prng.int(spec.layout.minBytes, spec.layout.maxBytes);
  const text = prng.uint32() / 2 ** 32 < spec.layout.textShare;
  return { size, text, prng };
}

function fillFrom(f: { text: boolean; prng: Prng }, out: Buffer): Buffer {
  if (f.text) new TextSource(f.prng).fill(out);
  else f.prng.fill(out);
  return out;
}

/** Size of file `index` in the original dataset. */
export function originalSize(spec: DatasetSpec, hash: string, index: number): number {
  return spec.layout.kind === 'large' ? spec.layout.fileBytes : smallFile(spec, hash, index, 'original').size;
}

/** Writes the original content of file `index` to `path` (created or truncated in place). */
export async function writeOriginal(spec: DatasetSpec, hash: string, index: number, path: string): Promise<void> {
  const layout = spec.layout;
  if (layout.kind === 'tree') {
    const f = smallFile(spec, hash, index, 'original');
    await writeFile(path, fillFrom(f, Buffer.allocUnsafe(f.size)));
    return;
  }
  const prng = new Prng(`${hash}/original/${index}`);
  const source = { text: index < layout.textFiles, prng };
  const text = source.text ? new TextSource(prng) : undefined;
  const fh = await open(path, 'w');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let done = 0; done < layout.fileBytes; ) {
      const n = Math.min(CHUNK, layout.fileBytes - done);
      const chunk = buf.subarray(0, n);
      if (text) text.fill(chunk);
      else prng.fill(chunk);
      await fh.write(chunk, 0, n);
      done += n;
    }
  } finally {
    await fh.close();
  }
}

/**
 * Changes file `index` in place, keeping its size (an empty file gets one byte): files up to
 * MUTATION_BYTES are rewritten whole with new content of the same kind, a larger file gets
 * MUTATION_BYTES of new random bytes in its middle.
 */
export async function writeMutated(spec: DatasetSpec, hash: string, index: number, path: string): Promise<void> {
  const size = originalSize(spec, hash, index);
  const prng = new Prng(`${hash}/mutated/${index}`);
  if (size <= MUTATION_BYTES) {
    const text = spec.layout.kind === 'tree' ? smallFile(spec, hash, index, 'original').text : index < spec.layout.textFiles;
    await writeFile(path, fillFrom({ text, prng }, Buffer.allocUnsafe(Math.max(1, size))));
    return;
  }
  const fh = await open(path, 'r+');
  try {
    await fh.write(prng.bytes(MUTATION_BYTES), 0, MUTATION_BYTES, Math.floor((size - MUTATION_BYTES) / 2));
  } finally {
    await fh.close();
  }
}
