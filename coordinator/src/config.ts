// The coordinator's configuration, parsed once at start-up (CONVENTIONS: wiring in main.ts) from
// a YAML file (a mounted ConfigMap, `--config`) and flags. A flag wins over the file, the file
// over the defaults; a list given as a flag replaces the file's list. Every error names the field,
// where it came from, and what is allowed. Reference: docs/coordinator.md.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { CairnError } from '../../common/src/errors.ts';
import { validateNamespacePattern } from './runtime/namespace-filter.ts';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export type ClusterUidSource = { source: 'namespace'; namespace: string } | { source: 'value'; uid: string };

export interface CoordinatorConfig {
  /** Namespace globs, `!` for exclusions; the admin namespace is always watched besides. */
  watchNamespaces: string[];
  /** The coordinator's own namespace, the only one where a Backup may name other namespaces. */
  adminNamespace: string;
  /** Dynamic provisioners (pv.kubernetes.io/provisioned-by) whose PVs are accepted unlabelled. */
  provisioners: string[];
  /** `ip:port` (`[ipv6]:port`) storage endpoints allowed although private or local. */
  allowEndpoints: string[];
  podCidrs: string[];
  serviceCidrs: string[];
  /** Where the cluster UID (part of a volume lineage) comes from. */
  clusterUid: ClusterUidSource;
  jobLimits: { perNode: number; perTenant: number };
  /** A BackupStorageLocation's sync period when its spec.syncPeriod is absent. */
  defaultSyncPeriodMs: number;
  /** A Backup's ttl when its spec.ttl is absent. */
  defaultBackupTtlMs: number;
  /** The port the node agents serve gRPC on. */
  agentPort: number;
  /** The agent DaemonSet: its pods are the agents. */
  agentDaemonSet: string;
  /** The namespace of the agent DaemonSet; the admin namespace by default. */
  agentNamespace: string;
  /** Image of Cairn's helper pods (a pause container). */
  helperImage: string;
  /** At most this many Backups per BackupStorageLocation are created by the sync from its bucket. */
  syncedBackupLimit: number;
  /** The Lease in the admin namespace that elects the active coordinator. */
  leaseName: string;
  /** The coordinator's mTLS identity towards the agents, and the CA that signs agent certificates. */
  tls: { ca: string; cert: string; key: string };
  logLevel: LogLevel;
  /** Absent: the in-cluster service account. */
  kubeconfig: string | undefined;
  /** Where Prometheus metrics are served (`IP:PORT`; port 0: any free one). */
  metricsAddress: string;
}

export interface ConfigIo {
  readFile: (path: string) => string;
  exists: (path: string) => boolean;
}

const defaultIo: ConfigIo = { readFile: (p) => readFileSync(p, 'utf8'), exists: existsSync };

export const usage = `cairn-coordinator [--config FILE] [--admin-namespace NS] [--watch-namespace GLOB ...]
  [--allow-provisioner NAME ...] [--allow-endpoint IP:PORT ...] [--pod-cidr CIDR ...] [--service-cidr CIDR ...]
  [--cluster-uid namespace:NAME|value:UID] [--jobs-per-node N] [--jobs-per-tenant N]
  [--sync-period DURATION] [--backup-ttl DURATION] [--agent-port PORT] [--agent-daemonset NAME] [--agent-namespace NS]
  [--helper-image IMAGE] [--synced-backup-limit N] [--lease-name NAME]
  --tls-ca FILE --tls-cert FILE --tls-key FILE [--log-level LEVEL] [--kubeconfig FILE]
  [--metrics-address IP:PORT]
List flags repeat or take comma-separated values. See docs/coordinator.md.`;

