// The runs this coordinator process has going, by object key. A run's state lives in the CR's
// status; this registry only says whether this process is the one driving it. An InProgress
// object that no run here drives was left by a previous coordinator (a restart) and is failed
// as interrupted, never left stuck.
export class RunRegistry {
  private readonly runs = new Map<string, { abort: AbortController; done: Promise<void> }>();

  has(key: string): boolean {
    return this.runs.has(key);
  }

  /** Starts `run` for `key` unless one is going; the run gets a signal that abort(key) fires. */
  start(key: string, parent: AbortSignal, run: (signal: AbortSignal) => Promise<void>, onError: (err: unknown) => void): boolean {
    if (this.runs.has(key)) return false;
    const abort = new AbortController();
    const onParent = () => abort.abort(parent.reason);
    parent.addEventListener('abort', onParent, { once: true });
    const done = Promise.resolve()
      .then(() => run(abort.signal))
      .catch(onError)
      .finally(() => {
        parent.removeEventListener('abort', onParent);
        this.runs.delete(key);
      });
    this.runs.set(key, { abort, done });
    return true;
  }

  /** Cancels the run of `key` (its object was deleted). */
  abort(key: string, reason = 'the object was deleted'): void {
    this.runs.get(key)?.abort.abort(new Error(reason));
  }

  /** Waits for every run to end (after their signals fired). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.runs.values()].map((r) => r.done));
  }

  get size(): number {
    return this.runs.size;
  }
}
