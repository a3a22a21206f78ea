// The informer's HTTP layer: list pages and watch streams as the API server's own JSON. It uses
// the KubeConfig for the address, TLS and credentials (applyToHTTPSOptions: certificates, tokens,
// exec plugins, proxies) but not client-node's generated clients, because those turn core kinds
// into model classes (dates as Date, unknown fields dropped) while a watch delivers plain JSON:
// a cache fed by both would hold two shapes of the same object. Here both paths give the JSON.
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';

/** Where a kind lives in the API. */
export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

/** `/api/v1/pods`, `/apis/cairn.dev/v1alpha1/namespaces/team-a/backups`, ... */
export function resourcePath(r: ResourceType, namespace?: string): string {
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  return namespace && r.namespaced ? `${base}/namespaces/${encodeURIComponent(namespace)}/${r.plural}` : `${base}/${r.plural}`;
}

/** A non-2xx answer, or a watch ERROR event, with the HTTP status in `code` (as ApiException). */
export class KubeHttpError extends Error {
  readonly code: number;
  readonly reason: string | undefined;
  constructor(code: number, message: string, reason?: string) {
    super(message);
    this.name = 'KubeHttpError';
    this.code = code;
    this.reason = reason;
  }
}

type Query = Record<string, string | number | boolean | undefined>;

function buildUrl(kc: KubeConfig, path: string, query: Query): URL {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  return url;
}

async function open(kc: KubeConfig, path: string, query: Query, signal: AbortSignal): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
  const url = buildUrl(kc, path, query);
  const opts: https.RequestOptions = { headers: {} };
  await kc.applyToHTTPSOptions(opts);
  signal.throwIfAborted();
  const mod = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { ...opts, method: 'GET', headers: { ...opts.headers, Accept: 'application/json' }, signal }, (res) => resolve({ req, res }));
    req.on('error', reject);
    req.end();
  });
}

async function readBody(res: http.IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res) {
    size += (c as Buffer).length;
    if (size > limit) {
      res.destroy();
      throw new Error(`response larger than ${limit} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function statusError(code: number, body: string): KubeHttpError {
  try {
    const s = JSON.parse(body) as { message?: string; reason?: string };
    return new KubeHttpError(code, s.message ?? `HTTP ${code}`, s.reason);
  } catch {
    return new KubeHttpError(code, `HTTP ${code}`);
  }
}

/** GET returning parsed JSON; non-2xx becomes a KubeHttpError. `limit` bounds the body. */
export async function getJson<T>(kc: KubeConfig, path: string, query: Query, signal: AbortSignal, limit = 256 * 1024 * 1024): Promise<T> {
  const { res } = await open(kc, path, query, signal);
  const status = res.statusCode ?? 0;
  const body = await readBody(res, status >= 200 && status < 300 ? limit : 64 * 1024);
  if (status < 200 || status >= 300) throw statusError(status, body);
  return JSON.parse(body) as T;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
}

export interface WatchStreamOptions {
  signal: AbortSignal;
  /** No byte for this long means the connection is dead (bookmarks arrive about every minute). */
  idleTimeoutMs: number;
  /** Called once the server accepted the watch (HTTP 200). */
  onOpen?: () => void;
}

/**
 * Streams one watch request. Resolves when the server ends the stream cleanly (its
 * timeoutSeconds passed); rejects when it refuses the watch, the connection breaks, or nothing
 * arrives for idleTimeoutMs. `onEvent` may throw to end the watch (the error is the rejection).
 */
export async function watchStream(kc: KubeConfig, path: string, query: Query, onEvent: (e: WatchEvent) => void, o: WatchStreamOptions): Promise<void> {
  const local = new AbortController();
  const signal = AbortSignal.any([o.signal, local.signal]);
  const { req, res } = await open(kc, path, { ...query, watch: 'true' }, signal);
  const status = res.statusCode ?? 0;
  if (status !== 200) throw statusError(status, await readBody(res, 64 * 1024));
  o.onOpen?.();
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let idle: NodeJS.Timeout | undefined;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      if (err !== undefined) {
        local.abort();
        req.destroy();
        reject(err instanceof Error ? err : new Error('watch failed', { cause: err }));
      } else resolve();
    };
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(new Error(`watch ${path} received nothing for ${o.idleTimeoutMs} ms`)), o.idleTimeoutMs);
      idle.unref();
    };
    armIdle();
    res.on('data', armIdle);
    res.on('error', (err) => finish(err));
    res.on('close', () => finish(res.complete ? undefined : new Error(`watch ${path}: the connection closed before the stream ended`)));
    const lines = createInterface({ input: res, crlfDelay: Infinity });
    lines.on('error', (err) => finish(err)); // readline re-emits the response's errors
    lines.on('line', (line) => {
      if (settled || line.trim() === '') return;
      let e: WatchEvent;
      try {
        e = JSON.parse(line) as WatchEvent;
      } catch {
        finish(new Error(`watch ${path}: a line is not JSON`));
        return;
      }
      try {
        onEvent(e);
      } catch (err) {
        finish(err);
      }
    });
  });
}
