// The job sandbox, probed from inside: one volume visible, read-only everything else, its own
// read-only /proc, no /sys, only the job's capabilities, no_new_privs; a crashing child is
// reported and the parent goes on. Also measures what the sandbox costs per job.
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { backupCaps, jobMallocEnv, restoreCaps, runSandboxed, type SandboxOptions } from '../../agent/src/sandbox/run-sandboxed.ts';
import { warmCompileCache } from '../../agent/src/sandbox/compile-cache.ts';
import { repoRoot } from '../harness/agents.ts';

const entry = 'test/agent/fixtures/probe.ts';

interface Report {
  root: string[]; volume: string[]; others: boolean[]; capEff: string; noNewPrivs: string; pid: number; pids: number;
  procOptions: string; sys: boolean; writeApp: string; writeVolume: string; writeEtc: string; writeCache: string; env: string[]; argv: string[];
}

async function volumes(): Promise<{ mine: string; other: string }> {
  const base = await mkdtemp(join(tmpdir(), 'cairn-sandbox-'));
  const mine = join(base, 'mine');
  const other = join(base, 'other-tenant');
  await mkdir(mine);
  await mkdir(other);
  await writeFile(join(mine, 'data.txt'), 'mine');
  await writeFile(join(other, 'secret.txt'), 'not yours');
  return { mine, other };
}

async function probe(volumePath: string, writable: boolean, otherPaths: string[], compileCache?: SandboxOptions['compileCache']): Promise<Report> {
  const out = await runSandboxed({ mode: 'report', otherPaths }, {
    appRoot: repoRoot, entry, volumePath, writable, caps: writable ? restoreCaps : backupCaps, signal: new AbortController().signal, onEvent: () => {},
    ...(compileCache ? { compileCache } : {}),
  });
  if (out.result.ok) throw new Error('probe did not report');
  return JSON.parse(out.result.message) as Report;
}

