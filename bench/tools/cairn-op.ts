// One Cairn engine operation in its own Node process, so the benchmark can measure its peak RSS
// the same way as restic's and kopia's. Reads its job from the CAIRN_BENCH_OP environment
// variable (JSON; credentials stay out of the process list). Exits with EXIT_UNAVAILABLE and a
// line on stderr when the engine or the S3 store cannot be loaded.
//
// The engine and the S3 store are typed from their modules but loaded by dynamic import, so a
// missing or broken engine becomes a clear "engine not available" line instead of a crash.
import type * as Engine from '../../agent/src/engine/index.ts';
import type * as Store from '../../common/src/store/object-store.ts';
import type * as PoolModule from '../../agent/src/engine/compress-pool.ts';
import { Secret } from '../../common/src/secret.ts';
import { EXIT_UNAVAILABLE, type CairnOp } from './cairn.ts';

type EngineModule = typeof Engine;
type StoreModule = Pick<typeof Store, 'createS3Store'>;

const engineUrl = new URL('../../agent/src/engine/index.ts', import.meta.url).href;
const storeUrl = new URL('../../common/src/store/object-store.ts', import.meta.url).href;

async function load(): Promise<{ engine: EngineModule; store: StoreModule }> {
  try {
    const engine = (await import(engineUrl)) as Partial<EngineModule>;
    const store = (await import(storeUrl)) as Partial<StoreModule>;
    if (typeof engine.backup !== 'function' || typeof engine.restore !== 'function') throw new Error(`${engineUrl} does not export backup() and restore()`);
    if (typeof store.createS3Store !== 'function') throw new Error(`${storeUrl} does not export createS3Store()`);
    return { engine: engine as EngineModule, store: store as StoreModule };
  } catch (err) {
    const e = err as { code?: string; message: string };
    console.error(`engine not available: ${e.code ? `${e.code}: ` : ''}${e.message.split('\n')[0]}`);
    process.exit(EXIT_UNAVAILABLE);
  }
}

/** CAIRN_BENCH_MEMLOG=1: the main thread's memory every 500 ms on stderr, to see what the peak RSS is made of. */
function logMemory(): void {
  const mib = (n: number) => Math.round(n / 1048576);
  const t0 = Date.now();
  setInterval(() => {
    const m = process.memoryUsage();
    console.error(`mem t=${Date.now() - t0}ms rss=${mib(m.rss)} heapTotal=${mib(m.heapTotal)} heapUsed=${mib(m.heapUsed)} external=${mib(m.external)} arrayBuffers=${mib(m.arrayBuffers)}`);
  }, 500).unref();
}

async function main(): Promise<void> {
  if (process.env.CAIRN_BENCH_MEMLOG) logMemory();
  const job = JSON.parse(process.env.CAIRN_BENCH_OP ?? '{}') as CairnOp;
  const { engine, store: storeModule } = await load();
  if (job.op === 'probe') {
    // The zstd level the engine uses by default, for the report; best effort (an internal module).
    const tuning = (await import(new URL('../../agent/src/engine/tuning.ts', import.meta.url).href).catch(() => ({}))) as { defaultTuning?: { level?: number } };
    console.log(JSON.stringify({ zstdLevel: tuning.defaultTuning?.level ?? null }));
    // Loads a worker's modules too, so the compile cache (NODE_COMPILE_CACHE) holds all of them.
    const { CompressPool } = (await import(new URL('../../agent/src/engine/compress-pool.ts', import.meta.url).href)) as typeof PoolModule;
    const pool = new CompressPool(1);
    await pool.ping();
    await pool.close();
    return;
  }
  const store = storeModule.createS3Store({
    endpoint: job.endpoint,
    bucket: job.bucket,
    prefix: job.prefix,
    region: job.region,
    forcePathStyle: true,
    credentials: new Secret({ accessKeyId: job.accessKeyId, secretAccessKey: job.secretAccessKey }),
  });
  const key = new Secret(Buffer.from(job.keyHex, 'hex'));
  const ac = new AbortController();
  process.once('SIGTERM', () => ac.abort());
  process.once('SIGINT', () => ac.abort());
  if (job.op === 'backup') {
    if (!job.root) throw new Error('backup needs root');
    const r = await engine.backup(job.root, store, { backupName: job.backupName, lineage: job.lineage, parent: job.parent, key, signal: ac.signal });
    console.log(JSON.stringify({ bytesRead: r.bytesRead, filesRead: r.filesRead, filesUnchanged: r.filesUnchanged, durationMs: r.durationMs }));
  } else {
    if (!job.target) throw new Error('restore needs target');
    const r = await engine.restore(store, job.backupName, job.target, { maxBytes: 1e12, key, signal: ac.signal });
    console.log(JSON.stringify({ files: r.files, dirs: r.dirs, bytes: r.bytes, durationMs: r.durationMs }));
  }
}

await main();
