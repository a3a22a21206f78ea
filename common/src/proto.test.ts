// Smoke test of the generated agent protocol (proto/agent.proto): messages survive a binary
// round trip, and a real grpc-js server and client speak it over loopback. Insecure channel
// credentials here; mTLS is tested with the agent.
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import {
  credentials,
  Server,
  ServerCredentials,
  status,
  type ServerWritableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  AgentClient,
  AgentService,
  BackupJob,
  JobEvent,
  NodeStatusReply,
  RestoreJob,
  type AgentServer,
} from './generated/proto/agent.ts';

function backupJob(overrides: Partial<BackupJob> = {}): BackupJob {
  return BackupJob.fromPartial({
    identity: { jobId: 'job-1', namespace: 'team-a', ownerKind: 'Backup', ownerName: 'nightly', attempt: 1 },
    volume: {
      podUid: '0b6c1f0e-8a51-4d0b-9a7e-2f4f0d6b1c3a',
      volumeName: 'data',
      pluginDir: 'kubernetes.io~csi',
      pvName: 'pvc-0b6c1f0e',
      source: { $case: 'csi', value: { driver: 'hostpath.csi.k8s.io', volumeHandle: 'vol-42' } },
    },
    storage: {
      endpoint: 'https://s3.example.com:9000',
      pinnedAddress: '192.0.2.10',
      bucket: 'team-a-backups',
      prefix: 'cluster-1',
      region: 'us-east-1',
      forcePathStyle: true,
      caCertPem: '-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'canary-secret', sessionToken: '' },
      encryptionKey: Buffer.alloc(32, 7),
    },
    backupName: 'nightly-20260101',
    lineage: { clusterUid: 'c0ffee00-0000-4000-8000-000000000001', pvcUid: 'c0ffee00-0000-4000-8000-000000000002' },
    parentBackup: 'nightly-20251231',
    options: { progressIntervalMs: 500 },
    ...overrides,
  });
}

const roundTrip = <T>(fns: { encode(m: T): { finish(): Uint8Array }; decode(b: Uint8Array): T }, m: T): T =>
  fns.decode(fns.encode(m).finish());

// A file name that is not UTF-8: paths travel as bytes (`Buffer` in the generated types, env=node).
const nonUtf8Path = Buffer.from([0x64, 0x69, 0x72, 0x2f, 0xff, 0xfe]);

const events = {
  accepted: JobEvent.fromPartial({ event: { $case: 'accepted', value: { node: 'node-1', startedAtUnixMs: 1767225600000 } } }),
  progress: (bytesDone: number): JobEvent =>
    JobEvent.fromPartial({
      event: { $case: 'progress', value: { bytesDone, totalBytes: 0, filesDone: 3, totalFiles: 0, bytesPerSecond: 1 << 20 } },
    }),
  warning: JobEvent.fromPartial({
    event: { $case: 'warning', value: { code: 'CAIRN_E_SPECIAL_FILE_SKIPPED', message: 'FIFO skipped', path: nonUtf8Path } },
  }),
  result: JobEvent.fromPartial({
    event: {
      $case: 'result',
      value: {
        ok: false,
        errorCode: 'CAIRN_E_MOUNT_MISMATCH',
        message: 'volume "data" is not the mount of vol-42',
        files: 10,
        bytes: 2 ** 53 - 1,
        storedBytes: 123,
        warnings: 1,
        durationMs: 42,
        volumeId: 'data',
      },
    },
  }),
};

describe('agent protocol messages', () => {
  it('round-trips a BackupJob with a CSI source, credentials, key and parent', () => {
    const job = backupJob();
    expect(roundTrip(BackupJob, job)).toEqual(job);
  });

  it('round-trips a BackupJob with an NFS source and no parent or key', () => {
    const job = backupJob({ parentBackup: undefined });
    job.volume!.pluginDir = 'kubernetes.io~nfs';
    job.volume!.source = { $case: 'nfs', value: { server: 'nfs.example.com', path: '/exports/team-a' } };
    job.storage!.encryptionKey = undefined;
    const back = roundTrip(BackupJob, job);
    expect(back).toEqual(job);
    expect(back.parentBackup).toBeUndefined();
    expect(back.storage?.encryptionKey).toBeUndefined();
  });

  it('keeps a present but empty encryption key present, so the agent can refuse it', () => {
    const job = backupJob();
    job.storage!.encryptionKey = Buffer.alloc(0);
    expect(roundTrip(BackupJob, job).storage?.encryptionKey).toEqual(Buffer.alloc(0));
  });

  it('round-trips a RestoreJob with byte paths and a size cap', () => {
    const job = RestoreJob.fromPartial({
      identity: { jobId: 'job-2', namespace: 'team-a', ownerKind: 'Restore', ownerName: 'r1', attempt: 2 },
      volume: backupJob().volume,
      storage: backupJob().storage,
      backupName: 'nightly-20260101',
      sourceVolumeId: 'data',
      paths: [nonUtf8Path, Buffer.from('etc/app.conf')],
      maxBytes: 10 * 2 ** 30,
    });
    expect(roundTrip(RestoreJob, job)).toEqual(job);
  });

  it.each(Object.entries({ ...events, progress: events.progress(4096) }))('round-trips a JobEvent %s', (_name, ev) => {
    expect(roundTrip(JobEvent, ev)).toEqual(ev);
  });

  it('refuses to decode a count above 2^53 rather than lose precision', () => {
    const bytes = JobEvent.encode(events.progress(2 ** 53 + 2)).finish();
    expect(() => JobEvent.decode(bytes)).toThrow(/MAX_SAFE_INTEGER/);
  });

  it('round-trips a NodeStatusReply with active jobs and a last error', () => {
    const reply = NodeStatusReply.fromPartial({
      nodeName: 'node-1',
      version: '0.1.0',
      uptimeSeconds: 3600,
      activeJobs: [{ identity: backupJob().identity, volumeName: 'data', pvName: 'pvc-0b6c1f0e', bytesDone: 1, totalBytes: 2, startedAtUnixMs: 1 }],
      bytesMovedTotal: 5 * 2 ** 40,
      bytesPerSecond: 100,
      kubeletFreeBytes: 2 ** 35,
      memoryRssBytes: 2 ** 27,
      maxConcurrentJobs: 4,
      lastError: { code: 'CAIRN_E_MOUNT_MISMATCH', message: 'm', jobId: 'job-0', atUnixMs: 2 },
      sampledAtUnixMs: 3,
    });
    expect(roundTrip(NodeStatusReply, reply)).toEqual(reply);
  });
});

