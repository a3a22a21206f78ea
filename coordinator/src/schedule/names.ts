// The names, labels and annotations a Schedule puts on what it creates. Every name is derived
// from its inputs only, so a retry, a stale reconcile or a second coordinator that creates the
// same run (or asks for the same deletion) gets 409 AlreadyExists: the work is already done.
import { createHash } from 'node:crypto';

/** Label on a Schedule's Backups and DeleteBackupRequests: the Schedule (see scheduleLabelValue). */
export const LABEL_SCHEDULE = 'cairn.dev/schedule';
/** Annotation on a Schedule's Backups: the scheduled time of the run (RFC 3339, UTC). */
export const ANNOTATION_SCHEDULED_TIME = 'cairn.dev/scheduled-time';
/**
 * Annotation on a DeleteBackupRequest: the uid of the Backup it was created for, so that a Backup
 * deleted and created again under the same name is not deleted by the old request. The deletion
 * reconciler reads it (the same key as its ANNOTATION_BACKUP_UID).
 */
export const ANNOTATION_BACKUP_UID = 'cairn.dev/backup-uid';

/** Longest object name (a DNS subdomain) and label value Kubernetes accepts. */
const maxName = 253;
const maxLabelValue = 63;

function digest(s: string, chars: number): string {
  return createHash('sha256').update(s).digest('hex').slice(0, chars);
}

/**
 * `base + suffix` when it fits in `max` characters; otherwise `base` cut short, a hash of the
 * whole of `base` and then `suffix`, so two long bases that share a beginning stay apart. The cut
 * never ends in '-' or '.', so the result is still a DNS subdomain when base and suffix are.
 */
export function shortenName(base: string, suffix: string, max = maxName): string {
  if (base.length + suffix.length <= max) return base + suffix;
  const hash = digest(base, 8);
  const room = max - suffix.length - hash.length - 1;
  if (room < 1) throw new RangeError(`a suffix of ${suffix.length} characters leaves no room in ${max}`);
  const cut = base.slice(0, room).replace(/[-.]+$/, '');
  return `${cut}-${hash}${suffix}`;
}

/** yyyyMMddHHmmss of `at` in UTC. */
export function utcStamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, '').replace(/[-T:]/g, '');
}

/** The Backup of the run of `schedule` scheduled at `at`: `<schedule>-<yyyyMMddHHmmss UTC>`. */
export function runName(schedule: string, at: Date): string {
  return shortenName(schedule, `-${utcStamp(at)}`);
}

/**
 * The value of LABEL_SCHEDULE for a Schedule: its name, or, for a name longer than a label value
 * may be (63), the name cut short with a hash of the whole name.
 */
export function scheduleLabelValue(schedule: string): string {
  return shortenName(schedule, '', maxLabelValue);
}

/** The DeleteBackupRequest that retention creates for `backup`: `<backup>-retention`. */
export function retentionRequestName(backup: string): string {
  return shortenName(backup, '-retention');
}
