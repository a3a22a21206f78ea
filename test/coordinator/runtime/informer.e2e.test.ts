// The informer on the real API server: it reports Backups of watched namespaces only, and it
// survives what a long-running watch meets: a connection that breaks mid-stream, an API server
// that cannot be reached for a while (retried with growing backoff), and a resourceVersion that
// was compacted away (410 Gone, answered by the real API server), each time catching up with
// what changed in between.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Backup } from '../../../common/src/crds.ts';
import { Informer } from '../../../coordinator/src/runtime/informer.ts';
import { namespaceFilter } from '../../../coordinator/src/runtime/namespace-filter.ts';
import { kubeAs } from '../../harness/clients.ts';
import { waitFor } from '../../harness/wait.ts';
import { FaultProxy } from './fault-proxy.ts';
import { backup, Backups, backupsResource, createNamespaces, deleteNamespaces, EventLog, unique } from './runtime-fixtures.ts';

const cluster = inject('cluster');
const admin = kubeAs(cluster, 'admin');
const backups = new Backups(admin);
const id = unique();
// `*-<id>` with `!kube-*`: team-<id> matches, kube-<id> matches but is excluded, other<id> matches nothing.
const watched = `team-${id}`;
const excluded = `kube-${id}`;
const unmatched = `other${id}`;
const filter = namespaceFilter({ patterns: [`*-${id}`, '!kube-*'], adminNamespace: cluster.adminNamespace });

const cleanups: (() => Promise<void>)[] = [];
beforeAll(() => createNamespaces(admin, [watched, excluded, unmatched]));
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => deleteNamespaces(admin, [watched, excluded, unmatched]));

function startInformer(kc = admin, backoff = { initialMs: 100, maxMs: 1_600 }): { informer: Informer<Backup>; log: EventLog } {
  const informer = new Informer<Backup>({ kubeConfig: kc, resource: backupsResource, namespaces: filter, backoff });
  const log = new EventLog();
  informer.on({ add: (o) => log.push('add', o), update: (o) => log.push('update', o), delete: (o) => log.push('delete', o) });
  informer.start();
  cleanups.push(() => informer.stop());
  return { informer, log };
}

async function withProxy(): Promise<FaultProxy> {
  const proxy = await FaultProxy.start(admin);
  cleanups.push(() => proxy.close());
  return proxy;
}

