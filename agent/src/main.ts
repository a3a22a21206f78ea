// The agent binary: parse config once, build the parts, serve, stop on SIGTERM.
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../common/src/logger.ts';
import { parseConfig } from './config.ts';
import { AgentMetrics } from './metrics/agent-metrics.ts';
import { startMetricsServer } from '../../common/src/metrics-server.ts';
import { createAgentService } from './server/agent-service.ts';
import { startAgentServer } from './server/agent-server.ts';

const config = parseConfig(process.argv.slice(2), process.env);
const version = (JSON.parse(readFileSync(join(config.appRoot, 'agent', 'package.json'), 'utf8')) as { version: string }).version;
const logger = createLogger({ component: 'agent', node: config.nodeName, level: config.logLevel });
const { service, book, compileCache } = createAgentService({
  nodeName: config.nodeName, version, kubeletRoot: config.kubeletRoot, appRoot: config.appRoot, maxJobs: config.maxJobs,
  pluginDirs: config.pluginDirs, ...(config.compileCacheDir ? { compileCacheDir: config.compileCacheDir } : {}), addressPolicy: { allow: new Set(config.allowEndpoints), refusedCidrs: config.refuseCidrs }, bwrap: config.bwrap, logger,
});
// Metrics (docs/operations.md "Monitoring"): counted from the status book and the service's
// refusals. Never fatal: an address in use is logged and the agent serves jobs without /metrics.
const metrics = new AgentMetrics({ node: config.nodeName, maxJobs: config.maxJobs });
metrics.observeBook(book);
const server = await startAgentServer(config.listen, config.tls, metrics.observeService(service));
logger.info({ listen: config.listen, port: server.port, maxJobs: config.maxJobs }, 'agent serving');
const metricsServer = await startMetricsServer(config.metricsAddress, metrics, (err) => logger.warn({ err }, 'collecting metrics failed'))
  .then((m) => {
    logger.info({ address: m.address }, 'metrics serving');
    return m;
  }, (err: unknown) => {
    logger.error({ err, address: config.metricsAddress }, 'the metrics server could not listen; running without /metrics');
    return undefined;
  });
const stop = async (signal: string) => {
  logger.info({ signal }, 'stopping');
  await metricsServer?.close();
  await server.close();
  // A temporary cache goes with the agent; an owned folder is emptied at the next start.
  const cache = await compileCache;
  if (cache && !config.compileCacheDir) await rm(cache, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
