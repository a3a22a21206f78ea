// The restore fuzzer's property, shared by the CI suites (restore.fuzz.test.ts, and a few cases
// against MinIO in restore-minio.fuzz.e2e.test.ts) and `npm run fuzz` (run.ts).
//
// One case: a random tree is made on disk and backed up by the real engine (encrypted or not);
// the stored objects are mutated; the result is restored by the real engine into a fresh target
// inside a sandbox directory. Whatever the mutations:
//   1. the restore settles within the time bound (no hang), and neither it nor anything it left
//      running raises an uncaught exception or unhandled rejection (the agent's job would die);
//   2. it completes, or fails with a CairnError whose code is in the registry and is not
//      CAIRN_E_INTERNAL (hostile input is a known failure, never an internal one);
//   3. nothing outside the target changed: the sandbox around it (canary files, a canary
//      directory with a symlink and a hardlink, the target's parent directories) is identical
//      byte for byte, with the same inodes, link counts, modes, owners, times and xattrs;
//   4. the target holds only directories, regular files and symlinks, no setuid/setgid bit, no
//      symlink whose resolution (followed through the target's own links) steps out of it, and
//      no inode shared with a file outside;
//   5. the restore wrote nothing to the store;
//   6. when no stored byte changed, the restore succeeds and equals the source tree (or, for a
//      tree holding a link the policy refuses or a case with tight limits, fails with exactly
//      CAIRN_E_HOSTILE_ARCHIVE or CAIRN_E_LIMIT_EXCEEDED).
import { createHash, randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { chmod, link, lstat, mkdir, mkdtemp, readFile, readdir, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { CairnError, errorCodes, type ErrorCode } from '../../common/src/errors.ts';
import { indexKey, lineageId, manifestKey } from '../../common/src/format/layout.ts';
import { Secret } from '../../common/src/secret.ts';
import type { ObjectStore } from '../../common/src/store/object-store.ts';
import { backup, restore, type CompressPool, type RestoreResult } from '../../agent/src/engine/index.ts';
import type { PathContext } from './forge.ts';
import { MemoryStore } from './memory-store.ts';
import { applyMutation, mutationArb, type Mutation } from './mutations.ts';
import type { StoredBackup } from './stored-backup.ts';
import { digestTree, expectedRestore, hasRefusedLink, isRoot, materialize, maxDepthOf, totalBytes, treeArb, type Digest, type TreeSpec } from './trees.ts';

const require = createRequire(import.meta.url);
const xattr = require('fs-xattr') as { listAttributesSync(p: string): string[]; getAttributeSync(p: string, n: string): Buffer };

export interface RestoreKnobs {
  fetchAhead: number;
  /** Bytes per chunk of the index stream (memory store only). */
  chunkBytes: number;
  limits: { maxBytes: number; maxEntries: number; maxDepth: number } | undefined;
}

export interface FuzzCase {
  tree: TreeSpec;
  encrypted: boolean;
  tuning: { frameBytes: number; packBytes: number };
  mutations: Mutation[];
  restore: RestoreKnobs;
}

export const fuzzCaseArb: fc.Arbitrary<FuzzCase> = fc.record({
  tree: treeArb,
  encrypted: fc.boolean(),
  tuning: fc.record({
    frameBytes: fc.oneof(fc.integer({ min: 512, max: 8192 }), fc.constant(64 << 10)),
    packBytes: fc.oneof(fc.integer({ min: 1, max: 40_000 }), fc.constant(256 << 20)),
  }),
  mutations: fc.oneof({ arbitrary: fc.constant<Mutation[]>([]), weight: 1 }, { arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 4 }), weight: 5 }),
  restore: fc.record({
    fetchAhead: fc.integer({ min: 1, max: 8 }),
    chunkBytes: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 100, max: 1 << 17 })),
    limits: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 6 },
      { arbitrary: fc.record({ maxBytes: fc.nat(200_000), maxEntries: fc.integer({ min: 1, max: 40 }), maxDepth: fc.integer({ min: 0, max: 4 }) }), weight: 1 },
    ),
  }),
});

