// restic (the Debian package) against MinIO's S3 API. Repository format 2 with
// `--compression auto`: restic 0.14 has only auto|off|max, and auto is its fastest zstd setting
// (klauspost/compress zstd SpeedDefault, about zstd level 3, 512 KiB window). Otherwise defaults,
// including its local cache (kept for the whole tool run, as in normal use).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { measure, runQuiet } from '../measure.ts';
import type { BackupKind, Tool, ToolContext, ToolSession } from './tool.ts';

const exec = promisify(execFile);
export const BENCH_PASSWORD = 'cairn-bench-password';

export function resticTool(): Tool {
  return {
    name: 'restic',
    settings: 'repository v2, --compression auto (zstd SpeedDefault ≈ level 3; 0.14 has no faster zstd mode), AES-256-CTR + Poly1305-AES encryption, default pack size and 5 backend connections',
    async unavailable() {
      try {
        await exec('restic', ['version']);
        return undefined;
      } catch {
        return "'restic' is not on PATH (bench/setup.sh installs the Debian package)";
      }
    },
    async version() {
      const { stdout } = await exec('restic', ['version']);
      return stdout.trim().split(' compiled')[0]!;
    },
    session(ctx: ToolContext): ToolSession {
      const env = {
        ...process.env,
        RESTIC_REPOSITORY: `s3:${ctx.endpoint}/${ctx.bucket}`,
        RESTIC_PASSWORD: BENCH_PASSWORD,
        AWS_ACCESS_KEY_ID: ctx.accessKeyId,
        AWS_SECRET_ACCESS_KEY: ctx.secretAccessKey,
        AWS_DEFAULT_REGION: ctx.region,
      };
      const global = ['--cache-dir', join(ctx.workDir, 'cache')];
      const restic = (op: string, args: string[], cwd?: string) =>
        ({ command: 'restic', args: [...global, ...args], env, cwd, logFile: ctx.logFile(op), timeoutMs: ctx.timeoutMs });
      let first: string | undefined;
      return {
        async init() {
          await runQuiet(restic('init', ['init', '--repository-version', '2']));
        },
        async backup(kind: BackupKind) {
          // Backing up "." from inside the dataset stores paths relative to it, so a restore
          // puts the files directly into the target.
          const m = await measure(restic(`backup-${kind}`, ['backup', '--compression', 'auto', '--host', 'cairn-bench', '--quiet', '.'], ctx.datasetDir));
          if (kind === 'full') {
            const out = await runQuiet(restic('snapshots', ['snapshots', '--json']));
            first = (JSON.parse(out) as { id: string }[])[0]?.id;
          }
          return m;
        },
        async restoreFull(target: string) {
          if (!first) throw new Error('restic: no full backup to restore');
          return measure(restic('restore', ['restore', first, '--target', target]));
        },
      };
    },
  };
}
