/**
 * The one error registry. Every error the product raises on purpose is a MedStreamError with a
 * stable `code`; callers classify by `code` (and `retriable`), never by message text.
 */
export const ErrorCodes = {
  CONFIG_INVALID: { retriable: false },
  INPUT_NOT_FOUND: { retriable: false },
  XML_MALFORMED: { retriable: false },
  XML_FORBIDDEN: { retriable: false },
  XML_TOO_LARGE: { retriable: false },
  GZIP_CORRUPT: { retriable: false },
  ENCODING_INVALID: { retriable: false },
  RECORD_INVALID: { retriable: false },
  AVRO_DECODE: { retriable: false },
  HTTP_STATUS: { retriable: true },
  HTTP_TIMEOUT: { retriable: true },
  NETWORK: { retriable: true },
  SERVICE_UNAVAILABLE: { retriable: true },
  MODEL_INVALID: { retriable: false },
  INTERNAL: { retriable: false },
} as const satisfies Record<string, { retriable: boolean }>;

export type ErrorCode = keyof typeof ErrorCodes;

export interface MedStreamErrorOptions {
  cause?: unknown;
  /** Overrides the code's default, e.g. an HTTP 400 is not retriable while a 503 is. */
  retriable?: boolean;
  details?: Readonly<Record<string, unknown>>;
}

export class MedStreamError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: MedStreamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MedStreamError';
    this.code = code;
    this.retriable = options.retriable ?? ErrorCodes[code].retriable;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }
}

export function isMedStreamError(error: unknown): error is MedStreamError {
  return error instanceof MedStreamError;
}

/** Retriable only when the product said so; unknown errors are programmer errors. */
export function isRetriable(error: unknown): boolean {
  return isMedStreamError(error) && error.retriable;
}
