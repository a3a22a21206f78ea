// `npm run demo`: Cairn's main job, end to end, on the local cluster. Two tenants at once, each
// with nothing but its own namespace user (kubectl with a token kubeconfig), write files into a
// volume, back it up to their own MinIO bucket, lose the volume, restore it, and check every
// file's sha256. The coordinator runs as its own ServiceAccount, the agents are real processes.
// Everything started here is stopped on exit and on Ctrl-C; `--keep` leaves it running for a
// look around until Ctrl-C. Logs stay in .cairn/demo/logs.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { styleText } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { mountAt, readMountInfo } from '../common/src/mount/mountinfo.ts';
import type { Backup, Restore } from '../common/src/generated/crds.ts';
import { startCluster, type Cluster, type ClusterInfo } from '../test/harness/cluster.ts';
import { binary, cacheDir } from '../test/harness/components.ts';
import { startCoordinator, type RunningCoordinator } from '../test/harness/coordinator.ts';
import { pod, pvc } from '../test/harness/builders.ts';
import { isNotFound } from '../test/harness/kube-errors.ts';
import { loadKubeconfig } from '../test/harness/kubeconfig.ts';
import { csiBackingDir, podVolumePath } from '../test/harness/sim/kubelet.ts';
import { unmountAllUnder } from '../test/harness/sim/mounts.ts';
import { waitFor } from '../test/harness/wait.ts';
import { compareTrees, digestTree, isIdentical, treeStats, writeDemoData, type Comparison, type Tree } from './demo-files.ts';

const repoRoot = join(import.meta.dirname, '..');
const runDir = resolve(process.env.CAIRN_DEMO_DIR ?? join(repoRoot, '.cairn', 'demo'));
const stateFile = join(runDir, 'demo.json');
const keep = process.argv.includes('--keep');
const tenants = ['team-a', 'team-b'];
const finalPhases = new Set(['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation']);
const shown = (p: string): string => relative(process.cwd(), p) || '.';

const interrupt = new AbortController();
const { signal } = interrupt;

// ---- output ----------------------------------------------------------------------------------

const colours = ['cyan', 'magenta', 'yellow', 'blue'] as const;
function header(text: string): void {
  console.log(`\n${styleText('bold', `== ${text}`)}`);
}
function tenantSay(ns: string): (line: string) => void {
  const tag = styleText(colours[tenants.indexOf(ns) % colours.length]!, `[${ns}]`);
  return (line) => {
    for (const l of line.split('\n')) console.log(`${tag} ${l}`);
  };
}
const mib = (n: number | undefined): string => (n === undefined ? '?' : `${(n / 2 ** 20).toFixed(1)} MiB`);

// ---- kubectl as the tenant -------------------------------------------------------------------

interface TenantCtx {
  ns: string;
  kubeconfig: string;
  say: (line: string) => void;
}

