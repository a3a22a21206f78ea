// A real MinIO on loopback, and per-tenant buckets, users and bucket-scoped policies made with mc.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binary } from './components.ts';
import { ManagedProcess } from './managed-process.ts';
import { freePort } from './ports.ts';
import { httpGet } from './http-probe.ts';
import { waitFor } from './wait.ts';
import { withLog } from './etcd.ts';
import { HarnessError } from './errors.ts';

const run = promisify(execFile);

export interface S3User {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface MinioInfo {
  endpoint: string;
  root: S3User;
  mcConfigDir: string;
}

export interface Minio extends MinioInfo {
  process: ManagedProcess;
}

export async function startMinio(runDir: string, dataDir: string): Promise<Minio> {
  const port = await freePort();
  const consolePort = await freePort();
  await mkdir(dataDir, { recursive: true });
  const root = { accessKeyId: 'cairnroot', secretAccessKey: randomBytes(18).toString('hex') };
  const proc = new ManagedProcess({
    name: 'minio',
    command: binary('minio'),
    args: ['server', dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'],
    env: { ...process.env, MINIO_ROOT_USER: root.accessKeyId, MINIO_ROOT_PASSWORD: root.secretAccessKey, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off' },
    logFile: join(runDir, 'logs', 'minio.log'),
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor('minio /minio/health/ready', async () => {
    proc.assertRunning();
    return (await httpGet(`${endpoint}/minio/health/ready`)).status === 200;
  }, { timeoutMs: 60_000 }).catch((err: unknown) => { throw withLog(err, proc); });
  const mcConfigDir = join(runDir, 'mc');
  await mkdir(mcConfigDir, { recursive: true });
  const minio = { endpoint, root, mcConfigDir, process: proc };
  await mc(minio, ['alias', 'set', 'cairn', endpoint, root.accessKeyId, root.secretAccessKey]);
  return minio;
}

export async function mc(m: MinioInfo, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(binary('mc'), ['--config-dir', m.mcConfigDir, '--no-color', ...args], { env: { ...process.env, MC_UPDATE: 'off' } });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new HarnessError('CAIRN_E_MC', `mc ${args.slice(0, 3).join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

/** A bucket and a user whose policy allows that bucket only. */
export async function createTenantStorage(m: MinioInfo, tenant: string, bucket: string): Promise<S3User> {
  const user = { accessKeyId: `${tenant}-key`, secretAccessKey: randomBytes(18).toString('hex') };
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], Resource: [`arn:aws:s3:::${bucket}`] },
      { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], Resource: [`arn:aws:s3:::${bucket}/*`] },
    ],
  };
  const policyFile = join(m.mcConfigDir, `policy-${tenant}.json`);
  await writeFile(policyFile, JSON.stringify(policy));
  await mc(m, ['mb', '--ignore-existing', `cairn/${bucket}`]);
  await mc(m, ['admin', 'policy', 'create', 'cairn', `cairn-${tenant}`, policyFile]);
  await mc(m, ['admin', 'user', 'add', 'cairn', user.accessKeyId, user.secretAccessKey]);
  await mc(m, ['admin', 'policy', 'attach', 'cairn', `cairn-${tenant}`, '--user', user.accessKeyId]);
  return user;
}
