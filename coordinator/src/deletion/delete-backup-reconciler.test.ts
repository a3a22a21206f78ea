// The DeleteBackupRequest reconciler through the real reconcile skeleton (reconcileKey) and
// status writer, over a fake custom-objects API that keeps objects as the API server does where
// it matters here (resourceVersion on status writes, uid preconditions on delete, 404), fake
// Secrets and DNS, a fake clock, and a recording stand-in for the data deletion. What it decides
// and in which order; the real bucket is in test/coordinator/deletion/delete.e2e.test.ts.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CustomObjectsApi } from '@kubernetes/client-node';
import type { Backup, BackupPhase, BackupStorageLocation, DeleteBackupRequest, Restore } from '../../../common/src/crds.ts';
import { CairnError } from '../../../common/src/errors.ts';
import { createLogger } from '../../../common/src/logger.ts';
import type { ObjectStore, S3StoreConfig } from '../../../common/src/store/object-store.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { Informer } from '../runtime/informer.ts';
import { reconcileKey, type ReconcileResult } from '../runtime/reconciler.ts';
import type { DeleteDataOptions, DeleteDataResult } from './delete-backup.ts';
import { DeleteBackupRequestReconciler, type DeleteBackupRequestReconcilerDeps } from './delete-backup-reconciler.ts';
import { ANNOTATION_BACKUP_UID } from './delete-plan.ts';

const ns = 'team-a';
const logger = createLogger({ component: 'test', level: 'silent' });
const clock = Date.parse('2030-01-02T03:04:05Z');
const b64 = (s: string): string => Buffer.from(s).toString('base64');

class ApiError extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`HTTP ${code}`);
    this.code = code;
  }
}

type Obj = Backup | DeleteBackupRequest;

/** Backups and DeleteBackupRequests of one namespace, as the API server keeps them. */
class FakeApi {
  readonly objects = new Map<string, Obj>();
  readonly calls: string[] = [];
  #rv = 1;

