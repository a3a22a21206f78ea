// Test-only: an HTTP reverse proxy on 127.0.0.1 (port 0) in front of a real S3 endpoint that
// injects faults by a programmable rule list, and records every request it saw.
// It forwards requests unchanged (Host included, so SigV4 signatures made for the proxy's address
// still verify upstream). Rules match by method, path (`/bucket/key` for path-style requests)
// and query, and fire a given number of times, first matching rule first:
//   { method: 'PUT', path: /\/packs\//, times: 2, action: { kind: 'error', status: 503, code: 'SlowDown' } }
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FaultAction =
  /** Answer with an S3 XML error (the request body is read and dropped; nothing reaches upstream). */
  | { kind: 'error'; status: number; code: string; message?: string }
  /** Answer with exactly this (e.g. a redirect). */
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: string }
  /** Forward, but destroy the connection after `afterBytes` bytes of the request body. */
  | { kind: 'reset-request'; afterBytes: number }
  /** Forward, but destroy the connection after `afterBytes` bytes of the response body. */
  | { kind: 'reset-response'; afterBytes: number }
  /** Forward, but hold the response for `ms` (before its headers, or after `afterBytes` body bytes). */
  | { kind: 'stall'; ms: number; afterBytes?: number }
  /** Forward, but flip the bits of the response body byte at `at` (damage on the way). */
  | { kind: 'corrupt-response'; at: number };

export interface FaultRule {
  method?: string;
  path?: RegExp;
  query?: RegExp;
  /** How many matching requests the rule fires on (default: all). */
  times?: number;
  action: FaultAction;
}

export interface SeenRequest {
  method: string;
  /** The Host header: `bucket.host:port` for virtual-hosted requests. */
  host: string;
  /** Decoded path: `/bucket/key` for path-style requests. */
  path: string;
  /** The raw query string, with its '?', or ''. */
  query: string;
  /** The Range and If-Match headers, when sent. */
  range?: string;
  ifMatch?: string;
  /** The fault injected, if any. */
  fault?: FaultAction['kind'];
  /** Upstream's status, or the injected one. */
  status?: number;
  at: number;
}

interface ArmedRule extends FaultRule {
  left: number;
}

export class FaultProxy {
  readonly endpoint: string;
  readonly requests: SeenRequest[] = [];
  private rules: ArmedRule[] = [];
  private readonly server: Server;
  private readonly upstream: URL;
  private readonly sockets = new Set<Socket>();

