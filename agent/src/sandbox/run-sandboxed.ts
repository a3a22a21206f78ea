// Runs one job in a child process that can see only its volume: bubblewrap gives it new mount,
// PID and IPC namespaces, a root made of read-only binds (system libraries, the agent's code),
// the volume at /volume (read-only for a backup), its own read-only /proc, no /sys, only the
// capabilities the job needs, and no_new_privs. The job (with its credentials) goes in over a
// pipe; events come back on fd 3. The parent outlives a crashing or killed child and reports it.
import { spawn } from 'node:child_process';
import { lstatSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, relative, isAbsolute } from 'node:path';
import { CairnError } from '../../../common/src/errors.ts';
import type { SandboxEvent } from '../jobs/sandbox-job.ts';

export interface SandboxOptions {
  /** Folder holding the agent's code and node_modules; bound read-only at /app. */
  appRoot: string;
  /** Script to run, relative to appRoot. */
  entry: string;
  volumePath: string;
  writable: boolean;
  /** Capabilities kept, e.g. CAP_DAC_READ_SEARCH. */
  caps: readonly string[];
  bwrap?: string;
  signal: AbortSignal;
  onEvent: (e: SandboxEvent) => void;
  onLog?: (line: string) => void;
  /** Called with the sandbox's process id once it runs (for status). */
  onSpawn?: (pid: number) => void;
  /**
   * Node's compile cache for the job's modules (compile-cache.ts), at /cache inside: read-only
   * for a job, writable only for the agent's own warm-up run.
   */
  compileCache?: { dir: string; writable: boolean };
  /** How long a cancelled job may take to abort its uploads before it is killed (default 10 s). */
  cancelGraceMs?: number;
}

export interface SandboxOutcome {
  result: Extract<SandboxEvent, { t: 'result' }>;
  /** From spawn to the child's first event or exit: what the sandbox costs per job. */
  startMs: number;
}

export const backupCaps = ['CAP_DAC_READ_SEARCH'] as const;
export const restoreCaps = ['CAP_CHOWN', 'CAP_FOWNER', 'CAP_DAC_OVERRIDE'] as const;

/** Where a job sees the compile cache. */
const COMPILE_CACHE = '/cache';

/**
 * V8 flags of a job process, which keep resident memory near what the job holds, for a few
 * percent more CPU in garbage collection (bench/RESULTS.md, "D3 peak RSS"):
 * - a small young generation (measured on 50k tiny files: 356 MiB resident with defaults, about
 *   210 MiB with it);
 * - the old generation may grow by 20% over what the last full collection kept, where V8 lets a
 *   fast-allocating program's grow up to 4 times. A full collection is also what frees the
 *   buffers (frames, upload parts) that died since the last one: on 1M tiny files the peak went
 *   from about 255 to about 210 MiB.
 */
export const jobNodeFlags = ['--max-semi-space-size=4', '--heap-growing-percent=20'] as const;

/**
 * glibc malloc settings of a job process: the heap is trimmed when 128 KiB at its top are free,
 * and buffers under 32 MiB come from the heap. Left to itself, glibc raises its trim threshold
 * to twice the largest buffer freed (8 MiB upload parts), after which a heap of small
 * allocations (a million file names) never shrinks. Two arenas instead of eight per core for
 * the engine's few threads. Measured on 1M tiny files: about 280 -> 255 MiB peak resident; a
 * lower mmap threshold (1 MiB) saved a little more there but made every 4 MiB frame fresh pages
 * (+0.7 s of system time on a 2 GiB backup).
 */
export const jobMallocEnv = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '33554432', MALLOC_TRIM_THRESHOLD_: '131072' } as const;

