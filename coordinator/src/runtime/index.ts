// The coordinator's controller runtime (docs/coordinator.md): informers over the watched
// namespaces, work queues, the status writer, Events, and the phase reconciler skeleton with the
// Controller that runs it. No Cairn business logic lives here.
export { backoffDelay, defaultBackoff, type BackoffOptions } from './backoff.ts';
export { findCondition, isConditionTrue, metaTime, removeCondition, setCondition, type ConditionInput } from './conditions.ts';
export { Controller, phaseReconcilerBinding, type ControllerBinding, type ControllerHealth, type ControllerOptions, type Watch } from './controller.ts';
export { EventRecorder, type EventRecorderOptions, type EventType } from './events.ts';
export { Informer, objectKey, type InformerHandlers, type InformerHealth, type InformerOptions, type ResourceType } from './informer.ts';
export { KubeHttpError, resourcePath } from './kube-http.ts';
export { namespaceFilter, validateNamespacePattern, type NamespaceFilter, type WatchedNamespaces } from './namespace-filter.ts';
export { reconcileKey, type PhaseReconciler, type ReconcileContext, type ReconcileDeps } from './reconciler.ts';
export { cairnResource, coreResources } from './resources.ts';
export { updateStatusWithRetry, type ObjectOf, type StatusApi, type StatusMutator, type StatusOf, type StatusRef, type StatusWriteOptions, type StatusWriteResult } from './status-writer.ts';
export { queueKey, splitKey, WorkQueue, type KeyHandler, type ReconcileResult, type WorkQueueOptions } from './work-queue.ts';
