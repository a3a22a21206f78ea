// The reconciler over a timeline, with an in-memory API and a fake clock: which Backups and
// DeleteBackupRequests it creates, and what it writes into status. The suite in
// test/coordinator/schedule/ runs the same against the real API server.
import { describe, expect, it } from 'vitest';
import type { Backup, BackupPhase, DeleteBackupRequest, Schedule, ScheduleSpec, ScheduleStatus } from '../../../common/src/crds.ts';
import { createLogger } from '../../../common/src/logger.ts';
import type { Informer } from '../runtime/informer.ts';
import type { ReconcileContext, ReconcileResult } from '../runtime/reconciler.ts';
import { ANNOTATION_BACKUP_UID, ANNOTATION_SCHEDULED_TIME, LABEL_SCHEDULE } from './names.ts';
import { ScheduleReconciler, type ScheduleApi } from './schedule-reconciler.ts';

const ns = 'team-x';
const logger = createLogger({ component: 'schedule-test', level: 'silent' });

class Conflict extends Error {
  readonly code = 409;
}

/** One Schedule, its Backups and DeleteBackupRequests, and a clock. */
class World {
  t: Date;
  schedule: Schedule;
  readonly backups = new Map<string, Backup>();
  readonly requests = new Map<string, DeleteBackupRequest>();
  readonly events: string[] = [];
  readonly reconciler: ScheduleReconciler;

  constructor(start: string, spec: Partial<ScheduleSpec>, o: { createdAt?: string } = {}) {
    this.t = new Date(start);
    this.schedule = {
      apiVersion: 'cairn.dev/v1alpha1', kind: 'Schedule',
      metadata: { name: 'nightly', namespace: ns, uid: 'u1', generation: 1, creationTimestamp: (o.createdAt ?? start) as unknown as Date },
      spec: { schedule: '0 * * * *', template: { storageLocation: 'default', includeVolumes: ['data'] }, ...spec },
    };
    const api: ScheduleApi = {
      createNamespacedCustomObject: ((p: { plural: string; body: Backup | DeleteBackupRequest }) => {
        const store = (p.plural === 'backups' ? this.backups : this.requests) as Map<string, Backup | DeleteBackupRequest>;
        if (store.has(p.body.metadata.name!)) return Promise.reject(new Conflict('exists'));
        store.set(p.body.metadata.name!, structuredClone({ ...p.body, metadata: { ...p.body.metadata, uid: `uid-${p.body.metadata.name}`, creationTimestamp: this.t.toISOString() as unknown as Date } }));
        return Promise.resolve(p.body);
      }) as ScheduleApi['createNamespacedCustomObject'],
      getNamespacedCustomObject: ((p: { plural: string; name: string }) => {
        const store = (p.plural === 'backups' ? this.backups : this.requests) as Map<string, Backup | DeleteBackupRequest>;
        const o = store.get(p.name);
        return o ? Promise.resolve(o) : Promise.reject(Object.assign(new Error('not found'), { code: 404 }));
      }) as ScheduleApi['getNamespacedCustomObject'],
    };
    const backups = { list: () => [...this.backups.values()] } as unknown as Informer<Backup>;
    this.reconciler = new ScheduleReconciler({ api, backups, now: () => this.t });
  }

  get status(): ScheduleStatus {
    return this.schedule.status ?? {};
  }

  at(iso: string): this {
    this.t = new Date(iso);
    return this;
  }

  spec(change: Partial<ScheduleSpec>): this {
    this.schedule = { ...this.schedule, spec: { ...this.schedule.spec, ...change }, metadata: { ...this.schedule.metadata, generation: this.schedule.metadata.generation! + 1 } };
    return this;
  }

  complete(name: string, phase: BackupPhase = 'Completed'): void {
    const b = this.backups.get(name)!;
    b.status = { phase };
  }

  async reconcile(): Promise<ReconcileResult> {
    const ctx = {
      key: `${ns}/nightly`, signal: new AbortController().signal, log: logger,
      updateStatus: (mutate: (s: ScheduleStatus, o: Schedule) => unknown) => {
        const before = structuredClone(this.status);
        const next = structuredClone(before);
        const r = mutate(next, this.schedule);
        const written = r !== false && JSON.stringify(next) !== JSON.stringify(before);
        if (written) this.schedule = { ...this.schedule, status: { ...next, observedGeneration: this.schedule.metadata.generation! } };
        return Promise.resolve({ object: this.schedule, written, attempts: 1 });
      },
      transition: () => Promise.reject(new Error('not used')),
      event: (type: string, reason: string, message: string) => this.events.push(`${type} ${reason}: ${message}`),
    } as unknown as ReconcileContext<'Schedule', NonNullable<ScheduleStatus['phase']>>;
    return this.reconciler.reconcile(this.schedule, this.schedule.status?.phase, ctx);
  }

  names(): string[] {
    return [...this.backups.keys()].sort();
  }
}

