// Shared pieces of the hostile and tamper suites: a store per test (fresh prefix in the tenant's
// bucket), a scratch sandbox with a restore target and an "outside" directory beside it holding a
// canary, a fingerprint of everything outside the target, and the check of a refusal.
import { createHash, randomUUID } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect } from 'vitest';
import { CairnError, type ErrorCode } from '../../../common/src/errors.ts';
import { Secret } from '../../../common/src/secret.ts';
import { createS3Store, type ObjectStore } from '../../../common/src/store/object-store.ts';
import type { ClusterInfo } from '../../harness/cluster.ts';
import { restore, type RestoreOptions, type RestoreResult } from '../../../agent/src/engine/restore.ts';
import type { ArchiveBuilder, ForgedBackup } from './archive-builder.ts';

/** Stores made by a suite, each with its own prefix; close them all in afterAll. */
export class Stores {
  private readonly cluster: ClusterInfo;
  private readonly made: ObjectStore[] = [];

  constructor(cluster: ClusterInfo) {
    this.cluster = cluster;
  }

  make(tenant = 'team-a', prefix = `hostile/${randomUUID()}`): ObjectStore {
    const t = this.cluster.minio.tenants[tenant];
    if (!t) throw new Error(`no storage for tenant ${tenant}`);
    const store = createS3Store({
      endpoint: this.cluster.minio.endpoint, bucket: t.bucket, prefix, region: 'us-east-1', forcePathStyle: true,
      credentials: new Secret({ accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey }),
    });
    this.made.push(store);
    return store;
  }

  closeAll(): void {
    for (const s of this.made.splice(0)) s.close();
  }
}

