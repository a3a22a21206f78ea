// Credentials and keys travel only inside the mTLS call and the job's pipe, and stay in memory:
// while a real backup runs, no process on the machine has them in its argv or environment, and
// afterwards neither the agent's log nor anything the job sent back contains them. The canaries
// are the tenant's real secret access key and a fresh 32-byte encryption key (MinIO refuses a
// made-up secret, so a made-up secret and session token are canaries of a failing job instead).
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceError } from '@grpc/grpc-js';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { JobEvent, NodeStatusReply, StorageTarget } from '../../common/src/generated/proto/agent.ts';
import { backupJob, coordinatorTo, descendants, fillRandom, mountedVolume, rawAgentClient, storageTarget, type MountedVolume } from './agent-fixtures.ts';

const cluster = inject('cluster');
const node = 'node-1';
const agent = cluster.agents.find((a) => a.node === node)!;
const agentPid = cluster.pids[`agent ${node}`]!;

interface Canary {
  name: string;
  bytes: Buffer;
}

/** Each secret in every form it could be written in. */
function canariesOf(secrets: Record<string, string | Buffer>): Canary[] {
  return Object.entries(secrets).flatMap(([name, v]) => typeof v === 'string'
    ? [{ name, bytes: Buffer.from(v) }]
    : [
      { name: `${name} (raw)`, bytes: v },
      { name: `${name} (hex)`, bytes: Buffer.from(v.toString('hex')) },
      { name: `${name} (HEX)`, bytes: Buffer.from(v.toString('hex').toUpperCase()) },
      { name: `${name} (base64)`, bytes: Buffer.from(v.toString('base64')) },
      { name: `${name} (base64url)`, bytes: Buffer.from(v.toString('base64url')) },
    ]);
}

function found(haystack: Buffer, canaries: Canary[]): string[] {
  return canaries.filter((c) => haystack.includes(c.bytes)).map((c) => c.name);
}

interface Scan {
  hits: string[];
  /** Processes below the agent (bwrap and the job's node) that the scan read. */
  jobProcesses: number;
}

/** Reads cmdline and environ of every process, as bytes. */
function scanProcesses(canaries: Canary[]): Scan {
  const hits: string[] = [];
  const below = new Set(descendants(agentPid));
  let jobProcesses = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let read = false;
    for (const f of ['cmdline', 'environ']) {
      let data: Buffer;
      try {
        data = readFileSync(`/proc/${d}/${f}`);
      } catch {
        continue; // exited meanwhile
      }
      read = true;
      for (const name of found(data, canaries)) {
        let comm = '?';
        try {
          comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
        } catch {
          // gone
        }
        hits.push(`${name} in /proc/${d}/${f} (${comm})`);
      }
    }
    if (read && below.has(Number(d))) jobProcesses++;
  }
  return { hits, jobProcesses };
}

/** Runs a job on the wire, scanning /proc every 100 ms while it runs. */
async function runScanned(job: ReturnType<typeof backupJob>, canaries: Canary[]): Promise<{ events: JobEvent[]; scans: Scan[]; error?: ServiceError }> {
  const client = rawAgentClient(cluster, agent.address);
  const call = client.backup(job);
  const events: JobEvent[] = [];
  const scans: Scan[] = [];
  let done = false;
  const ended = new Promise<ServiceError | undefined>((resolve) => {
    call.on('data', (e: JobEvent) => events.push(e));
    call.on('error', (err: ServiceError) => resolve(err));
    call.on('end', () => resolve(undefined));
  }).finally(() => (done = true));
  while (!done) {
    scans.push(scanProcesses(canaries));
    await sleep(100);
  }
  const error = await ended;
  client.close();
  return { events, scans, ...(error ? { error } : {}) };
}

