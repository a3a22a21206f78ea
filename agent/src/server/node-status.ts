// What the agent reports about its node: jobs running with their progress, bytes moved,
// throughput over the last seconds, free space under the kubelet root, memory of the agent and
// its job processes.
import { statfs } from 'node:fs/promises';
import { treeRss } from './process-memory.ts';
import type { ActiveJob, JobIdentity, NodeError, NodeStatusReply } from '../../../common/src/generated/proto/agent.ts';

export interface RunningJob {
  identity: JobIdentity;
  volumeName: string;
  pvName: string;
  bytesDone: number;
  totalBytes: number;
  startedAt: number;
  /** The job's sandbox process, once it runs. */
  pid?: number;
}

export class NodeStatusBook {
  readonly jobs = new Map<string, RunningJob>();
  private finishedBytes = 0;
  private samples: Array<{ at: number; bytes: number }> = [];
  private readonly started = Date.now();
  lastError: NodeError | undefined;
  private readonly node: string;
  private readonly version: string;
  private readonly kubeletRoot: string;
  private readonly maxJobs: number;

  constructor(node: string, version: string, kubeletRoot: string, maxJobs: number) {
    this.node = node;
    this.version = version;
    this.kubeletRoot = kubeletRoot;
    this.maxJobs = maxJobs;
  }

  finish(jobId: string, error?: { code: string; message: string }): void {
    const j = this.jobs.get(jobId);
    if (j) this.finishedBytes += j.bytesDone;
    this.jobs.delete(jobId);
    if (error) this.lastError = { code: error.code, message: error.message, jobId, atUnixMs: Date.now() };
  }

  private movedTotal(): number {
    let n = this.finishedBytes;
    for (const j of this.jobs.values()) n += j.bytesDone;
    return n;
  }

  /** Throughput over the last ~5 s, from samples taken at each report. */
  private throughput(now: number, total: number): number {
    this.samples.push({ at: now, bytes: total });
    this.samples = this.samples.filter((s) => s.at >= now - 5_000);
    const first = this.samples[0]!;
    return now > first.at ? Math.round(((total - first.bytes) * 1000) / (now - first.at)) : 0;
  }

  /** The agent's resident memory plus that of every running job's processes. */
  private async memory(): Promise<number> {
    let total = process.memoryUsage().rss;
    for (const j of this.jobs.values()) if (j.pid !== undefined) total += await treeRss(j.pid);
    return total;
  }

  async report(): Promise<NodeStatusReply> {
    // The jobs and the total are read together, before any await: progress keeps arriving while
    // statfs runs, and a job's bytesDone must never exceed the node's total in one report.
    const now = Date.now();
    const total = this.movedTotal();
    const activeJobs: ActiveJob[] = [...this.jobs.values()].map((j) => ({
      identity: j.identity, volumeName: j.volumeName, pvName: j.pvName, bytesDone: j.bytesDone, totalBytes: j.totalBytes, startedAtUnixMs: j.startedAt,
    }));
    const free = await statfs(this.kubeletRoot).then((s) => s.bavail * s.bsize, () => 0);
    return {
      nodeName: this.node, version: this.version, uptimeSeconds: Math.floor((now - this.started) / 1000), activeJobs,
      bytesMovedTotal: total, bytesPerSecond: this.throughput(now, total), kubeletFreeBytes: free, memoryRssBytes: await this.memory(),
      maxConcurrentJobs: this.maxJobs, ...(this.lastError ? { lastError: this.lastError } : {}), sampledAtUnixMs: now,
    };
  }
}