export interface Sandbox {
  base: string;
  /** The restore target: an empty directory. */
  target: string;
  /** A sibling of the target that no restore may touch; holds `canary`. */
  outside: string;
  canary: string;
  /** Everything under `base` except the target: types, modes, link targets and content hashes. */
  outsideState(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export const CANARY = 'canary: nothing may write here\n';

export async function sandbox(): Promise<Sandbox> {
  const base = await mkdtemp(join(tmpdir(), 'cairn-hostile-'));
  const target = join(base, 'target');
  const outside = join(base, 'outside');
  await mkdir(target);
  await mkdir(outside);
  const canary = join(outside, 'canary');
  await writeFile(canary, CANARY, { mode: 0o644 });
  return {
    base, target, outside, canary,
    outsideState: () => treeState(base, new Set([target])),
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
}

/** One line per entry below `dir` (not below `skip`): path, type, mode, size, content hash or link. */
export async function treeState(dir: string, skip = new Set<string>()): Promise<string[]> {
  const out: string[] = [];
  const visit = async (abs: Buffer, rel: string): Promise<void> => {
    const st = await lstat(abs);
    let what = `${st.mode.toString(8)} ${st.nlink} ${st.size}`;
    if (st.isFile()) what += ` ${createHash('sha256').update(await readFile(abs)).digest('hex')}`;
    if (st.isSymbolicLink()) what += ` -> ${(await readlink(abs, { encoding: 'buffer' })).toString('latin1')}`;
    out.push(`${rel} ${what}`);
    if (!st.isDirectory()) return;
    for (const name of (await readdir(abs, { encoding: 'buffer' })).sort((a, b) => Buffer.compare(a, b))) {
      const child = Buffer.concat([abs, Buffer.from('/'), name]);
      if (skip.has(child.toString())) continue;
      await visit(child, `${rel}/${name.toString('latin1')}`);
    }
  };
  await visit(Buffer.from(dir), '.');
  return out;
}

/** Names directly in `dir`, as latin1 strings (so any byte survives), sorted. */
export async function namesIn(dir: string | Buffer): Promise<string[]> {
  return (await readdir(dir, { encoding: 'buffer' })).map((n) => n.toString('latin1')).sort();
}

export const MiB = 1 << 20;

/** restore() with a generous size cap unless the test sets one. */
export function restoreInto(store: ObjectStore, backup: string, target: string, o: Partial<RestoreOptions> = {}): Promise<RestoreResult> {
  return restore(store, backup, target, { maxBytes: 1 << 30, ...o });
}

/** Awaits a restore that must be refused: a CairnError with `code` whose message names `mentions`. */
export async function refused(p: Promise<unknown>, code: ErrorCode, ...mentions: string[]): Promise<CairnError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  if (err === undefined) throw new Error(`expected a refusal with ${code}, but the restore succeeded`);
  expect(err, err instanceof Error ? err.stack : JSON.stringify(err)).toBeInstanceOf(CairnError);
  const ce = err as CairnError;
  expect({ code: ce.code, message: ce.message }).toMatchObject({ code });
  for (const m of mentions) expect(ce.message).toContain(m);
  return ce;
}

/** Wraps a store and records every key read (GET, ranged GET, HEAD, stream). */
export function recording(store: ObjectStore): { store: ObjectStore; reads: string[] } {
  const reads: string[] = [];
  const overrides: Partial<ObjectStore> = {
    getObject: (k, o) => {
      reads.push(k);
      return store.getObject(k, o);
    },
    getObjectStream: (k, o) => {
      reads.push(k);
      return store.getObjectStream(k, o);
    },
    headObject: (k, o) => {
      reads.push(k);
      return store.headObject(k, o);
    },
  };
  const wrapped = new Proxy(store, {
    get(t, p): unknown {
      if (typeof p === 'string' && p in overrides) return overrides[p as keyof ObjectStore];
      const v: unknown = Reflect.get(t, p, t);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
  return { store: wrapped, reads };
}

/** Copies an object within a store (or into another one). */
export async function copyObject(from: ObjectStore, key: string, to: ObjectStore, toKey = key): Promise<void> {
  await to.putObject(toKey, await from.getObject(key));
}

export async function listKeys(store: ObjectStore, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out;
}

export interface HostileRun {
  box: Sandbox;
  store: ObjectStore;
  backup: ForgedBackup;
  /** The restore, started (rejections are handled by whoever awaits it). */
  restored: Promise<RestoreResult>;
}

export type Archive = ArchiveBuilder | ((box: Sandbox) => ArchiveBuilder);

/**
 * The frame of a hostile-input suite: each `run` writes a forged archive as backup "b1" into a
 * fresh store and restores it into a fresh sandbox (removed after the test).
 */
export function hostileSuite(cluster: ClusterInfo): {
  stores: Stores;
  /** A fresh sandbox, removed after the test. */
  box: () => Promise<Sandbox>;
  run: (archive: Archive, o?: Partial<RestoreOptions> & { before?: (box: Sandbox) => Promise<void> }) => Promise<HostileRun>;
  refusedCleanly: (archive: Archive, code: ErrorCode, ...mentions: string[]) => Promise<{ err: CairnError; run: HostileRun }>;
} {
  const stores = new Stores(cluster);
  const boxes: Sandbox[] = [];
  afterEach(async () => {
    for (const b of boxes.splice(0)) await b.cleanup();
  });
  afterAll(() => stores.closeAll());
  const box = async (): Promise<Sandbox> => {
    const b = await sandbox();
    boxes.push(b);
    return b;
  };
  const run = async (archive: Archive, o: Partial<RestoreOptions> & { before?: (box: Sandbox) => Promise<void> } = {}): Promise<HostileRun> => {
    const { before, ...opts } = o;
    const b = await box();
    const store = stores.make();
    const backup = await (typeof archive === 'function' ? archive(b) : archive).write(store, 'b1');
    await before?.(b);
    const restored = restoreInto(store, 'b1', b.target, opts);
    restored.catch(() => {});
    return { box: b, store, backup, restored };
  };
  const refusedCleanly = async (archive: Archive, code: ErrorCode, ...mentions: string[]): Promise<{ err: CairnError; run: HostileRun }> => {
    const b = await box();
    const store = stores.make();
    const backup = await (typeof archive === 'function' ? archive(b) : archive).write(store, 'b1');
    const before = await b.outsideState();
    const restored = restoreInto(store, 'b1', b.target);
    const err = await refused(restored, code, ...mentions);
    expect(await b.outsideState()).toEqual(before);
    return { err, run: { box: b, store, backup, restored } };
  };
  return { stores, box, run, refusedCleanly };
}
