/**
 * Errors with stable codes. Codes are never reused; `exitCode` is what the CLI exits with.
 * `retryable` tells job processors whether a fault is transient (retry) or bad input (fail now).
 */
export class PaydecideError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly exitCode: number;
  readonly details?: Record<string, unknown>;
  constructor(code: string, message: string, opts: { retryable?: boolean; exitCode?: number; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'PaydecideError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.exitCode = opts.exitCode ?? defaultExitCode(code);
    this.details = opts.details;
  }
}

export const ErrorCodes = {
  CONFIG: 'PD_ERR_CONFIG',
  BAD_FLAG: 'PD_ERR_BAD_FLAG',
  INPUT_MISSING: 'PD_ERR_INPUT_MISSING',
  INPUT_CORRUPT: 'PD_ERR_INPUT_CORRUPT',
  INPUT_SCHEMA: 'PD_ERR_INPUT_SCHEMA',
  UNKNOWN_DATE: 'PD_ERR_UNKNOWN_DATE',
  REDIS_UNREACHABLE: 'PD_ERR_REDIS_UNREACHABLE',
  NO_MODEL: 'PD_ERR_NO_MODEL',
  MODEL_INVALID: 'PD_ERR_MODEL_INVALID',
  VALIDATION_FAILED: 'PD_ERR_VALIDATION_FAILED',
  WORKER_DIED: 'PD_ERR_WORKER_DIED',
  RUN_FAILED: 'PD_ERR_RUN_FAILED',
  NO_LIVE_VERSION: 'PD_ERR_NO_LIVE_VERSION',
  USER_NOT_FOUND: 'PD_ERR_USER_NOT_FOUND',
  RECORD_CORRUPT: 'PD_ERR_RECORD_CORRUPT',
  NO_ROLLBACK: 'PD_ERR_NO_ROLLBACK',
  PAN_REFUSED: 'PD_ERR_PAN_REFUSED',
  AUDIENCE_SPEC: 'PD_ERR_AUDIENCE_SPEC',
  STORE_URL: 'PD_ERR_STORE_URL',
  STORE_NOT_FOUND: 'PD_ERR_STORE_NOT_FOUND',
  STORE_ACCESS_DENIED: 'PD_ERR_STORE_ACCESS_DENIED',
  STORE_UNAVAILABLE: 'PD_ERR_STORE_UNAVAILABLE',
  OBJECT_MISSING: 'PD_ERR_OBJECT_MISSING',
  AUDIENCE_NOT_FOUND: 'PD_ERR_AUDIENCE_NOT_FOUND',
  AUDIENCE_CORRUPT: 'PD_ERR_AUDIENCE_CORRUPT',
  POLICY_CONFIG: 'PD_ERR_POLICY_CONFIG',
  NO_RUN: 'PD_ERR_NO_RUN',
  PROMOTION_REFUSED: 'PD_ERR_PROMOTION_REFUSED',
  // HTTP answers of the online service (online/server.ts)
  BAD_JSON: 'PD_ERR_BAD_JSON',
  BAD_BODY: 'PD_ERR_BAD_BODY',
  UNAUTHORIZED: 'PD_ERR_UNAUTHORIZED',
  BODY_TOO_LARGE: 'PD_ERR_BODY_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'PD_ERR_UNSUPPORTED_MEDIA_TYPE',
  NOT_FOUND: 'PD_ERR_NOT_FOUND',
  UNAVAILABLE: 'PD_ERR_UNAVAILABLE',
} as const;

export function errorMessage(e: unknown): string {
  if (e instanceof PaydecideError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** CLI exit codes: 2 bad usage or input, 3 Redis unreachable, 1 anything else that failed. */
export function defaultExitCode(code: string): number {
  if (code === ErrorCodes.REDIS_UNREACHABLE) return 3;
  if (code === ErrorCodes.CONFIG || code === ErrorCodes.BAD_FLAG || code === ErrorCodes.UNKNOWN_DATE || code.startsWith('PD_ERR_INPUT_')) return 2;
  if (code === ErrorCodes.AUDIENCE_SPEC || code === ErrorCodes.POLICY_CONFIG || code === ErrorCodes.STORE_URL || code === ErrorCodes.STORE_NOT_FOUND || code === ErrorCodes.STORE_ACCESS_DENIED) return 2;
  if (code === ErrorCodes.PROMOTION_REFUSED) return 2;
  return 1;
}
