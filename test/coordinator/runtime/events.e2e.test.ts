// Events on the real API server: an Event regarding the Backup with its reason and message, from
// the coordinator, visible through both Events APIs (kubectl describe reads core v1); repeats
// within the window collapse into one Event whose series counts them; nothing of the object but
// its reference is written.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CoreV1Api, EventsV1Api, type EventsV1Event } from '@kubernetes/client-node';
import type { Backup } from '../../../common/src/crds.ts';
import { EventRecorder } from '../../../coordinator/src/runtime/events.ts';
import { kubeAs } from '../../harness/clients.ts';
import { backup, Backups, createNamespaces, deleteNamespaces, unique } from './runtime-fixtures.ts';

const cluster = inject('cluster');
const admin = kubeAs(cluster, 'admin');
const backups = new Backups(admin);
const eventsApi = admin.makeApiClient(EventsV1Api);
const ns = `events-${unique()}`;

beforeAll(() => createNamespaces(admin, [ns]));
afterAll(() => deleteNamespaces(admin, [ns]));

function recorder(windowMs = 60_000): EventRecorder {
  return new EventRecorder({ kubeConfig: admin, controller: 'cairn.dev/coordinator', instance: 'coordinator-test-0', clusterScopedNamespace: cluster.adminNamespace, windowMs, seriesFlushMs: 50 });
}

async function eventsAbout(b: Backup): Promise<EventsV1Event[]> {
  const list = await eventsApi.listNamespacedEvent({ namespace: ns });
  return list.items.filter((e) => e.regarding?.uid === b.metadata.uid);
}

describe('EventRecorder', () => {
  it('writes an Event regarding the Backup with its reason and message, shown by the core v1 API too', async () => {
    const b = await backups.create(backup(`ev-${unique()}`, ns));
    const r = recorder();
    r.record(b, 'Warning', 'ValidationFailed', 'spec.storageLocation: BackupStorageLocation "default" does not exist in this namespace');
    await r.flush();
    const [e, ...more] = await eventsAbout(b);
    expect(more).toEqual([]);
    expect(e).toMatchObject({
      type: 'Warning', reason: 'ValidationFailed', action: 'Reconcile',
      note: 'spec.storageLocation: BackupStorageLocation "default" does not exist in this namespace',
      reportingController: 'cairn.dev/coordinator', reportingInstance: 'coordinator-test-0',
      regarding: { apiVersion: 'cairn.dev/v1alpha1', kind: 'Backup', namespace: ns, name: b.metadata.name, uid: b.metadata.uid },
    });
    const core = await admin.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.uid=${b.metadata.uid}` });
    expect(core.items.map((x) => [x.reason, x.message, x.involvedObject.kind])).toEqual([['ValidationFailed', e!.note, 'Backup']]);
  });

  it('repeats within the window collapse into one Event counting them; another message or reason is its own Event', async () => {
    const b = await backups.create(backup(`dup-${unique()}`, ns));
    const r = recorder();
    for (let i = 0; i < 4; i++) r.record(b, 'Warning', 'AgentUnavailable', 'the agent on node-1 cannot be reached; retrying');
    r.record(b, 'Warning', 'AgentUnavailable', 'the agent on node-2 cannot be reached; retrying');
    r.record(b, 'Normal', 'Queued', 'waiting for a job slot on node-1');
    await sleep(100); // past seriesFlushMs: the series update is written on its own
    await r.flush();
    const events = await eventsAbout(b);
    expect(events.map((e) => e.note).sort()).toEqual([
      'the agent on node-1 cannot be reached; retrying',
      'the agent on node-2 cannot be reached; retrying',
      'waiting for a job slot on node-1',
    ]);
    const repeated = events.find((e) => e.note!.includes('node-1 cannot'))!;
    expect(repeated.series?.count).toBe(4);
    expect(events.filter((e) => e !== repeated).every((e) => e.series === undefined)).toBe(true);
  });

  it('after the window the same event is a new Event', async () => {
    const b = await backups.create(backup(`window-${unique()}`, ns));
    const r = recorder(300);
    r.record(b, 'Normal', 'Completed', 'backup completed');
    r.record(b, 'Normal', 'Completed', 'backup completed');
    await sleep(400);
    r.record(b, 'Normal', 'Completed', 'backup completed');
    await r.flush();
    const events = await eventsAbout(b);
    expect(events.length).toBe(2);
    expect(events.map((e) => e.series?.count ?? 1).sort()).toEqual([1, 2]);
  });

  it('writes only the reference of the object: nothing of its metadata or spec appears in the Event', async () => {
    const b = backup(`ref-${unique()}`, ns, { team: 'label-zeta9' });
    b.metadata.annotations = { 'example.com/token': 'secret-looking-value-7f3a' };
    const made = await backups.create(b);
    const r = recorder();
    r.record(made, 'Normal', 'Accepted', 'backup accepted');
    r.record(made, 'Normal', 'bad reason with spaces', 'dropped');
    await r.flush();
    const events = await eventsAbout(made);
    expect(events.length).toBe(1);
    const text = JSON.stringify(events[0]);
    expect(text).not.toContain('secret-looking-value-7f3a');
    expect(text).not.toContain('label-zeta9');
    expect(text).not.toContain('storageLocation');
  });
});
