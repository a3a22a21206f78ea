// A BackupStorageLocation, checked: its Secrets read in its own namespace, its endpoint resolved
// once and pinned under the endpoint policy, and its bucket checked with the tenant's own
// credentials through the pinned address. The result is what the reconciler writes into status
// (phase, reason, message), and, when Available, everything a job needs (ResolvedLocation, from
// which agentStorageTarget builds the agent's StorageTarget with the same pinned address).
// Messages never hold a secret value or text from the endpoint's responses. See docs/locations.md.
import type { ErrorCode } from '../../../common/src/errors.ts';
import { CairnError, isCairnError } from '../../../common/src/errors.ts';
import type { BackupStorageLocation } from '../../../common/src/generated/crds.ts';
import type { StorageTarget } from '../../../common/src/generated/proto/agent.ts';
import type { AddressPolicy } from '../../../common/src/net/address-policy.ts';
import type { Secret } from '../../../common/src/secret.ts';
import { createS3Store, type ObjectStore, type S3Credentials, type S3StoreConfig } from '../../../common/src/store/object-store.ts';
import { StoreError } from '../../../common/src/store/failures.ts';
import { credentialsFromSecret, describeRef, encryptionKeyFromSecret, type SecretData, type SecretRef } from './credentials.ts';
import { defaultEndpoint, resolveEndpoint, type HostLookup, type ResolvedEndpoint } from './endpoint.ts';
import { LocationError, locationReasons, type LocationReason } from './reasons.ts';
import { readOnlyStore } from './read-only-store.ts';

/** Reads a Secret by namespace and name; undefined when it does not exist. */
export type ReadSecret = (namespace: string, name: string) => Promise<SecretData | undefined>;
export type StoreFactory = (config: S3StoreConfig) => ObjectStore;

/** Region when a BSL sets none (signing needs one; MinIO accepts it, AWS S3 answers for it). */
export const defaultRegion = 'us-east-1';

export interface LocationDeps {
  /** Only ever called with the BSL's own namespace. */
  readSecret: ReadSecret;
  /** The admin's endpoint policy: allow-listed ip:port pairs, the cluster's pod and service CIDRs. */
  policy: AddressPolicy;
  /** DNS for the endpoint host; node:dns lookup when absent. Called at most once per resolution. */
  lookup?: HostLookup;
}

export type AccessMode = 'ReadWrite' | 'ReadOnly';

/** A location ready to use: what the coordinator's store and the agent's job are built from. */
export interface ResolvedLocation {
  namespace: string;
  name: string;
  bucket: string;
  prefix: string;
  region: string;
  forcePathStyle: boolean;
  caCertPem?: string;
  accessMode: AccessMode;
  endpoint: ResolvedEndpoint;
  credentials: Secret<S3Credentials>;
  credentialRef: SecretRef;
  encryptionKey?: Secret<Buffer>;
}

function refOf(namespace: string, r: { name: string; key: string }): SecretRef {
  return { namespace, name: r.name, key: r.key };
}

async function readSecretData(deps: LocationDeps, ref: SecretRef, field: string, missing: LocationReason): Promise<SecretData> {
  let secret: SecretData | undefined;
  try {
    secret = await deps.readSecret(ref.namespace, ref.name);
  } catch (err) {
    const status = (err as { code?: unknown } | null)?.code;
    throw new LocationError('SecretUnreadable', `${field}: the coordinator could not read Secret ${ref.namespace}/${ref.name}${typeof status === 'number' ? ` (HTTP ${status})` : ''}; it will try again`);
  }
  if (secret === undefined) throw new LocationError(missing, `${field}: Secret ${ref.namespace}/${ref.name} does not exist in the BackupStorageLocation's namespace`);
  return secret;
}

/**
 * Reads the BSL's Secrets (in its own namespace only) and resolves and pins its endpoint. Throws
 * a LocationError with the reason. Does not contact the endpoint.
 */
