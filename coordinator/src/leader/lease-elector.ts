// Leader election over a coordination.k8s.io Lease, as client-go's leaderelection does it: the
// holder renews the Lease every `renewMs`; another process takes it over only after it saw the
// same record unchanged for `leaseDurationMs` on its own clock (clocks of different machines are
// never compared), or when the holder released it on shutdown. A leader that cannot renew
// within `renewDeadlineMs` considers itself deposed and must stop acting at once.
import { setTimeout as sleep } from 'node:timers/promises';
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../../../common/src/logger.ts';

export interface ElectorOptions {
  api: Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;
  namespace: string;
  name: string;
  identity: string;
  logger: Logger;
  /** Default 15 s. */
  leaseDurationMs?: number;
  /** Default 10 s: a leader that has not renewed for this long steps down. */
  renewDeadlineMs?: number;
  /** Default 2 s: how often the leader renews and a candidate retries. */
  retryMs?: number;
  now?: () => number;
}

function httpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export class LeaseElector {
  private readonly o: Required<Omit<ElectorOptions, 'logger' | 'api'>> & Pick<ElectorOptions, 'logger' | 'api'>;
  /** The record last seen (holder and renew time) and when this process first saw it. */
  private observed: { record: string; at: number } | undefined;
  private lastRenew = 0;

  constructor(o: ElectorOptions) {
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryMs: 2_000, now: Date.now, ...o };
  }

  get identity(): string {
    return this.o.identity;
  }

  /** Resolves once this process holds the Lease; rejects only when the signal aborts. */
  async acquire(signal: AbortSignal): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      if (await this.tryAcquireOrRenew()) {
        this.lastRenew = this.o.now();
        return;
      }
      await sleep(this.o.retryMs, undefined, { signal });
    }
  }

  /** Renews while leading; resolves when leadership is lost (or the signal aborts). */
  async hold(signal: AbortSignal): Promise<'lost' | 'stopped'> {
    for (;;) {
      try {
        await sleep(this.o.retryMs, undefined, { signal });
      } catch {
        return 'stopped';
      }
      if (await this.tryAcquireOrRenew()) this.lastRenew = this.o.now();
      else if (this.observed && !this.observed.record.startsWith(`${this.o.identity}@`)) return 'lost';
      if (this.o.now() - this.lastRenew > this.o.renewDeadlineMs) return 'lost';
    }
  }

  /** Gives the Lease up (on shutdown), so a standby takes over without waiting for it to expire. */
  async release(): Promise<void> {
    try {
      const lease = await this.o.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      lease.spec.holderIdentity = '';
      lease.spec.leaseDurationSeconds = 1;
      await this.o.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: lease });
    } catch (err) {
      this.o.logger.warn({ err }, 'releasing the leader Lease failed; the standby takes over when it expires');
    }
  }

  private spec(transitions: number, acquired?: V1MicroTime): NonNullable<V1Lease['spec']> {
    const now = new V1MicroTime(this.o.now());
    return { holderIdentity: this.o.identity, leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000), acquireTime: acquired ?? now, renewTime: now, leaseTransitions: transitions };
  }

  /** One round: true when this process holds the Lease after it. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, name, namespace } = this.o;
    let lease: V1Lease;
    try {
      lease = await api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (httpCode(err) !== 404) {
        this.o.logger.warn({ err: (err as Error).message }, 'reading the leader Lease failed');
        return false;
      }
      try {
        await api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: this.spec(0) } });
        this.observe(this.o.identity, 'new');
        return true;
      } catch (e) {
        if (httpCode(e) !== 409) this.o.logger.warn({ err: (e as Error).message }, 'creating the leader Lease failed');
        return false;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewed = spec.renewTime ? new Date(spec.renewTime).toISOString() : '';
    this.observe(holder, renewed);
    const mine = holder === this.o.identity;
    const expired = holder === '' || this.o.now() - this.observed!.at > Math.max(this.o.leaseDurationMs, (spec.leaseDurationSeconds ?? 0) * 1000);
    if (!mine && !expired) return false;
    const transitions = (spec.leaseTransitions ?? 0) + (mine ? 0 : 1);
    const acquired = mine && spec.acquireTime ? new V1MicroTime(new Date(spec.acquireTime).getTime()) : undefined;
    lease.spec = this.spec(transitions, acquired);
    try {
      await api.replaceNamespacedLease({ name, namespace, body: lease }); // resourceVersion: a concurrent writer gets 409
      this.observe(this.o.identity, lease.spec.renewTime!.toISOString());
      if (!mine) this.o.logger.info({ previous: holder || '(released)', transitions }, 'took over the leader Lease');
      return true;
    } catch (err) {
      if (httpCode(err) !== 409) this.o.logger.warn({ err: (err as Error).message }, 'writing the leader Lease failed');
      return false;
    }
  }

  private observe(holder: string, renewed: string): void {
    const record = `${holder}@${renewed}`;
    if (this.observed?.record !== record) this.observed = { record, at: this.o.now() };
  }
}
