// The Schedule reconciler on the real API server, run in-process with the coordinator's own
// ServiceAccount (so manifests/rbac/coordinator.yaml is what lets it create Backups and
// DeleteBackupRequests and write Schedule status), over namespaces of its own only, with a fake
// clock the tests move forward. Schedules are created by a tenant user. No Backup reconciler
// runs here: the tests mark the created Backups Completed themselves, as admin, through the
// status subresource; no DeleteBackupRequest reconciler runs either, so requests stay as created.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CustomObjectsApi, EventsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, PLURALS, VERSION, type Backup, type DeleteBackupRequest, type Schedule } from '../../../common/src/crds.ts';
import { createLogger } from '../../../common/src/logger.ts';
import { Controller, phaseReconcilerBinding } from '../../../coordinator/src/runtime/controller.ts';
import { EventRecorder } from '../../../coordinator/src/runtime/events.ts';
import { Informer } from '../../../coordinator/src/runtime/informer.ts';
import { namespaceFilter } from '../../../coordinator/src/runtime/namespace-filter.ts';
import { cairnResource } from '../../../coordinator/src/runtime/resources.ts';
import { ANNOTATION_BACKUP_UID, ANNOTATION_SCHEDULED_TIME, LABEL_SCHEDULE, runName } from '../../../coordinator/src/schedule/names.ts';
import { ScheduleReconciler, scheduleBackupsWatch } from '../../../coordinator/src/schedule/schedule-reconciler.ts';
import { kubeAs } from '../../harness/clients.ts';
import { coordinatorKubeconfig } from '../../harness/coordinator.ts';
import { mergePatch, statusCode } from '../../harness/kube-errors.ts';
import { loadKubeconfig } from '../../harness/kubeconfig.ts';
import { waitFor } from '../../harness/wait.ts';
import { Tenant, unique } from '../e2e/tenant-fixtures.ts';
import { deleteNamespaces } from '../runtime/runtime-fixtures.ts';

const cluster = inject('cluster');
const admin = kubeAs(cluster, 'admin');
const adminApi = admin.makeApiClient(CustomObjectsApi);
const id = unique();
const logger = createLogger({ component: 'schedule-test', level: process.env.CAIRN_TEST_LOG ?? 'silent' });
const main = new Tenant(cluster, `sched-${id}-main`, 'team-a-admin', 'team-a');
const downtime = new Tenant(cluster, `sched-${id}-down`, 'team-b-admin', 'team-b');
const gfs = new Tenant(cluster, `sched-${id}-gfs`, 'team-a-admin', 'team-a');
const HOUR = 3_600_000;

/** A fake clock, starting at the real time; tests only move it forward. */
class FakeClock {
  ms = Date.now();
  readonly now = (): Date => new Date(this.ms);
  /** The first full UTC hour after the clock and after `also` (a Schedule's creation, which is real time). */
  nextHour(also = 0): number {
    return Math.floor(Math.max(this.ms, also) / HOUR) * HOUR + HOUR;
  }
}

let kubeconfigDir: string;
let coordinatorKc: ReturnType<typeof loadKubeconfig>;

/** The reconciler run as the coordinator runs it: informers, Controller, binding with the Backup watch. */
class InProcessCoordinator {
  readonly controller: Controller;
  readonly events: EventRecorder;
  private readonly stopper = new AbortController();
  private running?: Promise<void>;
  private seq = 0;
  /** Reconciles that finished without error: key and the sequence number they started at. */
  readonly done: { key: string; started: number }[] = [];

  readonly clock: FakeClock;