  put<T extends Obj>(o: T): T {
    const stored = structuredClone(o);
    stored.metadata.namespace = ns;
    stored.metadata.uid ??= randomUUID();
    stored.metadata.resourceVersion = String(++this.#rv);
    this.objects.set(`${o.kind}/${o.metadata.name!}`, stored);
    return structuredClone(stored);
  }

  get(kind: 'Backup', name: string): Backup | undefined;
  get(kind: 'DeleteBackupRequest', name: string): DeleteBackupRequest | undefined;
  get(kind: string, name: string): Obj | undefined {
    const o = this.objects.get(`${kind}/${name}`);
    return o && structuredClone(o);
  }

  private find(plural: string, name: string): Obj | undefined {
    return this.objects.get(`${plural === 'backups' ? 'Backup' : 'DeleteBackupRequest'}/${name}`);
  }

  // Async, so every failure is a rejection as with the real client.
  readonly api = {
    getNamespacedCustomObject: async (p: { plural: string; name: string }) => {
      this.calls.push(`get ${p.plural}/${p.name}`);
      const o = this.find(p.plural, p.name);
      if (!o) throw new ApiError(404);
      return Promise.resolve(structuredClone(o));
    },
    getNamespacedCustomObjectStatus: async (p: { plural: string; name: string }) => {
      const o = this.find(p.plural, p.name);
      if (!o) throw new ApiError(404);
      return Promise.resolve(structuredClone(o));
    },
    replaceNamespacedCustomObjectStatus: async (p: { plural: string; name: string; body: Obj }) => {
      const o = this.find(p.plural, p.name);
      if (!o) throw new ApiError(404);
      if (p.body.metadata.resourceVersion !== o.metadata.resourceVersion) throw new ApiError(409);
      this.calls.push(`status ${p.plural}/${p.name} ${(p.body.status as { phase?: string } | undefined)?.phase ?? ''}`);
      return Promise.resolve(this.put({ ...o, status: p.body.status } as Obj));
    },
    deleteNamespacedCustomObject: async (p: { plural: string; name: string; body?: { preconditions?: { uid?: string } } }) => {
      this.calls.push(`delete ${p.plural}/${p.name}`);
      const o = this.find(p.plural, p.name);
      if (!o) throw new ApiError(404);
      if (p.body?.preconditions?.uid && p.body.preconditions.uid !== o.metadata.uid) throw new ApiError(409);
      this.objects.delete(`${o.kind}/${p.name}`);
      return Promise.resolve({});
    },
  };
}

const bsl = (name: string, accessMode: 'ReadWrite' | 'ReadOnly' = 'ReadWrite'): BackupStorageLocation => ({
  apiVersion: 'cairn.dev/v1alpha1', kind: 'BackupStorageLocation', metadata: { name, namespace: ns },
  spec: { objectStorage: { bucket: 'team-a', prefix: 'p' }, config: { endpoint: 'https://s3.example.com', region: 'us-east-1' }, credential: { name: 'creds', key: 'cloud' }, accessMode },
});
const backup = (name: string, phase: BackupPhase | undefined, location = 'main'): Backup => ({
  apiVersion: 'cairn.dev/v1alpha1', kind: 'Backup', metadata: { name, namespace: ns }, spec: { storageLocation: location },
  ...(phase ? { status: { phase, volumes: [{ pvc: 'data', phase: 'Completed', lineage: 'c.p' }] } } : {}),
});
const request = (name: string, backupName: string, o: { uid?: string } = {}): DeleteBackupRequest => ({
  apiVersion: 'cairn.dev/v1alpha1', kind: 'DeleteBackupRequest', metadata: { name, namespace: ns, ...(o.uid ? { annotations: { [ANNOTATION_BACKUP_UID]: o.uid } } : {}) },
  spec: { backupName },
});

interface DataCall {
  backup: string;
  opts: DeleteDataOptions;
  /** The Backup's phase when the data deletion started. */
  backupPhase: string | undefined;
  prefix: string;
}

class World {
  readonly fake = new FakeApi();
  readonly events: string[] = [];
  readonly locations = new Map<string, BackupStorageLocation>([['main', bsl('main')], ['ro', bsl('ro', 'ReadOnly')]]);
  readonly dataCalls: DataCall[] = [];
  readonly statusAtSteps: unknown[] = [];
  stores = 0;
  closed = 0;
  result: DeleteDataResult | Error = { manifest: true, index: 2, packs: 3 };
  readonly reconciler: DeleteBackupRequestReconciler;

  constructor(extra: Partial<DeleteBackupRequestReconcilerDeps> = {}) {
    const deps: DeleteBackupRequestReconcilerDeps = {
      api: this.fake.api as unknown as CustomObjectsApi,
      backups: { list: () => [...this.fake.objects.values()].filter((o): o is Backup => o.kind === 'Backup') },
      locations: { get: (_ns, name) => this.locations.get(name) },
      location: {
        readSecret: (n, name) => Promise.resolve(n === ns && name === 'creds' ? { data: { cloud: b64('[default]\naws_access_key_id=A\naws_secret_access_key=B\n') } } : undefined),
        policy: { allow: new Set(), refusedCidrs: [] },
        lookup: () => Promise.resolve([{ address: '203.0.113.10', family: 4 }]),
      },
      storeFactory: (c: S3StoreConfig) => {
        this.stores++;
        return { prefix: c.prefix, close: () => void this.closed++ } as unknown as ObjectStore;
      },
      now: () => clock,
      deleteData: async (store, name, opts = {}) => {
        this.dataCalls.push({ backup: name, opts, backupPhase: this.fake.get('Backup', name)?.status?.phase, prefix: store.prefix });
        if (this.result instanceof Error) throw this.result;
        const r = this.result;
        await opts.pause?.('manifest', { manifest: r.manifest, index: 0, packs: 0 });
        this.statusAtSteps.push(this.fake.get('DeleteBackupRequest', 'del')?.status?.removed);
        await opts.pause?.('index', { manifest: r.manifest, index: r.index, packs: 0 });
        this.statusAtSteps.push(this.fake.get('DeleteBackupRequest', 'del')?.status?.removed);
        await opts.pause?.('packs', { manifest: r.manifest, index: r.index, packs: r.packs });
        return { ...r };
      },
      ...extra,
    };
    this.reconciler = new DeleteBackupRequestReconciler(deps);
  }

