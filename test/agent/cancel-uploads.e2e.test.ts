// Regression for a finding: cancelling a backup left its multipart upload in the bucket, since
// the job process inside bwrap was killed before the engine could abort its uploads. Cancels
// now go to the job over its stdin (run-sandboxed.ts, job-runner.ts).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { multipartUploads, tenantStore } from '../engine/helpers.ts';
import { waitFor } from '../harness/wait.ts';
import { backupJob, extraAgent, fillRandom, mountedVolume, storageTarget, type ExtraAgent, type MountedVolume } from './agent-fixtures.ts';

const cluster = inject('cluster');
let single: ExtraAgent;
let large: MountedVolume;

beforeAll(async () => {
  [single, large] = await Promise.all([
    extraAgent(cluster, 'node-1', { name: 'agent-node-1-cancel-uploads', maxJobs: 1 }),
    mountedVolume(cluster, 'team-a', 'cancel-uploads-big', 'node-1'),
  ]);
  await fillRandom(large.path, 200 << 20);
});

afterAll(async () => {
  await single?.stop();
});

const newPrefix = () => `limits/${randomUUID()}`;

describe('agent job cancellation and uploads', () => {
  it('cancelling mid-upload leaves no multipart upload in the bucket', async () => {
    const conn = single.connect();
    const prefix = newPrefix();
    const store = tenantStore(cluster, 'team-a', prefix);
    const ac = new AbortController();
    const outcome = conn.backup(backupJob(large, storageTarget(cluster, 'team-a', prefix), 'cancelled-upload'), { signal: ac.signal }).catch((err: unknown) => err);
    // Cancel while a pack is being uploaded in parts, so there is an upload to abort.
    const open = await waitFor('a multipart upload of the backup', async () => {
      const u = await multipartUploads(store);
      return u.length > 0 ? u : undefined;
    }, { timeoutMs: 20_000, intervalMs: 50 });
    ac.abort();
    expect(await outcome).toMatchObject({ code: 'CAIRN_E_ABORTED' });
    await waitFor('the job to leave activeJobs', async () => (await conn.nodeStatus()).activeJobs.length === 0, { timeoutMs: 5_000, intervalMs: 50 });
    // The agent aborts the uploads it started (docs/protocol.md, Cancellation); give it a moment.
    let left: string[] = open;
    await waitFor('no multipart uploads under the prefix', async () => (left = await multipartUploads(store)).length === 0, { timeoutMs: 5_000 }).catch(() => {});
    conn.close();
    expect(left, `multipart uploads left after the cancel (open before it: ${open.join(', ')})`).toEqual([]);
  });
});
