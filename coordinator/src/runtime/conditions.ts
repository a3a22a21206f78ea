// metav1.Condition helpers. A condition's lastTransitionTime changes only when its status flips;
// a new reason, message or observedGeneration with the same status keeps the old time. So setting
// the same condition twice changes nothing, and a status write of it is skipped as a no-op.
import type { Condition } from '../../../common/src/crds.ts';

export interface ConditionInput {
  type: string;
  status: Condition['status'];
  /** CamelCase, machine-readable. */
  reason: string;
  /** For humans; never a secret, never a response body from a tenant's endpoint. */
  message: string;
  observedGeneration?: number;
}

// The validation metav1.Condition has in the API server.
const reasonPattern = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;
const typePattern = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/;
const maxMessage = 32_768;

/** RFC 3339 with second precision, as metav1.Time serialises. */
/** A metadata timestamp as RFC 3339 text: the API sends text, client-node's types say Date. */
export function isoTime(t: string | Date | undefined): string {
  return t === undefined ? '' : typeof t === 'string' ? t : t.toISOString();
}

export function metaTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The conditions with `c` set (a new array; the input is not changed). */
export function setCondition(conditions: readonly Condition[] | undefined, c: ConditionInput, now: Date = new Date()): Condition[] {
  if (!typePattern.test(c.type) || c.type.length > 316) throw new TypeError(`condition type ${JSON.stringify(c.type)} is not a valid metav1.Condition type`);
  if (!reasonPattern.test(c.reason) || c.reason.length > 1024) throw new TypeError(`condition reason ${JSON.stringify(c.reason)} must be CamelCase (letters, digits, _ , :)`);
  const message = c.message.length > maxMessage ? `${c.message.slice(0, maxMessage - 3)}...` : c.message;
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const old = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: c.type,
    status: c.status,
    ...(c.observedGeneration !== undefined ? { observedGeneration: c.observedGeneration } : old?.observedGeneration !== undefined ? { observedGeneration: old.observedGeneration } : {}),
    lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : metaTime(now),
    reason: c.reason,
    message,
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/** The conditions without `type` (a new array). */
export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}