  /**
   * Watches `namespace` only (another suite runs a real coordinator over team-* and its own
   * namespaces at the same time), with its own clock.
   */
  constructor(namespace: string, clock: FakeClock) {
    this.clock = clock;
    const watched = namespaceFilter({ patterns: [namespace], adminNamespace: `${namespace}-no-admin` });
    const api = coordinatorKc.makeApiClient(CustomObjectsApi);
    const schedules = new Informer<Schedule>({ kubeConfig: coordinatorKc, resource: cairnResource('Schedule'), namespaces: watched, logger });
    const backups = new Informer<Backup>({ kubeConfig: coordinatorKc, resource: cairnResource('Backup'), namespaces: watched, logger });
    const deleteRequests = new Informer<DeleteBackupRequest>({ kubeConfig: coordinatorKc, resource: cairnResource('DeleteBackupRequest'), namespaces: watched, logger });
    this.events = new EventRecorder({ kubeConfig: coordinatorKc, controller: 'cairn.dev/coordinator', instance: 'schedule-test', clusterScopedNamespace: cluster.adminNamespace, seriesFlushMs: 50, logger });
    const reconciler = new ScheduleReconciler({ api, backups, deleteRequests, now: clock.now });
    const binding = phaseReconcilerBinding(reconciler, { informer: schedules, api, events: this.events, logger }, {
      concurrency: 4,
      // The DeleteBackupRequest informer is only read; a watch with no keys makes the Controller run it.
      watches: [scheduleBackupsWatch(backups, schedules), { informer: deleteRequests, keys: () => [] }],
    });
    const handle = binding.handle;
    binding.handle = async (key, signal) => {
      const started = this.seq++;
      const r = await handle(key, signal);
      this.done.push({ key, started });
      return r;
    };
    this.controller = new Controller({ bindings: [binding], logger, backoff: { initialMs: 50, maxMs: 500 } });
  }

  async start(): Promise<this> {
    this.running = this.controller.run(this.stopper.signal);
    await waitFor('the schedule controller to sync', () => this.controller.health().synced, { timeoutMs: 60_000 });
    return this;
  }

  async stop(): Promise<void> {
    if (this.stopper.signal.aborted) return;
    this.stopper.abort();
    await this.running;
    await this.events.flush();
  }

  /** Moves the clock to `to` and waits for a reconcile of `key` that started afterwards. */
  async tick(to: number, key: string): Promise<void> {
    this.clock.ms = Math.max(this.clock.ms, to);
    const mark = this.seq;
    this.controller.enqueue('Schedule', key);
    await waitFor(`a reconcile of ${key} after the clock moved to ${new Date(to).toISOString()}`, () => this.done.some((d) => d.key === key && d.started >= mark), { timeoutMs: 20_000, intervalMs: 20 });
  }
}

let coordinator: InProcessCoordinator;
let restarted: InProcessCoordinator | undefined;
let gfsCoordinator: InProcessCoordinator | undefined;

/** Lists a kind in a namespace as admin (waiting out 429s of a watch cache that is reinitialising). */
async function list<T>(plural: string, namespace: string, labelSelector?: string): Promise<T[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = (await adminApi.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural, namespace, ...(labelSelector ? { labelSelector } : {}) })) as { items: T[] };
      return res.items;
    } catch (err) {
      if (statusCode(err) !== 429 || attempt >= 30) throw err;
      await sleep(500);
    }
  }
}

const backupsOf = async (t: Tenant, schedule: string): Promise<Backup[]> =>
  (await list<Backup>(PLURALS.Backup, t.namespace, `${LABEL_SCHEDULE}=${schedule}`)).sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
const requestsIn = async (t: Tenant): Promise<DeleteBackupRequest[]> =>
  (await list<DeleteBackupRequest>(PLURALS.DeleteBackupRequest, t.namespace)).sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
const names = (objs: { metadata: { name?: string } }[]): string[] => objs.map((o) => o.metadata.name!);

async function scheduleOf(t: Tenant, name: string): Promise<Schedule> {
  return (await t.get('schedules', name)) as unknown as Schedule;
}

/** Creates a Schedule as the tenant. */
async function createSchedule(t: Tenant, name: string, spec: Record<string, unknown>): Promise<string> {
  await t.create('schedules', { apiVersion: `${GROUP}/${VERSION}`, kind: 'Schedule', metadata: { name }, spec: { template: { storageLocation: 'default' }, ...spec } });
  return `${t.namespace}/${name}`;
}

async function waitSchedule(t: Tenant, name: string, ok: (s: Schedule) => boolean, what: string): Promise<Schedule> {
  return waitFor(`Schedule ${t.namespace}/${name}: ${what}`, async () => {
    const s = await scheduleOf(t, name);
    return ok(s) ? s : false;
  }, { timeoutMs: 30_000, intervalMs: 100 });
}

