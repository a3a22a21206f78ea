// Exit codes and the one error type of kubectl-cairn. Scripts branch on the exit code; the first
// line on stderr is `error: <Reason>: <message>`, where Reason is one of the words below and never
// changes for a given situation (docs/cli.md "Exit codes").

export const exitCodes = {
  /** Done; for `create --wait`, the object reached Completed (a location Available, a deletion Processed). */
  ok: 0,
  /** The operation ran and ended badly: Failed, PartiallyFailed, FailedValidation, Unavailable. */
  failed: 1,
  /** Bad command line, or an object the API server refused as invalid. */
  usage: 2,
  /** Refused by the API server (forbidden, unauthorized), the server unreachable, or another API error. */
  api: 3,
  /** The object (or the Cairn API itself) does not exist. */
  notFound: 4,
  /** An object of that name already exists. */
  alreadyExists: 5,
  /** --timeout passed before the object reached a final phase. */
  timeout: 6,
  /** A bug in kubectl-cairn (an unexpected exception); please report it with the message. */
  internal: 70,
  /** Interrupted (Ctrl-C) while waiting; the object carries on. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** The word after `error: ` on stderr, one per situation. */
export type Reason =
  | 'Usage'
  | 'Invalid'
  | 'Forbidden'
  | 'Unauthorized'
  | 'Unreachable'
  | 'ApiError'
  | 'NotFound'
  | 'NotInstalled'
  | 'AlreadyExists'
  | 'Timeout'
  | 'Interrupted'
  | 'Failed'
  | 'PartiallyFailed'
  | 'FailedValidation'
  | 'Unavailable'
  | 'Internal';

const exitOf: Record<Reason, ExitCode> = {
  Usage: exitCodes.usage,
  Invalid: exitCodes.usage,
  Forbidden: exitCodes.api,
  Unauthorized: exitCodes.api,
  Unreachable: exitCodes.api,
  ApiError: exitCodes.api,
  NotFound: exitCodes.notFound,
  NotInstalled: exitCodes.notFound,
  AlreadyExists: exitCodes.alreadyExists,
  Timeout: exitCodes.timeout,
  Interrupted: exitCodes.interrupted,
  Failed: exitCodes.failed,
  PartiallyFailed: exitCodes.failed,
  FailedValidation: exitCodes.failed,
  Unavailable: exitCodes.failed,
  Internal: exitCodes.internal,
};

/** What a command reports when it does not succeed. `details` are extra stderr lines (indented). */
export class CliError extends Error {
  readonly reason: Reason;
  readonly details: string[];
  constructor(reason: Reason, message: string, o: { details?: string[]; cause?: unknown } = {}) {
    super(message, o.cause === undefined ? undefined : { cause: o.cause });
    this.name = 'CliError';
    this.reason = reason;
    this.details = o.details ?? [];
  }

  get exitCode(): ExitCode {
    return exitOf[this.reason];
  }
}

export const usage = (message: string): CliError => new CliError('Usage', message);

/** The stderr text of an error: `error: <Reason>: <message>` and the details, indented. */
export function formatError(err: CliError): string {
  return [`error: ${err.reason}: ${err.message}`, ...err.details.map((d) => `  ${d}`)].join('\n') + '\n';
}
