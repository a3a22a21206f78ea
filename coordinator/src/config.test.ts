import { describe, expect, it } from 'vitest';
import { isCairnError } from '../../common/src/errors.ts';
import { parseConfig, parseGoDuration, type ConfigIo } from './config.ts';

const tlsFlags = ['--tls-ca', '/tls/ca.crt', '--tls-cert', '/tls/tls.crt', '--tls-key', '/tls/tls.key'];
const files: Record<string, string> = { '/tls/ca.crt': '', '/tls/tls.crt': '', '/tls/tls.key': '', '/kube/config': '' };

function io(extra: Record<string, string> = {}): ConfigIo {
  const all = { ...files, ...extra };
  return {
    readFile: (p) => {
      if (!(p in all)) throw new Error(`ENOENT: no such file, open '${p}'`);
      return all[p]!;
    },
    exists: (p) => p in all,
  };
}

/** The CairnError message of a parse that must fail. */
function refusal(argv: string[], extra: Record<string, string> = {}, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(argv, env, io(extra));
  } catch (err) {
    expect(isCairnError(err, 'CAIRN_E_INVALID_ARGUMENT'), String(err)).toBe(true);
    return (err as Error).message;
  }
  throw new Error(`parseConfig accepted ${argv.join(' ')}`);
}

describe('parseConfig', () => {
  it('needs only the admin namespace and the TLS files; everything else has a default', () => {
    expect(parseConfig(['--admin-namespace', 'cairn-system', ...tlsFlags], {}, io())).toEqual({
      watchNamespaces: [], adminNamespace: 'cairn-system', provisioners: [], allowEndpoints: [], podCidrs: [], serviceCidrs: [],
      clusterUid: { source: 'namespace', namespace: 'kube-system' }, jobLimits: { perNode: 2, perTenant: 2 },
      defaultSyncPeriodMs: 60_000, defaultBackupTtlMs: 720 * 3_600_000, agentPort: 9443,
      agentDaemonSet: 'cairn-agent', agentNamespace: 'cairn-system', helperImage: 'registry.k8s.io/pause:3.10', syncedBackupLimit: 1_000, leaseName: 'cairn-coordinator',
      tls: { ca: '/tls/ca.crt', cert: '/tls/tls.crt', key: '/tls/tls.key' }, logLevel: 'info', kubeconfig: undefined,
      metricsAddress: '0.0.0.0:9090',
    });
  });

  it('reads every setting from the --config YAML file', () => {
    const yaml = `
watchNamespaces: ["team-*", "!team-secret"]
adminNamespace: cairn-system
provisioners: [ebs.csi.aws.com, kubernetes.io/aws-ebs]
allowEndpoints: ["10.0.0.5:9000", "[FD00::1]:443"]
podCidrs: [10.244.0.0/16]
serviceCidrs: [10.96.0.0/12, "fd00:10:96::/112"]
clusterUid: value:3f1c2a9e-0000-4000-8000-000000000001
jobLimits: { perNode: 4, perTenant: 1 }
syncPeriod: 90s
backupTtl: 168h
agentPort: 10443
agentDaemonSet: agents
agentNamespace: cairn-agents
helperImage: registry.example.com/pause:3.10
syncedBackupLimit: 50
leaseName: cairn-leader
tls: { ca: /tls/ca.crt, cert: /tls/tls.crt, key: /tls/tls.key }
logLevel: debug
kubeconfig: /kube/config
metricsAddress: "[::]:9100"
`;
    expect(parseConfig(['--config', '/etc/cairn/config.yaml'], {}, io({ '/etc/cairn/config.yaml': yaml }))).toEqual({
      watchNamespaces: ['team-*', '!team-secret'], adminNamespace: 'cairn-system', provisioners: ['ebs.csi.aws.com', 'kubernetes.io/aws-ebs'],
      allowEndpoints: ['10.0.0.5:9000', '[fd00::1]:443'], podCidrs: ['10.244.0.0/16'], serviceCidrs: ['10.96.0.0/12', 'fd00:10:96::/112'],
      clusterUid: { source: 'value', uid: '3f1c2a9e-0000-4000-8000-000000000001' }, jobLimits: { perNode: 4, perTenant: 1 },
      defaultSyncPeriodMs: 90_000, defaultBackupTtlMs: 168 * 3_600_000, agentPort: 10443,
      agentDaemonSet: 'agents', agentNamespace: 'cairn-agents', helperImage: 'registry.example.com/pause:3.10', syncedBackupLimit: 50, leaseName: 'cairn-leader',
      tls: { ca: '/tls/ca.crt', cert: '/tls/tls.crt', key: '/tls/tls.key' }, logLevel: 'debug', kubeconfig: '/kube/config',
      metricsAddress: '[::]:9100',
    });
  });

  it('a flag wins over the file, and a list flag (repeated or comma-separated) replaces the file list', () => {
    const yaml = 'adminNamespace: from-file\nwatchNamespaces: [team-*]\njobLimits: { perNode: 4 }\n';
    const c = parseConfig(['--config', '/c.yaml', '--admin-namespace', 'from-flag', '--watch-namespace', 'a-*,b-*', '--watch-namespace', '!b-x', '--jobs-per-node', '8', ...tlsFlags], {}, io({ '/c.yaml': yaml }));
    expect(c.adminNamespace).toBe('from-flag');
    expect(c.watchNamespaces).toEqual(['a-*', 'b-*', '!b-x']);
    expect(c.jobLimits).toEqual({ perNode: 8, perTenant: 2 });
  });

  it('takes the admin namespace from POD_NAMESPACE (downward API) when neither flag nor file sets it', () => {
    expect(parseConfig(tlsFlags, { POD_NAMESPACE: 'cairn-system' }, io()).adminNamespace).toBe('cairn-system');
    expect(refusal(tlsFlags)).toContain('adminNamespace is required');
  });

  it('errors name the field, where it came from, and what is allowed', () => {
    const base = ['--admin-namespace', 'cairn-system', ...tlsFlags];
    expect(refusal([...base, '--watch-namespace', 'Team-*'])).toMatch(/watchNamespaces \(--watch-namespace\).*"Team-\*" is not a namespace glob/);
    expect(refusal([...base, '--allow-endpoint', 'minio.example.com:9000'])).toMatch(/allowEndpoints \(--allow-endpoint\) entry "minio.example.com:9000" must be IP:PORT/);
    expect(refusal([...base, '--allow-endpoint', '10.0.0.5:99999'])).toContain('allowEndpoints');
    expect(refusal([...base, '--pod-cidr', '10.244.0.0'])).toMatch(/podCidrs \(--pod-cidr\) entry "10.244.0.0" is not a CIDR/);
    expect(refusal([...base, '--service-cidr', '10.96.0.0/33'])).toContain('serviceCidrs');
    expect(refusal([...base, '--jobs-per-node', '0'])).toMatch(/jobLimits.perNode \(--jobs-per-node\) must be an integer from 1 to 64, got "0"/);
    expect(refusal([...base, '--sync-period', '1d'])).toMatch(/syncPeriod \(--sync-period\) must be a Go duration/);
    expect(refusal([...base, '--log-level', 'loud'])).toMatch(/logLevel \(--log-level\) must be one of fatal, error/);
    expect(refusal([...base, '--cluster-uid', 'kube-system'])).toMatch(/clusterUid \(--cluster-uid\) must be namespace:NAME/);
    expect(refusal([...base, '--allow-provisioner', 'bad name'])).toContain('provisioners');
    expect(refusal(['--admin-namespace', 'Cairn', ...tlsFlags])).toMatch(/adminNamespace \(--admin-namespace\) must be a namespace name/);
    expect(refusal([...base, '--metrics-address', 'localhost:9090'])).toMatch(/metricsAddress \(--metrics-address\) must be IP:PORT or \[IPv6\]:PORT/);
    expect(refusal([...base, '--metrics-address', '0.0.0.0:70000'])).toContain('metricsAddress');
    expect(parseConfig([...base, '--metrics-address', '127.0.0.1:0'], {}, io()).metricsAddress).toBe('127.0.0.1:0');
  });

  it('names the file for errors that come from it: a typo in a key, a wrong type, bad YAML', () => {
    const argv = ['--config', '/c.yaml', ...tlsFlags];
    expect(refusal(argv, { '/c.yaml': 'adminNamespace: x\nwatchNamespace: [team-*]\n' })).toMatch(/unknown setting watchNamespace in \/c.yaml; known settings: .*watchNamespaces/);
    expect(refusal(argv, { '/c.yaml': 'adminNamespace: x\njobLimits: { perNodes: 3 }\n' })).toMatch(/unknown setting jobLimits.perNodes in \/c.yaml; jobLimits has perNode, perTenant/);
    expect(refusal(argv, { '/c.yaml': 'adminNamespace: x\njobLimits: { perNode: three }\n' })).toMatch(/jobLimits.perNode \(in \/c.yaml\) must be an integer/);
    expect(refusal(argv, { '/c.yaml': 'adminNamespace: x\nwatchNamespaces: team-*\n' })).toMatch(/watchNamespaces \(in \/c.yaml\) must be a list/);
    expect(refusal(argv, { '/c.yaml': 'adminNamespace: [x\n' })).toMatch(/\/c.yaml is not valid YAML/);
    expect(refusal(['--config', '/missing.yaml', ...tlsFlags])).toMatch(/cannot read --config \/missing.yaml/);
  });

  it('refuses unknown flags, missing TLS settings and files that do not exist', () => {
    expect(refusal(['--admin-namespace', 'x', '--watch-namespaces', 'a', ...tlsFlags])).toContain("Unknown option '--watch-namespaces'");
    expect(refusal(['--admin-namespace', 'x', '--tls-ca', '/tls/ca.crt', '--tls-cert', '/tls/tls.crt'])).toContain('tls.key is required');
    expect(refusal(['--admin-namespace', 'x', '--tls-ca', '/nope/ca.crt', '--tls-cert', '/tls/tls.crt', '--tls-key', '/tls/tls.key'])).toMatch(/tls.ca \(--tls-ca\) names \/nope\/ca.crt, which does not exist/);
  });
});

describe('parseGoDuration', () => {
  it('reads Go durations in milliseconds', () => {
    expect(parseGoDuration('720h')).toBe(720 * 3_600_000);
    expect(parseGoDuration('1h30m')).toBe(5_400_000);
    expect(parseGoDuration('1.5h')).toBe(5_400_000);
    expect(parseGoDuration('90s')).toBe(90_000);
    expect(parseGoDuration('250ms')).toBe(250);
    expect(parseGoDuration('0')).toBe(0);
  });

  it('refuses what Go refuses or the API does not allow', () => {
    for (const s of ['', '1d', '3 days', '-5m', '5', 'h', '1h 30m', '1.h.5']) expect(parseGoDuration(s), s).toBeUndefined();
  });
});
