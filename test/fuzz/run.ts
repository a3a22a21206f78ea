// `npm run fuzz`: the restore fuzzer at length. FUZZ_RUNS cases (default 5000) from FUZZ_SEED
// (default: random, printed first so that a crash of the whole process can be replayed too);
// FUZZ_PATH with the seed replays the shrunk failure fast-check printed. FUZZ_TIMEOUT_MS bounds
// each restore (default 30000). The property is restore-property.ts's; see docs/testing.md.
import fc from 'fast-check';
import { CompressPool } from '../../agent/src/engine/index.ts';
import { fuzzCaseArb, newSeed, runCase, Tally } from './restore-property.ts';

const runs = Number(process.env.FUZZ_RUNS ?? 5000);
const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : newSeed();
const path = process.env.FUZZ_PATH;
const timeoutMs = Number(process.env.FUZZ_TIMEOUT_MS ?? 30_000);
console.log(`restore fuzz: ${runs} cases, seed ${seed}${path ? `, path ${path}` : ''} (replay: FUZZ_SEED=${seed} npm run fuzz)`);

const pool = new CompressPool(2);
const tally = new Tally();
const started = Date.now();
let exit = 0;
try {
  await fc.assert(fc.asyncProperty(fuzzCaseArb, async (c) => {
    const r = await runCase(c, { pool, timeoutMs });
    tally.add(r);
    if (process.env.FUZZ_DEBUG) console.log(`  ${r.ms} ms ${r.applied.join(' ')}: ${r.outcome} ${r.message?.slice(0, 160) ?? ''}`);
    if (tally.cases % 100 === 0) console.log(`  ${tally.cases} cases, ${Math.round((Date.now() - started) / 1000)} s`);
  }), { numRuns: runs, seed, ...(path ? { path } : {}), endOnFailure: process.env.FUZZ_NO_SHRINK === '1' });
  console.log(`restore fuzz passed: ${tally.toString()}`);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  if (err instanceof Error && err.cause !== undefined) console.error('caused by:', err.cause instanceof Error ? err.cause.stack : err.cause);
  console.error(`restore fuzz FAILED (seed ${seed}); ${tally.toString()}`);
  exit = 1;
} finally {
  await pool.close();
}
process.exit(exit);