describe('informer', () => {
  it('reports add, update and delete of Backups in watched namespaces and the admin namespace only', async () => {
    const { informer, log } = startInformer();
    await informer.waitForSync();
    const name = `b-${unique()}`;
    for (const ns of [watched, excluded, unmatched, cluster.adminNamespace]) {
      await backups.create(backup(name, ns));
      cleanups.push(() => backups.delete(ns, name));
    }
    await log.waitFor('add in the watched namespace', (e) => e.type === 'add' && e.key === `${watched}/${name}`);
    await log.waitFor('add in the admin namespace', (e) => e.type === 'add' && e.key === `${cluster.adminNamespace}/${name}`);
    await backups.label(watched, name, { step: 'two' });
    await log.waitFor('update with the new label', (e) => e.type === 'update' && e.key === `${watched}/${name}` && e.labels.step === 'two');
    await backups.delete(watched, name);
    await log.waitFor('delete', (e) => e.type === 'delete' && e.key === `${watched}/${name}`);
    // The unwatched namespaces' objects went past the same watch: none was reported or kept.
    await backups.label(excluded, name, { step: 'two' });
    await backups.label(unmatched, name, { step: 'two' });
    await sleep(1_000);
    expect(log.events.filter((e) => e.key.startsWith(`${excluded}/`) || e.key.startsWith(`${unmatched}/`))).toEqual([]);
    expect(informer.list().map((b) => b.metadata.namespace).filter((ns) => ns === excluded || ns === unmatched)).toEqual([]);
    expect(informer.get(cluster.adminNamespace, name)?.metadata.managedFields).toBeUndefined();
    expect(informer.health()).toMatchObject({ synced: true, watching: true, restarts: 0, relists: 1, consecutiveFailures: 0 });
  });

  it('resumes after its watch connection breaks and reports what changed while it was down, retrying with growing backoff', async () => {
    const proxy = await withProxy();
    const { informer, log } = startInformer(proxy.kubeConfig());
    const [kept, gone, added] = [`kept-${unique()}`, `gone-${unique()}`, `added-${unique()}`];
    for (const n of [kept, gone]) {
      await backups.create(backup(n, watched));
      cleanups.push(() => backups.delete(watched, n));
    }
    await informer.waitForSync();
    await log.waitFor('both created before the break', () => informer.get(watched, kept) !== undefined && informer.get(watched, gone) !== undefined);
    await waitFor('the watch to be open', () => informer.health().watching);
    const watchesBefore = proxy.watches().length;

    proxy.setDown(true); // breaks the open watch and refuses every reconnection
    await backups.create(backup(added, watched));
    cleanups.push(() => backups.delete(watched, added));
    await backups.label(watched, kept, { changed: 'while-down' });
    await backups.delete(watched, gone);
    await waitFor('five refused reconnections', () => proxy.refusedAt.length >= 5, { timeoutMs: 15_000 });
    const h = informer.health();
    expect(h.watching).toBe(false);
    expect(h.consecutiveFailures).toBeGreaterThanOrEqual(4);
    expect(h.lastError).toBeTruthy();
    // Gaps between attempts grow (equal jitter: each delay is at least the previous one below the cap).
    const gaps = proxy.refusedAt.slice(1, 5).map((t, i) => t - proxy.refusedAt[i]!);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]! + 30, `gaps ${gaps.join(', ')} ms`).toBeGreaterThanOrEqual(gaps[i - 1]!);
    expect(gaps[gaps.length - 1]!).toBeGreaterThanOrEqual(2 * gaps[0]!);

    proxy.setDown(false);
    await log.waitFor('the add made while down', (e) => e.type === 'add' && e.key === `${watched}/${added}`);
    await log.waitFor('the update made while down', (e) => e.type === 'update' && e.key === `${watched}/${kept}` && e.labels.changed === 'while-down');
    await log.waitFor('the delete made while down', (e) => e.type === 'delete' && e.key === `${watched}/${gone}`);
    await waitFor('the watch to be open again', () => informer.health().watching);
    const after = informer.health();
    expect(after.restarts).toBeGreaterThanOrEqual(5);
    expect(after.consecutiveFailures).toBe(0);
    // It resumed the watch from its resourceVersion: no second list was needed.
    expect(after.relists).toBe(1);
    expect(proxy.watches().length).toBeGreaterThan(watchesBefore);
    expect(proxy.watches().at(-1)!.resourceVersion).not.toBe(proxy.watches()[0]!.resourceVersion);
  });

  it('lists again when the API server answers 410 Gone to a compacted resourceVersion, and reports the difference', async () => {
    const proxy = await withProxy();
    const { informer, log } = startInformer(proxy.kubeConfig());
    const [stays, removed, created] = [`stays-${unique()}`, `removed-${unique()}`, `created-${unique()}`];
    for (const n of [stays, removed]) {
      await backups.create(backup(n, watched));
      cleanups.push(() => backups.delete(watched, n));
    }
    await informer.waitForSync();
    await waitFor('both objects cached', () => informer.get(watched, stays) && informer.get(watched, removed));
    await waitFor('the watch to be open', () => informer.health().watching);

    proxy.setDown(true);
    await backups.delete(watched, removed);
    await backups.create(backup(created, watched));
    cleanups.push(() => backups.delete(watched, created));
    proxy.expireNextWatch();
    const eventsBefore = log.events.length;
    proxy.setDown(false);

    await log.waitFor('the delete found by the relist', (e) => e.type === 'delete' && e.key === `${watched}/${removed}`);
    await log.waitFor('the add found by the relist', (e) => e.type === 'add' && e.key === `${watched}/${created}`);
    const rewritten = proxy.watches().find((w) => w.rewrittenTo === '1');
    expect(rewritten, 'a watch was sent with a compacted resourceVersion').toBeDefined();
    expect(informer.health().relists).toBe(2);
    // The unchanged object is not reported again.
    expect(log.events.slice(eventsBefore).filter((e) => e.key === `${watched}/${stays}`)).toEqual([]);
    await waitFor('the watch to be open again and counted healthy', () => informer.health().watching && informer.health().consecutiveFailures === 0);
  });
});