describe('job sandbox', () => {
  it('a backup job sees only its volume, read-only, with CAP_DAC_READ_SEARCH alone', async () => {
    const v = await volumes();
    const r = await probe(v.mine, false, [v.other, join(v.other, 'secret.txt'), '/work', '/root', '/var/lib/kubelet', '/tmp/cairn-sandbox-probe']);
    expect(r.volume).toEqual(['data.txt']);
    expect(r.others.every((seen) => !seen)).toBe(true);
    expect(r.root).toEqual(expect.arrayContaining(['app', 'dev', 'proc', 'tmp', 'usr', 'volume']));
    expect(r.root).not.toContain('sys');
    expect(r.root).not.toContain('root');
    expect(r.root).not.toContain('var');
    expect(BigInt(`0x${r.capEff}`)).toBe(1n << 2n); // CAP_DAC_READ_SEARCH
    expect(r.noNewPrivs).toBe('1');
    expect(r.pid).toBeLessThan(10); // its own PID namespace
    expect(r.pids).toBeLessThan(5);
    expect(r.procOptions?.split(',')).toContain('ro');
    expect(r.sys).toBe(false);
    expect(r.writeApp).toBe('EROFS');
    expect(r.writeVolume).toBe('EROFS');
    expect(r.writeEtc).toBe('EROFS');
    // Nothing of the agent's environment: the locale, the malloc settings, PATH, and PWD (set by bwrap's --chdir).
    expect(r.env).toEqual(['LANG', ...Object.keys(jobMallocEnv), 'PATH', 'PWD'].sort());
    expect(r.writeCache).toBe('absent');
    expect(r.argv).toEqual([`/app/${entry}`]);
  });

  it('a restore job may write its volume, with CHOWN, DAC_OVERRIDE and FOWNER only', async () => {
    const v = await volumes();
    const r = await probe(v.mine, true, [v.other]);
    expect(r.writeVolume).toBe('ok');
    expect(r.writeApp).toBe('EROFS');
    expect(BigInt(`0x${r.capEff}`)).toBe((1n << 0n) | (1n << 1n) | (1n << 3n)); // CHOWN, DAC_OVERRIDE, FOWNER
    expect(r.others).toEqual([false]);
  });

  it('a job reads the compile cache the agent warmed, and cannot write it', async () => {
    const v = await volumes();
    const dir = await warmCompileCache({ appRoot: repoRoot, entry: 'agent/src/sandbox/job-runner.ts', signal: AbortSignal.timeout(60_000) });
    // Node keeps one folder per version, with one file per compiled module (the engine's, the S3 client's, the worker's).
    const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile());
    expect(files.length).toBeGreaterThan(50);
    const r = await probe(v.mine, true, [], { dir, writable: false });
    expect(r.writeCache).toBe('EROFS');
    expect(r.env).toEqual(['LANG', ...Object.keys(jobMallocEnv), 'NODE_COMPILE_CACHE', 'PATH', 'PWD'].sort());
    // A job that loads modules the cache lacks cannot add them either.
    const empty = await mkdtemp(join(tmpdir(), 'cairn-empty-cache-'));
    const out = await runSandboxed({ kind: 'warm' }, {
      appRoot: repoRoot, entry: 'agent/src/sandbox/job-runner.ts', volumePath: v.mine, writable: false, caps: [], signal: AbortSignal.timeout(60_000), onEvent: () => {},
      compileCache: { dir: empty, writable: false },
    });
    expect(out.result.ok).toBe(true);
    expect(await readdir(empty)).toEqual([]);
  });

  it('an agent-owned cache folder (--compile-cache-dir) is emptied and refilled at start', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'cairn-owned-')), 'compile-cache');
    await mkdir(dir);
    await writeFile(join(dir, 'left-by-the-last-agent'), 'x');
    expect(await warmCompileCache({ appRoot: repoRoot, entry: 'agent/src/sandbox/job-runner.ts', signal: AbortSignal.timeout(60_000), dir })).toBe(dir);
    const entries = await readdir(dir, { recursive: true });
    expect(entries).not.toContain('left-by-the-last-agent');
    expect(entries.length).toBeGreaterThan(50);
  });

  it('reports a child that dies without a result, and the parent goes on', async () => {
    const v = await volumes();
    await expect(runSandboxed({ mode: 'crash', otherPaths: [] }, {
      appRoot: repoRoot, entry, volumePath: v.mine, writable: false, caps: backupCaps, signal: new AbortController().signal, onEvent: () => {},
    })).rejects.toMatchObject({ code: 'CAIRN_E_SANDBOX', message: expect.stringContaining('ended without a result') as string });
    expect((await probe(v.mine, false, [])).volume).toEqual(['data.txt']);
  });

  it('kills a child that ignores the cancel once its grace period is over', async () => {
    const v = await volumes();
    const ac = new AbortController();
    const run = runSandboxed({ mode: 'hang', otherPaths: [] }, {
      appRoot: repoRoot, entry, volumePath: v.mine, writable: false, caps: backupCaps, signal: ac.signal, onEvent: () => {}, cancelGraceMs: 1_000,
    });
    setTimeout(() => ac.abort(), 500);
    const t = Date.now();
    await expect(run).rejects.toMatchObject({ code: 'CAIRN_E_ABORTED' });
    expect(Date.now() - t).toBeLessThan(3_000);
    const left = spawnSync('pgrep', ['-f', 'fixtures/probe.ts'], { encoding: 'utf8' }).stdout.trim();
    expect(left).toBe('');
  });

  it('costs about a Node start per job (measured, not asserted tightly)', async () => {
    const v = await volumes();
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = Date.now();
      await probe(v.mine, false, []);
      times.push(Date.now() - t);
    }
    const plain: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = Date.now();
      spawnSync(process.execPath, ['-e', '0']);
      plain.push(Date.now() - t);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`sandbox cost: median ${median(times)} ms per probe job (bwrap + node + probe), plain node start ${median(plain)} ms`);
    expect(median(times)).toBeLessThan(5_000);
  });
});
