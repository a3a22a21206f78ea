// Facts about the machine and the components, recorded with every result.
import { execFile } from 'node:child_process';
import { readFile, statfs } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { componentVersions } from '../test/harness/components.ts';

const exec = promisify(execFile);

export interface MachineFacts {
  nproc: number;
  cpu: string;
  memory_gib: number;
  /** 1-minute load average when the run started: other work on the machine skews the numbers. */
  load_at_start: number;
  load_at_end: number;
  os: string;
  kernel: string;
  node: string;
  zstd: string;
  tar: string;
  minio: string;
  work_dir: string;
  work_dir_free_gib: number;
}

async function firstLine(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await exec(cmd, args);
    return stdout.trim().split('\n')[0] ?? '';
  } catch {
    return 'unknown';
  }
}

async function osName(): Promise<string> {
  try {
    const text = await readFile('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function loadAverage(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}

export async function freeGiB(dir: string): Promise<number> {
  const s = await statfs(dir);
  return (s.bavail * s.bsize) / 2 ** 30;
}

export async function machineFacts(workDir: string, loadAtStart: number): Promise<MachineFacts> {
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    load_at_start: loadAtStart,
    load_at_end: loadAverage(),
    os: await osName(),
    kernel: release(),
    node: process.version,
    zstd: (await firstLine('zstd', ['--version'])).replace(/^\*+\s*|\s*\*+$/g, '').replace(/, by .*$/, ''),
    tar: await firstLine('tar', ['--version']),
    minio: `minio ${componentVersions().minio}`,
    work_dir: workDir,
    work_dir_free_gib: Math.round(await freeGiB(workDir)),
  };
}
