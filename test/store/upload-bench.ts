// Measures multipart upload time by part size and queue depth against a local MinIO started
// here (same binary and setup as the test cluster's). Not a test: run it by hand, and put its
// table in docs/storage.md.
//   node test/store/upload-bench.ts [--size-mib 256] [--runs 3] [--parts 5,8,16,32] [--queues 2,4,8] [--data-dir DIR]
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Secret } from '../../common/src/secret.ts';
import { createS3Store } from '../../common/src/store/object-store.ts';
import { createTenantStorage, startMinio } from '../harness/minio.ts';
import { bytes, streamOf } from './helpers.ts';

const MiB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '256' },
    runs: { type: 'string', default: '3' },
    parts: { type: 'string', default: '5,8,16,32' },
    queues: { type: 'string', default: '2,4,8' },
    'data-dir': { type: 'string' },
  },
});
const size = Number(values['size-mib']) * MiB;
const runs = Number(values.runs);
const partSizes = values.parts.split(',').map(Number);
const queues = values.queues.split(',').map(Number);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const runDir = await mkdtemp(join(tmpdir(), 'cairn-upload-bench-'));
await mkdir(join(runDir, 'logs'));
// MinIO's data on tmpfs by default: disk write-back made runs on disk vary by 2x.
const dataDir = values['data-dir'] ?? await mkdtemp(join('/dev/shm', 'cairn-upload-bench-'));
const minio = await startMinio(runDir, dataDir);
try {
  const user = await createTenantStorage(minio, 'bench', 'bench');
  const store = createS3Store({
    endpoint: minio.endpoint, bucket: 'bench', prefix: 'bench', region: 'us-east-1', forcePathStyle: true,
    credentials: new Secret(user),
  });
  const data = bytes(size, 99);
  const loadBefore = loadavg()[0]!;
  // One warm-up upload: connections, MinIO's first-write paths, JIT.
  await store.upload('warmup', streamOf(data, MiB), { partSize: 16 * MiB, queueSize: 4 });
  // Rounds over all configurations in a shuffled order, so drift (page cache, other work on
  // the machine) spreads over every configuration instead of the last ones.
  const configs = partSizes.flatMap((partMiB) => queues.map((queue) => ({ partMiB, queue, seconds: [] as number[] })));
  for (let r = 0; r < runs; r++) {
    for (const c of [...configs].sort(() => Math.random() - 0.5)) {
      const key = `p${c.partMiB}-q${c.queue}-${r}`;
      const t0 = process.hrtime.bigint();
      await store.upload(key, streamOf(data, MiB), { partSize: c.partMiB * MiB, queueSize: c.queue });
      c.seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
      await store.deleteObject(key);
    }
    console.error(`round ${r + 1} of ${runs} done`);
  }
  const rows = configs.map((c) => ({ ...c, median: median(c.seconds), mibPerS: size / MiB / median(c.seconds) }));
  store.close();
  console.log(`${size / MiB} MiB upload to local MinIO (data on ${dataDir}), ${cpus().length} cores, median of ${runs} (node ${process.version}); 1-min load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after\n`);
  console.log('| part size | queue | median s | MiB/s | runs (s) |');
  console.log('|---:|---:|---:|---:|---|');
  for (const r of rows) console.log(`| ${r.partMiB} MiB | ${r.queue} | ${r.median.toFixed(2)} | ${r.mibPerS.toFixed(0)} | ${r.seconds.map((s) => s.toFixed(2)).join(', ')} |`);
} finally {
  await minio.process.stop();
  await rm(runDir, { recursive: true, force: true });
  if (values['data-dir'] === undefined) await rm(dataDir, { recursive: true, force: true });
}