/** Binds for the system: /usr read-only, and the merged-/usr symlinks (or dirs) beside it. */
function systemBinds(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  // The S3 client asks for the user's name (os.userInfo); passwd and group hold no secrets.
  for (const f of ['/etc/passwd', '/etc/group']) args.push('--ro-bind-try', f, f);
  for (const d of ['/lib', '/lib64', '/bin', '/sbin']) {
    try {
      const st = lstatSync(d);
      if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(d), d);
      else if (st.isDirectory()) args.push('--ro-bind', d, d);
    } catch {
      // absent on this system
    }
  }
  return args;
}

export function sandboxArgs(o: SandboxOptions): { command: string; args: string[] } {
  const node = process.execPath;
  const nodeInApp = !relative(o.appRoot, node).startsWith('..') && !isAbsolute(relative(o.appRoot, node));
  const nodeInside = nodeInApp ? `/app/${relative(o.appRoot, node)}` : node;
  const args = [
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--die-with-parent', '--new-session',
    ...systemBinds(),
    '--ro-bind', o.appRoot, '/app',
    ...(nodeInApp || node.startsWith('/usr/') ? [] : ['--ro-bind', dirname(node), dirname(node)]),
    o.writable ? '--bind' : '--ro-bind', o.volumePath, '/volume',
    '--proc', '/proc', '--remount-ro', '/proc',
    '--dev', '/dev', '--tmpfs', '/tmp',
    ...(o.compileCache ? [o.compileCache.writable ? '--bind' : '--ro-bind', o.compileCache.dir, COMPILE_CACHE] : []),
    '--cap-drop', 'ALL', ...o.caps.flatMap((c) => ['--cap-add', c]),
    '--chdir', '/',
    '--', nodeInside, ...jobNodeFlags, `/app/${o.entry}`,
  ];
  return { command: o.bwrap ?? 'bwrap', args };
}

export async function runSandboxed(job: unknown, o: SandboxOptions): Promise<SandboxOutcome> {
  o.signal.throwIfAborted();
  const { command, args } = sandboxArgs(o);
  const started = Date.now();
  let startMs: number | undefined;
  const child = spawn(command, args, {
    stdio: ['pipe', 'ignore', 'pipe', 'pipe'],
    env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', ...jobMallocEnv, ...(o.compileCache ? { NODE_COMPILE_CACHE: COMPILE_CACHE } : {}) },
    detached: false,
  });
  // Cancel: tell the job over its stdin, so the engine aborts its uploads; kill it if it has not
  // ended after the grace period.
  let killTimer: NodeJS.Timeout | undefined;
  const cancel = () => {
    child.stdin?.end('cancel\n');
    killTimer = setTimeout(() => child.kill('SIGKILL'), o.cancelGraceMs ?? 10_000);
  };
  o.signal.addEventListener('abort', cancel, { once: true });
  if (child.pid !== undefined) o.onSpawn?.(child.pid);
  let result: SandboxOutcome['result'] | undefined;
  const events = createInterface({ input: child.stdio[3] as NodeJS.ReadableStream });
  events.on('line', (line) => {
    startMs ??= Date.now() - started;
    let e: SandboxEvent;
    try {
      e = JSON.parse(line) as SandboxEvent;
    } catch {
      return;
    }
    if (e.t === 'result') result = e;
    else o.onEvent(e);
  });
  const logs = createInterface({ input: child.stderr! });
  logs.on('line', (l) => o.onLog?.(l));
  child.stdin!.on('error', () => {}); // a child that dies early closes the pipe
  child.stdin!.write(`${JSON.stringify(job)}\n`);
  const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once('error', (err) => { o.onLog?.(`spawn failed: ${err.message}`); resolve([-1, null]); });
    child.once('close', (c, s) => resolve([c, s]));
  });
  o.signal.removeEventListener('abort', cancel);
  clearTimeout(killTimer);
  if (o.signal.aborted) throw new CairnError('CAIRN_E_ABORTED', 'the job was cancelled');
  if (!result) {
    throw new CairnError('CAIRN_E_SANDBOX', `the job's process ended without a result (${sig ? `signal ${sig}` : `exit code ${code}`})`);
  }
  return { result, startMs: startMs ?? Date.now() - started };
}
