// The images and the install's settings, checked without a container engine (none runs here):
// the Dockerfiles pass a Dockerfile linter (dockerlinter, hadolint-style rules, with ShellCheck
// on every RUN line); what each final stage copies is enough to start its binaries, and every
// package that code imports is a production dependency that `npm ci --omit=dev --workspace`
// installs; the shipped coordinator config and agent environment parse with the binaries' own
// parsers and agree with the Deployment, the DaemonSet and the certificate scheme.
import { execFileSync, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig as parseAgentConfig } from '../../agent/src/config.ts';
import { AGENT_DOMAIN, COORDINATOR_IDENTITY } from '../../common/src/agent-identity.ts';
import { parseConfig as parseCoordinatorConfig } from '../../coordinator/src/config.ts';
import { type Container, type Volume, type Workload, podSpec, repoRoot, run } from './render.ts';

const linter = join(repoRoot, 'node_modules', 'dockerlinter', 'bin', 'dockerfilelinter.js');
const images = [
  { dockerfile: 'Dockerfile.agent', workspace: 'agent' },
  { dockerfile: 'Dockerfile.coordinator', workspace: 'coordinator' },
] as const;
const scratch: string[] = [];
afterAll(async () => {
  for (const d of scratch) await rm(d, { recursive: true, force: true });
});

interface Finding {
  lineNumber: number;
  code: string;
  message: string;
  level: string;
}

/** dockerlinter's findings (JSON) for a Dockerfile; it writes scratch files into its cwd. */
async function lint(path: string): Promise<{ findings: Finding[]; code: number | null }> {
  const cwd = await mkdtemp(join(tmpdir(), 'dockerlint-'));
  scratch.push(cwd);
  const r = await run(process.execPath, [linter, '-f', path, '-j', '-e'], { cwd });
  // Nothing at all on stdout means no findings.
  const out = r.stdout.trim() || '[]';
  if (r.stderr.trim() || !out.startsWith('[')) throw new Error(`dockerlinter failed on ${path}: ${r.stderr || r.stdout}`);
  return { findings: JSON.parse(out) as Finding[], code: r.code };
}

interface Instruction {
  op: string;
  args: string;
}

/** The instructions of a Dockerfile's final stage (continuation lines joined, comments dropped). */
async function finalStage(dockerfile: string): Promise<Instruction[]> {
  const text = (await readFile(join(repoRoot, dockerfile), 'utf8')).replace(/\\\n/g, ' ');
  const all = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    .map((l) => ({ op: l.split(/\s+/)[0]!.toUpperCase(), args: l.slice(l.indexOf(' ') + 1).trim() }));
  const last = all.map((i) => i.op).lastIndexOf('FROM');
  return all.slice(last);
}

/** What the final stage copies from the build context, as [source, destination in /app]. */
async function contextCopies(dockerfile: string): Promise<[string, string][]> {
  const stage = await finalStage(dockerfile);
  expect(stage.find((i) => i.op === 'WORKDIR')?.args).toBe('/app');
  return stage.filter((i) => i.op === 'COPY' && !i.args.startsWith('--')).map((i) => {
    const parts = i.args.split(/\s+/);
    expect(parts, `COPY ${i.args}: one source and a destination`).toHaveLength(2);
    const dest = parts[1]!.endsWith('/') ? join(parts[1]!, parts[0]!.split('/').pop()!) : parts[1]!;
    return [parts[0]!, dest === './' || dest === '.' ? parts[0]! : dest];
  });
}

/** The image's /app as the final stage lays it out, with the repository's node_modules. */
async function imageLayout(dockerfile: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'cairn-image-'));
  scratch.push(root);
  for (const [src, dest] of await contextCopies(dockerfile)) {
    await mkdir(dirname(join(root, dest)), { recursive: true });
    // .dockerignore leaves the unit tests out.
    await cp(join(repoRoot, src), join(root, dest), { recursive: true, filter: (s) => !s.endsWith('.test.ts') });
  }
  await symlink(join(repoRoot, 'node_modules'), join(root, 'node_modules'));
  return root;
}

async function entrypoint(dockerfile: string): Promise<string[]> {
  const e = (await finalStage(dockerfile)).find((i) => i.op === 'ENTRYPOINT');
  return JSON.parse(e!.args) as string[];
}

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(join(e.parentPath, e.name));
  }
  return out;
}