export interface FuzzEnv {
  pool: CompressPool;
  /** Per-case bound on the restore (ms). */
  timeoutMs: number;
  /** Where the (mutated) objects are restored from; default: a memory store. */
  storeFor?: (objects: Map<string, Buffer>) => Promise<ObjectStore & { close(): void }>;
}

export interface CaseReport {
  outcome: 'completed' | ErrorCode;
  /** The error's message, when it failed. */
  message?: string;
  mutated: boolean;
  /** Mutation kinds, ":skipped" when one could not apply. */
  applied: string[];
  ms: number;
}

export class PropertyViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PropertyViolation';
  }
}

function violated(what: string, detail?: unknown): never {
  throw new PropertyViolation(detail === undefined ? what : `${what}: ${typeof detail === 'string' ? detail : JSON.stringify(detail, bigintJson, 1)}`);
}

const bigintJson = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('latin1') : v);

const LINEAGE = { clusterUid: 'fuzz-cluster', pvcUid: 'pvc-1' };
const BACKUP = 'b1';

// --- the sandbox around the target -------------------------------------------------------------

interface Box extends PathContext {
  work: string;
  src: string;
}

/**
 * work/src: the source tree. work/box (the snapshotted sandbox): canary-file, outside/ (canary,
 * sub/deep-canary, link -> canary, hl = hardlink of canary), a/a-canary, a/b/b-canary and the
 * target a/b/target, three levels down so "../", "../../" and "../../../" all land in the box.
 */
async function makeBox(): Promise<Box> {
  const work = await mkdtemp(join(tmpdir(), 'cairn-fuzz-'));
  const base = join(work, 'box');
  const outside = join(base, 'outside');
  const target = join(base, 'a', 'b', 'target');
  const src = join(work, 'src');
  await mkdir(join(outside, 'sub'), { recursive: true });
  await mkdir(target, { recursive: true });
  await mkdir(src);
  await writeFile(join(base, 'canary-file'), 'canary: nothing may write here\n');
  await writeFile(join(outside, 'canary'), 'canary: nothing may write here\n', { mode: 0o644 });
  await writeFile(join(outside, 'sub', 'deep-canary'), randomBytes(100));
  await symlink('canary', join(outside, 'link'));
  await link(join(outside, 'canary'), join(outside, 'hl'));
  await writeFile(join(base, 'a', 'a-canary'), 'a\n');
  await writeFile(join(base, 'a', 'b', 'b-canary'), 'b\n');
  return { work, base, outside, target, src, canary: join(outside, 'canary') };
}

interface OutsideState {
  lines: string[];
  inodes: Set<string>;
}

/** Everything under the box but the target: one line per entry, and the inodes of its files. */
async function outsideState(box: Box): Promise<OutsideState> {
  const lines: string[] = [];
  const inodes = new Set<string>();
  const visit = async (abs: string, rel: string): Promise<void> => {
    if (abs === box.target) {
      const st = await lstat(abs, { bigint: true });
      lines.push(`${rel} (target) ino=${st.ino}`);
      return;
    }
    const st = await lstat(abs, { bigint: true });
    let line = `${rel} mode=${st.mode.toString(8)} ${st.uid}:${st.gid} nlink=${st.nlink} size=${st.size} ino=${st.ino} mtime=${st.mtimeNs} ctime=${st.ctimeNs}`;
    if (st.isFile()) {
      line += ` sha256=${createHash('sha256').update(await readFile(abs)).digest('hex')}`;
      inodes.add(`${st.dev}:${st.ino}`);
    }
    if (st.isSymbolicLink()) line += ` -> ${(await readlink(abs, { encoding: 'buffer' })).toString('latin1')}`;
    else line += ` xattrs=${JSON.stringify(xattr.listAttributesSync(abs).sort().map((n) => [n, xattr.getAttributeSync(abs, n).toString('hex')]))}`;
    lines.push(line);
    if (!st.isDirectory()) return;
    for (const name of (await readdir(abs, { encoding: 'buffer' })).sort((a, b) => Buffer.compare(a, b))) {
      // Names that are not UTF-8 would not round-trip through a string path: they are a change.
      const s = name.toString();
      if (!Buffer.from(s).equals(name)) {
        lines.push(`${rel}/${name.toString('latin1')} (a name that is not UTF-8)`);
        continue;
      }
      await visit(join(abs, s), `${rel}/${s}`);
    }
  };
  await visit(box.base, '.');
  return { lines, inodes };
}

