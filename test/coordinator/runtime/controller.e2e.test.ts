// The controller runtime end to end on the real API server, with a toy Backup reconciler:
// informer events -> work queue -> reconcile(key) -> status writes, Events and a finalizer.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CustomObjectsApi, EventsV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Backup } from '../../../common/src/crds.ts';
import { createLogger } from '../../../common/src/logger.ts';
import { Controller, phaseReconcilerBinding } from '../../../coordinator/src/runtime/controller.ts';
import { EventRecorder } from '../../../coordinator/src/runtime/events.ts';
import { Informer } from '../../../coordinator/src/runtime/informer.ts';
import { namespaceFilter } from '../../../coordinator/src/runtime/namespace-filter.ts';
import { kubeAs } from '../../harness/clients.ts';
import { waitFor } from '../../harness/wait.ts';
import { backup, Backups, backupsResource, createNamespaces, deleteNamespaces, unique } from './runtime-fixtures.ts';
import { ToyBackupReconciler } from './toy-reconciler.ts';

const cluster = inject('cluster');
const admin = kubeAs(cluster, 'admin');
const backups = new Backups(admin);
const id = unique();
const watched = `ctl-${id}`;
const unwatched = `ctl-${id}-off`;
const logger = createLogger({ component: 'runtime-test', level: process.env.CAIRN_TEST_LOG ?? 'silent' });

const toy = new ToyBackupReconciler();
const handled: string[] = [];
const events = new EventRecorder({ kubeConfig: admin, controller: 'cairn.dev/coordinator', instance: 'runtime-test', clusterScopedNamespace: cluster.adminNamespace, seriesFlushMs: 50 });
const informer = new Informer<Backup>({ kubeConfig: admin, resource: backupsResource, namespaces: namespaceFilter({ patterns: [watched], adminNamespace: 'not-this-suite' }), logger });
const binding = phaseReconcilerBinding(toy, { informer, api: admin.makeApiClient(CustomObjectsApi), events, logger }, { concurrency: 4 });
const handle = binding.handle;
binding.handle = (key, signal) => {
  handled.push(key);
  return handle(key, signal);
};
const controller = new Controller({ bindings: [binding], logger, backoff: { initialMs: 50, maxMs: 400 } });
const stop = new AbortController();
let running: Promise<void>;

beforeAll(async () => {
  await createNamespaces(admin, [watched, unwatched]);
  running = controller.run(stop.signal);
  await waitFor('the controller to sync', () => controller.health().synced);
});
afterAll(async () => {
  stop.abort();
  await running;
  for (const ns of [watched, unwatched]) {
    for (const b of ((await admin.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ group: 'cairn.dev', version: 'v1alpha1', plural: 'backups', namespace: ns })) as { items: Backup[] }).items) {
      if (b.metadata.finalizers?.length) await backups.api.patchNamespacedCustomObject({ group: 'cairn.dev', version: 'v1alpha1', plural: 'backups', namespace: ns, name: b.metadata.name!, body: [{ op: 'remove', path: '/metadata/finalizers' }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    }
  }
  await deleteNamespaces(admin, [watched, unwatched]);
});

const completed = (ns: string, name: string) => waitFor(`${ns}/${name} to be Completed`, async () => {
  const b = await backups.get(ns, name);
  return b.status?.phase === 'Completed' ? b : undefined;
});

async function eventReasons(b: Backup): Promise<string[]> {
  await events.flush();
  const list = await admin.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: b.metadata.namespace! });
  return list.items.filter((e) => e.regarding?.uid === b.metadata.uid).map((e) => `${e.reason}${e.series ? ` x${e.series.count}` : ''}`).sort();
}

describe('Controller with a phase reconciler', () => {
  it('walks a Backup New -> Queued -> InProgress -> Completed with observedGeneration, a condition, a finalizer and one Event per transition', async () => {
    const name = `walk-${unique()}`;
    await backups.create(backup(name, watched));
    const b = await completed(watched, name);
    expect(b.metadata.finalizers).toEqual([toy.finalizer]);
    expect(b.status).toMatchObject({ phase: 'Completed', observedGeneration: b.metadata.generation, message: 'done', conditions: [{ type: 'Completed', status: 'True', reason: 'AllVolumesBackedUp' }] });
    expect(b.status?.startTimestamp).toBeTruthy();
    const key = `${watched}/${name}`;
    // Reconciles on stale copies may happen (each write comes back as an event), but every guarded
    // transition, and so every side effect, happened exactly once.
    expect(toy.effects.filter((e) => e.key === key).map((e) => e.effect)).toEqual(['queued', 'started', 'completed']);
    expect(await eventReasons(b)).toEqual(['Completed', 'Queued', 'Started']);
  });

  it('ignores a Backup in an unwatched namespace', async () => {
    const name = `off-${unique()}`;
    await backups.create(backup(name, unwatched));
    const other = `on-${unique()}`;
    await backups.create(backup(other, watched));
    await completed(watched, other);
    const b = await backups.get(unwatched, name);
    expect(b.status).toBeUndefined();
    expect(b.metadata.finalizers).toBeUndefined();
    expect(handled.filter((k) => k.startsWith(`${unwatched}/`))).toEqual([]);
  });

  it('skips a final Backup whose generation was observed: a label change is handled but not reconciled', async () => {
    const name = `final-${unique()}`;
    await backups.create(backup(name, watched));
    await completed(watched, name);
    const key = `${watched}/${name}`;
    await sleep(300);
    const [handledBefore, callsBefore] = [handled.filter((k) => k === key).length, toy.calls.filter((c) => c.key === key).length];
    await backups.label(watched, name, { touched: 'yes' });
    await waitFor('the label change to be handled', () => handled.filter((k) => k === key).length > handledBefore);
    await sleep(300);
    expect(toy.calls.filter((c) => c.key === key).length).toBe(callsBefore);
  });

  it('retries a reconcile that throws, with backoff, until it succeeds', async () => {
    const name = `flaky-${unique()}`;
    await backups.create(backup(name, watched, { flaky: '3' }));
    await completed(watched, name);
    const key = `${watched}/${name}`;
    expect(toy.effects.filter((e) => e.key === key).map((e) => e.effect)).toEqual(['queued', 'started', 'completed']);
    expect(toy.calls.filter((c) => c.key === key).length).toBeGreaterThanOrEqual(6);
  });

  it('runs finalize when a Backup is deleted and removes its finalizer, so the Backup goes away', async () => {
    const name = `del-${unique()}`;
    const made = await backups.create(backup(name, watched));
    await completed(watched, name);
    await backups.delete(watched, name);
    await backups.waitGone(watched, name);
    expect(toy.finalized).toContain(`${watched}/${name}`);
    expect(await eventReasons(made)).toContain('Finalized');
  });

  it('stops on its signal: run() resolves, informers stop, and new Backups are left alone', async () => {
    stop.abort();
    await running;
    expect(controller.health()).toMatchObject({ synced: false, queues: [] });
    expect(controller.health().informers.every((i) => !i.watching)).toBe(true);
    const name = `after-${unique()}`;
    await backups.create(backup(name, watched));
    await sleep(1_000);
    expect((await backups.get(watched, name)).status).toBeUndefined();
  });
});
