// Who is who on the agent channel (mTLS, one cluster CA): the coordinator's client certificate
// names `coordinator.cairn.internal`; each agent's serving certificate names its node,
// `<node>.agents.cairn.internal`. The agent serves only the coordinator; the coordinator accepts
// only the certificate of the node it dialled.
export const COORDINATOR_IDENTITY = 'coordinator.cairn.internal';
export const AGENT_DOMAIN = 'agents.cairn.internal';

export function agentIdentity(node: string): string {
  return `${node}.${AGENT_DOMAIN}`;
}

/** DNS names in a certificate's subjectAltName string (as Node's X509Certificate gives it). */
export function dnsNames(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName.split(/,\s*/).filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
}