/** Each setting: its YAML path, its flag, and whether the flag repeats. */
const fields = {
  watchNamespaces: { flag: 'watch-namespace', list: true },
  adminNamespace: { flag: 'admin-namespace', list: false },
  provisioners: { flag: 'allow-provisioner', list: true },
  allowEndpoints: { flag: 'allow-endpoint', list: true },
  podCidrs: { flag: 'pod-cidr', list: true },
  serviceCidrs: { flag: 'service-cidr', list: true },
  clusterUid: { flag: 'cluster-uid', list: false },
  'jobLimits.perNode': { flag: 'jobs-per-node', list: false },
  'jobLimits.perTenant': { flag: 'jobs-per-tenant', list: false },
  syncPeriod: { flag: 'sync-period', list: false },
  backupTtl: { flag: 'backup-ttl', list: false },
  agentPort: { flag: 'agent-port', list: false },
  agentDaemonSet: { flag: 'agent-daemonset', list: false },
  agentNamespace: { flag: 'agent-namespace', list: false },
  helperImage: { flag: 'helper-image', list: false },
  syncedBackupLimit: { flag: 'synced-backup-limit', list: false },
  leaseName: { flag: 'lease-name', list: false },
  'tls.ca': { flag: 'tls-ca', list: false },
  'tls.cert': { flag: 'tls-cert', list: false },
  'tls.key': { flag: 'tls-key', list: false },
  logLevel: { flag: 'log-level', list: false },
  kubeconfig: { flag: 'kubeconfig', list: false },
  metricsAddress: { flag: 'metrics-address', list: false },
} as const;
type Field = keyof typeof fields;

/** A raw value and where it came from, for error messages. */
interface Raw {
  value: unknown;
  from: string;
}

function fail(field: Field, from: string, what: string): never {
  throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `config: ${field} (${from}) ${what}`);
}

// Go durations: "720h", "1h30m", "90s", "1.5h"; no sign, no days (docs/api.md "duration").
const durationUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const durationPart = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** A Go duration in milliseconds (rounded), or undefined when `s` is not one. */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  if (s.length === 0) return undefined;
  let total = 0;
  durationPart.lastIndex = 0;
  while (durationPart.lastIndex < s.length) {
    const m = durationPart.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * durationUnits[m[2]!]!;
  }
  return Math.round(total);
}

function readFile(path: string, io: ConfigIo): Record<string, unknown> {
  let text: string;
  try {
    text = io.readFile(path);
  } catch (err) {
    throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `config: cannot read --config ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `config: ${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `config: ${path} must be a YAML mapping of settings`);
  return doc as Record<string, unknown>;
}

/** The file's settings by dotted path; an unknown key (a typo) is an error naming it. */
function flatten(doc: Record<string, unknown>, path: string): Map<Field, Raw> {
  const out = new Map<Field, Raw>();
  const nested = new Set(['jobLimits', 'tls']);
  const known = new Set<string>(['syncPeriod', 'backupTtl', ...Object.keys(fields)]);
  for (const [k, v] of Object.entries(doc)) {
    if (nested.has(k)) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `config: ${k} (in ${path}) must be a mapping`);
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) {
        const key = `${k}.${k2}`;
        if (!known.has(key)) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `config: unknown setting ${key} in ${path}; ${k} has ${[...known].filter((x) => x.startsWith(`${k}.`)).map((x) => x.slice(k.length + 1)).join(', ')}`);
        out.set(key as Field, { value: v2, from: `in ${path}` });
      }
    } else if (known.has(k) && !k.includes('.')) {
      out.set(k as Field, { value: v, from: `in ${path}` });
    } else {
      throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `config: unknown setting ${k} in ${path}; known settings: ${[...known].join(', ')}`);
    }
  }
  return out;
}

function parseFlags(argv: string[]): { config: string | undefined; values: Map<Field, Raw> } {
  const options: Record<string, { type: 'string'; multiple?: boolean }> = { config: { type: 'string' } };
  for (const f of Object.values(fields)) options[f.flag] = { type: 'string', multiple: f.list };
  let parsed: { values: Record<string, string | string[] | boolean | boolean[] | undefined> };
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `config: ${(err as Error).message}\n${usage}`);
  }
  const values = new Map<Field, Raw>();
  for (const [field, f] of Object.entries(fields) as [Field, (typeof fields)[Field]][]) {
    const v = parsed.values[f.flag];
    if (v === undefined) continue;
    const value = f.list ? (v as string[]).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean) : v;
    values.set(field, { value, from: `--${f.flag}` });
  }
  return { config: parsed.values.config as string | undefined, values };
}

function str(field: Field, r: Raw | undefined, dflt?: string): string | undefined {
  if (r === undefined) return dflt;
  if (typeof r.value === 'number') return String(r.value);
  if (typeof r.value !== 'string' || r.value.length === 0) fail(field, r.from, 'must be a non-empty string');
  return r.value;
}

