// The agent's configuration, parsed once from flags (each also settable by environment).
import { parseArgs } from 'node:util';
import { isAbsolute, join, normalize } from 'node:path';
import { CairnError } from '../../common/src/errors.ts';
import { defaultPluginDirs } from './jobs/validate-job.ts';

export interface AgentConfig {
  nodeName: string;
  /** host:port to listen on (the node's pod IP in a cluster). */
  listen: string;
  kubeletRoot: string;
  tls: { ca: string; cert: string; key: string };
  maxJobs: number;
  pluginDirs: string[];
  /** "ip:port" storage endpoints allowed although private or local (admin allow-list). */
  allowEndpoints: string[];
  /** Refused CIDRs besides the built-in ones: the cluster's pod and service ranges. */
  refuseCidrs: string[];
  appRoot: string;
  bwrap: string;
  logLevel: string;
  /** Where Prometheus metrics are served: host:port (default: the --listen host, port 9444). */
  metricsAddress: string;
  /**
   * A folder the agent owns for the job processes' compile cache: emptied and refilled at start
   * (a restarted container finds its predecessor's there). Unset: a new temporary folder,
   * removed when the agent stops.
   */
  compileCacheDir?: string;
}

const usage = `cairn-agent --node-name NAME --listen HOST:PORT --tls-ca FILE --tls-cert FILE --tls-key FILE
  [--kubelet-root /var/lib/kubelet] [--max-jobs 2] [--plugin-dir kubernetes.io~csi ...]
  [--allow-endpoint IP:PORT ...] [--refuse-cidr CIDR ...] [--bwrap bwrap] [--log-level info]
  [--metrics-address HOST:PORT (default: the --listen host, port 9444)] [--compile-cache-dir DIR]`;

/** The host of `host:port` or `[v6]:port`, as it goes before a port again. */
function hostOf(listen: string): string {
  const v6 = /^(\[[^\]]+\]):\d+$/.exec(listen);
  if (v6) return v6[1]!;
  const i = listen.lastIndexOf(':');
  return i > 0 ? listen.slice(0, i) : '0.0.0.0';
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): AgentConfig {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: {
      'node-name': { type: 'string', default: env.CAIRN_NODE_NAME },
      listen: { type: 'string', default: env.CAIRN_LISTEN },
      'kubelet-root': { type: 'string', default: env.CAIRN_KUBELET_ROOT ?? '/var/lib/kubelet' },
      'tls-ca': { type: 'string', default: env.CAIRN_TLS_CA },
      'tls-cert': { type: 'string', default: env.CAIRN_TLS_CERT },
      'tls-key': { type: 'string', default: env.CAIRN_TLS_KEY },
      'max-jobs': { type: 'string', default: env.CAIRN_MAX_JOBS ?? '2' },
      'plugin-dir': { type: 'string', multiple: true },
      'allow-endpoint': { type: 'string', multiple: true },
      'refuse-cidr': { type: 'string', multiple: true },
      bwrap: { type: 'string', default: env.CAIRN_BWRAP ?? 'bwrap' },
      'log-level': { type: 'string', default: env.CAIRN_LOG_LEVEL ?? 'info' },
      'metrics-address': { type: 'string', default: env.CAIRN_METRICS_ADDRESS },
      'compile-cache-dir': { type: 'string', default: env.CAIRN_COMPILE_CACHE_DIR },
    },
  });
  const need = (k: string, v: string | undefined): string => {
    if (!v) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `--${k} is required\n${usage}`);
    return v;
  };
  const maxJobs = Number(values['max-jobs']);
  if (!Number.isInteger(maxJobs) || maxJobs < 1 || maxJobs > 64) throw new CairnError('CAIRN_E_INVALID_ARGUMENT', '--max-jobs must be an integer from 1 to 64');
  const nodeName = need('node-name', values['node-name']);
  const listen = need('listen', values.listen);
  const metricsAddress = values['metrics-address'] || `${hostOf(listen)}:9444`;
  if (!/^(\[[^\]]+\]|[^:[\]]+):\d{1,5}$/.test(metricsAddress) || Number(metricsAddress.slice(metricsAddress.lastIndexOf(':') + 1)) > 65_535) {
    throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `--metrics-address must be HOST:PORT or [IPv6]:PORT, got ${JSON.stringify(metricsAddress)}`);
  }
  return {
    nodeName,
    listen,
    kubeletRoot: values['kubelet-root'],
    tls: { ca: need('tls-ca', values['tls-ca']), cert: need('tls-cert', values['tls-cert']), key: need('tls-key', values['tls-key']) },
    maxJobs,
    pluginDirs: values['plugin-dir'] ?? [...defaultPluginDirs],
    allowEndpoints: values['allow-endpoint'] ?? (env.CAIRN_ALLOW_ENDPOINTS?.split(',').filter(Boolean) ?? []),
    refuseCidrs: values['refuse-cidr'] ?? (env.CAIRN_REFUSE_CIDRS?.split(',').filter(Boolean) ?? []),
    appRoot: join(import.meta.dirname, '..', '..'),
    bwrap: values.bwrap,
    logLevel: values['log-level'],
    metricsAddress,
    ...(values['compile-cache-dir'] ? { compileCacheDir: checkCacheDir(values['compile-cache-dir']) } : {}),
  };
}

/** The folder is emptied at start: refuse what could be someone else's. */
function checkCacheDir(dir: string): string {
  const bare = dir.replace(/\/+$/, '');
  if (!isAbsolute(dir) || normalize(bare) !== bare || bare.split('/').filter(Boolean).length < 2) {
    throw new CairnError('CAIRN_E_INVALID_ARGUMENT', `--compile-cache-dir must be an absolute, normalised path at least two levels deep (it is emptied at start), got ${JSON.stringify(dir)}`);
  }
  return bare;
}
