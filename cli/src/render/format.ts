// Small formatters shared by tables, describe and the progress bar: sizes in binary units, ages
// and durations as kubectl prints them, percentages.

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 0 B, 512 B, 1.0 KiB, 12.3 MiB, 1.5 GiB. */
export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n) || n < 0) return '-';
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** A duration as kubectl prints ages: 45s, 5m30s, 42m, 5h10m, 20h, 3d4h, 29d, 2y. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const d = Math.floor(h / 24);
  if (s < 120) return `${s}s`;
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (h < 3) return `${m}m`;
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (d < 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

/** Time since an RFC 3339 timestamp, or `-`. */
export function age(timestamp: string | Date | undefined, now: number): string {
  if (timestamp === undefined) return '-';
  const t = new Date(timestamp).getTime();
  return Number.isNaN(t) ? '-' : duration(now - t);
}

/** `in 29d`, or `expired 3h ago`, or `-`. */
export function until(timestamp: string | undefined, now: number): string {
  if (timestamp === undefined) return '-';
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return '-';
  return t >= now ? `in ${duration(t - now)}` : `expired ${duration(now - t)} ago`;
}

/** Whole percent of done/total, capped at 100; undefined when the total is not known. */
export function percent(done: number | undefined, total: number | undefined): number | undefined {
  if (total === undefined || total <= 0) return undefined;
  return Math.min(100, Math.floor(((done ?? 0) / total) * 100));
}

/** `1 volume`, `3 volumes`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** An RFC 3339 time with the age: `2025-01-02T03:04:05Z (5m ago)`, or `-`. */
export function timeWithAge(timestamp: string | Date | undefined, now: number): string {
  if (timestamp === undefined) return '-';
  const iso = typeof timestamp === 'string' ? timestamp : timestamp.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `${iso} (${age(timestamp, now)} ago)`;
}
