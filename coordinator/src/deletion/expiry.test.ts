// TTL expiry with a fake clock and a fake API: which Backups expire, the requests' names and
// labels, 409 as done, and the loop.
import { describe, expect, it } from 'vitest';
import type { Backup, BackupPhase, DeleteBackupRequest, Schedule } from '../../../common/src/crds.ts';
import { createLogger } from '../../../common/src/logger.ts';
import { scheduleLabelValue } from '../schedule/names.ts';
import { ANNOTATION_BACKUP_UID } from './delete-plan.ts';
import { ExpiryLoop, LABEL_EXPIRED_BACKUP, expireBackups, expiredLabelValue, expiryRequestName, hasRetention, isExpired, retainedBySchedule, type ExpiryApi } from './expiry.ts';

const logger = createLogger({ component: 'test', level: 'silent' });
const now = Date.parse('2030-06-01T12:00:00Z');
const dns = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function backup(name: string, phase: BackupPhase | undefined, expiration: string | undefined, o: { labels?: Record<string, string>; uid?: string; deleting?: boolean; namespace?: string } = {}): Backup {
  return {
    apiVersion: 'cairn.dev/v1alpha1', kind: 'Backup',
    metadata: { name, namespace: o.namespace ?? 'team-a', uid: o.uid ?? `uid-${name}`, ...(o.labels ? { labels: o.labels } : {}), ...(o.deleting ? { deletionTimestamp: new Date(now) } : {}) },
    spec: { storageLocation: 'main' },
    ...(phase ? { status: { phase, ...(expiration ? { expiration } : {}) } } : {}),
  };
}

const past = '2030-06-01T11:59:59Z';
const future = '2030-06-01T12:00:01Z';

class FakeApi {
  readonly created: DeleteBackupRequest[] = [];
  readonly names = new Set<string>();
  fail = new Map<string, number>();
  readonly api: ExpiryApi = {
    createNamespacedCustomObject: (p) => {
      const body = p.body as DeleteBackupRequest;
      const key = `${p.namespace}/${body.metadata.name!}`;
      const code = this.fail.get(body.spec.backupName);
      if (code) return Promise.reject(Object.assign(new Error(`HTTP ${code}`), { code }));
      if (this.names.has(key)) return Promise.reject(Object.assign(new Error('HTTP 409'), { code: 409 }));
      this.names.add(key);
      this.created.push(body);
      return Promise.resolve(body);
    },
  };
}

describe('isExpired', () => {
  it('a Completed, PartiallyFailed or Failed Backup whose expiration has passed, and nothing else', () => {
    for (const phase of ['Completed', 'PartiallyFailed', 'Failed'] as const) {
      expect(isExpired(backup('b', phase, past), now)).toBe(true);
      expect(isExpired(backup('b', phase, '2030-06-01T12:00:00Z'), now)).toBe(true);
      expect(isExpired(backup('b', phase, future), now)).toBe(false);
    }
    for (const phase of ['New', 'Queued', 'InProgress', 'FailedValidation', 'Deleting', undefined] as const) expect(isExpired(backup('b', phase, past), now)).toBe(false);
    expect(isExpired(backup('b', 'Completed', undefined), now)).toBe(false);
    expect(isExpired(backup('b', 'Completed', 'not a time'), now)).toBe(false);
    expect(isExpired(backup('b', 'Completed', past, { deleting: true }), now)).toBe(false);
  });

  it('never a synced Backup', () => {
    expect(isExpired(backup('b', 'Completed', past, { labels: { 'cairn.dev/synced': 'true' } }), now)).toBe(false);
    expect(isExpired(backup('b', 'Completed', past, { labels: { 'cairn.dev/synced': 'false' } }), now)).toBe(true);
  });
});

