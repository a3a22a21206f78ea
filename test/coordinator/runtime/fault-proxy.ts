// A fault-injecting proxy in front of the real API server, for the informer's restart paths:
// clients talk plain HTTP to it and it forwards each request over TLS with the admin's
// credentials. It can break every open connection (a watch dies mid-stream), refuse new
// connections (the API server is unreachable), and rewrite the next watch to start from a
// compacted resourceVersion, so that the real API server answers 410 Gone.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface ProxiedRequest {
  at: number;
  method: string;
  path: string;
  query: URLSearchParams;
  watch: boolean;
  /** The resourceVersion the client asked for, before any rewrite. */
  resourceVersion: string | null;
  rewrittenTo?: string;
  status?: number;
}

export class FaultProxy {
  readonly requests: ProxiedRequest[] = [];
  /** Times of connections refused while down. */
  readonly refusedAt: number[] = [];
  private readonly server: http.Server;
  private readonly upstream: KubeConfig;
  private readonly sockets = new Set<Socket>();
  private down = false;
  private expireNext = false;

  private constructor(upstream: KubeConfig) {
    this.upstream = upstream;
    this.server = http.createServer((req, res) => void this.forward(req, res));
    this.server.on('connection', (s) => {
      if (this.down) {
        this.refusedAt.push(Date.now());
        s.destroy();
        return;
      }
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(upstream: KubeConfig): Promise<FaultProxy> {
    const p = new FaultProxy(upstream);
    await new Promise<void>((resolve) => p.server.listen(0, '127.0.0.1', resolve));
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A kubeconfig that reaches the API server through this proxy. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'proxy', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'proxy' }],
      contexts: [{ name: 'proxy', cluster: 'proxy', user: 'proxy' }],
      currentContext: 'proxy',
    });
    return kc;
  }

  /** Destroys every open client connection, as a network failure would. */
  breakConnections(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** While down, every new connection is closed at once (and counted in refusedAt). */
  setDown(down: boolean): void {
    this.down = down;
    if (down) this.breakConnections();
  }

  /** The next watch request is sent upstream with resourceVersion=1, long compacted away. */
  expireNextWatch(): void {
    this.expireNext = true;
  }

  watches(): ProxiedRequest[] {
    return this.requests.filter((r) => r.watch);
  }

  lists(path: string): ProxiedRequest[] {
    return this.requests.filter((r) => !r.watch && r.method === 'GET' && r.path === path);
  }

  async close(): Promise<void> {
    this.breakConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const cluster = this.upstream.getCurrentCluster()!;
    const url = new URL(cluster.server.replace(/\/+$/, '') + (req.url ?? '/'));
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const record: ProxiedRequest = { at: Date.now(), method: req.method ?? 'GET', path: url.pathname, query: new URLSearchParams(url.searchParams), watch, resourceVersion: url.searchParams.get('resourceVersion') };
    this.requests.push(record);
    if (watch && this.expireNext) {
      this.expireNext = false;
      url.searchParams.set('resourceVersion', '1');
      record.rewrittenTo = '1';
    }
    const opts: https.RequestOptions = { headers: {} };
    await this.upstream.applyToHTTPSOptions(opts);
    const headers = { ...req.headers, ...opts.headers, host: url.host };
    const up = https.request(url, { ...opts, method: req.method, headers }, (upRes) => {
      record.status = upRes.statusCode;
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      res.flushHeaders(); // a watch's headers come before its first event, as from the API server
      upRes.pipe(res);
      upRes.on('error', () => res.destroy());
    });
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  }
}
