// Test-only: an extra real MinIO with MINIO_DOMAIN set, so it answers virtual-hosted requests
// (`<bucket>.<domain>`), optionally over TLS with a certificate for the domain and its
// subdomains only (no IP SAN: a client that verified against the pinned IP would fail).
// The cluster's MinIO is path-style only, hence this one.
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { binary } from '../harness/components.ts';
import { ManagedProcess } from '../harness/managed-process.ts';
import { freePort } from '../harness/ports.ts';
import { createCa, issueCert } from '../harness/pki.ts';
import { waitFor } from '../harness/wait.ts';

export interface DomainMinio {
  /** e.g. https://s3.cairn.invalid:PORT: resolvable only through a pinned address. */
  endpoint: string;
  domain: string;
  port: number;
  caCertPem?: string;
  root: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

/** GET /minio/health/ready on 127.0.0.1 with the domain as Host and TLS server name. */
function ready(port: number, domain: string, ca: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const opts = { host: '127.0.0.1', port, path: '/minio/health/ready', headers: { host: `${domain}:${port}` }, timeout: 2_000 };
    const req = ca !== undefined
      ? httpsRequest({ ...opts, ca, servername: domain }, (res) => { res.resume(); resolve(res.statusCode === 200); })
      : httpRequest(opts, (res) => { res.resume(); resolve(res.statusCode === 200); });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function startDomainMinio(dir: string, o: { domain: string; tls: boolean }): Promise<DomainMinio> {
  const port = await freePort();
  const consolePort = await freePort();
  const data = join(dir, 'data');
  const certs = join(dir, 'certs');
  await mkdir(data, { recursive: true });
  await mkdir(certs, { recursive: true });
  let caCertPem: string | undefined;
  if (o.tls) {
    const ca = await createCa(certs, 'cairn-store-test-ca');
    const server = await issueCert(ca, certs, 'server', { commonName: o.domain, dnsNames: [o.domain, `*.${o.domain}`], usage: 'server' });
    await copyFile(server.cert, join(certs, 'public.crt'));
    await copyFile(server.key, join(certs, 'private.key'));
    caCertPem = await readFile(ca.cert, 'utf8');
  }
  const root = { accessKeyId: 'domainroot', secretAccessKey: randomBytes(18).toString('hex') };
  const proc = new ManagedProcess({
    name: `minio (${o.domain}${o.tls ? ', tls' : ''})`,
    command: binary('minio'),
    args: ['server', data, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--certs-dir', certs, '--quiet'],
    env: { ...process.env, MINIO_ROOT_USER: root.accessKeyId, MINIO_ROOT_PASSWORD: root.secretAccessKey, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off', MINIO_DOMAIN: o.domain },
    logFile: join(dir, 'minio.log'),
  });
  try {
    await waitFor(`${proc.name} to be ready`, async () => {
      proc.assertRunning();
      return ready(port, o.domain, caCertPem);
    }, { timeoutMs: 60_000 });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    endpoint: `${o.tls ? 'https' : 'http'}://${o.domain}:${port}`, domain: o.domain, port, root,
    ...(caCertPem !== undefined ? { caCertPem } : {}),
    stop: () => proc.stop(),
  };
}