export async function resolveLocation(bsl: BackupStorageLocation, deps: LocationDeps): Promise<ResolvedLocation> {
  const namespace = bsl.metadata?.namespace;
  const name = bsl.metadata?.name;
  if (!namespace || !name) throw new LocationError('InvalidLocation', 'the BackupStorageLocation has no namespace or name');
  const spec = bsl.spec;
  const region = spec.config?.region ?? defaultRegion;
  const endpoint = await resolveEndpoint(spec.config?.endpoint ?? defaultEndpoint(region), deps.policy, deps.lookup ? { lookup: deps.lookup } : {});

  const credentialRef = refOf(namespace, spec.credential);
  const credentials = credentialsFromSecret(
    await readSecretData(deps, credentialRef, 'spec.credential', 'CredentialSecretMissing'), credentialRef);
  let encryptionKey: Secret<Buffer> | undefined;
  if (spec.encryption) {
    const keyRef = refOf(namespace, spec.encryption.keySecret);
    encryptionKey = encryptionKeyFromSecret(await readSecretData(deps, keyRef, 'spec.encryption.keySecret', 'EncryptionKeySecretMissing'), keyRef);
  }
  return {
    namespace, name,
    bucket: spec.objectStorage.bucket,
    prefix: spec.objectStorage.prefix ?? '',
    region,
    forcePathStyle: spec.config?.forcePathStyle ?? false,
    ...(spec.config?.caCert !== undefined ? { caCertPem: spec.config.caCert } : {}),
    accessMode: spec.accessMode ?? 'ReadWrite',
    endpoint,
    credentials,
    credentialRef,
    ...(encryptionKey ? { encryptionKey } : {}),
  };
}

/** The coordinator's store config for a resolved location: connects to the pinned address only. */
export function storeConfigFor(loc: ResolvedLocation, extra: Partial<Omit<S3StoreConfig, 'endpoint' | 'pinnedAddress' | 'credentials'>> = {}): S3StoreConfig {
  return {
    bucket: loc.bucket, prefix: loc.prefix, region: loc.region, forcePathStyle: loc.forcePathStyle,
    ...(loc.caCertPem !== undefined ? { caCertPem: loc.caCertPem } : {}),
    ...extra,
    endpoint: loc.endpoint.url,
    pinnedAddress: loc.endpoint.pinnedAddress,
    credentials: loc.credentials,
  };
}

/**
 * The StorageTarget of an agent job: the same endpoint and pinned address the coordinator
 * checked, so the agent connects where the check was made and never resolves the name itself.
 * Reveals the credentials and key: build it right before sending the job over mTLS.
 */
export function agentStorageTarget(loc: ResolvedLocation): StorageTarget {
  const creds = loc.credentials.reveal();
  return {
    endpoint: loc.endpoint.url,
    pinnedAddress: loc.endpoint.pinnedAddress,
    bucket: loc.bucket,
    prefix: loc.prefix,
    region: loc.region,
    forcePathStyle: loc.forcePathStyle,
    caCertPem: loc.caCertPem ?? '',
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, sessionToken: creds.sessionToken ?? '' },
    ...(loc.encryptionKey ? { encryptionKey: Buffer.from(loc.encryptionKey.reveal()) } : {}),
  };
}

export interface ValidateOptions extends LocationDeps {
  /** createS3Store when absent. */
  storeFactory?: StoreFactory;
  /** Retries, timeouts and logger of the validation's store (the store's defaults otherwise). */
  storeOptions?: Pick<S3StoreConfig, 'maxAttempts' | 'retry' | 'timeouts' | 'logger'>;
  signal?: AbortSignal;
  /**
   * Return the store (the caller closes it) when the location is Available. A ReadOnly
   * location's store refuses every write. Default: the store is closed.
   */
  keepStore?: boolean;
}

export interface LocationAvailable {
  phase: 'Available';
  reason: 'Validated';
  message: string;
  pinnedAddress: string;
  location: ResolvedLocation;
  store?: ObjectStore;
}

export interface LocationUnavailable {
  phase: 'Unavailable';
  reason: LocationReason;
  /** The CAIRN_E_* code of the reason (status.reason per the CRD). */
  code: ErrorCode;
  message: string;
  /** When the endpoint was resolved before the failure. */
  pinnedAddress?: string;
}

export type LocationValidation = LocationAvailable | LocationUnavailable;

/** S3 error codes that are repeated in status; any other code the endpoint sends is not. */
const knownS3Codes = new Set([
  'AccessDenied', 'AllAccessDisabled', 'AccountProblem', 'AuthorizationHeaderMalformed', 'ExpiredToken', 'Forbidden', 'InternalError',
  'InvalidAccessKeyId', 'InvalidBucketName', 'InvalidToken', 'NoSuchBucket', 'NotFound', 'NotImplemented', 'PermanentRedirect',
  'Redirect', 'RequestTimeTooSkewed', 'ServiceUnavailable', 'SignatureDoesNotMatch', 'SlowDown', 'TemporaryRedirect',
]);

