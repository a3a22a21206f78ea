// The fair queue of runs (Backups and Restores) waiting for a job slot (DESIGN 3.10): at most
// `capacity()` runs at once in all (the agents' job slots: jobs per node times agent nodes), at
// most `perTenant` per tenant namespace, and round-robin across tenants, so one tenant's long
// queue never starves another's. Within a tenant, the oldest first.
//
// The queue is this process's memory; the truth is in status. A restarted coordinator rebuilds it
// as its reconciles offer the Queued objects again (ordered by creation time, so a restart keeps
// the order), and claims the runs it resumes.

export interface QueueEntry {
  /** `Kind/namespace/name`. */
  id: string;
  tenant: string;
  /** metadata.creationTimestamp, for the order within a tenant. */
  createdAt: string;
}

export type Offer = { admitted: true } | { admitted: false; position: number };

export interface FairQueueOptions {
  perTenant: number;
  /** Runs at once in all; read at each admission (agents come and go). */
  capacity: () => number;
  /** Called (synchronously, after the queue changed) for an entry that was just admitted. */
  onAdmit: (id: string) => void;
  /** Called for entries whose position changed. */
  onMove?: (ids: string[]) => void;
}

const byAge = (a: QueueEntry, b: QueueEntry): number => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class FairQueue {
  private readonly o: FairQueueOptions;
  private readonly waiting = new Map<string, QueueEntry[]>();
  private readonly running = new Map<string, string>();
  /** The tenant served last: the next admission starts after it. */
  private lastServed: string | undefined;

  constructor(o: FairQueueOptions) {
    this.o = o;
  }

  /** Idempotent: an entry already waiting keeps its place; one already admitted stays admitted. */
  offer(e: QueueEntry): Offer {
    if (this.running.has(e.id)) return { admitted: true };
    const list = this.waiting.get(e.tenant) ?? [];
    if (!list.some((x) => x.id === e.id)) {
      list.push(e);
      list.sort(byAge);
      this.waiting.set(e.tenant, list);
    }
    this.pump(e.id);
    if (this.running.has(e.id)) return { admitted: true };
    return { admitted: false, position: this.positions().get(e.id) ?? 1 };
  }

  /** Counts a run this process resumes (it was running before a restart), capacity or not. */
  claim(e: QueueEntry): void {
    this.remove(e.id);
    this.running.set(e.id, e.tenant);
  }

  /** A run ended (or an admission was not used): its slot goes to the next in line. */
  release(id: string): void {
    if (this.running.delete(id)) this.pump();
  }

  /** An entry that will never run (its object was deleted). */
  withdraw(id: string): void {
    if (this.running.delete(id) || this.remove(id)) this.pump();
  }

  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  get size(): { waiting: number; running: number } {
    let waiting = 0;
    for (const l of this.waiting.values()) waiting += l.length;
    return { waiting, running: this.running.size };
  }

  /** 1-based positions of the waiting entries in the order they would be admitted. */
  positions(): Map<string, number> {
    const tenants = this.ring();
    const cursors = new Map(tenants.map((t) => [t, 0]));
    const out = new Map<string, number>();
    let pos = 1;
    for (let progressed = true; progressed;) {
      progressed = false;
      for (const t of tenants) {
        const list = this.waiting.get(t)!;
        const i = cursors.get(t)!;
        if (i < list.length) {
          out.set(list[i]!.id, pos++);
          cursors.set(t, i + 1);
          progressed = true;
        }
      }
    }
    return out;
  }

  private remove(id: string): boolean {
    for (const [t, list] of this.waiting) {
      const i = list.findIndex((x) => x.id === id);
      if (i >= 0) {
        list.splice(i, 1);
        if (list.length === 0) this.waiting.delete(t);
        return true;
      }
    }
    return false;
  }

  /** Tenants with waiting entries, in round-robin order starting after the last served. */
  private ring(): string[] {
    const all = [...this.waiting.keys()].sort();
    if (this.lastServed === undefined) return all;
    const after = all.filter((t) => t > this.lastServed!);
    return [...after, ...all.filter((t) => t <= this.lastServed!)];
  }

  private runningOf(tenant: string): number {
    let n = 0;
    for (const t of this.running.values()) if (t === tenant) n++;
    return n;
  }

  private pump(offered?: string): void {
    const admitted: string[] = [];
    while (this.running.size < this.o.capacity()) {
      const tenant = this.ring().find((t) => this.runningOf(t) < this.o.perTenant);
      if (tenant === undefined) break;
      const e = this.waiting.get(tenant)!.shift()!;
      if (this.waiting.get(tenant)!.length === 0) this.waiting.delete(tenant);
      this.running.set(e.id, tenant);
      this.lastServed = tenant;
      admitted.push(e.id);
    }
    if (admitted.length === 0) return;
    for (const id of admitted) if (id !== offered) this.o.onAdmit(id);
    const moved = [...this.positions().keys()];
    if (moved.length > 0) this.o.onMove?.(moved);
  }
}
