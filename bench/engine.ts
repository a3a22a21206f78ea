// `npm run bench -- engine`: Cairn's data engine against restic and kopia on the same local
// MinIO, plus the machine's zstd and PUT ceilings, over datasets D1-D3. For each dataset and
// run: the ceilings, then each tool (in an order that rotates between runs) on a fresh bucket:
// full backup, stored bytes, restore of it (checked against the dataset's digest), unchanged
// re-backup, the 1% mutation, re-backup, and the mutation undone. See bench/README.md.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureBuilt, type Component } from '../test/harness/components.ts';
import { createTenantStorage, mc, startMinio, type Minio } from '../test/harness/minio.ts';
import { putCeiling, zstdCeiling } from './ceiling/ceiling.ts';
import { applyMutation, ensureDataset, mutatedFiles, undoMutation, type Dataset } from './datasets/generate.ts';
import { summarizeTree } from './datasets/digest.ts';
import { datasetSpec, type DatasetName } from './datasets/spec.ts';
import { freeGiB, loadAverage, machineFacts } from './machine.ts';
import { GNU_TIME, killRunning } from './measure.ts';
import { ceilingMedians, toolMedians, type EngineResults, type ToolSample } from './results.ts';
import { cairnTool } from './tools/cairn.ts';
import { kopiaTool } from './tools/kopia.ts';
import { resticTool } from './tools/restic.ts';
import type { Tool, ToolName } from './tools/tool.ts';

export interface EngineOptions {
  quick: boolean;
  runs: number;
  datasets: DatasetName[];
  tools: ToolName[];
  workDir: string;
  /** The command line, for the report. */
  command: string;
  /** Limit for any one measured operation. */
  opTimeoutMs: number;
}

const REGION = 'us-east-1';

function log(message: string): void {
  const t = new Date().toISOString().slice(11, 19);
  console.log(`[bench ${t}] ${message}`);
}

function errorLine(message: string): void {
  console.log(`[bench ERROR] ${message}`);
}

async function run(command: string, args: string[]): Promise<number | null> {
  const child = spawn(command, args, { stdio: 'inherit' });
  const [code] = (await once(child, 'close')) as [number | null];
  return code;
}

async function commandExists(cmd: string): Promise<boolean> {
  return (await run('bash', ['-c', `command -v ${cmd} >/dev/null`])) === 0;
}

/** restic, GNU time, zstd and tar; bench/setup.sh installs what is missing. */
async function ensureHostTools(tools: ToolName[]): Promise<void> {
  const missing = async () => [
    ...(tools.includes('restic') && !(await commandExists('restic')) ? ['restic'] : []),
    ...(existsSync(GNU_TIME) ? [] : [GNU_TIME]),
    ...((await commandExists('zstd')) ? [] : ['zstd']),
    ...((await commandExists('tar')) ? [] : ['tar']),
  ];
  const before = await missing();
  if (before.length === 0) return;
  log(`missing ${before.join(', ')}: running bench/setup.sh`);
  await run('bash', [join(import.meta.dirname, 'setup.sh')]);
  const after = await missing();
  if (after.length) throw new Error(`still missing after bench/setup.sh: ${after.join(', ')}`);
}

/** Space one dataset needs at a time: its restore, one tool's repository and the ceiling's objects, with file-block overhead. */
function neededGiB(d: Dataset): number {
  const onDisk = Math.max(d.summary.bytes, d.summary.files * 4096);
  return (onDisk * 3 + d.summary.bytes) / 2 ** 30 + 1;
}

async function bucketBytes(minio: Minio, bucket: string): Promise<number> {
  const out = await mc(minio, ['du', '--json', `cairn/${bucket}`]);
  const line = out.trim().split('\n').pop() ?? '{}';
  const size = (JSON.parse(line) as { size?: number }).size;
  if (typeof size !== 'number') throw new Error(`mc du ${bucket}: no size in ${line}`);
  return size;
}