/** What happened, from facts Cairn trusts only: the operation, the HTTP status, a known S3 code, Node's network code. */
function storeDetail(err: StoreError): string {
  if (err.httpStatus === undefined) return err.message; // built from Node error codes only (failures.ts)
  const code = err.s3Code !== undefined && knownS3Codes.has(err.s3Code) ? ` ${err.s3Code}` : '';
  const tries = err.attempts > 1 ? ` after ${err.attempts} attempts` : '';
  return `${err.operation} answered HTTP ${err.httpStatus}${code}${tries}`;
}

function unavailable(reason: LocationReason, message: string, pinnedAddress?: string): LocationUnavailable {
  return { phase: 'Unavailable', reason, code: locationReasons[reason], message, ...(pinnedAddress !== undefined ? { pinnedAddress } : {}) };
}

function storeFailure(err: unknown, loc: ResolvedLocation): LocationUnavailable {
  const at = `${loc.endpoint.url} (address ${loc.endpoint.pinnedAddress})`;
  const target = `bucket ${loc.bucket}${loc.prefix ? ` prefix ${loc.prefix}` : ''}`;
  const pinned = loc.endpoint.pinnedAddress;
  if (!(err instanceof StoreError)) {
    // The store refused the config before any request (bucket or region it cannot use): its own text.
    if (isCairnError(err, 'CAIRN_E_INVALID_ARGUMENT')) return unavailable('InvalidLocation', err.message, pinned);
    if (isCairnError(err, 'CAIRN_E_STORE_BAD_ENDPOINT')) return unavailable('EndpointMisconfigured', err.message, pinned);
    return unavailable('ValidationError', `checking ${target} at ${at} failed unexpectedly${err instanceof CairnError ? ` (${err.code})` : ''}`, pinned);
  }
  const detail = storeDetail(err);
  switch (err.code) {
    case 'CAIRN_E_STORE_NOT_FOUND':
      return unavailable('BucketNotFound', `bucket ${loc.bucket} does not exist at ${at}: ${detail}; create it or correct spec.objectStorage.bucket`, pinned);
    case 'CAIRN_E_STORE_ACCESS_DENIED':
      return unavailable('AccessDenied', `the credentials in ${describeRef(loc.credentialRef)} may not read and list ${target} at ${at}: ${detail}`, pinned);
    case 'CAIRN_E_STORE_UNAVAILABLE':
      return unavailable('Unreachable', `${at} could not be reached for ${target}: ${detail}`, pinned);
    case 'CAIRN_E_STORE_BAD_ENDPOINT':
      return unavailable('EndpointMisconfigured', `${at} did not answer as an S3 store for ${target}: ${detail}; redirects are never followed: check spec.config.endpoint, region, forcePathStyle and caCert`, pinned);
    default:
      return unavailable('ValidationError', `checking ${target} at ${at} failed: ${detail} (${err.code})`, pinned);
  }
}

/**
 * Checks a BackupStorageLocation: Secrets, endpoint policy, and the bucket with the tenant's
 * credentials through the pinned address (HeadBucket and a one-key list: nothing is ever
 * written, whatever the access mode). Resolves to Available or Unavailable with a reason;
 * rejects only when the signal aborts (CAIRN_E_ABORTED: write no status then).
 */
export async function validateLocation(bsl: BackupStorageLocation, opts: ValidateOptions): Promise<LocationValidation> {
  let loc: ResolvedLocation;
  try {
    loc = await resolveLocation(bsl, opts);
  } catch (err) {
    if (err instanceof LocationError) return unavailable(err.reason, err.message);
    throw err;
  }
  opts.signal?.throwIfAborted();
  let store: ObjectStore | undefined;
  try {
    store = (opts.storeFactory ?? createS3Store)(storeConfigFor(loc, opts.storeOptions ?? {}));
    await store.checkBucket(opts.signal ? { signal: opts.signal } : {});
  } catch (err) {
    store?.close();
    if (isCairnError(err, 'CAIRN_E_ABORTED') || opts.signal?.aborted) throw err;
    return storeFailure(err, loc);
  }
  const result: LocationAvailable = {
    phase: 'Available', reason: 'Validated', pinnedAddress: loc.endpoint.pinnedAddress, location: loc,
    message: `bucket ${loc.bucket}${loc.prefix ? ` prefix ${loc.prefix}` : ''} at ${loc.endpoint.url} (address ${loc.endpoint.pinnedAddress}) is readable with the credentials in ${describeRef(loc.credentialRef)}${loc.accessMode === 'ReadOnly' ? '; ReadOnly: Cairn never writes to it' : ''}`,
  };
  if (opts.keepStore) result.store = loc.accessMode === 'ReadOnly' ? readOnlyStore(store, `${loc.namespace}/${loc.name}`) : store;
  else store.close();
  return result;
}
