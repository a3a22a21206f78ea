// The agent's Prometheus metrics (prom-client), every sample labelled with the agent's node.
// Labels are bounded: kind (Backup, Restore), result, and the CAIRN_E_* code (a closed set).
//
// Jobs are counted where they end: the node status book's `finish` (every job the service
// started ends there, with its error when it failed), which `observeBook` wraps; calls the
// service refuses before a job starts (busy, invalid, not the coordinator) are counted from
// the error the call ends with (`observeService`). Running jobs, bytes, memory and free space
// are read from the book when Prometheus scrapes.
import type { ServerWritableStream } from '@grpc/grpc-js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { errorCodes } from '../../../common/src/errors.ts';
import type { AgentServer, JobIdentity, NodeStatusReply } from '../../../common/src/generated/proto/agent.ts';

/** What the metrics need of the NodeStatusBook. */
export interface JobBook {
  readonly jobs: ReadonlyMap<string, { identity: JobIdentity; bytesDone: number; startedAt: number }>;
  finish(jobId: string, error?: { code: string; message: string }): void;
  report(): Promise<NodeStatusReply>;
}

type Kind = 'Backup' | 'Restore';
const kinds: readonly Kind[] = ['Backup', 'Restore'];

function kindOf(identity: JobIdentity | undefined): Kind {
  return identity?.ownerKind === 'Restore' ? 'Restore' : 'Backup';
}

function codeLabel(code: string | undefined): string {
  return code !== undefined && code in errorCodes ? code : 'CAIRN_E_INTERNAL';
}

export const jobDurationBuckets = [1, 5, 15, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200, 14_400, 43_200, 86_400];

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly running: Gauge<'kind'>;
  private readonly slots: Gauge<never>;
  private readonly finished: Counter<'kind' | 'result'>;
  private readonly duration: Histogram<'kind'>;
  private readonly bytes: Counter<'kind'>;
  private readonly errors: Counter<'code'>;
  private readonly memory: Gauge<never>;
  private readonly free: Gauge<never>;
  /** Bytes of jobs that ended, by kind; running jobs' bytes are added at each scrape. */
  private readonly endedBytes: Record<Kind, number> = { Backup: 0, Restore: 0 };
  private book: JobBook | undefined;

  constructor(o: { node: string; maxJobs: number; defaultMetrics?: boolean; now?: () => number }) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: o.node });
    if (o.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.now = o.now ?? Date.now;
    this.running = new Gauge({ name: 'cairn_agent_jobs_running', help: 'Backup and restore jobs running on this node', labelNames: ['kind'], registers });
    this.slots = new Gauge({ name: 'cairn_agent_job_slots', help: 'Jobs this agent runs at once (--max-jobs)', registers });
    this.finished = new Counter({ name: 'cairn_agent_jobs_finished_total', help: 'Jobs that ended, by kind and result (ok, failed)', labelNames: ['kind', 'result'], registers });
    this.duration = new Histogram({ name: 'cairn_agent_job_duration_seconds', help: 'Wall time of jobs that ended', labelNames: ['kind'], buckets: jobDurationBuckets, registers });
    this.bytes = new Counter({ name: 'cairn_agent_bytes_moved_total', help: 'Bytes read (backup) or written (restore) by jobs on this node, running ones included', labelNames: ['kind'], registers });
    this.errors = new Counter({ name: 'cairn_agent_errors_total', help: 'Failed jobs and refused job calls by CAIRN_E_* code', labelNames: ['code'], registers });
    this.memory = new Gauge({ name: 'cairn_agent_memory_bytes', help: 'Resident memory of the agent and its job processes', registers });
    this.free = new Gauge({ name: 'cairn_agent_kubelet_free_bytes', help: 'Free bytes on the filesystem of the kubelet directory', registers });
    this.slots.set(o.maxJobs);
    for (const kind of kinds) {
      this.running.set({ kind }, 0);
      this.bytes.inc({ kind }, 0);
      for (const result of ['ok', 'failed']) this.finished.inc({ kind, result }, 0);
    }
  }

  private readonly now: () => number;

  /** Counts each job the book finishes: result, duration, bytes and error code. */
  observeBook(book: JobBook): void {
    this.book = book;
    const finish = book.finish.bind(book);
    book.finish = (jobId, error) => {
      const j = book.jobs.get(jobId);
      if (j) {
        const kind = kindOf(j.identity);
        this.endedBytes[kind] += j.bytesDone;
        this.finished.inc({ kind, result: error ? 'failed' : 'ok' });
        this.duration.observe({ kind }, Math.max(0, (this.now() - j.startedAt) / 1000));
      }
      if (error) this.errors.inc({ code: codeLabel(error.code) });
      finish(jobId, error);
    };
  }

  /** The service with its job calls counted when refused before a job starts (by the code in the error's trailer). */
  observeService(service: AgentServer): AgentServer {
    const count = (call: ServerWritableStream<unknown, unknown>) => {
      call.once('error', (err: { metadata?: { get(k: string): unknown[] } }) => {
        const code = err.metadata?.get('cairn-error-code')[0];
        this.errors.inc({ code: codeLabel(typeof code === 'string' ? code : code instanceof Buffer ? code.toString() : undefined) });
      });
    };
    return {
      ...service,
      backup: (call) => {
        count(call);
        service.backup(call);
      },
      restore: (call) => {
        count(call);
        service.restore(call);
      },
    };
  }

  /** The exposition text, with running jobs, bytes, memory and free space read now. */
  async render(): Promise<string> {
    if (this.book) {
      const runningBytes: Record<Kind, number> = { Backup: 0, Restore: 0 };
      const runningJobs: Record<Kind, number> = { Backup: 0, Restore: 0 };
      for (const j of this.book.jobs.values()) {
        const kind = kindOf(j.identity);
        runningBytes[kind] += j.bytesDone;
        runningJobs[kind]++;
      }
      this.bytes.reset();
      for (const kind of kinds) {
        this.running.set({ kind }, runningJobs[kind]);
        this.bytes.inc({ kind }, this.endedBytes[kind] + runningBytes[kind]);
      }
      const r = await this.book.report();
      this.memory.set(Number(r.memoryRssBytes));
      this.free.set(Number(r.kubeletFreeBytes));
    }
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
