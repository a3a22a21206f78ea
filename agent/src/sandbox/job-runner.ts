// The entry point of a job's sandboxed child (run by bwrap, see run-sandboxed.ts). It reads one
// job, a JSON line, from stdin (credentials arrive here, never in argv or the environment), runs
// the engine on /volume (the only tenant data it can see), and writes events as JSON lines to
// fd 3. Anything more on stdin, or its end, cancels the job: the engine then aborts its uploads
// before the process exits (a signal would not reach it through bwrap).
import { createWriteStream } from 'node:fs';
import { flushCompileCache } from 'node:module';
import { createInterface } from 'node:readline';
import { codeOf } from '../../../common/src/errors.ts';
import { Secret } from '../../../common/src/secret.ts';
import { createS3Store } from '../../../common/src/store/object-store.ts';
import { backup, restore } from '../engine/index.ts';
import { CompressPool } from '../engine/compress-pool.ts';
import type { SandboxEvent, SandboxJob, WarmJob } from '../jobs/sandbox-job.ts';
import { assertCapabilities } from './capabilities.ts';
import { backupCaps, restoreCaps } from './run-sandboxed.ts';

const VOLUME = '/volume';
const events = createWriteStream('', { fd: 3 });
const emit = (e: SandboxEvent): void => {
  events.write(`${JSON.stringify(e)}\n`);
};

const abort = new AbortController();
const lines = createInterface({ input: process.stdin });
const firstLine = new Promise<string>((resolve, reject) => {
  lines.once('line', resolve);
  lines.once('close', () => reject(new Error('no job on stdin')));
});
void firstLine.then(() => {
  lines.on('line', () => abort.abort());
  lines.on('close', () => abort.abort());
}, () => {});

/** Every module a job loads is loaded by now; a worker's are loaded by a ping. */
async function warm(): Promise<SandboxEvent> {
  const pool = new CompressPool(1);
  try {
    await pool.ping();
  } finally {
    await pool.close();
  }
  flushCompileCache();
  return { t: 'result', ok: true, files: 0, bytes: 0, storedBytes: 0, warnings: 0 };
}

async function run(job: SandboxJob | WarmJob): Promise<SandboxEvent> {
  if (job.kind === 'warm') return warm();
  assertCapabilities(job.kind === 'backup' ? backupCaps : restoreCaps);
  const s = job.storage;
  const store = createS3Store({
    endpoint: s.endpoint, pinnedAddress: s.pinnedAddress, bucket: s.bucket, prefix: s.prefix, region: s.region, forcePathStyle: s.forcePathStyle,
    ...(s.caCertPem ? { caCertPem: s.caCertPem } : {}),
    credentials: new Secret({ accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, ...(s.sessionToken ? { sessionToken: s.sessionToken } : {}) }),
  });
  const key = s.encryptionKey ? new Secret(Buffer.from(s.encryptionKey, 'base64')) : undefined;
  const common = {
    signal: abort.signal,
    onProgress: (p: { bytesDone: number; totalBytes: number; filesDone: number; totalFiles: number; bytesStored: number }) =>
      emit({ t: 'progress', bytesDone: p.bytesDone, totalBytes: p.totalBytes, filesDone: p.filesDone, totalFiles: p.totalFiles, bytesStored: p.bytesStored }),
    onWarning: (w: { code: string; message: string; path: Buffer }) => emit({ t: 'warning', code: w.code, message: w.message, path: w.path.toString('base64') }),
    ...(key ? { key } : {}),
  };
  try {
    if (job.kind === 'backup') {
      const r = await backup(VOLUME, store, {
        ...common, backupName: job.backupName, volumeId: job.volumeId, lineage: job.lineage, writeManifest: false, source: job.source,
        ...(job.parent ? { parent: job.parent } : {}),
      });
      return { t: 'result', ok: true, files: r.volume.files, bytes: r.volume.bytes, storedBytes: r.volume.storedBytes, warnings: r.warnings.total, volumeRecord: JSON.stringify(r.volume) };
    }
    const r = await restore(store, job.backupName, VOLUME, { ...common, volumeId: job.volumeId, maxBytes: job.maxBytes, ...(job.paths.length > 0 ? { paths: job.paths.map((p) => Buffer.from(p, 'base64')) } : {}) });
    return { t: 'result', ok: true, files: r.files + r.hardlinks, bytes: r.bytes, storedBytes: 0, warnings: r.warnings.total };
  } finally {
    store.close();
  }
}

let result: SandboxEvent;
try {
  result = await run(JSON.parse(await firstLine) as SandboxJob | WarmJob);
} catch (err) {
  result = { t: 'result', ok: false, code: codeOf(err), message: err instanceof Error ? err.message : 'job failed' };
}
emit(result);
events.end(() => process.exit(0));
