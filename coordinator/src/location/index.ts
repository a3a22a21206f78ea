// BackupStorageLocations (DESIGN 2, 3.7, 3.8; docs/locations.md): the endpoint policy (resolve
// once, refuse, pin), the credential and encryption key Secrets, and the check of the bucket
// that decides Available or Unavailable with a stable reason.
export { parseEndpoint, resolveEndpoint, defaultEndpoint, systemLookup, type HostLookup, type LookupAddress, type ParsedEndpoint, type ResolvedEndpoint } from './endpoint.ts';
export {
  parseAwsCredentials, credentialsFromSecret, parseEncryptionKey, encryptionKeyFromSecret, encryptionKeyBytes, describeRef,
  type SecretData, type SecretRef,
} from './credentials.ts';
export {
  validateLocation, resolveLocation, storeConfigFor, agentStorageTarget, defaultRegion,
  type ReadSecret, type StoreFactory, type LocationDeps, type ResolvedLocation, type AccessMode, type ValidateOptions,
  type LocationValidation, type LocationAvailable, type LocationUnavailable,
} from './validate-location.ts';
export { locationReasons, LocationError, isLocationError, type LocationReason } from './reasons.ts';
export { readOnlyStore } from './read-only-store.ts';
export { secretReader } from './secret-reader.ts';