const toolFactories: Record<ToolName, () => Tool> = { cairn: cairnTool, restic: resticTool, kopia: kopiaTool };

export async function runEngineBench(opts: EngineOptions): Promise<EngineResults> {
  const started = performance.now();
  const date = new Date().toISOString();
  const loadAtStart = loadAverage();
  await mkdir(opts.workDir, { recursive: true });
  await ensureHostTools(opts.tools);
  const components: Component[] = ['minio', 'mc', ...(opts.tools.includes('kopia') ? (['kopia'] as const) : [])];
  await ensureBuilt(components);

  const errors: string[] = [];
  const fail = (message: string) => {
    errorLine(message);
    errors.push(message);
  };

  const datasets: Dataset[] = [];
  for (const name of opts.datasets) datasets.push(await ensureDataset(datasetSpec(name, opts.quick), join(opts.workDir, 'data'), log));
  const need = Math.max(...datasets.map(neededGiB));
  const free = await freeGiB(opts.workDir);
  if (free < need) throw new Error(`${opts.workDir} has ${free.toFixed(1)} GiB free; the run needs about ${need.toFixed(1)} GiB (use --work-dir elsewhere)`);

  const tools: Tool[] = [];
  const toolInfo: EngineResults['tools'] = {};
  for (const name of opts.tools) {
    const tool = toolFactories[name]();
    const reason = await tool.unavailable();
    if (reason) {
      fail(`${name}: ${reason}`);
      toolInfo[name] = { unavailable: reason };
      continue;
    }
    toolInfo[name] = { version: await tool.version(), settings: tool.settings };
    log(`${name}: ${toolInfo[name].version}`);
    tools.push(tool);
  }

  const runDir = join(opts.workDir, 'run');
  await rm(runDir, { recursive: true, force: true });
  await mkdir(join(runDir, 'logs'), { recursive: true });
  const minio = await startMinio(runDir, join(runDir, 'minio'));
  const stop = () => {
    killRunning();
    void minio.process.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  log(`MinIO at ${minio.endpoint}; logs in ${join(runDir, 'logs')}`);

  const samples: EngineResults['samples'] = {};
  try {
    for (const d of datasets) {
      const name = d.spec.name;
      const ds = (samples[name] = { ceiling: [] as { zstd_s: number; put_s: number }[] } as NonNullable<EngineResults['samples'][DatasetName]>);
      for (let r = 1; r <= opts.runs; r++) {
        const tag = `${name} run ${r}/${opts.runs}`;
        const logFile = (what: string) => join(runDir, 'logs', `${name}-r${r}-${what}.log`);
        try {
          await run('sync', []);
          const zstd_s = await zstdCeiling(d.dir, logFile('ceiling-zstd'), opts.opTimeoutMs);
          const bucket = `ceiling-${name.toLowerCase()}-r${r}`;
          await mc(minio, ['mb', `cairn/${bucket}`]);
          await run('sync', []);
          const put_s = await putCeiling(d.dir, { endpoint: minio.endpoint, region: REGION, bucket, ...minio.root }, logFile('ceiling-put'), opts.opTimeoutMs);
          await mc(minio, ['rb', '--force', `cairn/${bucket}`]);
          ds.ceiling.push({ zstd_s, put_s });
          log(`${tag} ceiling: zstd_s ${zstd_s.toFixed(2)}, put_s ${put_s.toFixed(2)}`);
        } catch (err) {
          fail(`${tag} ceiling: ${(err as Error).message}`);
        }
        // Rotate the order so no tool always runs first (or right after the ceilings).
        const order = tools.map((_, i) => tools[(i + r - 1) % tools.length]!);
        for (const tool of order) {
          const list = (ds[tool.name] ??= []);
          const sample = await runTool(tool, d, minio, runDir, r, opts.opTimeoutMs, (what) => logFile(`${tool.name}-${what}`), (m) => log(`${tag} ${tool.name} ${m}`));
          if (sample.error) fail(`${tag} ${tool.name}: ${sample.error}`);
          list.push(sample);
        }
      }
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await minio.process.stop();
    await rm(join(runDir, 'minio'), { recursive: true, force: true });
  }

  const results: EngineResults = {
    runs: opts.runs,
    datasets: {},
    quick: opts.quick,
    date,
    command: opts.command,
    duration_s: Math.round((performance.now() - started) / 1000),
    machine: await machineFacts(opts.workDir, loadAtStart),
    tools: toolInfo,
    dataset_info: {},
    errors,
    samples,
  };
  for (const d of datasets) {
    const name = d.spec.name;
    const s = samples[name]!;
    const out: NonNullable<EngineResults['datasets'][DatasetName]> = { ceiling: ceilingMedians(s.ceiling) };
    for (const t of opts.tools) {
      out[t] = toolMedians(s[t] ?? []);
    }
    results.datasets[name] = out;
    results.dataset_info[name] = { description: d.spec.description, files: d.summary.files, bytes: d.summary.bytes, mutated_files: mutatedFiles(d.spec, d.hash).length };
  }
  return results;
}

/**
 * One tool's sample for one dataset and run. A failing step ends the sample: what was measured
 * before it is kept, the failure is in `error`, and peak RSS is only given when every operation
 * ran (a partial peak would understate it).
 */
async function runTool(tool: Tool, d: Dataset, minio: Minio, runDir: string, r: number, timeoutMs: number, logFile: (what: string) => string, say: (m: string) => void): Promise<ToolSample> {
  const id = `${tool.name}-${d.spec.name.toLowerCase()}-r${r}`;
  const workDir = join(runDir, 'tools', id);
  const target = join(runDir, 'restore', id);
  const sample: ToolSample = { peak_rss_mib_by_op: {} };
  const rss = sample.peak_rss_mib_by_op;
  const step = async (op: string, f: () => Promise<{ seconds: number; peakRssMib: number }>): Promise<number> => {
    await run('sync', []);
    const m = await f();
    rss[op] = Math.round(m.peakRssMib * 10) / 10;
    say(`${op} ${m.seconds.toFixed(2)}s, peak RSS ${m.peakRssMib.toFixed(0)} MiB`);
    return m.seconds;
  };
  try {
    const user = await createTenantStorage(minio, id, id);
    await mkdir(workDir, { recursive: true });
    await mkdir(target, { recursive: true });
    const session = tool.session({ endpoint: minio.endpoint, region: REGION, bucket: id, ...user, datasetDir: d.dir, workDir, logFile, timeoutMs });
    await session.init();
    sample.backup_s = await step('backup', () => session.backup('full'));
    sample.stored_bytes = await bucketBytes(minio, id);
    say(`stored ${(sample.stored_bytes / 2 ** 20).toFixed(1)} MiB`);
    const restoreSeconds = await step('restore', () => session.restoreFull(target));
    const got = await summarizeTree(target);
    if (got.digest !== d.summary.digest) {
      throw new Error(`restored tree differs from the dataset: ${got.files} files / ${got.bytes} bytes, want ${d.summary.files} / ${d.summary.bytes}`);
    }
    sample.restore_s = restoreSeconds;
    await rm(target, { recursive: true, force: true });
    sample.rebackup_unchanged_s = await step('rebackup-unchanged', () => session.backup('unchanged'));
    try {
      await applyMutation(d);
      sample.rebackup_1pct_s = await step('rebackup-1pct', () => session.backup('changed'));
    } finally {
      await undoMutation(d);
    }
    sample.peak_rss_mib = Math.max(...Object.values(rss));
  } catch (err) {
    sample.error = (err as Error).message;
  } finally {
    await rm(target, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
    await mc(minio, ['rb', '--force', `cairn/${id}`]).catch(() => undefined);
  }
  return sample;
}