  private constructor(server: Server, upstream: URL) {
    this.server = server;
    this.upstream = upstream;
    const { port } = server.address() as AddressInfo;
    this.endpoint = `http://127.0.0.1:${port}`;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  static async start(upstream: string): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const proxy = new FaultProxy(server, new URL(upstream));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => proxy.handle(req, res));
    return proxy;
  }

  addRule(rule: FaultRule): this {
    this.rules.push({ ...rule, left: rule.times ?? Infinity });
    return this;
  }

  /** Drops all rules and the request log. */
  reset(): void {
    this.rules = [];
    this.requests.length = 0;
  }

  seen(filter: { method?: string; path?: RegExp; query?: RegExp } = {}): SeenRequest[] {
    return this.requests.filter((r) => (!filter.method || r.method === filter.method) && (!filter.path || filter.path.test(r.path)) && (!filter.query || filter.query.test(r.query)));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private match(r: SeenRequest): ArmedRule | undefined {
    const rule = this.rules.find((x) => x.left > 0 && (!x.method || x.method === r.method) && (!x.path || x.path.test(r.path)) && (!x.query || x.query.test(r.query)));
    if (rule) rule.left--;
    return rule;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const seen: SeenRequest = {
      method: req.method ?? 'GET', host: req.headers.host ?? '', path: decodeURIComponent(url.pathname), query: url.search, at: Date.now(),
      ...(req.headers.range ? { range: req.headers.range } : {}), ...(req.headers['if-match'] ? { ifMatch: req.headers['if-match'] } : {}),
    };
    this.requests.push(seen);
    const action = this.match(seen)?.action;
    if (action) seen.fault = action.kind;
    if (action?.kind === 'error' || action?.kind === 'respond') {
      seen.status = action.status;
      req.resume();
      req.once('end', () => {
        if (action.kind === 'error') {
          const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${action.code}</Code><Message>${action.message ?? 'injected by the fault proxy'}</Message><RequestId>fault-proxy</RequestId></Error>`;
          res.writeHead(action.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        } else {
          res.writeHead(action.status, { ...action.headers, 'content-length': Buffer.byteLength(action.body ?? '') });
          res.end(action.body ?? '');
        }
      });
      return;
    }
    this.forward(req, res, seen, action);
  }

  private forward(req: IncomingMessage, res: ServerResponse, seen: SeenRequest, action: FaultAction | undefined): void {
    const up = httpRequest({
      host: this.upstream.hostname, port: this.upstream.port, method: req.method, path: req.url, headers: req.headers,
    }, (upRes) => {
      seen.status = upRes.statusCode;
      const respond = (): void => {
        if (res.destroyed) {
          upRes.destroy();
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (action?.kind === 'reset-response' || (action?.kind === 'stall' && action.afterBytes !== undefined)) {
          this.pipeUntil(upRes, res, action.afterBytes ?? 0, action);
        } else if (action?.kind === 'corrupt-response') {
          let pos = 0;
          upRes.on('data', (chunk: Buffer) => {
            if (action.at >= pos && action.at < pos + chunk.length) {
              chunk = Buffer.from(chunk);
              chunk[action.at - pos] = chunk[action.at - pos]! ^ 0xff;
            }
            pos += chunk.length;
            res.write(chunk);
          });
          upRes.once('end', () => res.end());
        } else {
          upRes.pipe(res);
        }
      };
      if (action?.kind === 'stall' && action.afterBytes === undefined) setTimeout(respond, action.ms);
      else respond();
    });
    up.on('error', () => res.destroy());
    res.once('close', () => { if (!res.writableFinished) up.destroy(); });
    if (action?.kind === 'reset-request') {
      let n = 0;
      req.on('data', (chunk: Buffer) => {
        if (n >= action.afterBytes) return;
        const take = Math.min(chunk.length, action.afterBytes - n);
        n += take;
        up.write(chunk.subarray(0, take));
        if (n >= action.afterBytes) {
          req.socket.destroy();
          up.destroy();
        }
      });
      req.once('end', () => up.end());
    } else {
      req.pipe(up);
    }
  }

  /** Sends the first `limit` body bytes, then resets the connection or stalls, as `action` says. */
  private pipeUntil(upRes: IncomingMessage, res: ServerResponse, limit: number, action: FaultAction): void {
    let n = 0;
    let tripped = false;
    const trip = (): void => {
      tripped = true;
      if (action.kind === 'reset-response') {
        upRes.destroy();
        res.socket?.destroy();
      } else if (action.kind === 'stall') {
        upRes.pause();
        setTimeout(() => {
          if (res.destroyed) {
            upRes.destroy();
            return;
          }
          upRes.pipe(res);
          upRes.resume();
        }, action.ms);
      }
    };
    if (limit === 0) {
      res.flushHeaders();
      trip();
      return;
    }
    const onData = (chunk: Buffer): void => {
      if (tripped) return;
      const take = Math.min(chunk.length, limit - n);
      n += take;
      const rest = chunk.subarray(take);
      if (n < limit) {
        res.write(chunk);
        return;
      }
      upRes.off('data', onData);
      if (action.kind === 'stall' && rest.length > 0) upRes.unshift(rest);
      res.write(chunk.subarray(0, take), () => trip());
      if (action.kind === 'stall') upRes.pause();
    };
    upRes.on('data', onData);
    upRes.once('end', () => { if (!tripped) res.end(); });
  }
}
