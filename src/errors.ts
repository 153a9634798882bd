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
  /** The input ended inside a record or before the root element was closed. */
  XML_TRUNCATED: { retriable: false },
  /** The document structure outside any record is broken; the rest of the input is unusable. */
  XML_STREAM_MALFORMED: { retriable: false },
  /** A well-formed document that is not a PubMed article set (e.g. an E-utilities error reply). */
  XML_UNEXPECTED_ROOT: { retriable: false },
  GZIP_CORRUPT: { retriable: false },
  ENCODING_INVALID: { retriable: false },
  RECORD_INVALID: { retriable: false },
  PUBTATOR_MALFORMED: { retriable: false },
  AVRO_DECODE: { retriable: false },
  HTTP_STATUS: { retriable: true },
  HTTP_TIMEOUT: { retriable: true },
  NETWORK: { retriable: true },
  SERVICE_UNAVAILABLE: { retriable: true },
  /** A response ended early: Content-Length not reached, or an XML page without its closing root tag. */
  HTTP_BODY_INCOMPLETE: { retriable: true },
  HTTP_BODY_TOO_LARGE: { retriable: false },
  /** E-utilities answered with an ERROR (bad parameter, invalid db…); backend failures override to retriable. */
  EUTILS_ERROR: { retriable: false },
  /** An E-utilities response we could not read (not JSON/XML, missing Count/WebEnv). */
  EUTILS_RESPONSE_INVALID: { retriable: true },
  /** WebEnv/query_key no longer valid on the history server; the window's esearch must be re-run. */
  EUTILS_HISTORY_EXPIRED: { retriable: true },
  /** A date/PMID window still matches more records than efetch can page through and cannot be split. */
  EUTILS_WINDOW_TOO_LARGE: { retriable: false },
  /** A downloaded file does not match its published .md5; its records must not be committed. */
  CHECKSUM_MISMATCH: { retriable: false },
  /** A checkpoint file is unreadable or was written for other source parameters. */
  CHECKPOINT_INVALID: { retriable: false },
  MODEL_INVALID: { retriable: false },
  /** A record's text is longer than the annotator accepts (`Annotator.maxTextChars`). */
  RECORD_TOO_LARGE: { retriable: false },
  /** A keyed topic's record arrived without a key (PMID). */
  RECORD_KEY_MISSING: { retriable: false },
  /** A Kafka transaction could not be completed; the batch is re-read from the committed offset. */
  KAFKA_TRANSACTION: { retriable: true },
  /** A compiled normalization dictionary that is missing pieces or of another format version. */
  DICTIONARY_INVALID: { retriable: false },
  /** A vocabulary file (MEDIC, MeSH, DisMaNET) whose lines do not have the expected columns. */
  VOCABULARY_MALFORMED: { retriable: false },
  /** Writing an output file (NDJSON, dead letters) failed: disk full, permissions, closed pipe. */
  OUTPUT_WRITE_FAILED: { retriable: false },
  /** A sink refused a record for a reason retrying will not fix (mapping conflict, constraint). */
  SINK_REJECTED: { retriable: false },
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
