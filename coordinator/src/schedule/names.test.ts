import { describe, expect, it } from 'vitest';
import { retentionRequestName, runName, scheduleLabelValue, shortenName, utcStamp } from './names.ts';

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

describe('schedule names', () => {
  it('names a run after the schedule and the UTC time it was scheduled for, whatever the zone it runs in', () => {
    expect(utcStamp(new Date('2025-03-30T01:00:00.000Z'))).toBe('20250330010000');
    expect(runName('nightly', new Date('2025-03-30T01:00:00Z'))).toBe('nightly-20250330010000');
    expect(runName('nightly', new Date('2025-12-31T23:59:59.999Z'))).toBe('nightly-20251231235959');
  });

  it('keeps a run name of a 253-character schedule within 253 characters, a DNS subdomain, distinct per schedule and time', () => {
    const long = `${'a'.repeat(120)}.${'b'.repeat(132)}`; // 253
    const other = `${long.slice(0, 252)}c`;
    const t1 = new Date('2025-01-01T00:00:00Z');
    const t2 = new Date('2025-01-01T01:00:00Z');
    for (const n of [runName(long, t1), runName(long, t2), runName(other, t1)]) {
      expect(n.length).toBeLessThanOrEqual(253);
      expect(n).toMatch(dnsSubdomain);
    }
    expect(new Set([runName(long, t1), runName(long, t2), runName(other, t1)]).size).toBe(3);
    expect(runName(long, t1)).toBe(runName(long, t1));
    expect(runName(long, t1).endsWith('-20250101000000')).toBe(true);
  });

  it('never leaves a cut ending in - or . before the hash', () => {
    const base = `${'x'.repeat(229)}.-.-${'y'.repeat(30)}`;
    const n = shortenName(base, '-20250101000000');
    expect(n).toMatch(dnsSubdomain);
    expect(n.length).toBeLessThanOrEqual(253);
  });

  it('uses the schedule name as label value up to 63 characters, else a cut with a hash', () => {
    expect(scheduleLabelValue('nightly')).toBe('nightly');
    const n63 = 'n'.repeat(63);
    expect(scheduleLabelValue(n63)).toBe(n63);
    const long = `${'n'.repeat(63)}.more`;
    const v = scheduleLabelValue(long);
    expect(v.length).toBe(63);
    expect(v).toMatch(labelValue);
    expect(v).not.toBe(scheduleLabelValue(`${'n'.repeat(63)}.mord`));
  });

  it('names the retention request after the backup, shortened with a hash when too long', () => {
    expect(retentionRequestName('nightly-20250101000000')).toBe('nightly-20250101000000-retention');
    const long = 'b'.repeat(250);
    const r = retentionRequestName(long);
    expect(r.length).toBe(253);
    expect(r).toMatch(dnsSubdomain);
    expect(r.endsWith('-retention')).toBe(true);
    expect(r).not.toBe(retentionRequestName(`${'b'.repeat(249)}c`));
  });
});
