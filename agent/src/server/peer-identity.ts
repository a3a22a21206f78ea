// The agent serves only the coordinator: the TLS layer already requires a client certificate
// signed by the cluster CA; this checks that it names the coordinator, not an agent or anyone else.
import { Metadata, status } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';

interface WithAuthContext {
  getAuthContext(): { transportSecurityType?: string; sslPeerCertificate?: PeerCertificate };
}
import { COORDINATOR_IDENTITY, dnsNames } from '../../../common/src/agent-identity.ts';

export function peerIsCoordinator(call: WithAuthContext): boolean {
  const ctx = call.getAuthContext();
  if (ctx.transportSecurityType !== 'ssl' || !ctx.sslPeerCertificate) return false;
  return dnsNames(ctx.sslPeerCertificate.subjectaltname).includes(COORDINATOR_IDENTITY);
}

/** Trailing metadata carrying a CAIRN_E_* code for a call refused before it started. */
export function errorTrailer(code: string): Metadata {
  const m = new Metadata();
  m.set('cairn-error-code', code);
  return m;
}

export const denied = { code: status.PERMISSION_DENIED, details: `only ${COORDINATOR_IDENTITY} may call the agent`, metadata: errorTrailer('CAIRN_E_AUTH') };
