// Job slots per node: at most `perNode` agent jobs run on one node at once (the agent refuses
// more with CAIRN_E_BUSY). A job waits for a slot in arrival order; an aborted wait leaves the
// queue. Fair ordering across tenants is the job queue's work (issue 6), not this.
import { CairnError } from '../../../common/src/errors.ts';

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class NodeSlots {
  private readonly perNode: number;
  private readonly running = new Map<string, number>();
  private readonly waiting = new Map<string, Waiter[]>();

  constructor(perNode: number) {
    this.perNode = perNode;
  }

  /** Waits for a slot on `node`; returns its release function (idempotent). */
  async acquire(node: string, signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if ((this.running.get(node) ?? 0) < this.perNode) {
      this.running.set(node, (this.running.get(node) ?? 0) + 1);
    } else {
      await new Promise<void>((resolve, reject) => {
        const w: Waiter = { resolve, reject };
        const queue = this.waiting.get(node) ?? [];
        queue.push(w);
        this.waiting.set(node, queue);
        signal?.addEventListener('abort', () => {
          const q = this.waiting.get(node) ?? [];
          const i = q.indexOf(w);
          if (i >= 0) q.splice(i, 1);
          reject(new CairnError('CAIRN_E_ABORTED', `waiting for a job slot on node ${node} was cancelled`));
        }, { once: true });
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.get(node)?.shift();
      if (next) next.resolve(); // the slot passes on
      else this.running.set(node, (this.running.get(node) ?? 1) - 1);
    };
  }

  inUse(node: string): number {
    return this.running.get(node) ?? 0;
  }
}
