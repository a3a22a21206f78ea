import { describe, expect, it } from 'vitest';
import { helperPodName, helperPodSpec } from './helper-pod.ts';

const pvc = { metadata: { name: 'data', namespace: 'team-a', uid: '6a0b9f0e-1111-4222-8333-944455556666' } };

describe('helperPodSpec', () => {
  it('mounts the PVC read-only, without a service account token, labelled as Cairn helper', () => {
    const pod = helperPodSpec(pvc);
    expect(pod.metadata!.namespace).toBe('team-a');
    expect(pod.metadata!.labels).toEqual({ 'cairn.dev/helper': 'true' });
    expect(pod.spec!.automountServiceAccountToken).toBe(false);
    expect(pod.spec!.volumes).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: 'data', readOnly: true } }]);
    expect(pod.spec!.containers[0]!.volumeMounts![0]!.readOnly).toBe(true);
    expect(pod.spec!.containers[0]!.command).toEqual(['/pause']);
    expect(pod.spec!.containers[0]!.securityContext!.capabilities!.drop).toEqual(['ALL']);
    expect(pod.spec!.affinity).toBeUndefined();
  });

  it('is writable for a restore and pinned to the given nodes', () => {
    const pod = helperPodSpec(pvc, { readOnly: false, nodes: ['node-1'] });
    expect(pod.spec!.volumes![0]!.persistentVolumeClaim!.readOnly).toBe(false);
    const terms = pod.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms;
    expect(terms).toEqual([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-1'] }] }]);
  });

  it('may run on any of several nodes: one node-name term per node (the API server takes one value per field selector)', () => {
    const pod = helperPodSpec(pvc, { nodes: ['node-1', 'node-2'] });
    const terms = pod.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms;
    expect(terms).toEqual([
      { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-1'] }] },
      { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-2'] }] },
    ]);
  });

  it('has a deterministic name per PVC uid that fits a DNS label', () => {
    const long = { metadata: { ...pvc.metadata, name: `${'a'.repeat(60)}-b` } };
    expect(helperPodName(pvc)).toBe(helperPodName(pvc));
    expect(helperPodName(pvc)).toMatch(/^cairn-helper-data-[0-9a-f]{8}$/);
    expect(helperPodName(long).length).toBeLessThanOrEqual(63);
    expect(helperPodName(long)).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });
});
