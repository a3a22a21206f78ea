// `kubectl cairn` (the npm bin kubectl-cairn, run as a child process the way kubectl runs a
// plugin) against the real local cluster and a real coordinator of its own, as a tenant user with
// nothing but its kubeconfig and namespace: create a location (and its Secret), back up with
// --wait, describe, restore into a new PVC (every file identical), delete (a DeleteBackupRequest);
// the admin commands refused for the tenant with exit 3, and answered for the cluster admin.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunningCoordinator } from '../harness/coordinator.ts';
import { kubeAs } from '../harness/clients.ts';
import { binary } from '../harness/components.ts';
import { checksums, isolatedCoordinator, Tenant, unique, writeTree } from '../coordinator/e2e/tenant-fixtures.ts';

const cluster = inject('cluster');
const u = unique();
const t = new Tenant(cluster, `cl${u}-a`, 'team-a-admin', 'team-a');
const tenantKubeconfig = cluster.users['team-a-admin']!.kubeconfig;
const bin = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'kubectl-cairn');
const storage = cluster.minio.tenants['team-a']!;
let coordinator: RunningCoordinator;
let home: string;
let before: Map<string, string>;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The last line of stdout. */
  last: string;
}

/**
 * Runs `kubectl-cairn args` with KUBECONFIG set, on the Node that runs the tests (first in PATH),
 * or `kubectl cairn args` with `viaKubectl`: kubectl finds the plugin in PATH.
 */
function cairn(kubeconfig: string, args: string[], o: { stdin?: string; timeoutMs?: number; viaKubectl?: boolean } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const [command, argv] = o.viaKubectl ? [binary('kubernetes', 'kubectl'), ['cairn', ...args]] : [bin, args];
    const child = spawn(command, argv, {
      // HOME has no ~/.kube/config, so only KUBECONFIG counts.
      env: { PATH: `${dirname(process.execPath)}:${dirname(bin)}:${process.env.PATH ?? '/usr/bin:/bin'}`, KUBECONFIG: kubeconfig, HOME: home },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: o.timeoutMs ?? 150_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, last: stdout.trimEnd().split('\n').at(-1) ?? '' }));
    child.stdin.end(o.stdin ?? '');
  });
}

const asTenant = (args: string[], o?: { stdin?: string }): Promise<Run> => cairn(tenantKubeconfig, [...args, '-n', t.namespace], o);
const asAdmin = (args: string[]): Promise<Run> => cairn(cluster.adminKubeconfig, args);

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'cairn-cli-home-'));
  await t.setUp();
  coordinator = await isolatedCoordinator(cluster, `cl${u}`, 1);
  const dir = await t.pvc('data');
  await writeTree(dir, 'cli');
  before = await checksums(dir);
  await t.pod('app', 'data', 'node-1');
}, 240_000);

