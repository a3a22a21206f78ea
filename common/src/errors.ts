// The one registry of Cairn's error codes. Callers and tests branch on `code`, never on message
// text; the coordinator writes the code and the human message into CR status.
export const errorCodes = {
  CAIRN_E_INVALID_ARGUMENT: 'a request field is malformed or not allowed',
  CAIRN_E_NOT_FOUND: 'a referenced object does not exist',
  CAIRN_E_ABORTED: 'the operation was cancelled',
  CAIRN_E_INTERNAL: 'an unexpected internal failure',
  // object storage
  CAIRN_E_STORE_NOT_FOUND: 'the object does not exist in the bucket',
  CAIRN_E_STORE_EXISTS: 'a conditional write found the object already present',
  CAIRN_E_STORE_ACCESS_DENIED: 'the storage credentials are not allowed to do this',
  CAIRN_E_STORE_UNAVAILABLE: 'object storage could not be reached or kept failing',
  CAIRN_E_STORE_BAD_ENDPOINT: 'the storage endpoint is not allowed or malformed',
  // backup data
  CAIRN_E_CORRUPT: 'stored data failed its checksum or authentication',
  CAIRN_E_WRONG_KEY: 'the encryption key is not the one the backup was written with',
  CAIRN_E_FORMAT: 'stored data is not in a format this version understands',
  CAIRN_E_HOSTILE_ARCHIVE: 'a backup entry would escape or abuse the restore target',
  CAIRN_E_LIMIT_EXCEEDED: 'a restore exceeded a cap (size, entries, depth, ratio)',
  CAIRN_E_LOCKED: 'another operation holds the lock',
  // agent and mounts
  CAIRN_E_MOUNT_MISMATCH: 'the volume path is not the verified mount of that volume',
  CAIRN_E_SANDBOX: 'the job sandbox failed',
  CAIRN_E_BUSY: 'the node has no free job slot',
  CAIRN_E_AUTH: 'the peer is not the identity it must be',
  CAIRN_E_AGENT_UNAVAILABLE: 'the node agent could not be reached or its stream broke',
  // volume resolution (coordinator/src/resolve)
  CAIRN_E_VOLUME_REFUSED: 'the volume failed a verified-mount rule: its PV is not provably owned by this namespace',
  CAIRN_E_VOLUME_UNSUPPORTED: 'the volume is of a kind Cairn cannot back up (Block mode, hostPath, local, other sources)',
  CAIRN_E_VOLUME_NOT_READY: 'the PVC or its PV is not bound yet (or any more); retrying later may succeed',
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class CairnError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CairnError';
    this.code = code;
  }
}

export function isCairnError(err: unknown, code?: ErrorCode): err is CairnError {
  return err instanceof CairnError && (code === undefined || err.code === code);
}

/** The code to report for any thrown value: its own when it has one, else internal. */
export function codeOf(err: unknown): ErrorCode {
  if (err instanceof CairnError) return err.code;
  if (err instanceof Error && err.name === 'AbortError') return 'CAIRN_E_ABORTED';
  return 'CAIRN_E_INTERNAL';
}
