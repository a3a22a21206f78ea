// One Cairn engine operation in its own Node process, so the benchmark can measure its peak RSS
// the same way as restic's and kopia's. Reads its job from the CAIRN_BENCH_OP environment
// variable (JSON; credentials stay out of the process list). Exits with EXIT_UNAVAILABLE and a
// line on stderr when the engine or the S3 store cannot be loaded.
//
// The engine (agent/src/engine) and the S3 store (common/src/store) are being written alongside
// the benchmark; they are imported by computed URL and typed here by their intended API, so the
// benchmark typechecks before they exist. Once both have landed these can become static imports.
import { Secret } from '../../common/src/secret.ts';
import { EXIT_UNAVAILABLE, type CairnOp } from './cairn.ts';

interface S3Config {
  endpoint: string;
  bucket: string;
  prefix: string;
  region: string;
  forcePathStyle: boolean;
  credentials: Secret<{ accessKeyId: string; secretAccessKey: string }>;
}

interface EngineModule {
  backup(root: string, store: unknown, opts: { backupName: string; lineage: CairnOp['lineage']; parent?: string; key?: Secret<Buffer>; signal?: AbortSignal }): Promise<unknown>;
  restore(store: unknown, backup: string, targetRoot: string, opts: { maxBytes: number; key?: Secret<Buffer>; signal?: AbortSignal }): Promise<unknown>;
}

interface StoreModule {
  createS3Store(config: S3Config): unknown;
}

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

async function main(): Promise<void> {
  const job = JSON.parse(process.env.CAIRN_BENCH_OP ?? '{}') as CairnOp;
  const { engine, store: storeModule } = await load();
  if (job.op === 'probe') return;
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
    const result = await engine.backup(job.root, store, { backupName: job.backupName, lineage: job.lineage, parent: job.parent, key, signal: ac.signal });
    console.log(JSON.stringify(result));
  } else {
    if (!job.target) throw new Error('restore needs target');
    const result = await engine.restore(store, job.backupName, job.target, { maxBytes: 1e12, key, signal: ac.signal });
    console.log(JSON.stringify(result ?? null));
  }
}

await main();
