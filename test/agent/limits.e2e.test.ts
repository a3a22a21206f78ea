// The per-node job limit and cancellation, on agents of this suite's own (node-1's address and
// kubelet root, own ports) so the slots and counters are not shared with other suites.
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { JobResult } from '../../common/src/agent-client/agent-client.ts';
import { keys, tenantStore } from '../engine/helpers.ts';
import { waitFor } from '../harness/wait.ts';
import { backupJob, descendants, drain, extraAgent, fillRandom, mountedVolume, rawAgentClient, restoreJob, storageTarget, type ExtraAgent, type MountedVolume } from './agent-fixtures.ts';

const cluster = inject('cluster');
const big = 200 << 20;

let single: ExtraAgent;
let large: MountedVolume;
let small: MountedVolume;

beforeAll(async () => {
  [single, large, small] = await Promise.all([
    extraAgent(cluster, 'node-1', { name: 'agent-node-1-max1', maxJobs: 1 }),
    mountedVolume(cluster, 'team-a', 'limits-big', 'node-1'),
    mountedVolume(cluster, 'team-a', 'limits-small', 'node-1'),
  ]);
  await fillRandom(large.path, big);
  await writeFile(join(small.path, 'note.txt'), 'small');
});

afterAll(async () => {
  await single?.stop();
});

const newPrefix = () => `limits/${randomUUID()}`;

describe('agent job limit', () => {
  it('refuses a job beyond --max-jobs with RESOURCE_EXHAUSTED and CAIRN_E_BUSY naming the node and the limit, and takes one again when a slot frees', async () => {
    const conn = single.connect();
    let accepted!: () => void;
    const running = new Promise<void>((r) => (accepted = r));
    const first = conn.backup(backupJob(large, storageTarget(cluster, 'team-a', newPrefix()), 'long'), { onAccepted: () => accepted() });
    await running;

    // What the coordinator's client sees.
    const refusedPrefix = newPrefix();
    const second = backupJob(small, storageTarget(cluster, 'team-a', refusedPrefix), 'second');
    await expect(conn.backup(second)).rejects.toMatchObject({ code: 'CAIRN_E_BUSY', message: expect.stringMatching(/node-1.*\b1\b/) as string });
    // On the wire: the status code and trailer, no events at all (not even Accepted).
    const raw = rawAgentClient(cluster, single.endpoint.address);
    const onWire = await drain(raw.backup({ ...second, identity: { ...second.identity!, jobId: randomUUID() } }));
    expect(onWire).toMatchObject({ ok: false, code: status.RESOURCE_EXHAUSTED, cairnCode: 'CAIRN_E_BUSY', messages: [] });
    expect(onWire.details).toBe('node-1 is running its maximum of 1 jobs');
    // A restore counts against the same limit.
    const restore = await drain(raw.restore(restoreJob(small, storageTarget(cluster, 'team-a', refusedPrefix), 'second', 'limits-small')));
    expect(restore).toMatchObject({ ok: false, code: status.RESOURCE_EXHAUSTED, cairnCode: 'CAIRN_E_BUSY', messages: [] });
    raw.close();
    const during = await conn.nodeStatus();
    expect(during.maxConcurrentJobs).toBe(1);
    expect(during.activeJobs.map((j) => j.volumeName)).toEqual(['limits-big']);

    expect(await first).toMatchObject({ ok: true, bytes: big });
    expect(await keys(tenantStore(cluster, 'team-a', refusedPrefix))).toEqual([]); // the refused jobs never ran

    // The slot is free again: the same job is accepted and runs.
    expect(await conn.backup({ ...second, identity: { ...second.identity!, jobId: randomUUID() } })).toMatchObject({ ok: true, files: 1 });
    expect((await conn.nodeStatus()).activeJobs).toEqual([]);
    conn.close();
  });
});

describe('agent job cancellation', () => {
  it('cancelling the call stops the job within 5 s; the agent stays up and nothing is left running', async () => {
    const conn = single.connect();
    const agentPid = single.process.pid!;
    const prefix = newPrefix();
    const job = backupJob(large, storageTarget(cluster, 'team-a', prefix), 'cancelled');
    const ac = new AbortController();
    let progressed = 0;
    const outcome = conn.backup(job, { signal: ac.signal, onProgress: (p) => (progressed = p.bytesDone) })
      .then((r: JobResult) => ({ ok: true as const, r }), (err: unknown) => ({ ok: false as const, err }));
    // Cancel once data is moving and the sandboxed child is running.
    await waitFor('the backup to move data', () => progressed > 0, { intervalMs: 20 });
    const sandboxed = descendants(agentPid);
    expect(sandboxed.length).toBeGreaterThan(0);
    ac.abort();
    const cancelledAt = Date.now();

    const o = await outcome;
    expect(o.ok).toBe(false);
    expect(!o.ok && o.err).toMatchObject({ code: 'CAIRN_E_ABORTED' });
    // The agent sees the cancel, kills the job's processes and frees the slot.
    await waitFor('the job to leave activeJobs', async () => (await conn.nodeStatus()).activeJobs.length === 0, { timeoutMs: 5_000, intervalMs: 50 });
    await waitFor('the job processes to end', () => descendants(agentPid).length === 0, { timeoutMs: 5_000, intervalMs: 50 });
    const stoppedIn = Date.now() - cancelledAt;
    expect(stoppedIn).toBeLessThan(5_000);

    single.process.assertRunning();
    const after = await conn.nodeStatus();
    expect(after.activeJobs).toEqual([]);
    // It did not finish: no index for the volume was written.
    expect((await keys(tenantStore(cluster, 'team-a', prefix))).filter((k) => k.includes('/backups/'))).toEqual([]);
    // The slot is free: the next job runs.
    expect(await conn.backup(backupJob(small, storageTarget(cluster, 'team-a', newPrefix()), 'next'))).toMatchObject({ ok: true });
    conn.close();
    console.log(`cancel: stopped ${stoppedIn} ms after the cancel, at ${progressed} of ${big} bytes`);
  });
});
