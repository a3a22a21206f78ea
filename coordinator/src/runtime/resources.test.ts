import { describe, expect, it } from 'vitest';
import { resourcePath } from './kube-http.ts';
import { cairnResource, coreResources } from './resources.ts';

describe('resources', () => {
  it('builds API paths for Cairn kinds and core kinds, namespaced or not', () => {
    expect(resourcePath(cairnResource('Backup'))).toBe('/apis/cairn.dev/v1alpha1/backups');
    expect(resourcePath(cairnResource('Backup'), 'team-a')).toBe('/apis/cairn.dev/v1alpha1/namespaces/team-a/backups');
    expect(resourcePath(cairnResource('NodeAgent'), 'team-a')).toBe('/apis/cairn.dev/v1alpha1/nodeagents');
    expect(resourcePath(coreResources.Pod)).toBe('/api/v1/pods');
    expect(resourcePath(coreResources.PersistentVolume)).toBe('/api/v1/persistentvolumes');
  });
});