function diffLines(before: string[], after: string[]): string {
  const b = new Set(before);
  const a = new Set(after);
  return [...before.filter((l) => !a.has(l)).map((l) => `- ${l}`), ...after.filter((l) => !b.has(l)).map((l) => `+ ${l}`)].slice(0, 20).join('\n');
}

// --- the target's own invariants ---------------------------------------------------------------

const splitBytes = (p: Buffer): Buffer[] => {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= p.length; i++) {
    if (i === p.length || p[i] === 0x2f) {
      out.push(p.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
};

/**
 * Follows a symlink's target from its directory (components below the root), through the
 * target's own symlinks; 'escape' when any step goes above the root or to an absolute path.
 */
async function resolveFrom(root: Buffer, dir: Buffer[], target: Buffer, hops: { n: number }): Promise<Buffer[] | 'escape' | 'stop'> {
  if (target[0] === 0x2f) return 'escape';
  const stack = [...dir];
  const comps = splitBytes(target);
  for (let i = 0; i < comps.length; i++) {
    const c = comps[i]!;
    if (c.length === 0 || (c.length === 1 && c[0] === 0x2e)) continue;
    if (c.length === 2 && c[0] === 0x2e && c[1] === 0x2e) {
      if (stack.length === 0) return 'escape';
      stack.pop();
      continue;
    }
    stack.push(c);
    const abs = Buffer.concat([root, ...stack.flatMap((s) => [Buffer.from('/'), s])]);
    const st = await lstat(abs).catch(() => undefined);
    if (!st) continue; // dangling from here: the rest is lexical
    if (st.isSymbolicLink()) {
      if (++hops.n > 40) return 'stop'; // a loop: the kernel says ELOOP
      const r = await resolveFrom(root, stack.slice(0, -1), await readlink(abs, { encoding: 'buffer' }), hops);
      if (r === 'escape' || r === 'stop') return r;
      stack.splice(0, stack.length, ...r);
    } else if (!st.isDirectory() && i < comps.length - 1) {
      return 'stop'; // ENOTDIR
    }
  }
  return stack;
}

async function checkTarget(box: Box, outside: OutsideState): Promise<void> {
  const root = Buffer.from(box.target);
  const realRoot = await realpath(box.target);
  const visit = async (rel: Buffer[]): Promise<void> => {
    const abs = Buffer.concat([root, ...rel.flatMap((s) => [Buffer.from('/'), s])]);
    const shown = rel.map((s) => s.toString('latin1')).join('/');
    const st = await lstat(abs, { bigint: true });
    if (!st.isDirectory() && !st.isFile() && !st.isSymbolicLink()) violated(`the target holds a device, FIFO or socket at ${shown}`);
    if (!st.isSymbolicLink() && (st.mode & 0o6000n) !== 0n) violated(`${shown} in the target has a setuid/setgid bit (mode ${st.mode.toString(8)})`);
    if (st.isFile() && outside.inodes.has(`${st.dev}:${st.ino}`)) violated(`${shown} in the target is a hardlink of a file outside it`);
    if (st.isSymbolicLink()) {
      const t = await readlink(abs, { encoding: 'buffer' });
      const r = await resolveFrom(root, rel.slice(0, -1), t, { n: 0 });
      if (r === 'escape') violated(`symlink ${shown} -> ${t.toString('latin1')} leads out of the target`);
      const real = await realpath(abs).catch(() => undefined);
      if (real !== undefined && real !== realRoot && !real.startsWith(`${realRoot}/`)) violated(`symlink ${shown} resolves to ${real}, outside the target`);
    }
    if (!st.isDirectory()) return;
    // Without root, a directory the restore left closed is opened up (the restore is over).
    if (!isRoot && (st.mode & 0o700n) !== 0o700n) await chmod(abs, Number(st.mode & 0o7777n) | 0o700);
    for (const name of (await readdir(abs, { encoding: 'buffer' })).sort((a, b) => Buffer.compare(a, b))) await visit([...rel, name]);
  };
  await visit([]);
}

// --- one case ----------------------------------------------------------------------------------

function sameObjects(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k)?.equals(v) === true);
}

