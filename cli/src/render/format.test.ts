import { describe, expect, it } from 'vitest';
import { age, bytes, duration, percent, plural, until } from './format.ts';

const now = Date.parse('2025-01-10T00:00:00Z');

describe('format', () => {
  it('bytes in binary units with one decimal', () => {
    expect([0, 512, 1024, 1536, 12.3 * 1024 * 1024, 5 * 1024 ** 4].map(bytes)).toEqual(['0 B', '512 B', '1.0 KiB', '1.5 KiB', '12.3 MiB', '5.0 TiB']);
    expect(bytes(undefined)).toBe('-');
  });

  it('durations as kubectl prints ages', () => {
    const s = 1000;
    expect([45 * s, 330 * s, 42 * 60 * s, (5 * 60 + 10) * 60 * s, 20 * 3600 * s, (3 * 24 + 4) * 3600 * s, 29 * 86400 * s, 800 * 86400 * s].map(duration)).toEqual(['45s', '5m30s', '42m', '5h10m', '20h', '3d4h', '29d', '2y']);
  });

  it('age and until from RFC 3339 times', () => {
    expect(age('2025-01-09T23:59:00Z', now)).toBe('60s');
    expect(age(undefined, now)).toBe('-');
    expect(until('2025-02-08T00:00:00Z', now)).toBe('in 29d');
    expect(until('2025-01-09T21:00:00Z', now)).toBe('expired 3h ago');
  });

  it('percent is capped and unknown without a total; plural counts', () => {
    expect(percent(50, 200)).toBe(25);
    expect(percent(300, 200)).toBe(100);
    expect(percent(5, 0)).toBeUndefined();
    expect([plural(1, 'file'), plural(2, 'file')]).toEqual(['1 file', '2 files']);
  });
});