/** Packages a file loads at run time (type-only imports are erased and do not count). */
function runtimePackages(source: string): string[] {
  const specifiers: string[] = [];
  for (const m of source.matchAll(/(?:^|[\s;])(?:import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/g)) if (!m[1]) specifiers.push(m[2]!);
  for (const m of source.matchAll(/\b(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/g)) specifiers.push(m[1]!);
  return specifiers.filter((s) => !s.startsWith('.') && !s.startsWith('/') && !s.startsWith('node:'))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

async function dependencies(workspace: string): Promise<string[]> {
  return Object.keys((JSON.parse(await readFile(join(repoRoot, workspace, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {});
}

async function manifest(path: string): Promise<Workload> {
  return parseYaml(await readFile(join(repoRoot, 'manifests', path), 'utf8')) as Workload;
}

describe('Dockerfile linter', () => {
  it('finds nothing in Dockerfile.agent and Dockerfile.coordinator (dockerlinter, ShellCheck on RUN lines)', async () => {
    try {
      execFileSync('shellcheck', ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error("shellcheck is not installed; dockerlinter checks RUN lines with it ('npm run setup:system' installs it)");
    }
    for (const { dockerfile } of images) {
      const { findings, code } = await lint(join(repoRoot, dockerfile));
      expect(findings, dockerfile).toEqual([]);
      expect(code, dockerfile).toBe(0);
    }
  });

  it('reports what it is there for: root user, unpinned base image, recommends, and a ShellCheck finding', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dockerlint-bad-'));
    scratch.push(dir);
    const bad = join(dir, 'Dockerfile');
    await writeFile(bad, 'FROM node\nRUN apt-get update && apt-get install -y bubblewrap && echo $HOME\nUSER root\nENTRYPOINT ["node"]\n');
    const { findings, code } = await lint(bad);
    expect(findings.map((f) => f.code)).toEqual(expect.arrayContaining(['EF0004', 'ER0010', 'ER0002', 'EU0001', 'SC2086']));
    expect(code).toBe(1);
  });
});

describe('images', () => {
  it('.dockerignore lets in everything the final stages copy, and nothing else of the repository', async () => {
    const lines = (await readFile(join(repoRoot, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(lines[0]).toBe('*');
    const allowed = lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1));
    for (const { dockerfile } of images) {
      for (const [src] of await contextCopies(dockerfile)) {
        expect(allowed.some((a) => src === a || src.startsWith(`${a}/`)), `${dockerfile} copies ${src}`).toBe(true);
      }
    }
    expect(lines).toContain('**/*.test.ts');
  });

  for (const { dockerfile, workspace } of images) {
    it(`${dockerfile}: the files its final stage copies are enough to start the ${workspace}`, async () => {
      const root = await imageLayout(dockerfile);
      const [node, main] = await entrypoint(dockerfile);
      expect(node).toBe('node');
      // With no configuration the binary stops at parsing it, after every module it imports
      // was loaded: a file the image lacks would fail the import first.
      const r = await run(process.execPath, [main!], { cwd: root, env: { PATH: process.env.PATH } });
      expect(r.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
      expect(r.stderr).toContain('CAIRN_E_INVALID_ARGUMENT');
      expect(r.code).toBe(1);
      if (workspace === 'agent') {
        // The sandbox's entry point, which bwrap runs from the same /app: given no job it says so.
        const child = spawn(process.execPath, ['agent/src/sandbox/job-runner.ts'], { cwd: root, stdio: ['pipe', 'ignore', 'pipe', 'pipe'] });
        child.stdin!.end();
        let events = '';
        child.stdio[3]!.on('data', (d: Buffer) => (events += d.toString()));
        const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
        expect(code).toBe(0);
        expect(JSON.parse(events.trim())).toMatchObject({ t: 'result', ok: false, message: 'no job on stdin' });
      }
    });

    it(`${dockerfile}: every package its code loads is a production dependency of ${workspace}/ or common/`, async () => {
      const declared = new Set([...await dependencies(workspace), ...await dependencies('common')]);
      const missing: string[] = [];
      for (const dir of [join(repoRoot, 'common', 'src'), join(repoRoot, workspace, 'src')]) {
        for (const file of await tsFiles(dir)) {
          for (const pkg of runtimePackages(await readFile(file, 'utf8'))) if (!declared.has(pkg)) missing.push(`${relative(repoRoot, file)}: ${pkg}`);
        }
      }
      expect(missing).toEqual([]);
    });
  }
});

describe('shipped settings', () => {
  it('the coordinator config parses with the files the Deployment mounts, and names the agent DaemonSet, its port and the Lease', async () => {
    const deployment = await manifest('install/coordinator-deployment.yaml');
    const spec = podSpec(deployment);
    const container = spec.containers[0]!;
    // The files the projected volume puts under its mount path.
    const mount = container.volumeMounts!.find((m) => m.name === 'config')!;
    const projected = spec.volumes!.find((v) => v.name === mount.name)!.projected!;
    const files = new Set(projected.sources.flatMap((s) => (s.configMap ?? s.secret)!.items.map((i) => `${mount.mountPath}/${i.path}`)));
    const configText = await readFile(join(repoRoot, 'manifests', 'install', 'coordinator-config.yaml'), 'utf8');
    const config = parseCoordinatorConfig(container.args!, { POD_NAMESPACE: deployment.metadata.namespace }, {
      readFile: (p) => {
        if (p !== '/etc/cairn/config.yaml' || !files.has(p)) throw new Error(`${p} is not mounted`);
        return configText;
      },
      exists: (p) => files.has(p),
    });
    const ds = await manifest('install/agent-daemonset.yaml');
    expect(config.adminNamespace).toBe('cairn-system');
    expect(config.agentDaemonSet).toBe(ds.metadata.name);
    expect(config.agentNamespace).toBe(ds.metadata.namespace);
    expect(config.agentPort).toBe(podSpec(ds).containers[0]!.ports!.find((p) => p.name === 'grpc')!.containerPort);
    expect(config.leaseName).toBe('cairn-coordinator');
    expect(Object.values(config.tls).every((p) => files.has(p))).toBe(true);
    expect(config.watchNamespaces).toEqual([]);
  });

  it('the agent environment (DaemonSet plus agent.env) parses, and names the mounted kubelet directory and certificate', async () => {
    const ds = await manifest('install/agent-daemonset.yaml');
    const spec = podSpec(ds);
    const container: Container = spec.containers[0]!;
    const fromEnvFile = Object.fromEntries((await readFile(join(repoRoot, 'manifests', 'install', 'agent.env'), 'utf8')).split('\n')
      .filter((l) => l.trim() && !l.trim().startsWith('#')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const env: Record<string, string> = { ...fromEnvFile };
    const sample: Record<string, string> = { 'spec.nodeName': 'node-7', 'status.podIP': '10.244.3.9' };
    for (const e of container.env ?? []) env[e.name] = e.value !== undefined ? e.value.replace(/\$\((\w+)\)/g, (_, v: string) => env[v] ?? '') : sample[e.valueFrom!.fieldRef!.fieldPath]!;
    const config = parseAgentConfig([], env);
    expect(config.nodeName).toBe('node-7');
    expect(config.listen).toBe(`10.244.3.9:${container.ports!.find((p) => p.name === 'grpc')!.containerPort}`);
    expect(config.maxJobs).toBe(2);
    expect(config.allowEndpoints).toEqual([]);
    expect(config.refuseCidrs).toEqual([]);
    const kubelet = container.volumeMounts!.find((m) => m.name === 'kubelet')!;
    expect(config.kubeletRoot).toBe(kubelet.mountPath);
    expect(spec.volumes!.find((v: Volume) => v.name === 'kubelet')!.hostPath!.path).toBe(kubelet.mountPath);
    const tls = container.volumeMounts!.find((m) => m.name === 'agent-tls')!;
    expect(config.tls).toEqual({ ca: `${tls.mountPath}/ca.crt`, cert: `${tls.mountPath}/tls.crt`, key: `${tls.mountPath}/tls.key` });
  });

  it('the DaemonSet\'s placeholder, the admission policy and the certificate script agree on the per-node Secret names', async () => {
    const ds = await manifest('install/agent-daemonset.yaml');
    const placeholder = podSpec(ds).volumes!.find((v) => v.name === 'agent-tls')!.secret!.secretName;
    const policy = await readFile(join(repoRoot, 'manifests', 'install', 'agent-tls-policy.yaml'), 'utf8');
    const script = await readFile(join(repoRoot, 'scripts', 'cairn-certs.sh'), 'utf8');
    expect(policy).toContain(`secretName: '${placeholder}-' + variables.node`);
    expect(script).toMatch(new RegExp(`^agent_prefix=${placeholder}-$`, 'm'));
    expect(script).toContain(`\ncoordinator_identity=${COORDINATOR_IDENTITY}\n`);
    expect(script).toContain(`\nagent_domain=${AGENT_DOMAIN}\n`);
  });
});