function list(field: Field, r: Raw | undefined): string[] {
  if (r === undefined) return [];
  if (!Array.isArray(r.value) || r.value.some((x) => typeof x !== 'string' || x.length === 0)) fail(field, r.from, 'must be a list of non-empty strings');
  return r.value as string[];
}

function int(field: Field, r: Raw | undefined, dflt: number, min: number, max: number): number {
  if (r === undefined) return dflt;
  const n = typeof r.value === 'number' ? r.value : typeof r.value === 'string' && /^\d+$/.test(r.value) ? Number(r.value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) fail(field, r.from, `must be an integer from ${min} to ${max}, got ${JSON.stringify(r.value)}`);
  return n;
}

function name(field: Field, r: Raw | undefined, dflt: string): string {
  const s = str(field, r, dflt)!;
  if (!dnsLabel.test(s)) fail(field, r!.from, `must be a DNS-1123 label (lowercase letters, digits, '-'), got ${JSON.stringify(s)}`);
  return s;
}

function duration(field: Field, r: Raw | undefined, dflt: string): number {
  const s = str(field, r, dflt)!;
  const ms = parseGoDuration(s);
  if (ms === undefined || ms < 1_000) fail(field, r?.from ?? 'default', `must be a Go duration of at least 1s, such as 30s, 5m or 720h; got ${JSON.stringify(s)}`);
  return ms;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const provisionerName = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,252})$/;

function endpoint(field: Field, from: string, s: string): string {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:[\]]+):(\d+)$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  const host = m?.[1] ?? '';
  const family = isIP(host);
  if (!m || family === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    fail(field, from, `entry ${JSON.stringify(s)} must be IP:PORT or [IPv6]:PORT: the address a storage endpoint resolves to, as the agents' --allow-endpoint (a name could resolve elsewhere later)`);
  }
  const canonical = family === 6 ? new URL(`http://[${host}]/`).hostname : host;
  return `${canonical}:${port}`;
}

function cidr(field: Field, from: string, s: string): string {
  const [addr, bits, extra] = s.split('/');
  const family = isIP(addr ?? '');
  const n = Number(bits);
  if (extra !== undefined || family === 0 || bits === undefined || !/^\d+$/.test(bits) || n > (family === 4 ? 32 : 128)) {
    fail(field, from, `entry ${JSON.stringify(s)} is not a CIDR such as 10.244.0.0/16 or fd00:10::/56`);
  }
  return s;
}

function clusterUid(r: Raw | undefined): ClusterUidSource {
  const s = str('clusterUid', r, 'namespace:kube-system')!;
  const [kind, ...rest] = s.split(':');
  const v = rest.join(':');
  if (kind === 'namespace' && dnsLabel.test(v)) return { source: 'namespace', namespace: v };
  if (kind === 'value' && /^[A-Za-z0-9-]{1,128}$/.test(v)) return { source: 'value', uid: v };
  return fail('clusterUid', r?.from ?? 'default', `must be namespace:NAME (the uid of that namespace, kube-system by default) or value:UID (letters, digits, '-'); got ${JSON.stringify(s)}`);
}

/** A listen address: IP:PORT or [IPv6]:PORT, port 0 to 65535 (0: any free port). */
function listenAddress(field: Field, r: Raw | undefined, dflt: string): string {
  const s = str(field, r, dflt)!;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:[\]]+):(\d+)$/.exec(s);
  if (!m || isIP(m[1]!) === 0 || Number(m[2]) > 65_535) fail(field, r?.from ?? 'default', `must be IP:PORT or [IPv6]:PORT to listen on, such as 0.0.0.0:9090; got ${JSON.stringify(s)}`);
  return s;
}

