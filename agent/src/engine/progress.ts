// Progress of a backup or restore, reported at a fixed interval (at least once a second).
export interface Progress {
  bytesDone: number;
  totalBytes: number;
  filesDone: number;
  totalFiles: number;
  /** False while the totals are still being counted (they only grow until then). */
  totalKnown: boolean;
  /** Bytes written to object storage so far (compressed, sealed). */
  bytesStored: number;
}

export class ProgressReporter {
  readonly p: Progress = { bytesDone: 0, totalBytes: 0, filesDone: 0, totalFiles: 0, totalKnown: false, bytesStored: 0 };
  private timer: NodeJS.Timeout | undefined;
  private readonly listener: ((p: Progress) => void) | undefined;

  constructor(listener: ((p: Progress) => void) | undefined, intervalMs = 500) {
    this.listener = listener;
    if (listener) {
      this.timer = setInterval(() => listener({ ...this.p }), intervalMs);
      this.timer.unref();
    }
  }

  /** Stops the timer and reports the final numbers once. */
  finish(): void {
    clearInterval(this.timer);
    this.listener?.({ ...this.p });
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
