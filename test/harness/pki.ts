// Certificates for the local cluster, made with the openssl CLI (no hand-rolled ASN.1):
// one CA, serving certs with SANs, client certs whose O becomes a Kubernetes group.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const run = promisify(execFile);

export interface KeyPair {
  cert: string;
  key: string;
}

export interface CertRequest {
  commonName: string;
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: 'server' | 'client' | 'server-client';
}

async function ecKey(path: string): Promise<void> {
  await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

export async function createCa(dir: string, commonName: string): Promise<KeyPair> {
  const pair = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  await ecKey(pair.key);
  await run('openssl', ['req', '-x509', '-new', '-key', pair.key, '-out', pair.cert, '-days', '3650', '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
  return pair;
}

export async function issueCert(ca: KeyPair, dir: string, fileBase: string, req: CertRequest): Promise<KeyPair> {
  const pair = { cert: join(dir, `${fileBase}.crt`), key: join(dir, `${fileBase}.key`) };
  await ecKey(pair.key);
  const subject = [...(req.organizations ?? []).map((o) => `/O=${o}`), `/CN=${req.commonName}`].join('');
  const csr = join(dir, `${fileBase}.csr`);
  await run('openssl', ['req', '-new', '-key', pair.key, '-out', csr, '-subj', subject]);
  const eku = { server: 'serverAuth', client: 'clientAuth', 'server-client': 'serverAuth,clientAuth' }[req.usage];
  const sans = [...(req.dnsNames ?? []).map((d) => `DNS:${d}`), ...(req.ipAddresses ?? []).map((i) => `IP:${i}`)];
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${eku}`,
    ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
  ].join('\n');
  const extFile = join(dir, `${fileBase}.ext`);
  await writeFile(extFile, `${ext}\n`);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${randomBytes(16).toString('hex')}`, '-out', pair.cert, '-days', '825', '-extfile', extFile]);
  return pair;
}

/** A key pair for signing and verifying ServiceAccount tokens. */
export async function serviceAccountKey(dir: string): Promise<{ privateKey: string; publicKey: string }> {
  const privateKey = join(dir, 'sa.key');
  const publicKey = join(dir, 'sa.pub');
  await ecKey(privateKey);
  await run('openssl', ['pkey', '-in', privateKey, '-pubout', '-out', publicKey]);
  return { privateKey, publicKey };
}

export interface AgentPki {
  ca: string;
  coordinator: KeyPair;
  agents: Record<string, KeyPair>;
}

/**
 * Certificates of the agent channel, signed by the cluster CA: the coordinator's client
 * certificate and one serving certificate per node agent (see common/src/agent-identity.ts).
 */
export async function agentPki(ca: KeyPair, dir: string, nodes: Array<{ name: string; ip: string }>, ids: { coordinator: string; agent: (node: string) => string }): Promise<AgentPki> {
  const coordinator = await issueCert(ca, dir, 'coordinator', { commonName: ids.coordinator, dnsNames: [ids.coordinator], usage: 'client' });
  const agents: Record<string, KeyPair> = {};
  for (const n of nodes) {
    agents[n.name] = await issueCert(ca, dir, `agent-${n.name}`, { commonName: ids.agent(n.name), dnsNames: [ids.agent(n.name)], ipAddresses: [n.ip], usage: 'server' });
  }
  return { ca: ca.cert, coordinator, agents };
}
