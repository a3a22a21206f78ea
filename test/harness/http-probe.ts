// A readiness probe: GET a URL (optionally with TLS client auth) and report status and body.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';

export interface ProbeTls {
  ca: string;
  cert?: string;
  key?: string;
}

export async function httpGet(url: string, tls?: ProbeTls, timeoutMs = 3_000): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  const requester = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = requester(u, {
      method: 'GET',
      timeout: timeoutMs,
      ...(tls ? { ca: readFileSync(tls.ca), cert: tls.cert ? readFileSync(tls.cert) : undefined, key: tls.key ? readFileSync(tls.key) : undefined } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
