// Parsers of option and argument values. Each throws commander's InvalidArgumentError with a
// message that says what is allowed; the program turns it into a usage error (exit 2). What the
// API server checks anyway (ttl format, cron shape, bucket names) is left to it, so that the rules
// live in one place (the CRDs): only what the command line itself needs is checked here.
import { InvalidArgumentError } from 'commander';
import type { LabelSelector, LabelSelectorRequirement } from '../../../common/src/crds.ts';
import { parseGoDuration } from '../../../coordinator/src/config.ts';

const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes object name (DNS-1123 subdomain), as every Cairn reference is. */
export function objectName(value: string): string {
  if (value.length > 253 || !dns1123Subdomain.test(value)) {
    throw new InvalidArgumentError(`${JSON.stringify(value)} is not a valid name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters`);
  }
  return value;
}

/** Comma-separated names, accumulated over repeated flags (`--include-volumes a,b --include-volumes c`). */
export function nameList(value: string, previous: string[] | undefined): string[] {
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new InvalidArgumentError('expected one or more names separated by commas');
  return [...(previous ?? []), ...names.map(objectName)];
}

/** Repeated string values, kept in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export interface Target {
  volume: string;
  pvc: string;
}

/** `--target VOLUME=PVC`, repeatable: restore the backup's volume VOLUME (its source PVC name) into PVC. */
export function target(value: string, previous: Target[] | undefined): Target[] {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new InvalidArgumentError(`${JSON.stringify(value)} is not VOLUME=PVC (e.g. data=data-copy)`);
  const t = { volume: objectName(value.slice(0, eq)), pvc: objectName(value.slice(eq + 1)) };
  const all = previous ?? [];
  if (all.some((x) => x.volume === t.volume)) throw new InvalidArgumentError(`volume ${t.volume} is given two targets`);
  if (all.some((x) => x.pvc === t.pvc)) throw new InvalidArgumentError(`PVC ${t.pvc} is the target of two volumes`);
  return [...all, t];
}

/** A Go duration as the API takes it (720h, 1h30m, 90s), returned as written. */
export function goDuration(value: string): string {
  const ms = parseGoDuration(value);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a positive duration: numbers each followed by a unit (ns, us, ms, s, m, h), such as 720h, 1h30m or 90s`);
  return value;
}

/** A Go duration in milliseconds, for --timeout. */
export function timeoutMs(value: string): number {
  return parseGoDuration(goDuration(value))!;
}

/** A whole number from 0 to `max`. */
export function count(max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) > max) throw new InvalidArgumentError(`${JSON.stringify(value)} is not a whole number from 0 to ${max}`);
    return Number(value);
  };
}

const labelKey = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const labelValue = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function key(k: string, whole: string): string {
  if (!labelKey.test(k) || k.length > 316) throw new InvalidArgumentError(`${JSON.stringify(k)} in selector ${JSON.stringify(whole)} is not a label key`);
  return k;
}

function val(v: string, whole: string): string {
  if (!labelValue.test(v) || v.length > 63) throw new InvalidArgumentError(`${JSON.stringify(v)} in selector ${JSON.stringify(whole)} is not a label value`);
  return v;
}

/** Splits at commas outside parentheses: `app=db,tier in (a,b)` is two requirements. */
function requirements(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/**
 * A label selector as kubectl's `-l`: `k=v` (or `k==v`), `k!=v`, `k in (a,b)`, `k notin (a,b)`,
 * `k` (exists), `!k` (does not exist), separated by commas; all must hold.
 */
export function selector(value: string): LabelSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: LabelSelectorRequirement[] = [];
  for (const req of requirements(value)) {
    if (req === '') throw new InvalidArgumentError(`selector ${JSON.stringify(value)} has an empty requirement`);
    let m: RegExpExecArray | null;
    if ((m = /^(\S+?)\s+(in|notin)\s+\(([^)]*)\)$/.exec(req))) {
      const values = m[3]!.split(',').map((v) => val(v.trim(), value));
      if (values.length === 0 || values.includes('')) throw new InvalidArgumentError(`selector ${JSON.stringify(value)}: ${m[2]} needs one or more values`);
      matchExpressions.push({ key: key(m[1]!, value), operator: m[2] === 'in' ? 'In' : 'NotIn', values });
    } else if ((m = /^([^=!\s]+)\s*!=\s*(\S*)$/.exec(req))) {
      matchExpressions.push({ key: key(m[1]!, value), operator: 'NotIn', values: [val(m[2]!, value)] });
    } else if ((m = /^([^=!\s]+)\s*==?\s*(\S*)$/.exec(req))) {
      const k = key(m[1]!, value);
      if (k in matchLabels) throw new InvalidArgumentError(`selector ${JSON.stringify(value)} names ${k} twice`);
      matchLabels[k] = val(m[2]!, value);
    } else if ((m = /^!\s*(\S+)$/.exec(req))) {
      matchExpressions.push({ key: key(m[1]!, value), operator: 'DoesNotExist' });
    } else if (/^\S+$/.test(req)) {
      matchExpressions.push({ key: key(req, value), operator: 'Exists' });
    } else {
      throw new InvalidArgumentError(`${JSON.stringify(req)} in selector ${JSON.stringify(value)} is not k=v, k!=v, k in (a,b), k notin (a,b), k or !k`);
    }
  }
  return {
    ...(Object.keys(matchLabels).length > 0 ? { matchLabels } : {}),
    ...(matchExpressions.length > 0 ? { matchExpressions } : {}),
  };
}
