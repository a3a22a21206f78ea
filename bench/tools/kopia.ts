// kopia (built from the Go module proxy by test/harness/build) against MinIO's S3 API. Global
// policy `--compression=zstd-fastest` (klauspost/compress zstd SpeedFastest, about zstd level 1);
// automatic maintenance switched off, since restic's and Cairn's backups do no GC either.
// Otherwise defaults: AES256-GCM-HMAC-SHA256, BLAKE2B-256-128, DYNAMIC-4M-BUZHASH, local cache.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binary } from '../../test/harness/components.ts';
import { measure, runQuiet } from '../measure.ts';
import { BENCH_PASSWORD } from './restic.ts';
import type { BackupKind, Tool, ToolContext, ToolSession } from './tool.ts';

const exec = promisify(execFile);

export function kopiaTool(): Tool {
  return {
    name: 'kopia',
    settings: 'policy --compression=zstd-fastest (zstd SpeedFastest ≈ level 1), automatic maintenance off, default encryption (AES256-GCM-HMAC-SHA256), splitter and parallelism',
    unavailable() {
      try {
        binary('kopia');
        return Promise.resolve(undefined);
      } catch (err) {
        return Promise.resolve((err as Error).message);
      }
    },
    async version() {
      const { stdout } = await exec(binary('kopia'), ['--version']);
      return `kopia ${stdout.trim().split(' ')[0]}`;
    },
    session(ctx: ToolContext): ToolSession {
      const kopia = binary('kopia');
      const env = {
        ...process.env,
        KOPIA_PASSWORD: BENCH_PASSWORD,
        KOPIA_CHECK_FOR_UPDATES: 'false',
        AWS_ACCESS_KEY_ID: ctx.accessKeyId,
        AWS_SECRET_ACCESS_KEY: ctx.secretAccessKey,
      };
      const global = [`--config-file=${join(ctx.workDir, 'repository.config')}`, `--log-dir=${join(ctx.workDir, 'logs')}`];
      const cmd = (op: string, args: string[]) => ({ command: kopia, args: [...args, ...global], env, logFile: ctx.logFile(op), timeoutMs: ctx.timeoutMs });
      const endpoint = new URL(ctx.endpoint);
      let first: string | undefined;
      return {
        async init() {
          await runQuiet(cmd('init', [
            'repository', 'create', 's3', `--bucket=${ctx.bucket}`, `--endpoint=${endpoint.host}`, `--region=${ctx.region}`,
            ...(endpoint.protocol === 'http:' ? ['--disable-tls'] : []), `--cache-directory=${join(ctx.workDir, 'cache')}`,
          ]));
          await runQuiet(cmd('init', ['policy', 'set', '--global', '--compression=zstd-fastest']));
          await runQuiet(cmd('init', ['maintenance', 'set', '--enable-quick=false', '--enable-full=false']));
        },
        async backup(kind: BackupKind) {
          const m = await measure(cmd(`backup-${kind}`, ['snapshot', 'create', ctx.datasetDir]));
          if (kind === 'full') {
            const out = await runQuiet(cmd('snapshots', ['snapshot', 'list', ctx.datasetDir, '--json']));
            first = (JSON.parse(out) as { id: string }[])[0]?.id;
          }
          return m;
        },
        async restoreFull(target: string) {
          if (!first) throw new Error('kopia: no full backup to restore');
          return measure(cmd('restore', ['snapshot', 'restore', first, target]));
        },
      };
    },
  };
}