  async reconcile(name = 'del'): Promise<ReconcileResult> {
    const informer = { getByKey: (key: string) => this.fake.get('DeleteBackupRequest', key.split('/')[1]!) } as unknown as Informer<DeleteBackupRequest>;
    const events = { record: (_o: unknown, type: string, reason: string, message: string) => void this.events.push(`${type} ${reason}: ${message}`) } as unknown as EventRecorder;
    return reconcileKey(this.reconciler, { informer, api: this.fake.api as unknown as CustomObjectsApi, events, logger }, `${ns}/${name}`, new AbortController().signal);
  }

  request(): DeleteBackupRequest {
    return this.fake.get('DeleteBackupRequest', 'del')!;
  }
}

describe('DeleteBackupRequestReconciler', () => {
  it('deletes a Completed Backup: the Backup goes Deleting before any data is deleted, removed is written after each step, then the Backup object goes and the request is Processed', async () => {
    const w = new World();
    const b = w.fake.put(backup('b1', 'Completed'));
    w.fake.put(request('del', 'b1'));

    expect(await w.reconcile()).toBeUndefined();

    expect(w.dataCalls).toHaveLength(1);
    expect(w.dataCalls[0]).toMatchObject({ backup: 'b1', backupPhase: 'Deleting', prefix: 'p', opts: { alwaysCollect: false, lineages: ['c.p'] } });
    expect(w.dataCalls[0]!.opts.key).toBeUndefined();
    expect(w.statusAtSteps).toEqual([{ manifest: true, index: 0, packs: 0 }, { manifest: true, index: 2, packs: 0 }]);
    expect(w.fake.get('Backup', 'b1')).toBeUndefined();
    expect(w.fake.calls.filter((c) => c.startsWith('delete'))).toEqual(['delete backups/b1']);
    expect(w.request().status).toEqual({ phase: 'Processed', removed: { manifest: true, index: 2, packs: 3 }, completionTimestamp: '2030-01-02T03:04:05Z' });
    expect(w.events).toEqual([
      'Normal Started: deleting Backup b1',
      'Normal Processed: Backup b1 deleted: the manifest, 2 index object(s) and 3 pack(s) removed from the bucket',
    ]);
    expect([w.stores, w.closed]).toEqual([1, 1]);
    expect(b.metadata.uid).toBeTruthy();
    // Final: another reconcile does nothing.
    const calls = w.fake.calls.length;
    await w.reconcile();
    expect(w.fake.calls.length).toBe(calls);
  });

  it('refuses a Backup in progress, naming it and its phase, and touches nothing', async () => {
    for (const phase of ['InProgress', 'Queued', 'New', undefined] as const) {
      const w = new World();
      w.fake.put(backup('b1', phase));
      w.fake.put(request('del', 'b1'));
      await w.reconcile();
      const s = w.request().status!;
      expect(s).toMatchObject({ phase: 'Failed', errorCode: 'CAIRN_E_INVALID_ARGUMENT', completionTimestamp: '2030-01-02T03:04:05Z' });
      expect(s.errors![0]).toContain(`Backup b1 is ${phase ?? 'New'}`);
      expect(w.fake.get('Backup', 'b1')?.status?.phase).toBe(phase);
      expect(w.dataCalls).toEqual([]);
      expect(w.events).toEqual([expect.stringMatching(/^Warning Refused: spec\.backupName: Backup b1 is/)]);
    }
  });

  it('fails for a Backup that does not exist in its namespace, naming spec.backupName', async () => {
    const w = new World();
    w.fake.put(request('del', 'team-b-backup'));
    await w.reconcile();
    expect(w.request().status).toMatchObject({ phase: 'Failed', errorCode: 'CAIRN_E_NOT_FOUND', errors: [expect.stringMatching(/^spec\.backupName: Backup team-b-backup does not exist in namespace team-a/)] });
    expect(w.fake.calls).toContain('get backups/team-b-backup');
  });

  it('fails for a ReadOnly location and keeps the Backup as it was', async () => {
    const w = new World();
    w.fake.put(backup('b1', 'Completed', 'ro'));
    w.fake.put(request('del', 'b1'));
    await w.reconcile();
    expect(w.request().status).toMatchObject({ phase: 'Failed', errorCode: 'CAIRN_E_INVALID_ARGUMENT', errors: ['location ro is ReadOnly; Cairn never deletes from it (Backup b1 is kept)'] });
    expect(w.fake.get('Backup', 'b1')?.status?.phase).toBe('Completed');
    expect([w.dataCalls.length, w.stores]).toEqual([0, 0]);
  });

  it('deletes only the object of a FailedValidation Backup, and of a Failed one whose location is gone', async () => {
    for (const [phase, loc] of [['FailedValidation', 'main'], ['Failed', 'gone']] as const) {
      const w = new World();
      w.fake.put(backup('b1', phase, loc));
      w.fake.put(request('del', 'b1'));
      await w.reconcile();
      expect(w.fake.get('Backup', 'b1')).toBeUndefined();
      expect(w.request().status).toMatchObject({ phase: 'Processed', removed: { manifest: false, index: 0, packs: 0 } });
      expect([w.dataCalls.length, w.stores]).toEqual([0, 0]);
    }
  });

  it('waits while another backup of the same location runs (the Backup already Deleting), then deletes', async () => {
    const w = new World();
    w.fake.put(backup('b1', 'Completed'));
    w.fake.put(backup('running', 'InProgress'));
    w.fake.put(backup('elsewhere', 'InProgress', 'other'));
    w.fake.put(request('del', 'b1'));

    expect(await w.reconcile()).toEqual({ requeueAfterMs: 5_000 });
    expect(w.dataCalls).toEqual([]);
    expect(w.fake.get('Backup', 'b1')?.status).toMatchObject({ phase: 'Deleting', message: 'being deleted by DeleteBackupRequest del' });
    expect(w.request().status?.phase).toBe('InProgress');
    expect(w.events).toContain('Normal Waiting: waiting for Backup(s) running of location main to finish before deleting the data of Backup b1');

    const running = w.fake.get('Backup', 'running')!;
    w.fake.put({ ...running, status: { phase: 'Completed' } });
    expect(await w.reconcile()).toBeUndefined();
    // A resumed request collects garbage even when nothing of the backup is left.
    expect(w.dataCalls).toMatchObject([{ backup: 'b1', backupPhase: 'Deleting', opts: { alwaysCollect: true } }]);
    expect(w.request().status?.phase).toBe('Processed');
  });

  it('waits while a Restore of the Backup runs', async () => {
    const restores: Restore[] = [{ apiVersion: 'cairn.dev/v1alpha1', kind: 'Restore', metadata: { name: 'r1', namespace: ns }, spec: { backupName: 'b1' }, status: { phase: 'InProgress' } }];
    const w = new World({ restores: { list: () => restores } });
    w.fake.put(backup('b1', 'Completed'));
    w.fake.put(request('del', 'b1'));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: 5_000 });
    expect(w.dataCalls).toEqual([]);
    expect(w.events).toContain('Normal Waiting: waiting for Restore(s) r1 of this backup to finish before deleting the data of Backup b1');
    restores[0]!.status = { phase: 'Completed' };
    await w.reconcile();
    expect(w.request().status?.phase).toBe('Processed');
  });

