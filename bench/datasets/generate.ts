// Generates a dataset once into `<dataRoot>/<name>-<spec hash>/` and reuses it afterwards, and
// applies and undoes the "1% of files changed" mutation. A `.mutated` marker beside the dataset
// is written before a mutation and removed after it is undone, so a run that died in between
// repairs the dataset when the next run starts.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { forEachLimit, range } from '../pool.ts';
import { writeMutated, writeOriginal } from './content.ts';
import { summarizeTree, type TreeSummary } from './digest.ts';
import { Prng } from './prng.ts';
import { fileCount, filePath, specHash, type DatasetSpec } from './spec.ts';

export interface Dataset {
  spec: DatasetSpec;
  hash: string;
  dir: string;
  summary: TreeSummary;
}

const WRITE_CONCURRENCY = 32;

async function writeAll(spec: DatasetSpec, hash: string, root: string): Promise<void> {
  const dirs = new Set<string>();
  for (let i = 0; i < fileCount(spec); i++) dirs.add(dirname(filePath(spec, i)));
  for (const d of dirs) await mkdir(join(root, d), { recursive: true });
  const limit = spec.layout.kind === 'large' ? 2 : WRITE_CONCURRENCY;
  await forEachLimit(range(fileCount(spec)), limit, (i) => writeOriginal(spec, hash, i, join(root, filePath(spec, i))));
}

/** The dataset for `spec`, generated when it is not cached yet; an interrupted mutation is undone. */
export async function ensureDataset(spec: DatasetSpec, dataRoot: string, log: (m: string) => void): Promise<Dataset> {
  const hash = specHash(spec);
  const dir = join(dataRoot, `${spec.name}-${hash}`);
  const metaFile = `${dir}.json`;
  if (existsSync(metaFile) && existsSync(dir)) {
    const summary = JSON.parse(await readFile(metaFile, 'utf8')) as TreeSummary;
    const dataset = { spec, hash, dir, summary };
    if (existsSync(`${dir}.mutated`)) {
      log(`${spec.name}: undoing the mutation a previous run left behind`);
      await undoMutation(dataset);
    }
    log(`${spec.name}: cached at ${dir} (${summary.files} files, ${(summary.bytes / 2 ** 20).toFixed(0)} MiB)`);
    return dataset;
  }
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const started = performance.now();
  log(`${spec.name}: generating ${spec.description} into ${dir}`);
  await writeAll(spec, hash, tmp);
  const summary = await summarizeTree(tmp);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  await writeFile(metaFile, JSON.stringify(summary));
  log(`${spec.name}: generated in ${((performance.now() - started) / 1000).toFixed(1)}s (${summary.files} files, ${(summary.bytes / 2 ** 20).toFixed(0)} MiB)`);
  return { spec, hash, dir, summary };
}

/** The files the mutation changes: 1% of them (at least one), the same ones in every run. */
export function mutatedFiles(spec: DatasetSpec, hash: string): number[] {
  const n = fileCount(spec);
  const want = Math.max(1, Math.round(n / 100));
  const prng = new Prng(`${hash}/mutation-choice`);
  const chosen = new Set<number>();
  while (chosen.size < want) chosen.add(prng.int(0, n - 1));
  return [...chosen].sort((a, b) => a - b);
}

export async function applyMutation(d: Dataset): Promise<void> {
  await writeFile(`${d.dir}.mutated`, '');
  await forEachLimit(mutatedFiles(d.spec, d.hash), WRITE_CONCURRENCY, (i) => writeMutated(d.spec, d.hash, i, join(d.dir, filePath(d.spec, i))));
}

/** Rewrites the mutated files with their original bytes (sizes and content; mtimes are new). */
export async function undoMutation(d: Dataset): Promise<void> {
  const limit = d.spec.layout.kind === 'large' ? 2 : WRITE_CONCURRENCY;
  await forEachLimit(mutatedFiles(d.spec, d.hash), limit, (i) => writeOriginal(d.spec, d.hash, i, join(d.dir, filePath(d.spec, i))));
  await rm(`${d.dir}.mutated`, { force: true });
}
