// The benchmark's datasets, as parameters. Every file's path, size and bytes follow from the
// spec and the file's index alone, so a dataset is reproducible anywhere and any single file can
// be regenerated (which is how the 1% mutation is undone).
import { createHash } from 'node:crypto';

export type DatasetName = 'D1' | 'D2' | 'D3';
export const datasetNames: readonly DatasetName[] = ['D1', 'D2', 'D3'];

/** Bumped whenever the generator's output changes, so cached datasets are not reused wrongly. */
const GENERATOR_VERSION = 1;

/** A few large files: the first `textFiles` text-like, the rest random bytes. */
export interface LargeFiles {
  kind: 'large';
  files: number;
  fileBytes: number;
  textFiles: number;
}

/** Many small files in a tree of directories `fanout[0]` x `fanout[1]` x ... deep. */
export interface SmallFileTree {
  kind: 'tree';
  files: number;
  fanout: number[];
  minBytes: number;
  maxBytes: number;
  /** Share of files whose content is text-like; the others are random bytes. */
  textShare: number;
}

export interface DatasetSpec {
  name: DatasetName;
  description: string;
  layout: LargeFiles | SmallFileTree;
}

const MiB = 1024 * 1024;
const KiB = 1024;

export function datasetSpec(name: DatasetName, quick: boolean): DatasetSpec {
  switch (name) {
    case 'D1': {
      const fileBytes = (quick ? 32 : 256) * MiB;
      return { name, description: `8 files of ${fileBytes / MiB} MiB: 4 text-like, 4 random`, layout: { kind: 'large', files: 8, fileBytes, textFiles: 4 } };
    }
    case 'D2': {
      const files = quick ? 10_000 : 100_000;
      return { name, description: `${files} files of 1-32 KiB in 10x10x10 directories, half text-like, half random`, layout: { kind: 'tree', files, fanout: [10, 10, 10], minBytes: KiB, maxBytes: 32 * KiB, textShare: 0.5 } };
    }
    case 'D3': {
      const files = quick ? 50_000 : 1_000_000;
      const fanout = quick ? [10, 10, 5] : [10, 10, 100];
      return { name, description: `${files} text-like files of 0-256 bytes in ${fanout.join('x')} directories`, layout: { kind: 'tree', files, fanout, minBytes: 0, maxBytes: 256, textShare: 1 } };
    }
  }
}

/** Content hash of the parameters: the cache key of a generated dataset. */
export function specHash(spec: DatasetSpec): string {
  return createHash('sha256').update(JSON.stringify({ v: GENERATOR_VERSION, layout: spec.layout })).digest('hex').slice(0, 12);
}

export function fileCount(spec: DatasetSpec): number {
  return spec.layout.files;
}

/** Path of file `index`, relative to the dataset root. */
export function filePath(spec: DatasetSpec, index: number): string {
  const layout = spec.layout;
  if (layout.kind === 'large') {
    return index < layout.textFiles ? `text-${index}.txt` : `random-${index}.bin`;
  }
  const leaves = layout.fanout.reduce((a, b) => a * b, 1);
  const perLeaf = Math.ceil(layout.files / leaves);
  let leaf = Math.floor(index / perLeaf);
  const parts: string[] = [];
  for (let level = layout.fanout.length - 1; level >= 0; level--) {
    const n = layout.fanout[level]!;
    parts.unshift(`d${String(leaf % n).padStart(String(n - 1).length, '0')}`);
    leaf = Math.floor(leaf / n);
  }
  parts.push(`f${String(index % perLeaf).padStart(String(perLeaf - 1).length, '0')}`);
  return parts.join('/');
}
