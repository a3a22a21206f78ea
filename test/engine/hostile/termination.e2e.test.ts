// A refusal ends the restore, whatever is still queued behind the refused entry: frames being
// fetched ahead (more than the fetch-ahead depth) and index entries read ahead (more than the
// queue holds). Regression: the reader used to wait forever for room that the stopped writer
// would never make, so the job hung instead of failing. Benign twin: the same archive without
// the hostile entry restores.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { forged, noise, type ArchiveBuilder } from './archive-builder.ts';
import { hostileSuite, refused } from './sandbox.ts';

const { run } = hostileSuite(inject('cluster'));

/** Fails the test instead of hanging it when the restore does not settle in time. */
async function settles(p: Promise<unknown>, ms = 20_000): Promise<void> {
  const r = await Promise.race([p.then(() => 'settled', () => 'settled'), sleep(ms).then(() => 'hung')]);
  expect(r, `the restore did not settle within ${ms} ms`).toBe('settled');
}

/** Root, an optional entry without its parent, then 24 files each in a pack of its own. */
function manyFrames(hostile: boolean): ArchiveBuilder {
  const b = forged().root();
  if (hostile) b.entry('m/x', { data: noise(100) });
  for (let i = 0; i < 24; i++) b.newPack().file(`z${String(i).padStart(2, '0')}`, noise(1000, i + 1));
  return b;
}

/** Root, an optional entry without its parent, then 12000 empty files. */
function manyEntries(hostile: boolean): ArchiveBuilder {
  const b = forged().root();
  if (hostile) b.entry('m/x', { data: noise(100) });
  for (let i = 0; i < 12_000; i++) b.file(`z${String(i).padStart(5, '0')}`, Buffer.alloc(0));
  return b;
}

describe('a refusal ends the restore', () => {
  it('with more frames queued behind the refused entry than are fetched ahead', async () => {
    const r = await run(manyFrames(true), { fetchAhead: 4 });
    await settles(r.restored);
    await refused(r.restored, 'CAIRN_E_HOSTILE_ARCHIVE', 'm/x');
  });

  it('with more index entries behind the refused entry than the queue holds', async () => {
    const r = await run(manyEntries(true));
    await settles(r.restored);
    await refused(r.restored, 'CAIRN_E_HOSTILE_ARCHIVE', 'm/x');
  });

  // (The 12000 empty files of the second case are ordinary entries; restoring them takes seconds
  // and shows nothing the first twin does not.)
  it('benign twin: the many-frames archive without the hostile entry restores', async () => {
    const r = await run(manyFrames(false), { fetchAhead: 4 });
    expect(await r.restored).toMatchObject({ files: 24 });
  });
});
