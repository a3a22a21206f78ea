// The live state of one Backup or Restore run: one VolumeStatus per volume, the agent's latest
// progress for each, and the sum over all of them. A StatusTicker writes it into the CR's status
// every few seconds while the run lasts (DESIGN: progress visible in status), and once more at
// the end; a write that fails is retried at the next tick, and never fails the run.
import type { TransferProgress, VolumeStatus } from '../../../common/src/crds.ts';
import type { Logger } from '../../../common/src/logger.ts';

export interface Counts {
  bytesDone: number;
  totalBytes: number;
  filesDone: number;
  totalFiles: number;
}

const zero = (): Counts => ({ bytesDone: 0, totalBytes: 0, filesDone: 0, totalFiles: 0 });

export class RunProgress {
  readonly volumes: VolumeStatus[] = [];
  private readonly counts: Counts[] = [];

  /** Adds a volume; returns its index. */
  add(v: VolumeStatus): number {
    this.volumes.push(v);
    this.counts.push(zero());
    return this.volumes.length - 1;
  }

  update(i: number, patch: Partial<VolumeStatus>): void {
    const v = this.volumes[i]!;
    Object.assign(v, patch);
    for (const k of Object.keys(patch) as (keyof VolumeStatus)[]) if (patch[k] === undefined) delete v[k];
  }

  report(i: number, c: Partial<Counts>): void {
    const cur = this.counts[i]!;
    Object.assign(cur, c);
    this.update(i, { bytes: cur.bytesDone, files: cur.filesDone });
  }

  /** Sum over all volumes; a total not yet known counts what is done. */
  total(): TransferProgress {
    const t = zero();
    for (const c of this.counts) {
      t.bytesDone += c.bytesDone;
      t.filesDone += c.filesDone;
      t.totalBytes += Math.max(c.totalBytes, c.bytesDone);
      t.totalFiles += Math.max(c.totalFiles, c.filesDone);
    }
    return t;
  }

  /** A copy for a status write. */
  snapshot(): { volumes: VolumeStatus[]; progress: TransferProgress } {
    return { volumes: this.volumes.map((v) => ({ ...v })), progress: this.total() };
  }
}

/** Calls `write` every `intervalMs` (never two at once) until stopped. */
export class StatusTicker {
  private readonly timer: NodeJS.Timeout;
  private inFlight: Promise<void> | undefined;

  constructor(write: () => Promise<void>, intervalMs: number, log: Logger) {
    this.timer = setInterval(() => {
      if (this.inFlight) return;
      this.inFlight = write()
        .catch((err: unknown) => log.warn({ err }, 'progress status write failed; next tick retries'))
        .finally(() => (this.inFlight = undefined));
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops ticking and waits for a write in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.inFlight;
  }
}