describe('ScheduleReconciler with a fake clock', () => {
  it('enables a new Schedule, creates the Backup at its time with the template, label and annotation, once', async () => {
    const w = new World('2025-01-01T10:00:30Z', {});
    expect(await w.reconcile()).toEqual({ requeueAfterMs: 600_000 }); // next run 59.5 min away; capped
    expect(w.status).toMatchObject({ phase: 'Enabled', nextBackup: '2025-01-01T11:00:00Z', message: 'next backup at 2025-01-01T11:00:00Z', observedGeneration: 1 });
    expect(w.status.conditions).toEqual([expect.objectContaining({ type: 'Active', status: 'True', reason: 'Enabled', lastTransitionTime: '2025-01-01T10:00:30Z' })]);
    expect(w.names()).toEqual([]);

    expect(await w.at('2025-01-01T10:59:59.500Z').reconcile()).toEqual({ requeueAfterMs: 600 });
    expect(w.names()).toEqual([]);

    await w.at('2025-01-01T11:00:00.200Z').reconcile();
    expect(w.names()).toEqual(['nightly-20250101110000']);
    const b = w.backups.get('nightly-20250101110000')!;
    expect(b.metadata.labels).toEqual({ [LABEL_SCHEDULE]: 'nightly' });
    expect(b.metadata.annotations).toEqual({ [ANNOTATION_SCHEDULED_TIME]: '2025-01-01T11:00:00Z' });
    expect(b.metadata.ownerReferences).toBeUndefined();
    expect(b.spec).toEqual({ storageLocation: 'default', includeVolumes: ['data'] });
    expect(w.status).toMatchObject({ lastBackup: 'nightly-20250101110000', lastScheduleTime: '2025-01-01T11:00:00Z', nextBackup: '2025-01-01T12:00:00Z' });
    expect(w.events.filter((e) => e.includes('BackupCreated'))).toEqual(['Normal BackupCreated: created Backup nightly-20250101110000 for the run at 2025-01-01T11:00:00Z']);

    await w.at('2025-01-01T11:00:05Z').reconcile();
    expect(w.names()).toEqual(['nightly-20250101110000']);
    expect(w.events.filter((e) => e.includes('BackupCreated'))).toHaveLength(1);
  });

  it('after downtime creates one catch-up run for the latest missed time (RunLatest), never a burst', async () => {
    const w = new World('2025-01-01T10:00:30Z', {});
    await w.reconcile();
    await w.at('2025-01-01T11:00:01Z').reconcile();
    await w.at('2025-01-01T16:20:00Z').reconcile();
    await w.at('2025-01-01T16:20:01Z').reconcile();
    await w.at('2025-01-01T16:40:00Z').reconcile();
    expect(w.names()).toEqual(['nightly-20250101110000', 'nightly-20250101160000']);
    expect(w.events.at(-1)).toBe('Normal BackupCreated: created Backup nightly-20250101160000 for the run at 2025-01-01T16:00:00Z (missed at its time; created late as missedRunPolicy is RunLatest, earlier missed runs are not created)');
    await w.at('2025-01-01T17:00:00.1Z').reconcile();
    expect(w.names()).toEqual(['nightly-20250101110000', 'nightly-20250101160000', 'nightly-20250101170000']);
  });

  it('after downtime with missedRunPolicy Skip creates nothing until the next time, and says so once', async () => {
    const w = new World('2025-01-01T10:00:30Z', { missedRunPolicy: 'Skip' });
    await w.reconcile();
    await w.at('2025-01-01T16:20:00Z').reconcile();
    await w.at('2025-01-01T16:30:00Z').reconcile();
    expect(w.names()).toEqual([]);
    expect(w.status.message).toBe('the run at 2025-01-01T16:00:00Z was missed and skipped (missedRunPolicy Skip); next backup at 2025-01-01T17:00:00Z');
    expect(w.events.filter((e) => e.includes('MissedRunSkipped'))).toEqual(['Normal MissedRunSkipped: the run at 2025-01-01T16:00:00Z was missed and is not created (missedRunPolicy Skip)']);
    await w.at('2025-01-01T17:00:30Z').reconcile();
    expect(w.names()).toEqual(['nightly-20250101170000']);
  });

  it('catches up a run missed because no coordinator ran when the Schedule was created', async () => {
    const w = new World('2025-01-01T13:10:00Z', {}, { createdAt: '2025-01-01T10:00:30Z' });
    await w.reconcile();
    expect(w.names()).toEqual(['nightly-20250101130000']);
    expect(w.status.conditions?.[0]?.lastTransitionTime).toBe('2025-01-01T10:00:30Z');
  });

  it('creates nothing while paused and does not catch up runs of the pause when unpaused', async () => {
    const w = new World('2025-01-01T10:00:30Z', { paused: true });
    await w.reconcile();
    expect(w.status).toMatchObject({ phase: 'Paused' });
    expect(w.status.nextBackup).toBeUndefined();
    for (const t of ['2025-01-01T11:00:01Z', '2025-01-01T15:00:01Z']) await w.at(t).reconcile();
    expect(w.names()).toEqual([]);
    w.spec({ paused: false });
    await w.at('2025-01-01T15:30:00Z').reconcile();
    expect(w.status).toMatchObject({ phase: 'Enabled', nextBackup: '2025-01-01T16:00:00Z' });
    expect(w.names()).toEqual([]);
    await w.at('2025-01-01T16:00:00Z').reconcile();
    expect(w.names()).toEqual(['nightly-20250101160000']);
    expect(w.events.filter((e) => /Paused|Enabled:/.test(e))).toEqual(['Normal Paused: schedule paused: no Backups are created', 'Normal Enabled: Backups are created at "0 * * * *" in UTC']);
  });

  it('refuses an invalid cron expression or time zone, naming the field, and creates nothing', async () => {
    const w = new World('2025-01-01T10:00:30Z', { schedule: '61 * * * *', timeZone: 'Mars/Olympus' });
    expect(await w.reconcile()).toBeUndefined();
    expect(w.status.phase).toBe('FailedValidation');
    expect(w.status.validationErrors?.map((e) => e.split(':')[0])).toEqual(['spec.timeZone', 'spec.schedule']);
    expect(w.status.message).toContain('spec.schedule: "61 * * * *" is not a valid cron expression');
    expect(w.events[0]).toMatch(/^Warning FailedValidation: spec.timeZone/);
    expect(w.reconciler.isFinal('FailedValidation')).toBe(true);
    w.spec({ schedule: '0 * * * *', timeZone: 'Europe/Berlin' });
    await w.at('2025-01-01T11:00:00Z').reconcile();
    expect(w.status.phase).toBe('Enabled');
    expect(w.status.validationErrors).toBeUndefined();
    expect(w.names()).toEqual([]); // 11:00 UTC is when it became valid: not a missed run
  });

  it('retention keepLast 3 after five completed runs asks once each to delete the two oldest', async () => {
    const w = new World('2025-01-01T10:00:30Z', { retention: { keepLast: 3 } });
    await w.reconcile();
    for (let h = 11; h <= 15; h++) {
      await w.at(`2025-01-01T${h}:00:00Z`).reconcile();
      w.complete(`nightly-20250101${h}0000`);
    }
    await w.at('2025-01-01T15:10:00Z').reconcile();
    // 11:00 was let go at 15:00 (11-14 completed), 12:00 once 15:00 completed too.
    expect([...w.requests.values()].map((r) => [r.metadata.name, r.spec.backupName, r.metadata.labels?.[LABEL_SCHEDULE], r.metadata.annotations?.[ANNOTATION_BACKUP_UID]])).toEqual([
      ['nightly-20250101110000-retention', 'nightly-20250101110000', 'nightly', 'uid-nightly-20250101110000'],
      ['nightly-20250101120000-retention', 'nightly-20250101120000', 'nightly', 'uid-nightly-20250101120000'],
    ]);
    const asked = w.events.filter((e) => e.includes('RetentionDeleteRequested'));
    await w.at('2025-01-01T15:20:00Z').reconcile();
    expect(w.requests.size).toBe(2);
    expect(w.events.filter((e) => e.includes('RetentionDeleteRequested'))).toEqual(asked);
  });

  it('retention does not touch a running Backup, and still applies while paused', async () => {
    const w = new World('2025-01-01T10:00:30Z', { retention: { keepLast: 1 } });
    await w.reconcile();
    await w.at('2025-01-01T11:00:00Z').reconcile();
    w.complete('nightly-20250101110000');
    await w.at('2025-01-01T12:00:00Z').reconcile(); // 12:00 is still running
    expect(w.requests.size).toBe(0);
    w.complete('nightly-20250101120000', 'PartiallyFailed');
    w.spec({ paused: true });
    await w.at('2025-01-01T12:30:00Z').reconcile();
    expect([...w.requests.keys()]).toEqual(['nightly-20250101110000-retention']);
  });

  it('treats 409 on its run as done: a run created before a lost status write is not created twice', async () => {
    const w = new World('2025-01-01T10:00:30Z', {});
    await w.reconcile();
    await w.at('2025-01-01T11:00:00Z').reconcile();
    const { lastBackup: _b, lastScheduleTime: _t, ...lost } = w.status;
    w.schedule = { ...w.schedule, status: lost };
    await w.at('2025-01-01T11:00:02Z').reconcile();
    expect(w.names()).toEqual(['nightly-20250101110000']);
    expect(w.status).toMatchObject({ lastBackup: 'nightly-20250101110000', lastScheduleTime: '2025-01-01T11:00:00Z' });
    expect(w.events.filter((e) => e.includes('BackupCreated'))).toHaveLength(1);
  });

  it('follows the time zone: 02:30 daily in Berlin runs at 03:00 on the spring-forward day', async () => {
    const w = new World('2025-03-29T12:00:00Z', { schedule: '30 2 * * *', timeZone: 'Europe/Berlin' });
    await w.reconcile();
    expect(w.status.nextBackup).toBe('2025-03-30T01:00:00Z');
    await w.at('2025-03-30T01:00:00Z').reconcile();
    expect(w.names()).toEqual(['nightly-20250330010000']);
    expect(w.status.nextBackup).toBe('2025-03-31T00:30:00Z');
  });
});