/** What a Backup reconciler would do when the run finished: phase and completion time, as admin. */
async function complete(namespace: string, name: string, phase = 'Completed'): Promise<void> {
  await adminApi.patchNamespacedCustomObjectStatus({
    group: GROUP, version: VERSION, plural: PLURALS.Backup, namespace, name,
    body: { status: { phase, completionTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') } },
  }, mergePatch);
}

const creation = (s: Schedule): number => Date.parse(s.metadata.creationTimestamp as unknown as string);
const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

beforeAll(async () => {
  kubeconfigDir = await mkdtemp(join(tmpdir(), 'cairn-schedule-'));
  coordinatorKc = loadKubeconfig(await coordinatorKubeconfig(cluster, join(kubeconfigDir, 'coordinator.yaml')));
  await Promise.all([main.setUp(), downtime.setUp(), gfs.setUp()]);
  coordinator = await new InProcessCoordinator(main.namespace, new FakeClock()).start();
});

afterAll(async () => {
  await coordinator?.stop();
  await restarted?.stop();
  await gfsCoordinator?.stop();
  await deleteNamespaces(admin, [main.namespace, downtime.namespace, gfs.namespace]);
  await rm(kubeconfigDir, { recursive: true, force: true });
});

describe('Schedule reconciler on the real API server, with a fake clock', () => {
  it('creates a Backup from the template at each scheduled time; keepLast 3 after five runs asks to delete exactly the two oldest', async () => {
    // Minute 30 in Kolkata (UTC+5:30) is minute 0 in UTC: the names carry the UTC time.
    const key = await createSchedule(main, 'hourly', {
      schedule: '30 * * * *', timeZone: 'Asia/Kolkata', retention: { keepLast: 3 },
      template: { storageLocation: 'default', includeVolumes: ['data'] },
    });
    const enabled = await waitSchedule(main, 'hourly', (s) => s.status?.phase === 'Enabled' && !!s.status.nextBackup, 'Enabled with a next backup');
    const first = coordinator.clock.nextHour(creation(enabled));
    expect(enabled.status?.nextBackup).toBe(rfc3339(first));
    expect(enabled.status?.observedGeneration).toBe(enabled.metadata.generation);

    // A reconcile just before the time creates nothing.
    await coordinator.tick(first - 10_000, key);
    expect(await backupsOf(main, 'hourly')).toEqual([]);

    const runs: string[] = [];
    for (let i = 0; i < 5; i++) {
      const at = first + i * HOUR;
      await coordinator.tick(at + 1_000, key);
      const name = runName('hourly', new Date(at));
      runs.push(name);
      const mine = await backupsOf(main, 'hourly');
      expect(names(mine)).toEqual(runs);
      const b = mine.at(-1)!;
      expect(b.metadata.labels?.[LABEL_SCHEDULE]).toBe('hourly');
      expect(b.metadata.annotations?.[ANNOTATION_SCHEDULED_TIME]).toBe(rfc3339(at));
      expect(b.metadata.ownerReferences).toBeUndefined();
      expect(b.spec).toEqual({ storageLocation: 'default', includeVolumes: ['data'] });
      const s = await scheduleOf(main, 'hourly');
      expect(s.status).toMatchObject({ phase: 'Enabled', lastBackup: name, lastScheduleTime: rfc3339(at), nextBackup: rfc3339(at + HOUR) });
      await complete(main.namespace, name);
    }
    expect(runs[0]).toMatch(/^hourly-\d{10}0000$/);

    // The completions enqueue the Schedule (Backup watch): retention lets the two oldest go.
    const requests = await waitFor('two DeleteBackupRequests', async () => {
      const r = await requestsIn(main);
      return r.length >= 2 ? r : false;
    }, { timeoutMs: 20_000 });
    await coordinator.tick(coordinator.clock.ms + 60_000, key);
    const uids = new Map((await backupsOf(main, 'hourly')).map((b) => [b.metadata.name!, b.metadata.uid!]));
    expect((await requestsIn(main)).map((r) => [r.metadata.name, r.spec.backupName, r.metadata.labels?.[LABEL_SCHEDULE], r.metadata.annotations?.[ANNOTATION_BACKUP_UID]])).toEqual([
      [`${runs[0]}-retention`, runs[0], 'hourly', uids.get(runs[0]!)],
      [`${runs[1]}-retention`, runs[1], 'hourly', uids.get(runs[1]!)],
    ]);
    expect(requests).toHaveLength(2);
    // The tenant sees its Backups and the requests in its own namespace.
    expect((await main.get('backups', runs[4]!)).status?.phase).toBe('Completed');
    expect((await main.get('deletebackuprequests', `${runs[0]}-retention`)).spec.backupName).toBe(runs[0]);

    await coordinator.events.flush();
    const s = await scheduleOf(main, 'hourly');
    const evs = (await admin.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: main.namespace })).items.filter((e) => e.regarding?.uid === s.metadata.uid);
    expect(new Set(evs.map((e) => e.reason))).toEqual(new Set(['Enabled', 'BackupCreated', 'RetentionDeleteRequested']));
  });

  it('creates nothing while paused', async () => {
    const key = await createSchedule(main, 'paused', { schedule: '* * * * *', paused: true });
    const s = await waitSchedule(main, 'paused', (x) => x.status?.phase === 'Paused', 'Paused');
    expect(s.status?.nextBackup).toBeUndefined();
    for (let step = 0; step < 3; step++) await coordinator.tick(coordinator.clock.ms + 20 * 60_000, key);
    expect(await backupsOf(main, 'paused')).toEqual([]);
    expect((await scheduleOf(main, 'paused')).status?.phase).toBe('Paused');
  });

  it('refuses an invalid cron expression with FailedValidation naming spec.schedule, and creates nothing', async () => {
    await createSchedule(main, 'invalid', { schedule: '61 * * * *' });
    const s = await waitSchedule(main, 'invalid', (x) => x.status?.phase === 'FailedValidation', 'FailedValidation');
    expect(s.status?.validationErrors).toHaveLength(1);
    expect(s.status?.validationErrors?.[0]).toMatch(/^spec\.schedule: "61 \* \* \* \*" is not a valid cron expression \(.*minute.*\): allowed are five space-separated fields/);
    expect(s.status?.message).toBe(s.status?.validationErrors?.[0]);
    expect(s.status?.observedGeneration).toBe(s.metadata.generation);
    await createSchedule(main, 'bad-zone', { schedule: '0 2 * * *', timeZone: 'Mars/Olympus' });
    const z = await waitSchedule(main, 'bad-zone', (x) => x.status?.phase === 'FailedValidation', 'FailedValidation');
    expect(z.status?.validationErrors?.[0]).toMatch(/^spec\.timeZone: "Mars\/Olympus" is not a known IANA time zone name/);
    expect(await backupsOf(main, 'invalid')).toEqual([]);
  });

  it('after a restart following five hours of downtime creates one catch-up run only (RunLatest), none with Skip', async () => {
    const clock = new FakeClock();
    let ours = await new InProcessCoordinator(downtime.namespace, clock).start();
    restarted = ours;
    const latest = await createSchedule(downtime, 'latest', { schedule: '0 * * * *' });
    const skip = await createSchedule(downtime, 'skip', { schedule: '0 * * * *', missedRunPolicy: 'Skip' });
    const created = Math.max(...(await Promise.all(['latest', 'skip'].map(async (n) => creation(await waitSchedule(downtime, n, (s) => s.status?.phase === 'Enabled', 'Enabled'))))));
    const h = clock.nextHour(created);
    await ours.tick(h + 500, latest);
    await ours.tick(h + 500, skip);
    expect(names(await backupsOf(downtime, 'latest'))).toEqual([runName('latest', new Date(h))]);
    expect(names(await backupsOf(downtime, 'skip'))).toEqual([runName('skip', new Date(h))]);

    // The coordinator goes away; five runs pass; a new one starts 20 minutes after the last of them.
    await ours.stop();
    clock.ms = h + 5 * HOUR + 20 * 60_000;
    ours = await new InProcessCoordinator(downtime.namespace, clock).start(); // reconciles every Schedule once synced
    restarted = ours;
    await waitFor('the restarted coordinator to reconcile both Schedules', () => [latest, skip].every((k) => ours.done.some((d) => d.key === k)), { timeoutMs: 20_000 });
    await ours.tick(clock.ms + 1_000, latest); // and once more: still no burst
    expect(names(await backupsOf(downtime, 'latest'))).toEqual([runName('latest', new Date(h)), runName('latest', new Date(h + 5 * HOUR))]);
    expect(names(await backupsOf(downtime, 'skip'))).toEqual([runName('skip', new Date(h))]);
    const skipped = await scheduleOf(downtime, 'skip');
    expect(skipped.status?.message).toContain(`the run at ${rfc3339(h + 5 * HOUR)} was missed and skipped`);
    expect(skipped.status?.nextBackup).toBe(rfc3339(h + 6 * HOUR));
    expect((await scheduleOf(downtime, 'latest')).status).toMatchObject({ lastBackup: runName('latest', new Date(h + 5 * HOUR)), lastScheduleTime: rfc3339(h + 5 * HOUR) });

    // The next scheduled time runs normally for both.
    await ours.tick(h + 6 * HOUR + 500, latest);
    await ours.tick(h + 6 * HOUR + 500, skip);
    expect(names(await backupsOf(downtime, 'latest'))).toEqual([h, h + 5 * HOUR, h + 6 * HOUR].map((t) => runName('latest', new Date(t))));
    expect(names(await backupsOf(downtime, 'skip'))).toEqual([h, h + 6 * HOUR].map((t) => runName('skip', new Date(t))));
    await ours.stop();
  });

  it('grandfather-father-son in Europe/Berlin over ten days of runs every 6 hours keeps exactly the set computed independently, and the newest 3 failed', async () => {
    const zone = 'Europe/Berlin';
    const clock = new FakeClock();
    gfsCoordinator = await new InProcessCoordinator(gfs.namespace, clock).start();
    const retention = { keepLast: 2, keepDaily: 3, keepWeekly: 2 };
    const key = await createSchedule(gfs, 'gfs', { schedule: '0 */6 * * *', timeZone: zone, retention });
    const s = await waitSchedule(gfs, 'gfs', (x) => x.status?.phase === 'Enabled' && !!x.status.nextBackup, 'Enabled');
    let at = Date.parse(s.status!.nextBackup!);
    const phases = new Map<string, { at: number; phase: string }>();
    for (let i = 1; i <= 40; i++) {
      await gfsCoordinator.tick(at + 500, key);
      const name = runName('gfs', new Date(at));
      const phase = i % 7 === 0 ? 'Failed' : i % 5 === 0 ? 'PartiallyFailed' : 'Completed';
      await complete(gfs.namespace, name, phase);
      phases.set(name, { at, phase });
      at = Date.parse((await scheduleOf(gfs, 'gfs')).status!.nextBackup!);
    }
    expect(names(await backupsOf(gfs, 'gfs'))).toEqual([...phases.keys()].sort());

    // Independently: newest of each bucket, buckets newest first, the first n of them.
    const local = new Intl.DateTimeFormat('sv-SE', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
    const day = (t: number): string => local.format(new Date(t));
    const week = (t: number): number => {
      const [y, m, d] = day(t).split('-').map(Number) as [number, number, number];
      return Math.floor((Date.UTC(y, m - 1, d) / 86_400_000 - 4) / 7); // weeks since Monday 1970-01-05
    };
    const all = [...phases].map(([name, v]) => ({ name, ...v })).sort((a, b) => b.at - a.at);
    const candidates = all.filter((r) => r.phase !== 'Failed');
    const keep = new Set(candidates.slice(0, retention.keepLast).map((r) => r.name));
    for (const [n, bucket] of [[retention.keepDaily, day], [retention.keepWeekly, week]] as [number, (t: number) => unknown][]) {
      const seen = new Set<unknown>();
      for (const r of candidates) {
        if (seen.size >= n) break;
        if (seen.has(bucket(r.at))) continue;
        seen.add(bucket(r.at));
        keep.add(r.name);
      }
    }
    const failed = all.filter((r) => r.phase === 'Failed');
    const expected = [...candidates.filter((r) => !keep.has(r.name)), ...failed.slice(3)].map((r) => r.name).sort();
    expect(keep.size).toBeGreaterThan(retention.keepLast);
    expect(expected.length).toBeGreaterThan(20);

    await waitFor('the DeleteBackupRequests of everything retention lets go', async () => (await requestsIn(gfs)).length >= expected.length, { timeoutMs: 30_000 });
    await gfsCoordinator.tick(clock.ms + 60_000, key);
    const requests = await requestsIn(gfs);
    expect(requests.map((r) => r.spec.backupName).sort()).toEqual(expected);
    expect(requests.every((r) => r.metadata.name === `${r.spec.backupName}-retention` && r.metadata.labels?.[LABEL_SCHEDULE] === 'gfs')).toBe(true);
    await gfsCoordinator.stop();
  });
});
