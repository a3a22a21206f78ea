// The one pino factory: base fields {component, node}, child loggers per job, and redaction of
// anything that looks like a credential (Secret values already print as "[redacted]").
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

const redactPaths = [
  '*.secretAccessKey', '*.accessKeyId', '*.sessionToken', '*.password', '*.token', '*.encryptionKey', '*.key',
  'credentials', '*.credentials', 'authorization', '*.authorization', '*.headers.authorization',
];

export interface LoggerOptions {
  component: string;
  node?: string;
  level?: string;
  destination?: DestinationStream;
}

export function createLogger(o: LoggerOptions): Logger {
  return pino(
    { level: o.level ?? process.env.CAIRN_LOG_LEVEL ?? 'info', base: { component: o.component, ...(o.node ? { node: o.node } : {}) }, redact: { paths: redactPaths, censor: '[redacted]' } },
    o.destination,
  );
}

/** A child logger for one job: every line carries namespace, owner and volume. */
export function jobLogger(parent: Logger, job: { namespace: string; name: string; volume?: string; jobId?: string }): Logger {
  return parent.child(job);
}
