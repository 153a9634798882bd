import type { SinkRecord } from '../sink.js';
import { toSearchDocument } from './search-document.js';

/**
 * `_bulk` request bodies. Every record becomes one operation on `_id` = PMID with
 * `version_type: external` and `version` = the record's version:
 * - an article → `index` (create or replace the whole document),
 * - a tombstone (`article === null`) → `delete`.
 * The server applies an operation only when its version is greater than the stored one (a
 * deleted document's version included, for `index.gc_deletes`), so operations commute: a
 * replay, a retried item or a batch split differently leaves the highest version in place.
 */

export type BulkOperationKind = 'index' | 'delete';

export interface BulkOperation {
  readonly record: SinkRecord;
  readonly kind: BulkOperationKind;
  /** The operation's NDJSON lines, each ending with `\n`. */
  readonly lines: string;
  /** UTF-8 length of `lines`. */
  readonly bytes: number;
}

export interface BulkLimits {
  /** Most operations per request. */
  readonly maxRecords: number;
  /** Most body bytes per request; a single larger operation is sent alone. */
  readonly maxBytes: number;
}

/** Documents' `_id` limit in OpenSearch and Elasticsearch. */
const MAX_ID_BYTES = 512;

/**
 * Why a record cannot become a bulk operation, or undefined when it can. The server rejects a
 * whole request (HTTP 400) for an illegal version, so bad versions must never reach it.
 */
export function invalidRecordReason(record: SinkRecord): string | undefined {
  if (typeof record.pmid !== 'string' || record.pmid.length === 0) {
    return 'record has an empty PMID';
  }
  if (Buffer.byteLength(record.pmid) > MAX_ID_BYTES) {
    return `PMID is longer than ${MAX_ID_BYTES} bytes`;
  }
  if (!Number.isSafeInteger(record.version) || record.version < 0) {
    return `version ${String(record.version)} is not a non-negative integer`;
  }
  if (record.article !== null && record.article.pmid !== record.pmid) {
    return `record key PMID ${record.pmid} differs from the article's PMID ${record.article.pmid}`;
  }
  return undefined;
}

/** The operation for a record that passed {@link invalidRecordReason}. */
export function toBulkOperation(record: SinkRecord): BulkOperation {
  const meta = { _id: record.pmid, version: record.version, version_type: 'external' };
  const lines =
    record.article === null
      ? `${JSON.stringify({ delete: meta })}\n`
      : `${JSON.stringify({ index: meta })}\n${JSON.stringify(toSearchDocument(record.article))}\n`;
  return {
    record,
    kind: record.article === null ? 'delete' : 'index',
    lines,
    bytes: Buffer.byteLength(lines),
  };
}

/**
 * Splits operations, in order, into requests of at most `maxRecords` operations and
 * `maxBytes` body bytes. Every operation lands in exactly one request; one that alone exceeds
 * `maxBytes` gets a request of its own (the server's `http.max_content_length`, 100 MB by
 * default, is the real limit; a 413 there is handled by the caller).
 */
export function chunkOperations(
  operations: readonly BulkOperation[],
  limits: BulkLimits,
): BulkOperation[][] {
  if (!Number.isInteger(limits.maxRecords) || limits.maxRecords < 1) {
    throw new RangeError(`maxRecords must be a positive integer, got ${limits.maxRecords}`);
  }
  if (!Number.isInteger(limits.maxBytes) || limits.maxBytes < 1) {
    throw new RangeError(`maxBytes must be a positive integer, got ${limits.maxBytes}`);
  }
  const chunks: BulkOperation[][] = [];
  let current: BulkOperation[] = [];
  let bytes = 0;
  for (const op of operations) {
    if (
      current.length > 0 &&
      (current.length >= limits.maxRecords || bytes + op.bytes > limits.maxBytes)
    ) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(op);
    bytes += op.bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export function bulkBody(operations: readonly BulkOperation[]): string {
  return operations.map((op) => op.lines).join('');
}
