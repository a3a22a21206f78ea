// For unit tests of the commands: an in-memory API that answers as the API server does (objects by
// kind, namespace and name; errors shaped like client-node's ApiException with a Status body),
// and a context that records stdout and stderr and runs on a fake clock.
import type { CairnKind } from '../../../common/src/crds.ts';
import type { CairnApi, EventLine } from '../kube/api.ts';
import type { Ctx } from './context.ts';

type Stored = { metadata: { name?: string; namespace?: string; generateName?: string; resourceVersion?: string; creationTimestamp?: string }; [k: string]: unknown };

/** An error as client-node throws it for an HTTP status, with the API server's Status body. */
export function apiException(code: number, reason: string, message: string, name?: string): Error & { code: number; body: string } {
  const e = new Error(`HTTP ${code}`) as Error & { code: number; body: string };
  e.code = code;
  e.body = JSON.stringify({ kind: 'Status', status: 'Failure', reason, message, code, ...(name ? { details: { name } } : {}) });
  return e;
}

export class FakeApi implements CairnApi {
  readonly server = 'https://127.0.0.1:6443';
  readonly user = 'tester';
  readonly objects = new Map<string, Stored>();
  readonly secrets = new Map<string, Record<string, string>>();
  readonly calls: string[] = [];
  /** Errors to throw, by `op kind` (e.g. `list NodeAgent`, `create BackupStorageLocation`); each used once unless `sticky`. */
  readonly failures = new Map<string, { err: unknown; sticky: boolean }>();
  /** Called on every get, to move an object along (e.g. a Backup's phase) as the coordinator would. */
  onGet: ((kind: CairnKind, obj: Stored, n: number) => void) | undefined;
  eventLines: EventLine[] = [];
  private gets = 0;
  private seq = 0;

  fail(op: string, err: unknown, sticky = false): this {
    this.failures.set(op, { err, sticky });
    return this;
  }

  put(kind: CairnKind, obj: Stored): this {
    this.objects.set(key(kind, obj.metadata.namespace, obj.metadata.name!), structuredClone(obj));
    return this;
  }

  /** Runs `f` as the API call `op`: a rejection when a failure is set for it or `f` throws. */
  private call<T>(op: string, f: () => T): Promise<T> {
    this.calls.push(op);
    const failure = this.failures.get(op);
    if (failure && !failure.sticky) this.failures.delete(op);
    try {
      if (failure) throw failure.err;
      return Promise.resolve(f());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  get<T>(kind: CairnKind, namespace: string | undefined, name: string): Promise<T> {
    return this.call(`get ${kind}`, () => {
      const o = this.objects.get(key(kind, namespace, name));
      if (!o) throw apiException(404, 'NotFound', `${kind.toLowerCase()}s.cairn.dev "${name}" not found`, name);
      this.onGet?.(kind, o, ++this.gets);
      return structuredClone(o) as T;
    });
  }

  list<T>(kind: CairnKind, namespace: string | undefined): Promise<T[]> {
    return this.call(`list ${kind}`, () =>
      [...this.objects.entries()].filter(([k]) => k.startsWith(`${kind}/${namespace === undefined ? '' : `${namespace}/`}`)).map(([, v]) => structuredClone(v) as T));
  }

  create<T>(kind: CairnKind, namespace: string, body: object): Promise<T> {
    return this.call(`create ${kind}`, () => {
      const o = structuredClone(body) as Stored;
      o.metadata.namespace = namespace;
      if (!o.metadata.name && o.metadata.generateName) o.metadata.name = `${o.metadata.generateName}x${++this.seq}`;
      const k = key(kind, namespace, o.metadata.name!);
      if (this.objects.has(k)) throw apiException(409, 'AlreadyExists', `${kind.toLowerCase()}s.cairn.dev "${o.metadata.name}" already exists`, o.metadata.name);
      o.metadata.resourceVersion = '1';
      o.metadata.creationTimestamp = '2025-01-01T00:00:00Z';
      this.objects.set(k, o);
      return structuredClone(o) as T;
    });
  }

  replace<T>(kind: CairnKind, namespace: string, name: string, body: object): Promise<T> {
    return this.call(`replace ${kind}`, () => {
      const k = key(kind, namespace, name);
      const cur = this.objects.get(k);
      if (!cur) throw apiException(404, 'NotFound', `not found`, name);
      const o = structuredClone(body) as Stored;
      if (o.metadata.resourceVersion !== cur.metadata.resourceVersion) throw apiException(409, 'Conflict', 'the object has been modified', name);
      o.metadata.resourceVersion = String(Number(cur.metadata.resourceVersion ?? '0') + 1);
      this.objects.set(k, o);
      return structuredClone(o) as T;
    });
  }

  createSecret(namespace: string, name: string, stringData: Record<string, string>): Promise<void> {
    return this.call('create Secret', () => {
      if (this.secrets.has(`${namespace}/${name}`)) throw apiException(409, 'AlreadyExists', `secrets "${name}" already exists`, name);
      this.secrets.set(`${namespace}/${name}`, stringData);
    });
  }

  deleteSecret(namespace: string, name: string): Promise<void> {
    return this.call('delete Secret', () => void this.secrets.delete(`${namespace}/${name}`));
  }

  secretExists(namespace: string, name: string): Promise<boolean> {
    return this.call('get Secret', () => this.secrets.has(`${namespace}/${name}`));
  }

  events(): Promise<EventLine[]> {
    return Promise.resolve(this.eventLines);
  }
}

function key(kind: CairnKind, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace === undefined ? '' : `${namespace}/`}${name}`;
}

export interface FakeCtx extends Ctx {
  api: FakeApi;
  stdout: () => string;
  stderr: () => string;
  /** Advances the fake clock (sleep does too). */
  tick(ms: number): void;
  abort(): void;
}

export function fakeCtx(o: { api?: FakeApi; namespace?: string; tty?: boolean; files?: Record<string, string>; stdin?: string; now?: number } = {}): FakeCtx {
  let out = '';
  let err = '';
  let now = o.now ?? Date.parse('2025-01-01T00:10:00Z');
  const ac = new AbortController();
  return {
    api: o.api ?? new FakeApi(),
    namespace: o.namespace ?? 'team-a',
    io: {
      out: (t) => void (out += t),
      err: (t) => void (err += t),
      tty: o.tty ?? false,
      readStdin: () => Promise.resolve(o.stdin ?? ''),
      readFile: (p) => (o.files?.[p] !== undefined ? Promise.resolve(o.files[p]) : Promise.reject(Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' }))),
    },
    now: () => now,
    sleep: (ms, signal) => {
      if (signal.aborted) return Promise.reject(new Error('aborted'));
      now += ms;
      return Promise.resolve();
    },
    signal: ac.signal,
    pollMs: 1_000,
    logEveryMs: 5_000,
    stdout: () => out,
    stderr: () => err,
    tick: (ms) => void (now += ms),
    abort: () => ac.abort(),
  };
}