function mapDiff(expected: Map<string, Digest>, actual: Map<string, Digest>): string {
  const out: string[] = [];
  for (const [k, v] of expected) if (!isDeepStrictEqual(actual.get(k), v)) out.push(`${JSON.stringify(k)}: expected ${JSON.stringify(v, bigintJson)}, got ${JSON.stringify(actual.get(k), bigintJson)}`);
  for (const k of actual.keys()) if (!expected.has(k)) out.push(`${JSON.stringify(k)}: not in the source`);
  return out.slice(0, 10).join('\n');
}

const writeOps = new Set(['putObject', 'upload', 'deleteObject', 'deleteObjects', 'abortMultipartUpload']);

/** The store, with every write or delete recorded in `writes` (and still performed). */
function recordingWrites(store: ObjectStore, writes: string[]): ObjectStore {
  return new Proxy(store, {
    get(t, p): unknown {
      const v: unknown = Reflect.get(t, p, t);
      if (typeof v !== 'function') return v;
      const f = (v as (...a: unknown[]) => unknown).bind(t);
      return typeof p === 'string' && writeOps.has(p) ? (...a: unknown[]) => {
        writes.push(`${p} ${String(a[0])}`);
        return f(...a);
      } : f;
    },
  });
}

type Settled = { ok: true; r: RestoreResult } | { ok: false; err: unknown } | { hung: true };

