// A real etcd for the API server: free ports, data on tmpfs (/dev/shm), fsync off.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { binary } from './components.ts';
import { ManagedProcess } from './managed-process.ts';
import { freePort } from './ports.ts';
import { httpGet } from './http-probe.ts';
import { waitFor } from './wait.ts';

export interface Etcd {
  url: string;
  process: ManagedProcess;
}

export async function startEtcd(runDir: string, dataDir: string): Promise<Etcd> {
  const etcd = binary('etcd');
  const clientPort = await freePort();
  const peerPort = await freePort();
  await mkdir(dataDir, { recursive: true });
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const proc = new ManagedProcess({
    name: 'etcd',
    command: etcd,
    args: [
      '--name=cairn', `--data-dir=${dataDir}`,
      `--listen-client-urls=${url}`, `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=cairn=${peer}`, '--unsafe-no-fsync', '--log-level=warn',
      '--quota-backend-bytes=4294967296',
    ],
    logFile: join(runDir, 'logs', 'etcd.log'),
  });
  await waitFor('etcd to report healthy', async () => {
    proc.assertRunning();
    const r = await httpGet(`${url}/health`);
    return r.status === 200 && r.body.includes('true');
  }, { timeoutMs: 30_000 }).catch((err: unknown) => { throw withLog(err, proc); });
  return { url, process: proc };
}

export function withLog(err: unknown, proc: ManagedProcess): Error {
  const base = err instanceof Error ? err : new Error(String(err));
  if (base.message.includes('last log lines')) return base;
  base.message = `${proc.name} did not start: ${base.message}\nlast log lines of ${proc.logFile}:\n${proc.tail()}`;
  return base;
}
