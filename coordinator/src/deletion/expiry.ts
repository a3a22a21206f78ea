// TTL expiry (DESIGN 2: spec.ttl, status.expiration): a Backup in a final phase whose expiration
// has passed gets one DeleteBackupRequest, which deletes it like any other (data first, then the
// object). The request's name is derived from the Backup's name and uid, so running the expiry
// again, or on another coordinator replica, creates nothing new (409 is success); a later Backup
// of the same name gets a request of its own.
//
// Synced Backups (label cairn.dev/synced=true) never expire here. Their data was written by
// someone else (another cluster, another namespace's location) and their expiration, if any, is
// that writer's business: deleting their data would destroy backups this coordinator never made,
// and deleting only the object is pointless, as the next sync brings it back. A tenant who wants
// one gone creates a DeleteBackupRequest.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { API_VERSION, GROUP, LABEL_SYNCED, PLURALS, VERSION, type Backup, type BackupPhase, type DeleteBackupRequest, type Schedule } from '../../../common/src/crds.ts';
import type { Logger } from '../../../common/src/logger.ts';
import type { Informer } from '../runtime/informer.ts';
import { LABEL_SCHEDULE, scheduleLabelValue } from '../schedule/names.ts';
import { ANNOTATION_BACKUP_UID } from './delete-plan.ts';

/** Label on a DeleteBackupRequest the expiry created: the expired Backup's name (shortened with a hash past 63 characters). */
export const LABEL_EXPIRED_BACKUP = 'cairn.dev/expired-backup';

const expirable: ReadonlySet<BackupPhase | undefined> = new Set<BackupPhase | undefined>(['Completed', 'PartiallyFailed', 'Failed']);

const hash8 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 8);
const trimEnd = (s: string): string => s.replace(/[-.]+$/, '');

/**
 * `<backup>-expired-<8 hex of the uid's hash>`, at most 253 characters (a DNS subdomain, as the
 * Backup's name): a longer backup name is cut and a hash of the whole name keeps it unique.
 */
export function expiryRequestName(backup: string, uid: string): string {
  const suffix = `-expired-${hash8(uid)}`;
  if (backup.length + suffix.length <= 253) return `${backup}${suffix}`;
  return `${trimEnd(backup.slice(0, 253 - suffix.length - 9))}-${hash8(backup)}${suffix}`;
}

/** A label value for the backup's name: itself up to 63 characters, else cut with a hash. */
export function expiredLabelValue(backup: string): string {
  return backup.length <= 63 ? backup : `${trimEnd(backup.slice(0, 54))}-${hash8(backup)}`;
}

/** Whether the coordinator deletes this Backup for its age now. */
export function isExpired(b: Backup, now: number): boolean {
  if (!expirable.has(b.status?.phase) || b.metadata.deletionTimestamp) return false;
  if (b.metadata.labels?.[LABEL_SYNCED] === 'true') return false;
  const at = b.status?.expiration ? Date.parse(b.status.expiration) : NaN;
  return Number.isFinite(at) && at <= now;
}

/** Whether the Schedule deletes its Backups by a retention of its own. */
export function hasRetention(s: Schedule): boolean {
  const r = s.spec.retention;
  return !!r && [r.keepLast, r.keepHourly, r.keepDaily, r.keepWeekly, r.keepMonthly].some((n) => (n ?? 0) > 0);
}

/**
 * For `spare`: a Backup created by a Schedule (its label) that exists in the Backup's namespace
 * and has a retention. The label holds the Schedule's name, cut with a hash past 63 characters.
 */
export function retainedBySchedule(schedules: Pick<Informer<Schedule>, 'list'>): (b: Backup) => boolean {
  return (b) => {
    const value = b.metadata.labels?.[LABEL_SCHEDULE];
    if (!value) return false;
    return schedules.list(b.metadata.namespace).some((s) => scheduleLabelValue(s.metadata.name!) === value && hasRetention(s));
  };
}