describe('names', () => {
  it('<backup>-expired-<hash of uid>: deterministic, another uid another name', () => {
    expect(expiryRequestName('nightly', 'u1')).toMatch(/^nightly-expired-[0-9a-f]{8}$/);
    expect(expiryRequestName('nightly', 'u1')).toBe(expiryRequestName('nightly', 'u1'));
    expect(expiryRequestName('nightly', 'u2')).not.toBe(expiryRequestName('nightly', 'u1'));
  });

  it('a long backup name is cut to a valid 253-character name, kept unique by a hash of the whole name', () => {
    const a = `${'a'.repeat(230)}.b-${'c'.repeat(20)}`;
    const b = `${'a'.repeat(230)}.b-${'d'.repeat(20)}`;
    const cut = `${'x'.repeat(226)}-${'y'.repeat(26)}`; // the cut lands right after a '-'
    for (const n of [a, b, cut, 'z'.repeat(253)]) {
      const r = expiryRequestName(n, 'u');
      expect(r.length).toBeLessThanOrEqual(253);
      expect(r).toMatch(dns);
      expect(r.endsWith(expiryRequestName('', 'u'))).toBe(true);
    }
    expect(expiryRequestName(a, 'u')).not.toBe(expiryRequestName(b, 'u'));
    expect(expiryRequestName('x'.repeat(236), 'u')).toHaveLength(253); // exactly fits: not cut
  });

  it('the label value is the name up to 63 characters, else cut with a hash', () => {
    expect(expiredLabelValue('nightly')).toBe('nightly');
    expect(expiredLabelValue('n'.repeat(63))).toBe('n'.repeat(63));
    for (const n of ['n'.repeat(64), `${'a'.repeat(53)}.-bcdefghijklmn`]) {
      const v = expiredLabelValue(n);
      expect(v.length).toBeLessThanOrEqual(63);
      expect(v).toMatch(labelValue);
    }
    expect(expiredLabelValue('n'.repeat(64))).not.toBe(expiredLabelValue(`${'n'.repeat(63)}m`));
  });
});

describe('expireBackups', () => {
  it('creates one request per expired Backup, labelled and pinned to its uid; none for unexpired or synced ones', async () => {
    const f = new FakeApi();
    const backups = [
      backup('old', 'Completed', past),
      backup('partial', 'PartiallyFailed', past, { namespace: 'team-b' }),
      backup('young', 'Completed', future),
      backup('synced', 'Completed', past, { labels: { 'cairn.dev/synced': 'true' } }),
      backup('running', 'InProgress', past),
    ];
    const created = await expireBackups({ backups, now: () => now, api: f.api, logger });
    expect(created).toEqual([`team-a/${expiryRequestName('old', 'uid-old')}`, `team-b/${expiryRequestName('partial', 'uid-partial')}`]);
    expect(f.created[0]).toEqual({
      apiVersion: 'cairn.dev/v1alpha1', kind: 'DeleteBackupRequest',
      metadata: { name: expiryRequestName('old', 'uid-old'), namespace: 'team-a', labels: { [LABEL_EXPIRED_BACKUP]: 'old' }, annotations: { [ANNOTATION_BACKUP_UID]: 'uid-old' } },
      spec: { backupName: 'old' },
    });
    // Again: 409 for both, nothing new, no error.
    expect(await expireBackups({ backups, now: () => now, api: f.api, logger })).toEqual([]);
    expect(f.created).toHaveLength(2);
  });

  it('skips requests the cache already has, and goes on past a namespace that refuses', async () => {
    const f = new FakeApi();
    f.fail.set('refused', 403);
    const backups = [backup('refused', 'Completed', past), backup('cached', 'Completed', past), backup('fresh', 'Failed', past)];
    const created = await expireBackups({ backups, now: () => now, api: f.api, logger, exists: (_ns, name) => name === expiryRequestName('cached', 'uid-cached') });
    expect(created).toEqual([`team-a/${expiryRequestName('fresh', 'uid-fresh')}`]);
  });

  it('follows the clock it is given', async () => {
    const f = new FakeApi();
    const b = [backup('b', 'Completed', future)];
    expect(await expireBackups({ backups: b, now: () => now, api: f.api, logger })).toEqual([]);
    expect(await expireBackups({ backups: b, now: () => now + 1_000, api: f.api, logger })).toHaveLength(1);
  });
});

const schedule = (name: string, retention?: Schedule['spec']['retention'], namespace = 'team-a'): Schedule => ({
  apiVersion: 'cairn.dev/v1alpha1', kind: 'Schedule', metadata: { name, namespace },
  spec: { schedule: '@daily', template: { storageLocation: 'main' }, ...(retention ? { retention } : {}) },
});