/** Every byte of the events as sent: their JSON with Buffers as base64, and the Buffers raw. */
function eventBytes(events: unknown[]): Buffer {
  const raw: Buffer[] = [];
  const json = JSON.stringify(events, (_k, v: unknown) => {
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      const b = Buffer.from((v as { data: number[] }).data);
      raw.push(b);
      return b.toString('base64');
    }
    return v;
  });
  return Buffer.concat([Buffer.from(json), ...raw]);
}

let vol: MountedVolume;
beforeAll(async () => {
  vol = await mountedVolume(cluster, 'team-b', 'cred-big', node);
  await fillRandom(vol.path, 160 << 20);
});

describe('agent credentials', () => {
  it('a running backup: no process has the secret key or the encryption key in argv or environ; the log, events and result have neither', async () => {
    const tenant = cluster.minio.tenants['team-b']!;
    const key = randomBytes(32);
    const canaries = canariesOf({ 'secret access key': tenant.secretAccessKey, 'encryption key': key });
    const storage: StorageTarget = { ...storageTarget(cluster, 'team-b', `cred/${randomUUID()}`), encryptionKey: key };
    const job = backupJob(vol, storage, 'canary', 'team-b');

    const r = await runScanned(job, canaries);
    expect(r.error).toBeUndefined();
    const result = r.events.at(-1)?.event;
    expect(result).toMatchObject({ $case: 'result', value: { ok: true, errorCode: '' } });
    // The scans saw the job's own processes (bwrap and node) while they held the credentials.
    const withJob = r.scans.filter((s) => s.jobProcesses >= 2);
    expect(withJob.length, `scans: ${r.scans.map((s) => s.jobProcesses).join(' ')}`).toBeGreaterThanOrEqual(3);
    expect(r.scans.flatMap((s) => s.hits)).toEqual([]);
    expect(found(eventBytes(r.events), canaries)).toEqual([]);

    const status: NodeStatusReply = await coordinatorTo(cluster, node).nodeStatus();
    expect(found(eventBytes([status]), canaries)).toEqual([]);
    await sleep(300); // the log is written through a pipe
    const log = await readFile(agent.logFile);
    expect(log.includes(Buffer.from(job.identity!.jobId))).toBe(true); // the log covers this job
    expect(found(log, canaries)).toEqual([]);
  });

  it('a job refused by the store for its credentials says so without repeating them', async () => {
    const tenant = cluster.minio.tenants['team-b']!;
    const secret = `canary-secret-${randomBytes(12).toString('hex')}`;
    const token = `canary-token-${randomBytes(24).toString('hex')}`;
    const canaries = canariesOf({ 'wrong secret': secret, 'session token': token, 'real secret': tenant.secretAccessKey });
    for (const credentials of [
      { accessKeyId: tenant.accessKeyId, secretAccessKey: secret, sessionToken: '' },
      { accessKeyId: tenant.accessKeyId, secretAccessKey: tenant.secretAccessKey, sessionToken: token },
    ]) {
      const job = backupJob(vol, { ...storageTarget(cluster, 'team-b', `cred/${randomUUID()}`), credentials }, 'refused', 'team-b');
      const r = await runScanned(job, canaries);
      expect(r.error).toBeUndefined();
      const result = r.events.at(-1)?.event;
      expect(result, `job ${job.identity!.jobId}: ${JSON.stringify(result)}`).toMatchObject({ $case: 'result', value: { ok: false, errorCode: expect.stringMatching(/^CAIRN_E_STORE_/) as string } });
      expect(r.scans.flatMap((s) => s.hits)).toEqual([]);
      expect(found(eventBytes(r.events), canaries)).toEqual([]);
      const status = await coordinatorTo(cluster, node).nodeStatus();
      expect(found(eventBytes([status]), canaries)).toEqual([]);
      await sleep(300);
      const log = await readFile(agent.logFile);
      expect(log.includes(Buffer.from(job.identity!.jobId))).toBe(true);
      expect(found(log, canaries)).toEqual([]);
    }
  });
});
