// The coordinator's client for one node's agent: mTLS with the coordinator's certificate, and the
// agent's certificate must name exactly the node dialled (one identity per node, so an agent
// cannot answer for another). Job streams become typed outcomes; refusals and broken calls
// become CairnErrors with the agent's CAIRN_E_* code.
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { Metadata, credentials, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { CairnError, errorCodes, type ErrorCode } from '../errors.ts';
import { agentIdentity, dnsNames } from '../agent-identity.ts';
import { AgentClient, type BackupJob, type JobEvent, type NodeStatusReply, type RestoreJob } from '../generated/proto/agent.ts';

export interface AgentTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export interface JobHooks {
  signal?: AbortSignal;
  onProgress?: (p: Extract<JobEvent['event'], { $case: 'progress' }>['value']) => void;
  onWarning?: (w: Extract<JobEvent['event'], { $case: 'warning' }>['value']) => void;
  onAccepted?: (a: Extract<JobEvent['event'], { $case: 'accepted' }>['value']) => void;
  /** Deadline of the whole job (default 24 h). */
  deadlineMs?: number;
}

export type JobResult = Extract<JobEvent['event'], { $case: 'result' }>['value'];

function knownCode(code: unknown): ErrorCode | undefined {
  return typeof code === 'string' && code in errorCodes ? (code as ErrorCode) : undefined;
}

function fromServiceError(err: ServiceError, node: string, identityRefused: boolean): CairnError {
  if (identityRefused) return new CairnError('CAIRN_E_AUTH', `the agent at the address of ${node} presented a certificate that does not name ${agentIdentity(node)}`);
  const trailer = knownCode(err.metadata?.get('cairn-error-code')[0]?.toString());
  if (trailer) return new CairnError(trailer, `agent on ${node}: ${err.details}`);
  if (err.code === status.CANCELLED) return new CairnError('CAIRN_E_ABORTED', `job on ${node} was cancelled`);
  if (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED) return new CairnError('CAIRN_E_AGENT_UNAVAILABLE', `agent on ${node} is unreachable: ${err.details}`);
  if (err.code === status.UNAUTHENTICATED || err.code === status.PERMISSION_DENIED) return new CairnError('CAIRN_E_AUTH', `agent on ${node} refused the coordinator: ${err.details}`);
  return new CairnError('CAIRN_E_INTERNAL', `agent on ${node}: ${err.details}`);
}

export class AgentConnection {
  readonly node: string;
  private readonly client: AgentClient;
  /** Set when the peer's certificate named another identity: an impersonation, not an outage. */
  private identityRefused = false;

  constructor(node: string, address: string, tls: AgentTls) {
    this.node = node;
    const expected = agentIdentity(node);
    const creds = credentials.createSsl(tls.ca, tls.key, tls.cert, {
      checkServerIdentity: (_host: string, cert: PeerCertificate) => {
        const err = dnsNames(cert.subjectaltname).includes(expected) ? checkServerIdentity(expected, cert) : new Error(`the agent at ${address} is not ${expected}`);
        if (err) this.identityRefused = true;
        return err;
      },
    });
    this.client = new AgentClient(address, creds, {
      'grpc.ssl_target_name_override': expected,
      'grpc.default_authority': expected,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
    });
  }

  backup(job: BackupJob, hooks: JobHooks = {}): Promise<JobResult> {
    return this.stream(this.client.backup(job, { deadline: Date.now() + (hooks.deadlineMs ?? 24 * 3600_000) }), hooks);
  }

  restore(job: RestoreJob, hooks: JobHooks = {}): Promise<JobResult> {
    return this.stream(this.client.restore(job, { deadline: Date.now() + (hooks.deadlineMs ?? 24 * 3600_000) }), hooks);
  }

  nodeStatus(timeoutMs = 10_000): Promise<NodeStatusReply> {
    return new Promise((resolve, reject) => {
      this.client.nodeStatus({ intervalMs: 0 }, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, r) => (err ? reject(fromServiceError(err, this.node, this.identityRefused)) : resolve(r)));
    });
  }

  /** Status now and then every `intervalMs` until the signal aborts; resolves when the stream ends. */
  watchNodeStatus(intervalMs: number, onStatus: (s: NodeStatusReply) => void, signal: AbortSignal): Promise<void> {
    const call = this.client.watchNodeStatus({ intervalMs });
    const onAbort = () => call.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    return new Promise<void>((resolve, reject) => {
      call.on('data', onStatus);
      call.on('error', (err: ServiceError) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) resolve();
        else reject(fromServiceError(err, this.node, this.identityRefused));
      });
      call.on('end', () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  close(): void {
    this.client.close();
  }

  private stream(call: ClientReadableStream<JobEvent>, hooks: JobHooks): Promise<JobResult> {
    return new Promise<JobResult>((resolve, reject) => {
      let result: JobResult | undefined;
      const onAbort = () => call.cancel();
      hooks.signal?.addEventListener('abort', onAbort, { once: true });
      const done = (fn: () => void) => {
        hooks.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      call.on('data', (e: JobEvent) => {
        const ev = e.event;
        if (!ev) return;
        if (ev.$case === 'accepted') hooks.onAccepted?.(ev.value);
        else if (ev.$case === 'progress') hooks.onProgress?.(ev.value);
        else if (ev.$case === 'warning') hooks.onWarning?.(ev.value);
        else result = ev.value;
      });
      call.on('error', (err: ServiceError) => done(() => reject(hooks.signal?.aborted ? new CairnError('CAIRN_E_ABORTED', `job on ${this.node} was cancelled`) : fromServiceError(err, this.node, this.identityRefused))));
      call.on('end', () => done(() => (result ? resolve(result) : reject(new CairnError('CAIRN_E_AGENT_UNAVAILABLE', `the job stream from ${this.node} ended without a result`)))));
    });
  }
}
