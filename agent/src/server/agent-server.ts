// The gRPC server: mTLS only (a client certificate signed by the cluster CA is required; the
// service then checks it names the coordinator), keepalives on, bound to the node's address.
import { readFileSync } from 'node:fs';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { AgentService, type AgentServer } from '../../../common/src/generated/proto/agent.ts';

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

export async function startAgentServer(listen: string, tls: TlsFiles, service: AgentServer): Promise<RunningServer> {
  const server = new Server({
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    'grpc.max_concurrent_streams': 64,
  });
  server.addService(AgentService, service);
  const creds = ServerCredentials.createSsl(readFileSync(tls.ca), [{ cert_chain: readFileSync(tls.cert), private_key: readFileSync(tls.key) }], true);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(listen, creds, (err, p) => (err ? reject(err) : resolve(p))));
  return {
    port,
    close: () => new Promise<void>((resolve) => {
      const force = setTimeout(() => server.forceShutdown(), 5_000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    }),
  };
}