/** Runs kubectl as the tenant (KUBECONFIG is the tenant's token kubeconfig), printing the command unless quiet. */
async function kubectl(t: TenantCtx, args: string[], o: { input?: string; quiet?: boolean } = {}): Promise<string> {
  const argv = ['-n', t.ns, ...args];
  if (!o.quiet) {
    t.say(`$ kubectl ${argv.map((a) => (/[\s{}'"*]/.test(a) ? `'${a}'` : a)).join(' ')}`);
    if (o.input) t.say(o.input.trimEnd().split('\n').map((l) => `    ${l}`).join('\n'));
  }
  const child = spawn(binary('kubernetes', 'kubectl'), argv, { env: { ...process.env, KUBECONFIG: t.kubeconfig }, signal, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin.end(o.input ?? '');
  const code = await new Promise<number | null>((res, rej) => {
    child.once('error', rej);
    child.once('close', res);
  });
  if (code !== 0) throw new Error(`kubectl ${argv.join(' ')} failed (exit ${code}): ${err.trim()}`);
  if (!o.quiet && out.trim()) t.say(out.trimEnd());
  return out;
}

const manifest = (...objects: object[]): string => objects.map((x) => stringify(x)).join('---\n');

async function getJson<T>(t: TenantCtx, resource: string, name: string): Promise<T> {
  return JSON.parse(await kubectl(t, ['get', resource, name, '-o', 'json'], { quiet: true })) as T;
}

// ---- the tenant's walk-through ---------------------------------------------------------------

interface PodVolume {
  node: string;
  pvName: string;
  path: string;
}

/** The host directory where the pod's volume is mounted (as its container would see it). */
async function podVolume(info: ClusterInfo, t: TenantCtx, podName: string, claim: string): Promise<PodVolume> {
  const p = await getJson<{ metadata: { uid: string }; spec: { nodeName: string } }>(t, 'pod', podName);
  const c = await getJson<{ spec: { volumeName: string } }>(t, 'pvc', claim);
  const node = info.nodes.find((n) => n.name === p.spec.nodeName);
  if (!node) throw new Error(`pod ${podName} runs on ${p.spec.nodeName}, which is not a node of the local cluster`);
  const path = podVolumePath(node.kubeletRoot, p.metadata.uid, 'kubernetes.io~csi', c.spec.volumeName);
  await waitFor(`the volume of pod ${t.ns}/${podName} to be mounted at ${path}`, async () => mountAt(await readMountInfo(), path), { timeoutMs: 10_000, signal });
  return { node: node.name, pvName: c.spec.volumeName, path };
}

async function runPodWithData(info: ClusterInfo, t: TenantCtx, podName: string, withClaim: boolean): Promise<PodVolume> {
  const objects: object[] = [];
  if (withClaim) objects.push(pvc('data', t.ns).storageClass(info.storageClass).size('64Mi').build());
  objects.push(pod(podName, t.ns).withPvc('data').build());
  await kubectl(t, ['create', '-f', '-'], { input: manifest(...objects) });
  await kubectl(t, ['wait', '--for=jsonpath={.status.phase}=Bound', 'pvc/data', '--timeout=60s']);
  await kubectl(t, ['wait', '--for=jsonpath={.status.phase}=Running', `pod/${podName}`, '--timeout=60s']);
  const v = await podVolume(info, t, podName, 'data');
  t.say(`pod ${podName} runs on ${v.node}; volume ${v.pvName} is mounted on the host at ${shown(v.path)}`);
  return v;
}

type Final = Backup | Restore;

/** Prints phase and progress every second until the phase is final; fails unless Completed. */
async function followPhase(t: TenantCtx, kind: 'Backup' | 'Restore', resource: string, name: string): Promise<Final> {
  t.say(`$ kubectl -n ${t.ns} get ${resource} ${name} -o json   # every second until the phase is final`);
  const started = Date.now();
  for (;;) {
    const o = await getJson<Final>(t, resource, name);
    const s = o.status ?? {};
    const p = s.progress;
    const progress = p ? `files ${p.filesDone ?? 0}/${p.totalFiles ?? '?'}  bytes ${mib(p.bytesDone ?? 0)}/${mib(p.totalBytes)}` : '';
    const queue = s.phase === 'Queued' && s.queuePosition ? `  queue position ${s.queuePosition}` : '';
    t.say(`${kind} ${name}: ${(s.phase ?? '(no status yet)').padEnd(15)} ${progress}${queue}`.trimEnd());
    if (s.phase && finalPhases.has(s.phase)) {
      for (const v of s.volumes ?? []) {
        t.say(`  volume ${v.pvc ?? '?'} via pod ${v.pod ?? '?'} on ${v.node ?? '?'}: ${v.phase ?? '?'}, ${v.files ?? 0} files, ${mib(v.bytes ?? 0)}${v.message ? ` (${v.message})` : ''}`);
      }
      if (s.phase !== 'Completed') {
        const why = [s.message, s.errorCode, ...(s.validationErrors ?? [])].filter(Boolean).join('; ');
        throw new Error(`${kind} ${name} ended ${s.phase}: ${why || 'no message'}`);
      }
      t.say(`${kind} ${name} Completed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return o;
    }
    if (Date.now() - started > 300_000) throw new Error(`${kind} ${name} is still ${s.phase ?? 'without status'} after 5 minutes`);
    await sleep(1_000, undefined, { signal });
  }
}

async function waitLocationAvailable(t: TenantCtx, name: string): Promise<void> {
  t.say(`$ kubectl -n ${t.ns} get backupstoragelocations.cairn.dev ${name} -o json   # until Available`);
  let last = '';
  const started = Date.now();
  for (;;) {
    const o = await getJson<{ status?: { phase?: string; message?: string; reason?: string } }>(t, 'backupstoragelocations.cairn.dev', name);
    const line = `BackupStorageLocation ${name}: ${o.status?.phase ?? '(no status yet)'}${o.status?.message ? `: ${o.status.message}` : ''}`;
    if (line !== last) t.say(line);
    last = line;
    if (o.status?.phase === 'Available') return;
    if (Date.now() - started > 60_000) throw new Error(`BackupStorageLocation ${name} is not Available after 60 s: ${o.status?.phase ?? 'no status'} ${o.status?.reason ?? ''} ${o.status?.message ?? ''}`);
    await sleep(1_000, undefined, { signal });
  }
}

interface TenantResult {
  ns: string;
  written?: Tree;
  comparison?: Comparison;
  backupSeconds?: number;
  restoreSeconds?: number;
  error?: string;
}

async function tenantWalkThrough(info: ClusterInfo, ns: string, r: TenantResult): Promise<void> {
  const user = info.users[`${ns}-admin`]!;
  const t: TenantCtx = { ns, kubeconfig: user.kubeconfig, say: tenantSay(ns) };
  const storage = info.minio.tenants[ns]!;
  const admin = loadKubeconfig(info.adminKubeconfig).makeApiClient(CoreV1Api);
  t.say(`acting as ${user.name} (role ${user.role} in ${ns} only): export KUBECONFIG=${shown(user.kubeconfig)}`);

  t.say(styleText('bold', '-- 1. a PVC "data" and a pod "writer" that mounts it'));
  const writer = await runPodWithData(info, t, 'writer', true);

  t.say(styleText('bold', '-- 2. files written into the volume'));
  t.say('(host) the simulated kubelet runs no containers: the demo writes what the pod would, into its mounted volume');
  r.written = await writeDemoData(writer.path, ns);
  const st = treeStats(r.written);
  t.say(`wrote ${st.files} files (${mib(st.bytes)}, one of 5 MiB random), ${st.dirs} directories, ${st.symlinks} symlink; sha256 of every file recorded`);

  t.say(styleText('bold', `-- 3. credentials for bucket "${storage.bucket}" and a BackupStorageLocation`));
  const credFile = join(runDir, 'tenants', ns, 'cloud-credentials');
  await mkdir(join(runDir, 'tenants', ns), { recursive: true });
  await writeFile(credFile, `[default]\naws_access_key_id=${storage.accessKeyId}\naws_secret_access_key=${storage.secretAccessKey}\n`, { mode: 0o600 });
  await kubectl(t, ['create', 'secret', 'generic', 'minio-credentials', `--from-file=cloud=${shown(credFile)}`]);
  await kubectl(t, ['create', '-f', '-'], {
    input: manifest({
      apiVersion: 'cairn.dev/v1alpha1', kind: 'BackupStorageLocation', metadata: { name: 'minio', namespace: ns },
      spec: {
        objectStorage: { bucket: storage.bucket },
        config: { region: 'us-east-1', endpoint: info.minio.endpoint, forcePathStyle: true },
        credential: { name: 'minio-credentials', key: 'cloud' },
      },
    }),
  });
  await waitLocationAvailable(t, 'minio');

  t.say(styleText('bold', '-- 4. a Backup'));
  await kubectl(t, ['create', '-f', '-'], { input: manifest({ apiVersion: 'cairn.dev/v1alpha1', kind: 'Backup', metadata: { name: 'demo-backup', namespace: ns }, spec: { storageLocation: 'minio' } }) });
  let started = Date.now();
  await followPhase(t, 'Backup', 'backups.cairn.dev', 'demo-backup');
  r.backupSeconds = (Date.now() - started) / 1000;

  t.say(styleText('bold', '-- 5. the volume is lost: pod and PVC deleted'));
  const oldPv = await admin.readPersistentVolume({ name: writer.pvName });
  const oldBacking = csiBackingDir(info.volumesDir, oldPv.spec!.csi!.driver, oldPv.spec!.csi!.volumeHandle);
  await kubectl(t, ['delete', 'pod', 'writer', '--wait=true']);
  await kubectl(t, ['delete', 'pvc', 'data', '--wait=true']);
  await waitFor(`PV ${writer.pvName} and its data to be deleted (reclaim policy Delete)`, async () => {
    try {
      await admin.readPersistentVolume({ name: writer.pvName });
      return false;
    } catch (err) {
      return isNotFound(err) && !existsSync(oldBacking);
    }
  }, { timeoutMs: 60_000, signal });
  t.say(`(host) PV ${writer.pvName} is deleted and its data directory ${shown(oldBacking)} is gone`);

  t.say(styleText('bold', '-- 6. a Restore, then a pod "reader" mounts the restored PVC'));
  await kubectl(t, ['create', '-f', '-'], { input: manifest({ apiVersion: 'cairn.dev/v1alpha1', kind: 'Restore', metadata: { name: 'demo-restore', namespace: ns }, spec: { backupName: 'demo-backup' } }) });
  started = Date.now();
  await followPhase(t, 'Restore', 'restores.cairn.dev', 'demo-restore');
  r.restoreSeconds = (Date.now() - started) / 1000;
  const reader = await runPodWithData(info, t, 'reader', false);
  r.comparison = compareTrees(r.written, await digestTree(reader.path));
  const c = r.comparison;
  t.say(`checked ${c.checked} entries: ${c.identical} identical, ${c.different.length} different, ${c.missing.length} missing, ${c.unexpected.length} unexpected`);
  for (const [what, list] of [['different', c.different], ['missing', c.missing], ['unexpected', c.unexpected]] as const) {
    for (const p of list.slice(0, 10)) t.say(`  ${what}: ${p}`);
    if (list.length > 10) t.say(`  ... and ${list.length - 10} more ${what}`);
  }
}

function printSummary(results: TenantResult[]): boolean {
  header('Result');
  const rows = [['tenant', 'files', 'dirs', 'symlinks', 'checked', 'identical', 'different', 'missing', 'unexpected', 'backup', 'restore', 'result']];
  let ok = true;
  for (const r of results) {
    const st = r.written ? treeStats(r.written) : undefined;
    const c = r.comparison;
    const good = !r.error && c !== undefined && isIdentical(c);
    ok &&= good;
    const secs = (s: number | undefined): string => (s === undefined ? '-' : `${s.toFixed(1)} s`);
    rows.push([r.ns, String(st?.files ?? '-'), String(st?.dirs ?? '-'), String(st?.symlinks ?? '-'), String(c?.checked ?? '-'), String(c?.identical ?? '-'),
      String(c?.different.length ?? '-'), String(c?.missing.length ?? '-'), String(c?.unexpected.length ?? '-'), secs(r.backupSeconds), secs(r.restoreSeconds),
      good ? 'IDENTICAL' : 'FAILED']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  for (const r of results) if (r.error) console.log(`${r.ns}: ${r.error}`);
  return ok;
}

// ---- lifecycle -------------------------------------------------------------------------------

interface DemoState {
  pid: number;
  pids: Record<string, number>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes and mounts a demo that was killed outright (SIGKILL, power loss) left behind. */
async function cleanLeftovers(): Promise<void> {
  if (existsSync(stateFile)) {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as DemoState;
    if (state.pid !== process.pid && alive(state.pid)) throw new Error(`another demo is running (pid ${state.pid}); stop it with Ctrl-C or 'kill ${state.pid}'`);
    for (const [name, pid] of Object.entries(state.pids)) {
      // Only a process that is still ours: its command line names this run or the component cache.
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (pid > 0 && (cmdline.includes(runDir) || cmdline.includes(cacheDir()))) {
        console.log(`stopping ${name} (pid ${pid}) left by an earlier demo`);
        process.kill(pid, 'SIGKILL');
      }
    }
  }
  const n = existsSync(runDir) ? await unmountAllUnder(runDir) : 0;
  if (n > 0) console.log(`removed ${n} mounts left by an earlier demo`);
  await rm(runDir, { recursive: true, force: true });
}

async function saveState(pids: Record<string, number>): Promise<void> {
  await writeFile(stateFile, JSON.stringify({ pid: process.pid, pids } satisfies DemoState));
}

async function main(): Promise<number> {
  let cluster: Cluster | undefined;
  let coordinator: RunningCoordinator | undefined;
  try {
    header(`Local cluster in ${shown(runDir)}`);
    await cleanLeftovers();
    await mkdir(runDir, { recursive: true });
    await saveState({});
    cluster = await startCluster({ runDir, tenants, log: (m) => console.log(`[cluster] ${m}`) });
    const info = cluster.info;
    await saveState(info.pids);
    signal.throwIfAborted();
    console.log(`kube-apiserver ${info.apiServerUrl} (RBAC), MinIO ${info.minio.endpoint}, nodes ${info.nodes.map((n) => `${n.name}=${n.ip}`).join(' ')}, one agent per node on port ${info.agentPort}`);

    header('Coordinator');
    coordinator = await startCoordinator(info, { runDir });
    await saveState({ ...info.pids, coordinator: coordinator.process.pid ?? -1 });
    console.log(`started as ServiceAccount ${info.adminNamespace}/cairn-coordinator (pid ${coordinator.process.pid}), watching team-*; log: ${shown(coordinator.logFile)}`);

    header(`Backup and restore, ${tenants.join(' and ')} at the same time, each as its own user`);
    const results = tenants.map((ns): TenantResult => ({ ns }));
    await Promise.all(results.map(async (r) => {
      try {
        await tenantWalkThrough(info, r.ns, r);
      } catch (err) {
        if (signal.aborted) throw err;
        r.error = (err as Error).message;
        tenantSay(r.ns)(styleText('red', `FAILED: ${r.error}`));
        coordinator?.process.assertRunning();
      }
    }));
    const ok = printSummary(results);
    if (!ok) console.log(`logs: ${shown(join(runDir, 'logs'))} (coordinator: ${shown(coordinator.logFile)})`);
    if (keep && !signal.aborted) {
      header('Still running (--keep); Ctrl-C stops everything');
      console.log(`admin: export KUBECONFIG=${shown(info.adminKubeconfig)}`);
      for (const u of Object.values(info.users)) console.log(`${u.name}: export KUBECONFIG=${shown(u.kubeconfig)}`);
      await new Promise((res) => signal.addEventListener('abort', res, { once: true }));
    }
    return ok ? 0 : 1;
  } catch (err) {
    if (signal.aborted) return 130;
    console.error(styleText('red', `demo failed: ${(err as Error).message}`));
    if (coordinator) console.error(`coordinator log (last lines):\n${coordinator.process.tail(15)}`);
    return 1;
  } finally {
    header('Stopping everything the demo started');
    await coordinator?.stop().catch((err: unknown) => console.error(`stopping the coordinator: ${(err as Error).message}`));
    await cluster?.stop().catch((err: unknown) => console.error(`stopping the cluster: ${(err as Error).message}`));
    if (!cluster) await unmountAllUnder(runDir).catch(() => 0);
    await rm(stateFile, { force: true });
    console.log(`stopped; logs kept in ${shown(join(runDir, 'logs'))}`);
  }
}

for (const s of ['SIGINT', 'SIGTERM'] as const) {
  process.on(s, () => {
    if (signal.aborted) {
      console.error(`\n${s} again: exiting now; the next 'npm run demo' cleans up what is left`);
      process.exit(130);
    }
    console.error(`\n${s}: stopping (again to exit at once)`);
    interrupt.abort(new Error(`interrupted by ${s}`));
  });
}
process.exitCode = await main();