afterAll(async () => {
  await coordinator?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('kubectl cairn as a tenant admin', () => {
  it('location create makes the credential Secret and the location, --wait ends Available, and the secret key is never printed', async () => {
    const r = await asTenant([
      'location', 'create', 'main', '--bucket', storage.bucket, '--prefix', t.namespace, '--region', 'us-east-1',
      '--endpoint', cluster.minio.endpoint, '--force-path-style', '--sync-period', '10s',
      '--access-key-id', storage.accessKeyId, '--secret-access-key', '-', '--wait',
    ], { stdin: `${storage.secretAccessKey}\n` });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('secret/main-credentials created\n');
    expect(r.stdout).toContain('backupstoragelocation.cairn.dev/main created\n');
    expect(r.last).toBe('backupstoragelocation.cairn.dev/main Available');
    expect(r.stdout + r.stderr).not.toContain(storage.secretAccessKey);
    // The Secret holds the shared-credentials file the coordinator reads (it validated with it).
    const secret = await kubeAs(cluster, 'admin').makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: t.namespace, name: 'main-credentials' });
    expect(Buffer.from(secret.data!.cloud!, 'base64').toString()).toBe(`[default]\naws_access_key_id = ${storage.accessKeyId}\naws_secret_access_key = ${storage.secretAccessKey}\n`);
  });

  it('location create again with the same Secret name is refused with exit 5 and leaves the Secret as it was', async () => {
    const r = await asTenant(['location', 'create', 'other', '--bucket', storage.bucket, '--credential-secret', 'main-credentials', '--access-key-id', 'AKIAOTHER', '--secret-access-key', 'x']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^error: AlreadyExists: Secret "main-credentials" already exists in namespace /);
    const l = await asTenant(['location', 'get']);
    expect(l.code).toBe(0);
    expect(l.stdout).toMatch(/^main\s+Available\s+/m);
    expect(l.stdout).not.toMatch(/^other\s/m);
  });

  it('backup create --wait follows the backup (the only location picked) and exits 0 with the Completed line', async () => {
    const r = await asTenant(['backup', 'create', 'first', '--wait', '--timeout', '2m']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('backup.cairn.dev/first created');
    expect(r.last).toMatch(/^backup\.cairn\.dev\/first Completed \(1 volume, \d+\.\d (KiB|MiB), \d+ files in \d+s\)$/);
    expect(r.stderr).toContain('backup.cairn.dev/first ');
    expect((await t.get('backups', 'first')).spec).toEqual({ storageLocation: 'main' });
  });

  it('backup describe shows the volume with its pod, node, phase, bytes and files', async () => {
    const cr = await t.get('backups', 'first');
    const v = cr.status!.volumes![0]!;
    const r = await asTenant(['backup', 'describe', 'first']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Phase:\s+Completed$/m);
    expect(r.stdout).toMatch(/^Location:\s+main$/m);
    expect(r.stdout).toMatch(new RegExp(`^  data\\s+app\\s+node-1\\s+Completed\\s+\\S+ \\S+\\s+${v.files}\\s+-$`, 'm'));
    expect(r.stdout).toMatch(/^Events:/m);
  });

  it('kubectl finds the plugin: kubectl cairn backup get lists it', async () => {
    const r = await cairn(tenantKubeconfig, ['backup', 'get', '-o', 'name', '-n', t.namespace], { viaKubectl: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('backup.cairn.dev/first\n');
  });

  it('backup get lists it, and -o json gives the object as the API has it', async () => {
    const r = await asTenant(['backup', 'get']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+STATUS\s+LOCATION\s+VOLUMES\s+SIZE\s+AGE\s+EXPIRES$/m);
    expect(r.stdout).toMatch(/^first\s+Completed\s+main\s+1\/1\s+/m);
    const j = await asTenant(['backup', 'get', 'first', '-o', 'json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ kind: 'Backup', metadata: { name: 'first', namespace: t.namespace }, status: { phase: 'Completed' } });
  });

  it('restore create --wait into a new PVC exits 0, and every file is identical', async () => {
    const r = await asTenant(['restore', 'create', 'again', '--from-backup', 'first', '--target', 'data=data-copy', '--wait', '--timeout', '2m']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.last).toMatch(/^restore\.cairn\.dev\/again Completed \(1 volume, /);
    expect(await checksums(await t.backingDir('data-copy'))).toEqual(before);
    const d = await asTenant(['restore', 'describe', 'again']);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/^Targets:\s+data -> PVC data-copy$/m);
    expect(d.stdout).toMatch(/^ {2}data-copy\s+\S+\s+\S+\s+Completed\s+/m);
  });

  it('schedule create, pause and unpause change the Schedule', async () => {
    expect((await asTenant(['schedule', 'create', 'nightly', '--schedule', '0 2 * * *', '--keep-daily', '7', '--paused'])).code).toBe(0);
    expect((await t.get('schedules', 'nightly')).spec).toMatchObject({ schedule: '0 2 * * *', paused: true, retention: { keepDaily: 7 }, template: { storageLocation: 'main' } });
    const un = await asTenant(['schedule', 'unpause', 'nightly']);
    expect(un.stdout).toBe('schedule.cairn.dev/nightly unpaused\n');
    expect((await t.get('schedules', 'nightly')).spec.paused).toBe(false);
    expect((await asTenant(['schedule', 'pause', 'nightly'])).code).toBe(0);
    expect((await t.get('schedules', 'nightly')).spec.paused).toBe(true);
  });

  it('admin nodes and admin backups are refused with exit 3 and say which role they need', async () => {
    const nodes = await asTenant(['admin', 'nodes']);
    expect(nodes.code).toBe(3);
    expect(nodes.stdout).toBe('');
    expect(nodes.stderr).toMatch(/^error: Forbidden: cannot list NodeAgents: .*team-a-admin.*; NodeAgents are for cluster admins: reading them needs the cairn-node-viewer ClusterRole/);
    const backups = await asTenant(['admin', 'backups']);
    expect(backups.code).toBe(3);
    expect(backups.stderr).toMatch(/^error: Forbidden: cannot list Backups of all namespaces: .*team-a-admin.*; listing Backups of every namespace needs a cluster-wide role/);
  });

  it('a missing backup is exit 4 and a bad command line exit 2, each with its reason first on stderr', async () => {
    const missing = await asTenant(['backup', 'describe', 'nope']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toBe(`error: NotFound: backup "nope" not found in namespace ${t.namespace}\n`);
    const noLocation = await asTenant(['backup', 'create', 'b2', '--location', 'elsewhere']);
    expect(noLocation.code).toBe(4);
    expect(noLocation.stderr).toMatch(/^error: NotFound: backup storage location "elsewhere" not found/);
    const bad = await asTenant(['backup', 'create', 'Not_A_Name']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: Usage: /);
  });
});

describe('kubectl cairn as the cluster admin', () => {
  it('admin backups lists the tenant\'s backup with its namespace; admin nodes answers', async () => {
    const r = await asAdmin(['admin', 'backups']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^NAMESPACE\s+NAME\s+STATUS\s+/);
    expect(r.stdout).toMatch(new RegExp(`^${t.namespace}\\s+first\\s+Completed\\s+main\\s+`, 'm'));
    const nodes = await asAdmin(['admin', 'nodes']);
    expect(nodes.code, nodes.stderr).toBe(0);
    // The coordinator may not write NodeAgents yet: then it says so rather than printing nothing.
    expect(nodes.stdout === '' ? nodes.stderr : nodes.stdout).toMatch(/^(NAME\s+READY\s+JOBS|No NodeAgents yet: )/);
  });
});

describe('kubectl cairn backup delete', () => {
  it('creates a DeleteBackupRequest for the backup and names it', async () => {
    const r = await asTenant(['backup', 'delete', 'first']);
    expect(r.code, r.stderr).toBe(0);
    const m = /^deletebackuprequest\.cairn\.dev\/(first-[a-z0-9]+) created: backup first and its data in the bucket will be deleted$/.exec(r.last);
    expect(m, r.stdout).not.toBeNull();
    const dbr = await t.get('deletebackuprequests', m![1]!);
    expect(dbr.spec).toEqual({ backupName: 'first' });
    const again = await asTenant(['backup', 'delete', 'never-was']);
    expect(again.code).toBe(4);
    expect(again.stderr).toBe(`error: NotFound: backup "never-was" not found in namespace ${t.namespace}\n`);
  });
});