  it('resuming after a restart: what earlier attempts removed is added to, and a Backup already gone means Processed', async () => {
    const w = new World();
    w.fake.put(backup('b1', 'Deleting'));
    w.fake.put({ ...request('del', 'b1'), status: { phase: 'InProgress', removed: { manifest: true, index: 1 } } });
    w.result = { manifest: false, index: 1, packs: 4 };
    await w.reconcile();
    expect(w.request().status).toMatchObject({ phase: 'Processed', removed: { manifest: true, index: 2, packs: 4 } });

    const w2 = new World();
    w2.fake.put({ ...request('del', 'b1'), status: { phase: 'InProgress', removed: { manifest: true, index: 1, packs: 0 } } });
    await w2.reconcile();
    expect(w2.request().status).toMatchObject({ phase: 'Processed', removed: { manifest: true, index: 1, packs: 0 } });
    expect(w2.dataCalls).toEqual([]);
    expect(w2.events).toEqual(['Normal Processed: Backup b1 no longer exists: the manifest, 1 index object(s) and 0 pack(s) removed from the bucket']);
  });

  it('a request pinned to a Backup uid never deletes another Backup of that name', async () => {
    const w = new World();
    w.fake.put({ ...backup('b1', 'Completed'), metadata: { name: 'b1', namespace: ns, uid: 'new-uid' } });
    w.fake.put({ ...request('del', 'b1', { uid: 'old-uid' }), status: { phase: 'InProgress' } });
    await w.reconcile();
    expect(w.request().status?.phase).toBe('Processed');
    expect(w.fake.get('Backup', 'b1')?.status?.phase).toBe('Completed');
    expect(w.dataCalls).toEqual([]);
  });

