// Cairn's data engine, with encryption on (a fixed 32-byte key), each operation a child process
// (cairn-op.ts) so its peak RSS is measured like the other tools'. Backups b1 (full), b2
// (parent b1, unchanged) and b3 (parent b2, after the mutation); the restore is of b1.
// Like the agent's job processes (agent/src/sandbox/compile-cache.ts), every operation reads a
// Node compile cache that the probe filled once.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { measure } from '../measure.ts';
import { jobMallocEnv, jobNodeFlags } from '../../agent/src/sandbox/run-sandboxed.ts';
import type { BackupKind, Tool, ToolContext, ToolSession } from './tool.ts';

const exec = promisify(execFile);

/** cairn-op.ts exits with this when the engine or the S3 store cannot be loaded. */
export const EXIT_UNAVAILABLE = 78;

/** The job cairn-op.ts runs, passed as JSON in CAIRN_BENCH_OP. */
export interface CairnOp {
  op: 'probe' | 'backup' | 'restore';
  endpoint: string;
  region: string;
  bucket: string;
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** 32-byte AES-256-GCM key, hex. */
  keyHex: string;
  lineage: { clusterUid: string; pvcUid: string };
  backupName: string;
  parent?: string;
  root?: string;
  target?: string;
}

const child = join(import.meta.dirname, 'cairn-op.ts');
const repoRoot = join(import.meta.dirname, '..', '..');
const KEY_HEX = createHash('sha256').update('cairn-bench-key').digest('hex');

const names: Record<BackupKind, { name: string; parent?: string }> = {
  full: { name: 'b1' },
  unchanged: { name: 'b2', parent: 'b1' },
  changed: { name: 'b3', parent: 'b2' },
};

let compileCache: string | undefined;

function env(op: CairnOp): NodeJS.ProcessEnv {
  if (compileCache === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-compile-cache-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    compileCache = dir;
  }
  // The same malloc settings as the agent's job processes (agent/src/sandbox/run-sandboxed.ts).
  return { ...process.env, ...jobMallocEnv, CAIRN_BENCH_OP: JSON.stringify(op), NODE_COMPILE_CACHE: compileCache };
}

export function cairnTool(): Tool {
  let zstdLevel: number | null = null;
  return {
    name: 'cairn',
    get settings() {
      const level = zstdLevel === null ? 'the engine\'s default zstd level' : `zstd level ${zstdLevel} (the engine's default)`;
      return `engine default tuning: ${level}, parallelism and part sizes; encryption on (AES-256-GCM, 32-byte key); no local cache; Node compile cache warmed once, as the agent does`;
    },
    async unavailable() {
      const probe: CairnOp = { op: 'probe', endpoint: '', region: '', bucket: '', prefix: '', accessKeyId: '', secretAccessKey: '', keyHex: KEY_HEX, lineage: { clusterUid: '', pvcUid: '' }, backupName: '' };
      const c = spawn(process.execPath, [child], { env: env(probe), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      c.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      c.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      const [code] = (await once(c, 'close')) as [number | null];
      if (code === 0) {
        try {
          zstdLevel = (JSON.parse(stdout) as { zstdLevel: number | null }).zstdLevel;
        } catch {
          zstdLevel = null;
        }
        return undefined;
      }
      const line = stderr.trim().split('\n').find((l) => l.startsWith('engine not available')) ?? stderr.trim().split('\n').slice(-3).join(' ');
      return code === EXIT_UNAVAILABLE ? `engine not available yet (${line.replace(/^engine not available: /, '')})` : `probe exited with ${code}: ${line}`;
    },
    async version() {
      // The last commit touching the engine or the store, and whether the tree differs from it.
      try {
        const paths = ['--', 'agent/src/engine', 'common/src/store'];
        const { stdout } = await exec('git', ['-C', repoRoot, 'log', '-1', '--format=%h %cs', ...paths]);
        const { stdout: dirty } = await exec('git', ['-C', repoRoot, 'status', '--porcelain', ...paths]);
        return `cairn engine @ ${stdout.trim() || 'uncommitted'}${dirty.trim() ? ' (+ uncommitted changes)' : ''}`;
      } catch {
        return 'cairn engine (not in a git checkout)';
      }
    },
    session(ctx: ToolContext): ToolSession {
      const base = {
        endpoint: ctx.endpoint, region: ctx.region, bucket: ctx.bucket, prefix: 'bench',
        accessKeyId: ctx.accessKeyId, secretAccessKey: ctx.secretAccessKey, keyHex: KEY_HEX,
        lineage: { clusterUid: 'cairn-bench-cluster', pvcUid: `cairn-bench-${ctx.bucket}` },
      };
      // CAIRN_BENCH_CPU_PROF=<dir> writes a V8 CPU profile of every Cairn operation there.
      const prof = process.env.CAIRN_BENCH_CPU_PROF;
      const nodeArgs = (logOp: string) => (prof ? ['--cpu-prof', `--cpu-prof-dir=${join(prof, `${ctx.bucket}-${logOp}`)}`] : []);
      // The same V8 flags as the agent's job processes (agent/src/sandbox/run-sandboxed.ts).
      const run = (logOp: string, op: CairnOp) => measure({ command: process.execPath, args: [...jobNodeFlags, ...nodeArgs(logOp), child], env: env(op), logFile: ctx.logFile(logOp), timeoutMs: ctx.timeoutMs });
      return {
        async init() {},
        async backup(kind: BackupKind) {
          const { name, parent } = names[kind];
          return run(`backup-${kind}`, { ...base, op: 'backup', backupName: name, parent, root: ctx.datasetDir });
        },
        async restoreFull(target: string) {
          return run('restore', { ...base, op: 'restore', backupName: 'b1', target });
        },
      };
    },
  };
}