// --- a real grpc-js server and client on loopback ---

let server: Server | undefined;
let client: AgentClient | undefined;

afterEach(() => {
  client?.close();
  server?.forceShutdown();
  client = undefined;
  server = undefined;
});

function unimplemented(call: { emit(event: 'error', err: Partial<ServiceError>): boolean }): void {
  call.emit('error', { code: status.UNIMPLEMENTED, details: 'not in this test' });
}

/** Starts an agent server with the given handlers on 127.0.0.1, port 0, and a client for it. */
async function startAgent(impl: Partial<AgentServer>): Promise<AgentClient> {
  server = new Server();
  server.addService(AgentService, {
    backup: unimplemented,
    restore: unimplemented,
    watchNodeStatus: unimplemented,
    nodeStatus: (_call, cb) => cb({ code: status.UNIMPLEMENTED }),
    ...impl,
  } satisfies AgentServer);
  const s = server;
  const port = await new Promise<number>((resolve, reject) =>
    s.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  client = new AgentClient(`127.0.0.1:${port}`, credentials.createInsecure());
  return client;
}

/** Writes one event, waiting for the stream to drain when its buffer is full. */
async function send(call: ServerWritableStream<BackupJob, JobEvent>, ev: JobEvent): Promise<void> {
  if (!call.write(ev)) await once(call, 'drain');
}

describe('agent protocol over grpc-js', () => {
  it('streams Accepted, Progress, Progress, Result to the client in order', async () => {
    let received: BackupJob | undefined;
    const agent = await startAgent({
      backup: (call) => {
        received = call.request;
        void (async () => {
          for (const ev of [events.accepted, events.progress(1), events.progress(2), events.result]) await send(call, ev);
          call.end();
        })();
      },
    });

    const got: JobEvent[] = [];
    for await (const ev of agent.backup(backupJob())) got.push(ev as JobEvent);

    expect(received).toEqual(backupJob());
    expect(got.map((e) => e.event?.$case)).toEqual(['accepted', 'progress', 'progress', 'result']);
    expect(got).toEqual([events.accepted, events.progress(1), events.progress(2), events.result]);
  });

  it('answers a unary NodeStatus call', async () => {
    const reply = NodeStatusReply.fromPartial({ nodeName: 'node-1', version: '0.1.0', maxConcurrentJobs: 2 });
    const agent = await startAgent({ nodeStatus: (_call, cb) => cb(null, reply) });
    const got = await new Promise<NodeStatusReply>((resolve, reject) =>
      agent.nodeStatus({ intervalMs: 0 }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    expect(got).toEqual(reply);
  });

  it('cancelling the client call fires the server call\'s cancelled event and aborts the job', async () => {
    const job = new AbortController();
    const cancelled = Promise.withResolvers<void>();
    const agent = await startAgent({
      backup: (call) => {
        // What the agent does: the call's cancellation becomes the job's AbortSignal.
        call.on('cancelled', () => {
          job.abort(new Error('call cancelled'));
          cancelled.resolve();
        });
        void send(call, events.accepted);
      },
    });

    const call = agent.backup(backupJob());
    const clientError = new Promise<ServiceError>((resolve) => call.on('error', resolve));
    const [first] = (await once(call, 'data')) as [JobEvent];
    expect(first.event?.$case).toBe('accepted');

    call.cancel();
    await cancelled.promise;
    expect(job.signal.aborted).toBe(true);
    expect((await clientError).code).toBe(status.CANCELLED);
  });
});