/** The request that deletes an expired Backup. */
export function expiryRequest(b: Backup): DeleteBackupRequest {
  const name = b.metadata.name!;
  return {
    apiVersion: API_VERSION,
    kind: 'DeleteBackupRequest',
    metadata: {
      name: expiryRequestName(name, b.metadata.uid!),
      namespace: b.metadata.namespace!,
      labels: { [LABEL_EXPIRED_BACKUP]: expiredLabelValue(name) },
      annotations: { [ANNOTATION_BACKUP_UID]: b.metadata.uid! },
    },
    spec: { backupName: name },
  };
}

export type ExpiryApi = Pick<CustomObjectsApi, 'createNamespacedCustomObject'>;

export interface ExpireOptions {
  backups: readonly Backup[];
  now: () => number;
  api: ExpiryApi;
  logger: Logger;
  /** Whether a request already exists (the informer cache): saves a create that would answer 409. */
  exists?: (namespace: string, name: string) => boolean;
  /** Backups that do not expire although their expiration passed (retainedBySchedule). */
  spare?: (b: Backup) => boolean;
  signal?: AbortSignal;
}

/** Creates the request of every expired Backup; resolves `namespace/name` of those created now. */
export async function expireBackups(o: ExpireOptions): Promise<string[]> {
  const now = o.now();
  const created: string[] = [];
  for (const b of o.backups) {
    o.signal?.throwIfAborted();
    if (!isExpired(b, now) || o.spare?.(b)) continue;
    const req = expiryRequest(b);
    const ns = req.metadata.namespace!;
    const name = req.metadata.name!;
    if (o.exists?.(ns, name)) continue;
    try {
      await o.api.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURALS.DeleteBackupRequest, namespace: ns, body: req });
      created.push(`${ns}/${name}`);
      o.logger.info({ namespace: ns, backup: b.metadata.name, request: name, expiration: b.status?.expiration }, 'backup expired; deletion requested');
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === 409) continue; // requested already
      // One namespace refusing (a quota, an admission policy) does not stop the others.
      o.logger.warn({ namespace: ns, backup: b.metadata.name, err }, 'requesting the deletion of an expired backup failed');
    }
  }
  return created;
}

export interface ExpiryLoopOptions {
  backups: Pick<Informer<Backup>, 'list' | 'waitForSync'>;
  /** The DeleteBackupRequests' cache, when there is one. */
  requests?: Pick<Informer<DeleteBackupRequest>, 'get'>;
  /** The Schedules' cache: Backups of a Schedule with a retention are left to it. */
  schedules?: Pick<Informer<Schedule>, 'list'>;
  api: ExpiryApi;
  /** Time between two passes. */
  intervalMs: number;
  now?: () => number;
  logger: Logger;
}

/** expireBackups over the informer's Backups every intervalMs, until the signal fires. */
export class ExpiryLoop {
  private readonly o: ExpiryLoopOptions;

  constructor(o: ExpiryLoopOptions) {
    this.o = o;
  }

  /** One pass. */
  tick(signal?: AbortSignal): Promise<string[]> {
    const { requests, schedules } = this.o;
    return expireBackups({
      backups: this.o.backups.list(), now: this.o.now ?? Date.now, api: this.o.api, logger: this.o.logger,
      ...(requests ? { exists: (ns: string, name: string) => requests.get(ns, name) !== undefined } : {}),
      ...(schedules ? { spare: retainedBySchedule(schedules) } : {}),
      ...(signal ? { signal } : {}),
    });
  }

  /** Waits for the Backups' cache, then passes every intervalMs; resolves once the signal fired. */
  async run(signal: AbortSignal): Promise<void> {
    try {
      await this.o.backups.waitForSync(signal);
      while (!signal.aborted) {
        try {
          await this.tick(signal);
        } catch (err) {
          if (signal.aborted) break;
          this.o.logger.warn({ err }, 'backup expiry pass failed');
        }
        await sleep(this.o.intervalMs, undefined, { signal });
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }
}
