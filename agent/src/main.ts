// The agent binary: parse config once, build the parts, serve, stop on SIGTERM.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../common/src/logger.ts';
import { parseConfig } from './config.ts';
import { createAgentService } from './server/agent-service.ts';
import { startAgentServer } from './server/agent-server.ts';

const config = parseConfig(process.argv.slice(2), process.env);
const version = (JSON.parse(readFileSync(join(config.appRoot, 'agent', 'package.json'), 'utf8')) as { version: string }).version;
const logger = createLogger({ component: 'agent', node: config.nodeName, level: config.logLevel });
const { service } = createAgentService({
  nodeName: config.nodeName, version, kubeletRoot: config.kubeletRoot, appRoot: config.appRoot, maxJobs: config.maxJobs,
  pluginDirs: config.pluginDirs, addressPolicy: { allow: new Set(config.allowEndpoints), refusedCidrs: config.refuseCidrs }, bwrap: config.bwrap, logger,
});
const server = await startAgentServer(config.listen, config.tls, service);
logger.info({ listen: config.listen, port: server.port, maxJobs: config.maxJobs }, 'agent serving');
const stop = async (signal: string) => {
  logger.info({ signal }, 'stopping');
  await server.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
