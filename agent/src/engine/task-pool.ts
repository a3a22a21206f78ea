// At most `limit` tasks at once; the first failure is kept and thrown by the next add or drain,
// so a failed write fails the job instead of going unnoticed.
export class TaskPool {
  private readonly limit: number;
  private readonly running = new Set<Promise<void>>();
  private failure: unknown;
  private failed = false;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Starts `task` once there is room (waiting for a slot); throws an earlier task's failure. */
  async add(task: () => Promise<void>): Promise<void> {
    this.check();
    while (this.running.size >= this.limit) {
      await Promise.race(this.running);
      this.check();
    }
    const p: Promise<void> = task().catch((err: unknown) => {
      if (!this.failed) {
        this.failed = true;
        this.failure = err;
      }
    }).finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Waits for every running task; throws the first failure. */
  async drain(): Promise<void> {
    await Promise.all(this.running);
    this.check();
  }

  /** Waits for every running task, ignoring failures (on the way out after an error). */
  async settle(): Promise<void> {
    await Promise.all(this.running);
  }

  private check(): void {
    if (this.failed) throw this.failure;
  }
}