  it('the Backup object is deleted with its uid as a precondition', async () => {
    const w = new World();
    const b = w.fake.put(backup('b1', 'Completed'));
    w.fake.put(request('del', 'b1'));
    // Between the data deletion and the object's, the Backup is deleted and created again.
    w.result = { manifest: true, index: 1, packs: 0 };
    const deleteData = w.reconciler['d'].deleteData!;
    w.reconciler['d'].deleteData = async (store, name, opts) => {
      const r = await deleteData(store, name, opts);
      w.fake.objects.delete('Backup/b1');
      w.fake.put({ ...backup('b1', 'Completed'), metadata: { name: 'b1', namespace: ns, uid: 'another' } });
      return r;
    };
    await w.reconcile();
    expect(w.fake.get('Backup', 'b1')?.metadata.uid).toBe('another');
    expect(b.metadata.uid).not.toBe('another');
    expect(w.request().status?.phase).toBe('Processed');
  });

  it('storage refusing the credentials fails the request; storage unreachable is retried (thrown) and the request stays InProgress', async () => {
    const w = new World();
    w.fake.put(backup('b1', 'Completed'));
    w.fake.put(request('del', 'b1'));
    w.result = new CairnError('CAIRN_E_STORE_UNAVAILABLE', 'connection refused');
    await expect(w.reconcile()).rejects.toMatchObject({ code: 'CAIRN_E_STORE_UNAVAILABLE' });
    expect(w.request().status?.phase).toBe('InProgress');
    expect(w.fake.get('Backup', 'b1')?.status?.phase).toBe('Deleting');
    expect(w.closed).toBe(1);

    w.result = new CairnError('CAIRN_E_STORE_ACCESS_DENIED', 'DeleteObject answered HTTP 403');
    await w.reconcile();
    expect(w.request().status).toMatchObject({ phase: 'Failed', errorCode: 'CAIRN_E_STORE_ACCESS_DENIED', errors: [expect.stringContaining('deleting the data of Backup b1 from location main failed')] });
    expect(w.fake.get('Backup', 'b1')?.status?.phase).toBe('Deleting');
    expect(w.closed).toBe(2);
  });

  it('a location whose credential Secret is gone fails the request naming the location', async () => {
    const w = new World({ location: { readSecret: () => Promise.resolve(undefined), policy: { allow: new Set(), refusedCidrs: [] }, lookup: () => Promise.resolve([{ address: '203.0.113.10', family: 4 }]) } });
    w.fake.put(backup('b1', 'Completed'));
    w.fake.put(request('del', 'b1'));
    await w.reconcile();
    expect(w.request().status).toMatchObject({ phase: 'Failed', errorCode: 'CAIRN_E_NOT_FOUND', errors: [expect.stringMatching(/^Backup b1: its location main: spec\.credential: Secret team-a\/creds does not exist/)] });
    expect(w.dataCalls).toEqual([]);
  });

  it('packs kept by a garbage collection that could not finish: Processed with a Warning', async () => {
    const w = new World();
    w.fake.put(backup('b1', 'Completed'));
    w.fake.put(request('del', 'b1'));
    w.result = { manifest: true, index: 1, packs: 0, packsKept: { code: 'CAIRN_E_CORRUPT', message: 'index of b7 is corrupt' } };
    await w.reconcile();
    expect(w.request().status?.phase).toBe('Processed');
    expect(w.events).toContain('Warning PacksKept: Backup b1: its manifest and indexes are deleted, but its packs stay until a later garbage collection succeeds: index of b7 is corrupt');
  });
});
