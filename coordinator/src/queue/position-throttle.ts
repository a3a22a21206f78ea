// How often a waiting run's status.queuePosition is rewritten: every admission moves everyone
// behind it, so with hundreds waiting, writing each move would cost O(waiting) status writes per
// admission. A position is written when it first appears and then at most every `everyMs` per
// object (default 5 s); the reconcile that finds a write not yet due comes back when it is.
export class PositionThrottle {
  private readonly everyMs: number;
  private readonly now: () => number;
  private readonly last = new Map<string, number>();

  constructor(everyMs = 5_000, now: () => number = Date.now) {
    this.everyMs = everyMs;
    this.now = now;
  }

  /** Milliseconds until a position of `id` may be written again (0: now). */
  dueIn(id: string): number {
    const at = this.last.get(id);
    return at === undefined ? 0 : Math.max(0, at + this.everyMs - this.now());
  }

  wrote(id: string): void {
    this.last.set(id, this.now());
  }

  /** The run left the queue (admitted or gone). */
  forget(id: string): void {
    this.last.delete(id);
  }
}