/** Parses flags and the `--config` file; throws CAIRN_E_INVALID_ARGUMENT naming the field. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = {}, io: ConfigIo = defaultIo): CoordinatorConfig {
  const flags = parseFlags(argv);
  const raw = flags.config ? flatten(readFile(flags.config, io), flags.config) : new Map<Field, Raw>();
  for (const [k, v] of flags.values) raw.set(k, v);
  if (!raw.has('adminNamespace') && env.POD_NAMESPACE) raw.set('adminNamespace', { value: env.POD_NAMESPACE, from: 'env POD_NAMESPACE' });

  const adminNamespace = str('adminNamespace', raw.get('adminNamespace'));
  if (!adminNamespace) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `config: adminNamespace is required (--admin-namespace, the file's adminNamespace, or env POD_NAMESPACE from the downward API)\n${usage}`);
  if (!dnsLabel.test(adminNamespace)) fail('adminNamespace', raw.get('adminNamespace')!.from, `must be a namespace name, got ${JSON.stringify(adminNamespace)}`);

  const watchNamespaces = list('watchNamespaces', raw.get('watchNamespaces'));
  for (const p of watchNamespaces) validateNamespacePattern(p, `config: watchNamespaces (${raw.get('watchNamespaces')!.from})`);

  const provisioners = list('provisioners', raw.get('provisioners'));
  for (const p of provisioners) if (!provisionerName.test(p)) fail('provisioners', raw.get('provisioners')!.from, `entry ${JSON.stringify(p)} is not a provisioner name such as ebs.csi.aws.com`);

  const tls = (['ca', 'cert', 'key'] as const).map((k) => {
    const field = `tls.${k}` as const;
    const r = raw.get(field);
    const path = str(field, r);
    if (!path) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `config: ${field} is required (--${fields[field].flag} or tls.${k} in the file): the coordinator's mTLS identity towards the agents\n${usage}`);
    if (!io.exists(path)) fail(field, r!.from, `names ${path}, which does not exist`);
    return path;
  });

  const logLevel = str('logLevel', raw.get('logLevel'), 'info')!;
  if (!(logLevels as readonly string[]).includes(logLevel)) fail('logLevel', raw.get('logLevel')!.from, `must be one of ${logLevels.join(', ')}, got ${JSON.stringify(logLevel)}`);

  const kubeconfig = str('kubeconfig', raw.get('kubeconfig'));
  if (kubeconfig && !io.exists(kubeconfig)) fail('kubeconfig', raw.get('kubeconfig')!.from, `names ${kubeconfig}, which does not exist`);

  return {
    watchNamespaces,
    adminNamespace,
    provisioners,
    allowEndpoints: list('allowEndpoints', raw.get('allowEndpoints')).map((e) => endpoint('allowEndpoints', raw.get('allowEndpoints')!.from, e)),
    podCidrs: list('podCidrs', raw.get('podCidrs')).map((c) => cidr('podCidrs', raw.get('podCidrs')!.from, c)),
    serviceCidrs: list('serviceCidrs', raw.get('serviceCidrs')).map((c) => cidr('serviceCidrs', raw.get('serviceCidrs')!.from, c)),
    clusterUid: clusterUid(raw.get('clusterUid')),
    jobLimits: {
      perNode: int('jobLimits.perNode', raw.get('jobLimits.perNode'), 2, 1, 64),
      perTenant: int('jobLimits.perTenant', raw.get('jobLimits.perTenant'), 2, 1, 1_000),
    },
    defaultSyncPeriodMs: duration('syncPeriod', raw.get('syncPeriod'), '1m'),
    defaultBackupTtlMs: duration('backupTtl', raw.get('backupTtl'), '720h'),
    agentPort: int('agentPort', raw.get('agentPort'), 9443, 1, 65_535),
    agentDaemonSet: name('agentDaemonSet', raw.get('agentDaemonSet'), 'cairn-agent'),
    agentNamespace: name('agentNamespace', raw.get('agentNamespace'), adminNamespace),
    helperImage: str('helperImage', raw.get('helperImage'), 'registry.k8s.io/pause:3.10')!,
    syncedBackupLimit: int('syncedBackupLimit', raw.get('syncedBackupLimit'), 1_000, 0, 100_000),
    leaseName: name('leaseName', raw.get('leaseName'), 'cairn-coordinator'),
    tls: { ca: tls[0]!, cert: tls[1]!, key: tls[2]! },
    logLevel: logLevel as LogLevel,
    kubeconfig,
    metricsAddress: listenAddress('metricsAddress', raw.get('metricsAddress'), '0.0.0.0:9090'),
  };
}
