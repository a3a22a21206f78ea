// The agent channel is mTLS only, and each side accepts exactly one identity: the agent serves
// only the coordinator's certificate (signed by the cluster CA), and the coordinator accepts only
// the certificate of the node it dialled. Every refusal has a benign twin that must work.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { promisify } from 'node:util';
import { credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AgentConnection } from '../../common/src/agent-client/agent-client.ts';
import { COORDINATOR_IDENTITY, agentIdentity } from '../../common/src/agent-identity.ts';
import { AgentClient } from '../../common/src/generated/proto/agent.ts';
import { createCa, issueCert, type KeyPair } from '../harness/pki.ts';
import { keys, tenantStore } from '../engine/helpers.ts';
import { backupJob, coordinatorTo, drain, extraAgent, mountedVolume, rawAgentClient, storageTarget, unaryStatus, whenSlotFree, type MountedVolume } from './agent-fixtures.ts';

const cluster = inject('cluster');
const run = promisify(execFile);
const node1 = cluster.agents.find((a) => a.node === 'node-1')!;
const node2 = cluster.agents.find((a) => a.node === 'node-2')!;
const clusterCa = { cert: cluster.agentPki.ca, key: join(dirname(cluster.agentPki.ca), 'ca.key') };
const tlsOf = (pair: KeyPair) => ({ ca: readFileSync(cluster.agentPki.ca), cert: readFileSync(pair.cert), key: readFileSync(pair.key) });

let dir: string;
let vol: MountedVolume;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-mtls-'));
  vol = await mountedVolume(cluster, 'team-a', 'mtls-src', 'node-1');
  await writeFile(join(vol.path, 'data.txt'), 'tenant data that only the coordinator may have moved');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Nothing was written under `prefix`: the job never ran. */
async function nothingStored(prefix: string): Promise<void> {
  expect(await keys(tenantStore(cluster, 'team-a', prefix))).toEqual([]);
}

/** How a raw TLS handshake with the agent at `address` ends with this client certificate. */
function handshake(address: string, node: string, client?: KeyPair, ca = cluster.agentPki.ca): Promise<{ ok: boolean; error?: string; peer?: PeerCertificate }> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve) => {
    const s = tlsConnect({
      host, port: Number(port), ca: readFileSync(ca), servername: agentIdentity(node), ALPNProtocols: ['h2'],
      ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
    });
    let peer: PeerCertificate | undefined;
    // Under TLS 1.3 the server checks the client certificate after the client has finished, and
    // the agent then closes the connection (no alert): success is the server's first HTTP/2
    // frame, refusal is a close without one.
    s.once('secureConnect', () => {
      peer = s.getPeerCertificate();
      s.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0'));
    });
    let error: string | undefined;
    s.once('data', () => { s.destroy(); resolve({ ok: true, ...(peer ? { peer } : {}) }); });
    s.on('error', (err: Error) => { error ??= err.message; });
    s.once('close', () => resolve({ ok: false, error: error ?? 'closed without an alert' }));
  });
}

