// The Prometheus endpoint: plain node:http, GET /metrics (the exposition text) and GET /healthz
// ("ok" while the process runs). Nothing else is served; no request body is read.
// Served by the coordinator and by the agents.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetricsSource {
  render(): Promise<string>;
  readonly contentType: string;
}

export interface RunningMetricsServer {
  /** The bound address as host:port (the port is the real one when 0 was asked for). */
  address: string;
  close(): Promise<void>;
}

/** Splits `host:port` or `[v6]:port`. */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:[\]]*):(\d+)$/.exec(address);
  if (!m) throw new TypeError(`${JSON.stringify(address)} is not HOST:PORT or [IPv6]:PORT`);
  return { host: m[1]!, port: Number(m[2]) };
}

export async function startMetricsServer(address: string, source: MetricsSource, onError?: (err: unknown) => void): Promise<RunningMetricsServer> {
  const { host, port } = splitHostPort(address);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : 'ok\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: try /metrics\n');
      return;
    }
    source.render().then((text) => {
      res.writeHead(200, { 'content-type': source.contentType }).end(req.method === 'HEAD' ? undefined : text);
    }, (err: unknown) => {
      onError?.(err);
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('collecting metrics failed\n');
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return {
    address: a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
