// Why a BackupStorageLocation is Unavailable: a stable CamelCase reason (for conditions, Events
// and tests) and the CAIRN_E_* code it maps to (status.reason per the CRD). See docs/locations.md.
import { CairnError, type ErrorCode } from '../../../common/src/errors.ts';

export const locationReasons = {
  /** The BSL itself cannot be used as written: no namespace, a bucket or region the store refuses. */
  InvalidLocation: 'CAIRN_E_INVALID_ARGUMENT',
  /** The credential Secret, or the key in it, does not exist in the BSL's namespace. */
  CredentialSecretMissing: 'CAIRN_E_NOT_FOUND',
  /** The credential Secret's key is not an AWS shared-credentials file with a usable [default] profile. */
  CredentialSecretInvalid: 'CAIRN_E_INVALID_ARGUMENT',
  /** The encryption key Secret, or the key in it, does not exist in the BSL's namespace. */
  EncryptionKeySecretMissing: 'CAIRN_E_NOT_FOUND',
  /** The encryption key is not 32 bytes (raw, or base64 of 32 bytes). */
  EncryptionKeyInvalid: 'CAIRN_E_INVALID_ARGUMENT',
  /** The coordinator could not read a Secret (API error other than not found). Retried. */
  SecretUnreadable: 'CAIRN_E_INTERNAL',
  /** The endpoint is not an http(s) URL of a host and optional port only. */
  EndpointInvalid: 'CAIRN_E_STORE_BAD_ENDPOINT',
  /** The endpoint (one of its addresses) is refused by the endpoint policy (DESIGN 3.8). */
  EndpointRefused: 'CAIRN_E_STORE_BAD_ENDPOINT',
  /** The endpoint's host name does not resolve. */
  EndpointUnresolvable: 'CAIRN_E_STORE_UNAVAILABLE',
  /** The endpoint answered, but not as the configured S3 store: a redirect, TLS failure, wrong region, not implemented. */
  EndpointMisconfigured: 'CAIRN_E_STORE_BAD_ENDPOINT',
  /** The bucket does not exist at the endpoint. */
  BucketNotFound: 'CAIRN_E_STORE_NOT_FOUND',
  /** The credentials were refused for the bucket or prefix. */
  AccessDenied: 'CAIRN_E_STORE_ACCESS_DENIED',
  /** The endpoint could not be reached or kept failing (connection errors, timeouts, 5xx). */
  Unreachable: 'CAIRN_E_STORE_UNAVAILABLE',
  /** Anything else: a bug, or a store that refused a request Cairn built. */
  ValidationError: 'CAIRN_E_INTERNAL',
} as const satisfies Record<string, ErrorCode>;

export type LocationReason = keyof typeof locationReasons;

/** A CairnError that also says which location reason it is. Its message never holds a secret value or endpoint response text. */
export class LocationError extends CairnError {
  readonly reason: LocationReason;
  constructor(reason: LocationReason, message: string) {
    super(locationReasons[reason], message);
    this.name = 'LocationError';
    this.reason = reason;
  }
}

export function isLocationError(err: unknown, reason?: LocationReason): err is LocationError {
  return err instanceof LocationError && (reason === undefined || err.reason === reason);
}