describe('agent mTLS: the agent serves only the coordinator', () => {
  it('benign: the coordinator certificate gets NodeStatus from each node, naming that node', async () => {
    for (const a of cluster.agents) {
      const c = coordinatorTo(cluster, a.node);
      expect((await c.nodeStatus()).nodeName).toBe(a.node);
      c.close();
    }
  });

  it('refuses plaintext: an insecure gRPC client never gets a status reply', async () => {
    const client = new AgentClient(node1.address, credentials.createInsecure());
    const r = await unaryStatus(client, 5_000);
    client.close();
    expect(r).toMatchObject({ ok: false, code: status.UNAVAILABLE, messages: [] });

    // On the wire: an HTTP/2 preface in clear gets no HTTP/2 frame back (at most a TLS alert).
    const [host, port] = node1.address.split(':') as [string, string];
    const reply = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const s = netConnect({ host, port: Number(port) }, () => s.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0'));
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('error', () => resolve(Buffer.concat(chunks)));
      s.on('close', () => resolve(Buffer.concat(chunks)));
      s.setTimeout(5_000, () => s.destroy());
    });
    if (reply.length > 0) expect(reply[0]).toBe(0x15); // TLS record type 21: alert
  });

  it('refuses a TLS client without a certificate at the TLS layer', async () => {
    const r = await handshake(node1.address, 'node-1');
    expect(r.ok).toBe(false);
    const client = new AgentClient(node1.address, credentials.createSsl(readFileSync(cluster.agentPki.ca)), { 'grpc.ssl_target_name_override': agentIdentity('node-1') });
    expect(await unaryStatus(client, 5_000)).toMatchObject({ ok: false, code: status.UNAVAILABLE, messages: [] });
    client.close();
  });

  it("refuses a client certificate from a foreign CA, even one naming the coordinator, at the TLS layer", async () => {
    const foreignDir = await mkdtemp(join(dir, 'foreign-'));
    const foreignCa = await createCa(foreignDir, 'cairn-local-ca'); // same name as the real CA, other key
    const forged = await issueCert(foreignCa, foreignDir, 'coordinator', { commonName: COORDINATOR_IDENTITY, dnsNames: [COORDINATOR_IDENTITY], usage: 'client' });

    const tls = await handshake(node1.address, 'node-1', forged);
    expect(tls.ok).toBe(false);
    const forgedClient = rawAgentClient(cluster, node1.address, { identity: forged });
    expect(await unaryStatus(forgedClient, 5_000)).toMatchObject({ ok: false, code: status.UNAVAILABLE, messages: [] });
    const prefix = `mtls/${randomUUID()}`;
    expect(await drain(forgedClient.backup(backupJob(vol, storageTarget(cluster, 'team-a', prefix), 'forged')))).toMatchObject({ ok: false, code: status.UNAVAILABLE, messages: [] });
    forgedClient.close();
    await nothingStored(prefix);

    // Benign twin: the real coordinator certificate over the same raw handshake.
    expect((await handshake(node1.address, 'node-1', cluster.agentPki.coordinator)).ok).toBe(true);
  });

  describe('a cluster-CA certificate with another identity', () => {
    // The cluster CA signs more than the coordinator: every agent has a certificate, and an
    // attacker on a node holds that node's. None of these may call the agent.
    let others: Array<[string, KeyPair]>;
    beforeAll(async () => {
      const d = await mkdtemp(join(dir, 'others-'));
      const issue = (base: string, dnsNames: string[], commonName = dnsNames[0] ?? base) => issueCert(clusterCa, d, base, { commonName, dnsNames, usage: 'client' });
      others = [
        ['an agent identity with client usage', await issue('agent-as-client', [agentIdentity('node-2')])],
        ['a wildcard over the domain', await issue('wildcard', ['*.cairn.internal'])],
        ['the coordinator name in the CN only, no SAN', await issue('cn-only', [], COORDINATOR_IDENTITY)],
        ['a name that ends like the coordinator', await issue('suffix', [`evil${COORDINATOR_IDENTITY}`, `${COORDINATOR_IDENTITY}.evil.example`])],
        ['a SAN entry that smuggles the coordinator name after a comma', await smuggled(d)],
      ];
    });

    it("refuses an agent's own certificate and key as a client certificate, at the TLS layer", async () => {
      // An agent certificate is for serving only (extendedKeyUsage serverAuth), so the TLS layer
      // refuses it as a client certificate before the identity check is reached.
      const agentCert = cluster.agentPki.agents['node-2']!;
      expect((await handshake(node1.address, 'node-1', agentCert)).ok).toBe(false);
      const client = rawAgentClient(cluster, node1.address, { identity: agentCert });
      expect(await unaryStatus(client, 5_000)).toMatchObject({ ok: false, code: status.UNAVAILABLE, messages: [] });
      const prefix = `mtls/${randomUUID()}`;
      expect(await drain(client.backup(backupJob(vol, storageTarget(cluster, 'team-a', prefix), 'as-agent')))).toMatchObject({ ok: false, code: status.UNAVAILABLE, messages: [] });
      expect(await drain(client.watchNodeStatus({ intervalMs: 200 }))).toMatchObject({ ok: false, code: status.UNAVAILABLE, messages: [] });
      client.close();
      await nothingStored(prefix);
    });

    it('gets PERMISSION_DENIED with CAIRN_E_AUTH for NodeStatus, Backup, Restore and WatchNodeStatus', async () => {
      for (const [what, id] of others) {
        const client = rawAgentClient(cluster, node1.address, { identity: id });
        const denied = { ok: false, code: status.PERMISSION_DENIED, cairnCode: 'CAIRN_E_AUTH', messages: [] };
        expect(await unaryStatus(client), what).toMatchObject(denied);
        const prefix = `mtls/${randomUUID()}`;
        expect(await drain(client.backup(backupJob(vol, storageTarget(cluster, 'team-a', prefix), 'impostor'))), what).toMatchObject(denied);
        const restore = { identity: { jobId: randomUUID(), namespace: 'team-a', ownerKind: 'Restore', ownerName: 'r', attempt: 1 }, volume: vol.ref, storage: storageTarget(cluster, 'team-a', prefix), backupName: 'impostor', sourceVolumeId: 'v', paths: [], maxBytes: 1 << 20 };
        expect(await drain(client.restore(restore)), what).toMatchObject(denied);
        expect(await drain(client.watchNodeStatus({ intervalMs: 200 })), what).toMatchObject(denied);
        client.close();
        await nothingStored(prefix);
      }
      // Benign twin: the same calls with the coordinator's certificate.
      const coordinator = rawAgentClient(cluster, node1.address);
      expect(await unaryStatus(coordinator)).toMatchObject({ ok: true, messages: [{ nodeName: 'node-1' }] });
      const watch = coordinator.watchNodeStatus({ intervalMs: 200 });
      watch.on('error', () => {}); // CANCELLED, below
      const first = await new Promise((resolve) => watch.once('data', resolve));
      expect(first).toMatchObject({ nodeName: 'node-1' });
      watch.cancel();
      coordinator.close();
    });
  });
});

