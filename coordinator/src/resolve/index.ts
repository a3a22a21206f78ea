// The verified mount resolver (DESIGN 3.4, docs/resolve.md): from API state only, which volumes
// of a namespace the agent may move, and why the others may not.
export { resolveVolumes, readSnapshot } from './resolve-volumes.ts';
export { resolveSnapshot, type ApiSnapshot } from './resolve-snapshot.ts';
export { helperPodSpec, helperPodName, helperVolumeName, helperPvcUidAnnotation, defaultHelperImage, type HelperPodOptions } from './helper-pod.ts';
export * from './types.ts';
