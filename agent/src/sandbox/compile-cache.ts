// Node's compile cache for job processes. Every job is a fresh Node process that would otherwise
// strip the types of, and compile, all of its modules (the engine, the S3 client) again, and load
// the TypeScript stripper to do so: measured, 0.25 s and 116 MiB resident before a job does any
// work, against 0.11 s and 84 MiB with a warm cache (bench/RESULTS.md). The agent fills the cache
// once at start, by running the job entry in a sandbox with nothing to back up ('warm' job), and
// then gives every job the cache read-only: a job (which handles tenant data) can never write
// code that another job would run.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CairnError } from '../../../common/src/errors.ts';
import { runSandboxed } from './run-sandboxed.ts';

export interface WarmOptions {
  appRoot: string;
  entry: string;
  bwrap?: string;
  signal: AbortSignal;
  /**
   * A folder the agent owns: emptied, then filled. Default: a new folder in the system's
   * temporary folder.
   */
  dir?: string;
}

/** Fills a cache folder; its path, or an error (the jobs then run without one). */
export async function warmCompileCache(o: WarmOptions): Promise<string> {
  let dir: string;
  if (o.dir) {
    await rm(o.dir, { recursive: true, force: true });
    await mkdir(o.dir, { recursive: true, mode: 0o700 });
    dir = o.dir;
  } else {
    dir = await mkdtemp(join(tmpdir(), 'cairn-compile-cache-'));
  }
  // The warm-up's "volume": an empty folder, read-only.
  const empty = await mkdtemp(join(tmpdir(), 'cairn-warm-volume-'));
  try {
    const { result } = await runSandboxed({ kind: 'warm' }, {
      appRoot: o.appRoot, entry: o.entry, volumePath: empty, writable: false, caps: [], signal: o.signal,
      compileCache: { dir, writable: true }, onEvent: () => {}, ...(o.bwrap ? { bwrap: o.bwrap } : {}),
    });
    if (!result.ok) throw new CairnError('CAIRN_E_SANDBOX', `warming the compile cache failed: ${result.code}: ${result.message}`);
    return dir;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
}
