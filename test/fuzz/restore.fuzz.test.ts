// The restore fuzzer, bounded for CI (unit project: an in-memory object store, no real component;
// restore-minio.fuzz.e2e.test.ts runs a few cases against MinIO). FUZZ_CI_RUNS cases (default
// 200, about 10 s) from a random seed that is printed first and again in any failure; replay with
// FUZZ_SEED=<seed> (and FUZZ_PATH=<path> from the failure to go straight to the shrunk case).
// `npm run fuzz` runs thousands. The property is restore-property.ts's; see docs/testing.md.
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { CompressPool } from '../../agent/src/engine/index.ts';
import { fuzzCaseArb, newSeed, runCase, Tally } from './restore-property.ts';

const runs = Number(process.env.FUZZ_CI_RUNS ?? 200);
const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : newSeed();
const path = process.env.FUZZ_PATH;

const pool = new CompressPool(2);
afterAll(() => pool.close());

describe('restore fuzzing', () => {
  it(`${runs} random trees, backed up and mutated, restore cleanly or fail with a Cairn code, never writing outside the target`, async () => {
    console.log(`restore fuzz: seed ${seed} (replay: FUZZ_SEED=${seed} npx vitest run --project unit test/fuzz)`);
    const tally = new Tally();
    try {
      await fc.assert(fc.asyncProperty(fuzzCaseArb, async (c) => {
        tally.add(await runCase(c, { pool, timeoutMs: 30_000 }));
      }), { numRuns: runs, seed, ...(path ? { path } : {}), endOnFailure: process.env.FUZZ_NO_SHRINK === '1' });
    } finally {
      console.log(`restore fuzz (seed ${seed}): ${tally.toString()}`);
    }
  }, 600_000);
});
