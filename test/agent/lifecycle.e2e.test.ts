// Agent jobs beyond the happy path: metadata survives a round trip over gRPC, an agent killed
// mid-backup leaves nothing that looks complete (and its upload can be aborted by the caller),
// and agents on two nodes run jobs at the same time.
import { randomBytes, randomUUID } from 'node:crypto';
import { chown, mkdir, utimes, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { writeManifest } from '../../agent/src/engine/index.ts';
import type { VolumeRecord } from '../../common/src/format/manifest.ts';
import { digestTree, keys, multipartUploads, tenantStore } from '../engine/helpers.ts';
import { waitFor } from '../harness/wait.ts';
import { backupJob, coordinatorTo, extraAgent, fillRandom, mountedVolume, restoreJob, storageTarget } from './agent-fixtures.ts';

const cluster = inject('cluster');
const require = createRequire(import.meta.url);
const xattr = require('fs-xattr') as { setAttributeSync(p: string, n: string, v: Buffer): void };

describe('agent job lifecycle', () => {
  it('keeps bytes, mode, owner, mtime and user xattrs through backup and restore over gRPC', async () => {
    const src = await mountedVolume(cluster, 'team-a', 'meta-src');
    await mkdir(join(src.path, 'd'), { recursive: true });
    await writeFile(join(src.path, 'd/owned.bin'), randomBytes(100_000), { mode: 0o640 });
    await chown(join(src.path, 'd/owned.bin'), 4321, 8765);
    await utimes(join(src.path, 'd/owned.bin'), new Date('2010-01-01T00:00:00Z'), new Date('2011-02-03T04:05:06Z'));
    xattr.setAttributeSync(join(src.path, 'd/owned.bin'), 'user.origin', Buffer.from('team-a'));
    const prefix = `agent/${randomUUID()}`;
    const storage = storageTarget(cluster, 'team-a', prefix);
    const r = await coordinatorTo(cluster, src.node).backup(backupJob(src, storage, 'meta'));
    expect(r.ok).toBe(true);
    await writeManifest(tenantStore(cluster, 'team-a', prefix), 'meta', [JSON.parse(r.volumeRecordJson) as VolumeRecord]);
    const dst = await mountedVolume(cluster, 'team-a', 'meta-dst');
    expect(await coordinatorTo(cluster, dst.node).restore(restoreJob(dst, storage, 'meta', 'meta-src'))).toMatchObject({ ok: true });
    const want = await digestTree(src.path, { mtimes: true, xattrs: true });
    const got = await digestTree(dst.path, { mtimes: true, xattrs: true });
    expect(got.get('d/owned.bin')).toMatchObject({ uid: 4321, gid: 8765, mode: 0o640, mtimeMs: Date.parse('2011-02-03T04:05:06Z') });
    expect(got).toEqual(want);
  });

  it('an agent killed mid-backup: the stream ends with an error, no manifest or index, and the caller aborts the upload', async () => {
    const agent = await extraAgent(cluster, 'node-2', { name: 'agent-node-2-killed' });
    const vol = await mountedVolume(cluster, 'team-a', 'killed-src', 'node-2');
    await fillRandom(vol.path, 160 << 20);
    const prefix = `agent/${randomUUID()}`;
    const store = tenantStore(cluster, 'team-a', prefix);
    let moving = false;
    const run = agent.connect().backup(backupJob(vol, storageTarget(cluster, 'team-a', prefix), 'killed'), { onProgress: (p) => (moving ||= p.bytesDone > 20 << 20) });
    const outcome = run.catch((err: unknown) => err);
    await waitFor('the backup to be moving data', () => moving, { intervalMs: 20, timeoutMs: 60_000 });
    agent.process.child.kill('SIGKILL');
    expect(await outcome).toMatchObject({ code: expect.stringMatching(/^CAIRN_E_(AGENT_UNAVAILABLE|INTERNAL)$/) as string });
    const left = await keys(store);
    expect(left.filter((k) => k.endsWith('manifest.json') || k.endsWith('.index.zst'))).toEqual([]);
    // The coordinator aborts what the dead job left; afterwards nothing partial is visible.
    for await (const u of store.listMultipartUploads('')) await store.abortMultipartUpload(u.key, u.uploadId);
    expect(await multipartUploads(store)).toEqual([]);
    await agent.stop();
  });

  it('agents on two nodes run jobs at the same time', async () => {
    const [a, b] = await Promise.all([mountedVolume(cluster, 'team-a', 'both-1', 'node-1'), mountedVolume(cluster, 'team-b', 'both-2', 'node-2')]);
    await Promise.all([fillRandom(a.path, 48 << 20), fillRandom(b.path, 48 << 20)]);
    const active: Record<string, boolean> = {};
    const run = (v: typeof a, tenant: string) => coordinatorTo(cluster, v.node).backup(backupJob(v, storageTarget(cluster, tenant, `agent/${randomUUID()}`), 'both', tenant), {
      onProgress: () => (active[v.node] = true),
    });
    const both = Promise.all([run(a, 'team-a'), run(b, 'team-b')]);
    await waitFor('both agents to report progress', () => active['node-1'] && active['node-2'], { timeoutMs: 60_000, intervalMs: 20 });
    const [ra, rb] = await both;
    expect(ra.ok && rb.ok).toBe(true);
  });
});