describe('Backups of a Schedule with retention', () => {
  const longName = `s${'x'.repeat(80)}`;
  const schedules = [schedule('kept', { keepMonthly: 12 }), schedule('ttl-only'), schedule('zeros', { keepLast: 0 }), schedule(longName, { keepLast: 3 }), schedule('elsewhere', { keepLast: 3 }, 'team-b')];
  const spare = retainedBySchedule({ list: (ns?: string) => schedules.filter((x) => ns === undefined || x.metadata.namespace === ns) });
  const of = (name: string, label: string) => backup(name, 'Completed', past, { labels: { 'cairn.dev/schedule': label } });

  it('are left to the retention; others, and those whose Schedule is gone or has no retention, expire', async () => {
    expect(hasRetention(schedules[0]!)).toBe(true);
    expect(hasRetention(schedules[1]!)).toBe(false);
    expect(hasRetention(schedules[2]!)).toBe(false);
    const backups = [
      of('kept-1', 'kept'),
      of('long-1', `${longName.slice(0, 54)}-${'0'.repeat(8)}`), // not the label the long Schedule gives
      of('ttl-1', 'ttl-only'),
      of('zeros-1', 'zeros'),
      of('gone-1', 'deleted-schedule'),
      of('elsewhere-1', 'elsewhere'), // that Schedule is in another namespace
      backup('manual', 'Completed', past),
    ];
    const f = new FakeApi();
    await expireBackups({ backups, now: () => now, api: f.api, logger, spare });
    expect(f.created.map((c) => c.spec.backupName)).toEqual(['long-1', 'ttl-1', 'zeros-1', 'gone-1', 'elsewhere-1', 'manual']);
  });

  it('matches a long Schedule name through its cut-and-hashed label', () => {
    expect(spare(of('long-2', scheduleLabelValue(longName)))).toBe(true);
    expect(scheduleLabelValue(longName)).not.toBe(longName);
  });
});

describe('ExpiryLoop', () => {
  it('waits for the cache, passes every interval with the clock moving, and stops on its signal', async () => {
    const f = new FakeApi();
    let t = now;
    let synced!: () => void;
    const sync = new Promise<void>((r) => (synced = r));
    const list: Backup[] = [backup('b1', 'Completed', future), backup('b2', 'Completed', '2030-06-01T12:00:02Z')];
    const loop = new ExpiryLoop({ backups: { list: () => list, waitForSync: () => sync }, api: f.api, intervalMs: 10, now: () => (t += 1_000), logger });
    const ac = new AbortController();
    const running = loop.run(ac.signal);
    await new Promise((r) => setTimeout(r, 30));
    expect(f.created).toEqual([]); // not synced yet
    synced();
    for (let i = 0; i < 100 && f.created.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(f.created.map((c) => c.spec.backupName)).toEqual(['b1', 'b2']);
    ac.abort();
    await running;
    const n = f.created.length;
    list.push(backup('b3', 'Completed', past));
    await new Promise((r) => setTimeout(r, 30));
    expect(f.created.length).toBe(n);
  });

  it('a pass skips what the requests cache holds, and Backups of a Schedule with retention', async () => {
    const f = new FakeApi();
    const list = [backup('b1', 'Completed', past), backup('nightly-1', 'Completed', past, { labels: { 'cairn.dev/schedule': 'nightly' } }), backup('b2', 'Completed', past)];
    const loop = new ExpiryLoop({
      backups: { list: () => list, waitForSync: () => Promise.resolve() }, api: f.api, intervalMs: 1_000, now: () => now, logger,
      requests: { get: (_ns, name) => (name === expiryRequestName('b1', 'uid-b1') ? ({} as DeleteBackupRequest) : undefined) },
      schedules: { list: () => [schedule('nightly', { keepDaily: 7 })] },
    });
    expect(await loop.tick()).toEqual([`team-a/${expiryRequestName('b2', 'uid-b2')}`]);
    expect(f.created.map((c) => c.spec.backupName)).toEqual(['b2']);
  });
});
