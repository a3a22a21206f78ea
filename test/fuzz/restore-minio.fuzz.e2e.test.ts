// A few cases of the restore fuzzer against the real MinIO of the test cluster, so the property
// is not only shown against the in-memory store (restore.fuzz.test.ts runs the many cases): each
// case's mutated objects are uploaded under a fresh prefix of the tenant's bucket and restored
// from there through the S3 client. FUZZ_MINIO_RUNS cases (default 30); seed as in the unit suite.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, describe, inject, it } from 'vitest';
import { CompressPool } from '../../agent/src/engine/index.ts';
import { Stores } from '../engine/hostile/sandbox.ts';
import { fuzzCaseArb, newSeed, runCase, Tally } from './restore-property.ts';

const runs = Number(process.env.FUZZ_MINIO_RUNS ?? 30);
const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : newSeed();
const path = process.env.FUZZ_PATH;

const stores = new Stores(inject('cluster'));
const pool = new CompressPool(2);
afterAll(async () => {
  stores.closeAll();
  await pool.close();
});

describe('restore fuzzing against MinIO', () => {
  it(`${runs} random and mutated backups restored from the tenant's bucket keep the property`, async () => {
    console.log(`restore fuzz (MinIO): seed ${seed} (replay: FUZZ_SEED=${seed} npx vitest run --project integration test/fuzz)`);
    const tally = new Tally();
    const storeFor = async (objects: Map<string, Buffer>): Promise<ReturnType<Stores['make']>> => {
      const store = stores.make('team-a', `fuzz/${randomUUID()}`);
      for (const [k, v] of objects) await store.putObject(k, v);
      return store;
    };
    try {
      await fc.assert(fc.asyncProperty(fuzzCaseArb, async (c) => {
        tally.add(await runCase(c, { pool, timeoutMs: 60_000, storeFor }));
      }), { numRuns: runs, seed, ...(path ? { path } : {}), endOnFailure: process.env.FUZZ_NO_SHRINK === '1' });
    } finally {
      console.log(`restore fuzz against MinIO (seed ${seed}): ${tally.toString()}`);
    }
  }, 600_000);
});
