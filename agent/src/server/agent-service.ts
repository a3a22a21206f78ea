// The agent's gRPC service: validates each job, refuses what it must before starting, verifies
// the volume's mount, runs the job in its sandbox and streams its events back. Cancelling the
// call cancels the job. A per-node limit bounds concurrent jobs.
import { once } from 'node:events';
import { status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import { CairnError, codeOf } from '../../../common/src/errors.ts';
import type { Logger } from '../../../common/src/logger.ts';
import { checkAddress, type AddressPolicy } from '../../../common/src/net/address-policy.ts';
import type { AgentServer, BackupJob, JobEvent, NodeStatusReply, NodeStatusRequest, RestoreJob } from '../../../common/src/generated/proto/agent.ts';
import { validateBackupJob, validateRestoreJob, type ValidJob } from '../jobs/validate-job.ts';
import type { SandboxEvent } from '../jobs/sandbox-job.ts';
import { verifyMount } from '../mount/verify-mount.ts';
import { backupCaps, restoreCaps, runSandboxed } from '../sandbox/run-sandboxed.ts';
import { warmCompileCache } from '../sandbox/compile-cache.ts';
import { NodeStatusBook } from './node-status.ts';
import { denied, errorTrailer, peerIsCoordinator } from './peer-identity.ts';

export interface AgentServiceOptions {
  nodeName: string;
  version: string;
  kubeletRoot: string;
  /** Folder with the agent's code and node_modules, bound read-only into each sandbox. */
  appRoot: string;
  maxJobs: number;
  pluginDirs: readonly string[];
  addressPolicy: AddressPolicy;
  bwrap?: string;
  logger: Logger;
  statusIntervalMs?: number;
  /** Warm a compile cache for the job processes at start (default true; compile-cache.ts). */
  compileCache?: boolean;
  /** The cache's folder, owned by the agent (emptied at start); default a new temporary one. */
  compileCacheDir?: string;
}

const entry = 'agent/src/sandbox/job-runner.ts';

export interface AgentService {
  service: AgentServer;
  book: NodeStatusBook;
  /** The job processes' compile cache folder once warm; undefined when off or warming failed. */
  compileCache: Promise<string | undefined>;
}

export function createAgentService(o: AgentServiceOptions): AgentService {
  const book = new NodeStatusBook(o.nodeName, o.version, o.kubeletRoot, o.maxJobs);
  // Jobs that arrive while it warms (about a second) wait for it; without it they only start slower.
  const compileCache = o.compileCache === false ? Promise.resolve(undefined) : warmCompileCache({
    appRoot: o.appRoot, entry, signal: AbortSignal.timeout(60_000), ...(o.bwrap ? { bwrap: o.bwrap } : {}), ...(o.compileCacheDir ? { dir: o.compileCacheDir } : {}),
  }).then((dir) => {
    o.logger.info({ dir }, 'compile cache of job processes warmed');
    return dir;
  }, (err: unknown) => {
    o.logger.warn({ err }, 'warming the compile cache of job processes failed; jobs run without it');
    return undefined;
  });

  /** Writes respecting backpressure, one at a time. */
  function sender(call: ServerWritableStream<unknown, JobEvent>): (e: JobEvent) => Promise<void> {
    let tail = Promise.resolve();
    return (e) => {
      tail = tail.then(async () => {
        if (call.cancelled || call.destroyed) return;
        if (!call.write(e)) await once(call, 'drain').catch(() => {});
      });
      return tail;
    };
  }

  async function runJob(call: ServerWritableStream<BackupJob | RestoreJob, JobEvent>, kind: 'backup' | 'restore'): Promise<void> {
    if (!peerIsCoordinator(call)) return void call.emit('error', Object.assign(new Error(denied.details), denied));
    let job: ValidJob;
    try {
      job = kind === 'backup' ? validateBackupJob(call.request as BackupJob, o.pluginDirs) : validateRestoreJob(call.request as RestoreJob, o.pluginDirs);
      const url = new URL(job.sandbox.storage.endpoint);
      checkAddress(job.sandbox.storage.pinnedAddress, Number(url.port || (url.protocol === 'https:' ? 443 : 80)), o.addressPolicy);
    } catch (err) {
      const code = codeOf(err);
      const grpcCode = code === 'CAIRN_E_STORE_BAD_ENDPOINT' ? status.FAILED_PRECONDITION : status.INVALID_ARGUMENT;
      return void call.emit('error', Object.assign(new Error((err as Error).message), { code: grpcCode, details: (err as Error).message, metadata: errorTrailer(code) }));
    }
    const id = job.identity.jobId;
    if (book.jobs.size >= o.maxJobs || book.jobs.has(id)) {
      const msg = book.jobs.has(id) ? `job ${id} is already running on ${o.nodeName}` : `${o.nodeName} is running its maximum of ${o.maxJobs} jobs`;
      return void call.emit('error', Object.assign(new Error(msg), { code: status.RESOURCE_EXHAUSTED, details: msg, metadata: errorTrailer('CAIRN_E_BUSY') }));
    }
    const log = o.logger.child({ jobId: id, namespace: job.identity.namespace, owner: job.identity.ownerName, volume: job.volume.volumeName, kind });
    const started = Date.now();
    book.jobs.set(id, { identity: job.identity, volumeName: job.volume.volumeName, pvName: job.volume.pvName, bytesDone: 0, totalBytes: 0, startedAt: started });
    const abort = new AbortController();
    const onCancel = () => abort.abort();
    call.once('cancelled', onCancel);
    const send = sender(call);
    try {
      await send({ event: { $case: 'accepted', value: { node: o.nodeName, startedAtUnixMs: started } } });
      const volumePath = await verifyMount(o.kubeletRoot, job.volume);
      const cacheDir = await compileCache;
      const outcome = await runSandboxed(job.sandbox, {
        ...(cacheDir ? { compileCache: { dir: cacheDir, writable: false } } : {}),
        appRoot: o.appRoot, entry, volumePath, writable: kind === 'restore', caps: kind === 'backup' ? backupCaps : restoreCaps,
        ...(o.bwrap ? { bwrap: o.bwrap } : {}), signal: abort.signal,
        onSpawn: (pid) => {
          const j = book.jobs.get(id);
          if (j) j.pid = pid;
        },
        onLog: (line) => log.debug({ child: line.slice(0, 2000) }, 'job process'),
        onEvent: (e: SandboxEvent) => {
          if (e.t === 'progress') {
            const j = book.jobs.get(id);
            if (j) Object.assign(j, { bytesDone: e.bytesDone, totalBytes: e.totalBytes });
            const now = Date.now();
            const rate = now > started ? Math.round((e.bytesDone * 1000) / (now - started)) : 0;
            void send({ event: { $case: 'progress', value: { bytesDone: e.bytesDone, totalBytes: e.totalBytes, filesDone: e.filesDone, totalFiles: e.totalFiles, bytesPerSecond: rate } } });
          } else if (e.t === 'warning') {
            void send({ event: { $case: 'warning', value: { code: e.code, message: e.message, path: Buffer.from(e.path, 'base64') } } });
          }
        },
      });
      const r = outcome.result;
      log.info({ ok: r.ok, sandboxStartMs: outcome.startMs, durationMs: Date.now() - started }, 'job finished');
      if (r.ok) {
        book.finish(id);
        await send({ event: { $case: 'result', value: { ok: true, errorCode: '', message: '', files: r.files, bytes: r.bytes, storedBytes: r.storedBytes, warnings: r.warnings, durationMs: Date.now() - started, volumeId: job.sandbox.volumeId, volumeRecordJson: r.volumeRecord ?? '' } } });
      } else {
        book.finish(id, { code: r.code, message: r.message });
        await send(failure(r.code, r.message, started, job));
      }
    } catch (err) {
      const code = codeOf(err);
      const message = err instanceof CairnError ? err.message : 'the job failed unexpectedly';
      if (!(err instanceof CairnError)) log.error({ err }, 'job failed unexpectedly');
      book.finish(id, { code, message });
      await send(failure(code, message, started, job));
    } finally {
      call.off('cancelled', onCancel);
      if (!call.cancelled) call.end();
    }
  }

  function failure(code: string, message: string, started: number, job: ValidJob): JobEvent {
    return { event: { $case: 'result', value: { ok: false, errorCode: code, message, files: 0, bytes: 0, storedBytes: 0, warnings: 0, durationMs: Date.now() - started, volumeId: job.sandbox.volumeId, volumeRecordJson: '' } } };
  }

  const service: AgentServer = {
    backup: (call) => void runJob(call, 'backup'),
    restore: (call) => void runJob(call, 'restore'),
    nodeStatus: (call: ServerUnaryCall<NodeStatusRequest, NodeStatusReply>, cb: sendUnaryData<NodeStatusReply>) => {
      if (!peerIsCoordinator(call)) return cb(denied);
      book.report().then((r) => cb(null, r), (err: Error) => cb({ code: status.INTERNAL, details: err.message }));
    },
    watchNodeStatus: (call) => {
      if (!peerIsCoordinator(call)) return void call.emit('error', Object.assign(new Error(denied.details), denied));
      const interval = Math.max(200, call.request.intervalMs || o.statusIntervalMs || 2_000);
      const send = sender(call as unknown as ServerWritableStream<unknown, JobEvent>) as unknown as (r: NodeStatusReply) => Promise<void>;
      const tick = () => void book.report().then(send);
      tick();
      const timer = setInterval(tick, interval);
      call.once('cancelled', () => clearInterval(timer));
      call.once('close', () => clearInterval(timer));
    },
  };
  return { service, book, compileCache };
}