describe('agent mTLS: the coordinator accepts only the node it dialled', () => {
  it("refuses node-1's agent when it dialled node-2, and runs no job there", async () => {
    const wrong = new AgentConnection('node-2', node1.address, tlsOf(cluster.agentPki.coordinator));
    await expect(wrong.nodeStatus(5_000)).rejects.toMatchObject({ code: 'CAIRN_E_AUTH' });
    const prefix = `mtls/${randomUUID()}`;
    const job = backupJob(vol, storageTarget(cluster, 'team-a', prefix), 'misdialled');
    let accepted = false;
    await expect(wrong.backup(job, { onAccepted: () => (accepted = true), deadlineMs: 10_000 })).rejects.toMatchObject({ code: 'CAIRN_E_AUTH' });
    wrong.close();
    expect(accepted).toBe(false);
    await nothingStored(prefix);
    const status1 = await coordinatorTo(cluster, 'node-1').nodeStatus();
    expect(status1.activeJobs.map((j) => j.identity?.jobId)).not.toContain(job.identity!.jobId);

    // Benign twin: the right node at the same address runs the same job.
    const right = new AgentConnection('node-1', node1.address, tlsOf(cluster.agentPki.coordinator));
    expect(await whenSlotFree(() => right.backup({ ...job, identity: { ...job.identity!, jobId: randomUUID() } }))).toMatchObject({ ok: true, files: 1 });
    right.close();
    expect((await keys(tenantStore(cluster, 'team-a', prefix))).length).toBeGreaterThan(0);
  });

  it("refuses an agent on node-1 that serves node-2's certificate (a stolen or misplaced cert)", async () => {
    const stolen = await extraAgent(cluster, 'node-1', { name: 'agent-node-1-stolen-cert', serveAs: 'node-2' });
    try {
      const c = new AgentConnection('node-1', stolen.endpoint.address, tlsOf(cluster.agentPki.coordinator));
      await expect(c.nodeStatus(5_000)).rejects.toMatchObject({ code: 'CAIRN_E_AUTH' });
      const prefix = `mtls/${randomUUID()}`;
      await expect(c.backup(backupJob(vol, storageTarget(cluster, 'team-a', prefix), 'stolen'), { deadlineMs: 10_000 })).rejects.toMatchObject({ code: 'CAIRN_E_AUTH' });
      c.close();
      await nothingStored(prefix);
      // Twin: the real node-1 agent beside it is accepted.
      const real = new AgentConnection('node-1', node1.address, tlsOf(cluster.agentPki.coordinator));
      expect((await real.nodeStatus()).nodeName).toBe('node-1');
      real.close();
    } finally {
      await stolen.stop();
    }
  });

  it('serves a certificate per node: SAN exactly DNS:<node>.agents.cairn.internal and the node IP, from the cluster CA', async () => {
    const sans = new Set<string>();
    for (const a of cluster.agents) {
      const ip = a.address.split(':')[0]!;
      const r = await handshake(a.address, a.node, cluster.agentPki.coordinator);
      expect(r.ok).toBe(true);
      expect(r.peer!.subjectaltname).toBe(`DNS:${a.node}.agents.cairn.internal, IP Address:${ip}`);
      expect(r.peer!.issuer.CN).toBe('cairn-local-ca');
      sans.add(r.peer!.subjectaltname ?? '');
    }
    expect(sans.size).toBe(cluster.agents.length);
    expect(node2.address).not.toBe(node1.address);
  });
});

/**
 * A cluster-CA client certificate whose one DNS name is "x, DNS:coordinator.cairn.internal": a
 * check that splits Node's subjectaltname string on commas would see the coordinator in it.
 */
async function smuggled(d: string): Promise<KeyPair> {
  const pair = { cert: join(d, 'smuggled.crt'), key: join(d, 'smuggled.key') };
  const cnf = join(d, 'smuggled.cnf');
  await writeFile(cnf, [
    '[ext]', 'basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth', 'subjectAltName=@alt',
    '[alt]', `DNS.1 = x, DNS:${COORDINATOR_IDENTITY}`, '',
  ].join('\n'));
  await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', pair.key]);
  await run('openssl', ['req', '-new', '-key', pair.key, '-out', join(d, 'smuggled.csr'), '-subj', '/CN=smuggled']);
  await run('openssl', ['x509', '-req', '-in', join(d, 'smuggled.csr'), '-CA', clusterCa.cert, '-CAkey', clusterCa.key, '-set_serial', '0x01',
    '-out', pair.cert, '-days', '1', '-extfile', cnf, '-extensions', 'ext']);
  return pair;
}
