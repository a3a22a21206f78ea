// `npm run cluster -- up | down | status`: the local cluster for demos and manual work.
// `up` builds missing components (showing progress), starts a detached supervisor that runs the
// cluster until `down`, and prints how to reach it.
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBuilt } from './components.ts';
import { startCluster, type ClusterInfo } from './cluster.ts';
import { httpGet } from './http-probe.ts';
import { unmountAllUnder } from './sim/mounts.ts';

const runDir = resolve(process.env.CAIRN_CLUSTER_DIR ?? join(import.meta.dirname, '..', '..', '.cairn', 'cluster'));
const stateFile = join(runDir, 'supervisor.json');

interface SupervisorState {
  pid: number;
  phase: 'starting' | 'ready' | 'failed';
  error?: string;
}

function readState(): SupervisorState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8')) as SupervisorState;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readInfo(): ClusterInfo {
  return JSON.parse(readFileSync(join(runDir, 'cluster-info.json'), 'utf8')) as ClusterInfo;
}

async function up(): Promise<void> {
  const state = readState();
  if (state && alive(state.pid)) {
    console.log(`cluster already running (supervisor pid ${state.pid}); 'npm run cluster -- status'`);
    return;
  }
  await ensureBuilt(['etcd', 'kubernetes', 'minio', 'mc']);
  await rm(runDir, { recursive: true, force: true });
  await mkdir(join(runDir, 'logs'), { recursive: true });
  const out = openSync(join(runDir, 'logs', 'supervisor.log'), 'a');
  const child = spawn(process.execPath, [import.meta.filename, 'serve'], { detached: true, stdio: ['ignore', out, out], env: process.env });
  child.unref();
  const started = Date.now();
  for (;;) {
    await sleep(300);
    const s = readState();
    if (s?.phase === 'ready') break;
    if (s?.phase === 'failed' || !alive(child.pid!)) {
      console.error(`cluster failed to start: ${s?.error ?? 'supervisor exited'}\n(see ${join(runDir, 'logs')})`);
      process.exitCode = 1;
      return;
    }
  }
  const info = readInfo();
  console.log(`cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  printInfo(info);
}

async function serve(): Promise<void> {
  const write = (s: Omit<SupervisorState, 'pid'>) => writeFile(stateFile, JSON.stringify({ pid: process.pid, ...s }));
  await write({ phase: 'starting' });
  let cluster;
  try {
    cluster = await startCluster({ runDir, log: (m) => console.log(`[cluster] ${m}`) });
  } catch (err) {
    await write({ phase: 'failed', error: (err as Error).message });
    process.exit(1);
  }
  await write({ phase: 'ready' });
  const shutdown = async () => {
    console.log('[cluster] stopping');
    await cluster.stop();
    await rm(stateFile, { force: true });
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  setInterval(() => {
    try {
      cluster.assertHealthy();
    } catch (err) {
      console.error(`[cluster] ${(err as Error).message}`);
    }
  }, 10_000);
}

async function down(): Promise<void> {
  const state = readState();
  if (state && alive(state.pid)) {
    process.kill(state.pid, 'SIGTERM');
    for (let i = 0; i < 100 && alive(state.pid); i++) await sleep(200);
    if (alive(state.pid)) process.kill(state.pid, 'SIGKILL');
  }
  // Whatever a crashed supervisor left: component processes and mounts.
  if (existsSync(join(runDir, 'cluster-info.json'))) {
    for (const pid of Object.values(readInfo().pids)) if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
  }
  const unmounted = existsSync(runDir) ? await unmountAllUnder(runDir) : 0;
  await rm(stateFile, { force: true });
  console.log(`cluster down${unmounted > 0 ? ` (cleaned ${unmounted} leftover mounts)` : ''}`);
}

async function status(): Promise<void> {
  const state = readState();
  if (!state || !alive(state.pid)) {
    console.log('cluster: down');
    process.exitCode = 3;
    return;
  }
  console.log(`cluster: ${state.phase} (supervisor pid ${state.pid})`);
  if (state.phase !== 'ready') return;
  const info = readInfo();
  const { status: code } = await httpGet(`${info.apiServerUrl}/readyz`, { ca: info.caFile, cert: join(runDir, 'pki', 'admin.crt'), key: join(runDir, 'pki', 'admin.key') }).catch(() => ({ status: 0 }));
  const { status: s3 } = await httpGet(`${info.minio.endpoint}/minio/health/ready`).catch(() => ({ status: 0 }));
  console.log(`kube-apiserver ${info.apiServerUrl}: ${code === 200 ? 'ready' : `not ready (${code})`}`);
  console.log(`minio ${info.minio.endpoint}: ${s3 === 200 ? 'ready' : `not ready (${s3})`}`);
  for (const [name, pid] of Object.entries(info.pids)) console.log(`  ${name}: pid ${pid} ${alive(pid) ? 'running' : 'DEAD'}`);
  printInfo(info);
}

function printInfo(info: ClusterInfo): void {
  console.log(`admin:     export KUBECONFIG=${info.adminKubeconfig}`);
  for (const u of Object.values(info.users)) console.log(`${u.name}: KUBECONFIG=${u.kubeconfig} (${u.role} in ${u.namespace})`);
  console.log(`nodes:     ${info.nodes.map((n) => `${n.name}=${n.ip}`).join(' ')}`);
  console.log(`minio:     ${info.minio.endpoint} (buckets: ${Object.values(info.minio.tenants).map((t) => t.bucket).join(', ')})`);
  console.log(`logs:      ${join(info.runDir, 'logs')}`);
}

const commands: Record<string, () => Promise<void>> = { up, down, status, serve };
const cmd = process.argv[2] ?? '';
const fn = commands[cmd];
if (!fn) {
  console.error('usage: npm run cluster -- up | down | status');
  process.exit(2);
}
await fn();