async function settle(p: Promise<RestoreResult>, ms: number): Promise<Settled> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<Settled>((r) => {
    timer = setTimeout(() => r({ hung: true }), ms);
  });
  try {
    return await Promise.race([p.then((r): Settled => ({ ok: true, r }), (err: unknown): Settled => ({ ok: false, err })), hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs one case and checks the property; throws PropertyViolation (or the harness's own error). */
export async function runCase(c: FuzzCase, env: FuzzEnv): Promise<CaseReport> {
  const started = Date.now();
  const box = await makeBox();
  const crashes: unknown[] = [];
  const onCrash = (e: unknown): void => {
    crashes.push(e);
  };
  let restoreStore: (ObjectStore & { close(): void }) | undefined;
  try {
    await materialize(c.tree, box.src, box.outside);
    const source = await digestTree(box.src);
    const key = c.encrypted ? randomBytes(32) : undefined;
    const store = new MemoryStore();
    const made = await backup(box.src, store, {
      backupName: BACKUP, lineage: LINEAGE, pool: env.pool, tuning: { ...c.tuning, framesInFlight: 4 }, ...(key ? { key: new Secret(key) } : {}),
    });
    if (made.warnings.total > 0) throw new Error(`harness: the backup of the generated tree warned: ${JSON.stringify(made.warnings, bigintJson)}`);

    const original = store.snapshot();
    const stored: StoredBackup = { objects: store.snapshot(), key, backup: BACKUP, lineage: lineageId(LINEAGE), manifestKey: manifestKey(BACKUP), indexKey: indexKey(BACKUP, 'data') };
    const applied = c.mutations.map((m) => (applyMutation(stored, m, box) ? m.m : `${m.m}:skipped`));
    const mutated = !sameObjects(original, stored.objects);

    const before = await outsideState(box);
    if (env.storeFor) {
      restoreStore = await env.storeFor(stored.objects);
    } else {
      const mem = MemoryStore.of(stored.objects);
      mem.chunkBytes = c.restore.chunkBytes;
      restoreStore = mem;
    }
    const writes: string[] = [];
    process.on('unhandledRejection', onCrash);
    process.on('uncaughtException', onCrash);
    const limits = c.restore.limits;
    const settled = await settle(restore(recordingWrites(restoreStore, writes), BACKUP, box.target, {
      maxBytes: limits?.maxBytes ?? 1 << 30, ...(limits ? { maxEntries: limits.maxEntries, maxDepth: limits.maxDepth } : {}),
      fetchAhead: c.restore.fetchAhead, pool: env.pool, ...(key ? { key: new Secret(key) } : {}),
    }), env.timeoutMs);
    // Anything the restore left running gets a few turns of the event loop to misbehave.
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));

    if ('hung' in settled) violated(`the restore did not settle within ${env.timeoutMs} ms`);
    if (crashes.length > 0) violated('an uncaught exception or unhandled rejection', crashes.map((e) => (e instanceof Error ? e.stack : String(e))).join('\n'));
    let outcome: CaseReport['outcome'] = 'completed';
    let message: string | undefined;
    if (!settled.ok) {
      const err = settled.err;
      if (!(err instanceof CairnError)) violated('the restore failed with something that is not a CairnError', err instanceof Error ? err.stack : String(err));
      if (!(err.code in errorCodes)) violated(`the restore failed with a code that is not in the registry: ${err.code}`);
      if (err.code === 'CAIRN_E_INTERNAL') violated('the restore failed with CAIRN_E_INTERNAL on stored data', err.stack);
      outcome = err.code;
      message = err.message;
    }
    const after = await outsideState(box);
    if (!isDeepStrictEqual(before.lines, after.lines)) violated('something outside the target changed', `\n${diffLines(before.lines, after.lines)}`);
    await checkTarget(box, before);
    if (writes.length > 0) violated('the restore wrote to the store', writes);

    if (!mutated) {
      const expectedCodes = new Set<ErrorCode>();
      if (hasRefusedLink(c.tree)) expectedCodes.add('CAIRN_E_HOSTILE_ARCHIVE');
      if (limits && (totalBytes(source) > limits.maxBytes || source.size > limits.maxEntries || maxDepthOf(source) > limits.maxDepth)) expectedCodes.add('CAIRN_E_LIMIT_EXCEEDED');
      if (expectedCodes.size > 0) {
        if (settled.ok) violated(`the untouched backup restored, but ${[...expectedCodes].join(' or ')} was expected`);
        if (!expectedCodes.has(outcome as ErrorCode)) violated(`the untouched backup failed with ${outcome}, not ${[...expectedCodes].join(' or ')}`, (settled.err as Error).message);
      } else {
        if (!settled.ok) violated('the untouched backup did not restore', settled.err instanceof Error ? settled.err.stack : String(settled.err));
        const restored = await digestTree(box.target);
        const expected = expectedRestore(source);
        if (!isDeepStrictEqual(restored, expected)) violated('the untouched backup restored differently from its source', `\n${mapDiff(expected, restored)}`);
      }
    }
    return { outcome, mutated, applied, ms: Date.now() - started, ...(message !== undefined ? { message } : {}) };
  } finally {
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
    restoreStore?.close();
    await rm(box.work, { recursive: true, force: true }).catch(() => {});
  }
}

/** Tallies of outcomes and mutation kinds over a run (printed by the suites). */
export class Tally {
  readonly outcomes = new Map<string, number>();
  readonly kinds = new Map<string, number>();
  cases = 0;
  untouched = 0;
  ms = 0;
  slowest: CaseReport | undefined;

  add(r: CaseReport): void {
    this.cases++;
    if (!this.slowest || r.ms > this.slowest.ms) this.slowest = r;
    if (!r.mutated) this.untouched++;
    this.ms += r.ms;
    this.outcomes.set(r.outcome, (this.outcomes.get(r.outcome) ?? 0) + 1);
    for (const k of r.applied) this.kinds.set(k, (this.kinds.get(k) ?? 0) + 1);
  }

  toString(): string {
    const fmt = (m: Map<string, number>): string => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
    return `${this.cases} cases (${this.untouched} with no stored byte changed), ${Math.round(this.ms / Math.max(1, this.cases))} ms each on average, slowest ${this.slowest?.ms ?? 0} ms (${this.slowest?.applied.join(' ') ?? ''}: ${this.slowest?.outcome ?? ''})\n  outcomes: ${fmt(this.outcomes)}\n  mutations: ${fmt(this.kinds)}`;
  }
}

/** A fresh random seed (fast-check takes 32-bit integers). */
export const newSeed = (): number => randomBytes(4).readInt32LE(0);
