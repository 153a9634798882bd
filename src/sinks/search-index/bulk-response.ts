import type { BulkOperationKind } from './bulk-request.js';

/**
 * What one `_bulk` response item means for its record. Classified by status and error `type`,
 * never by the reason text.
 *
 * | item                                                        | outcome      |
 * | ----------------------------------------------------------- | ------------ |
 * | 200/201 (created, updated, deleted)                         | `applied`    |
 * | 409 `version_conflict_engine_exception`                     | `superseded` |
 * | delete 404 without error (`result: not_found`)              | `absent`     |
 * | 429, 5xx, `es_rejected_execution_exception`, cluster blocks | `retry`      |
 * | `index_not_found_exception`, `index_closed_exception`       | `retry`      |
 * | any other 4xx (mapping, parsing, illegal argument)          | `reject`     |
 *
 * `superseded`: the document is already at this version (a replay) or a newer one, or was
 * deleted at a newer version; the record's effect is contained in the current state, so it
 * counts as written (deleted for a tombstone). `absent`: the document to delete does not
 * exist; the tombstone is still recorded at its version, so an older upsert arriving within
 * `index.gc_deletes` is refused.
 *
 * Cluster blocks are retried whatever their status (429 for the flood-stage
 * `read_only_allow_delete` block, 403 for `index.blocks.write`): both are operational states
 * that an operator or the disk monitor lifts, and dead-lettering every record meanwhile would
 * turn a pause into data loss for the index. A missing or closed index is the same kind of
 * state (someone deleted or closed the index under a running sink). The sink keeps retrying
 * and logs each round, so such a stall is visible.
 */
export type ItemOutcome =
  | { readonly kind: 'applied' }
  | { readonly kind: 'superseded' }
  | { readonly kind: 'absent' }
  | { readonly kind: 'retry'; readonly reason: string; readonly message: string }
  | { readonly kind: 'reject'; readonly reason: string; readonly message: string };

export const RETRIABLE_ITEM_ERROR_TYPES: ReadonlySet<string> = new Set([
  'es_rejected_execution_exception',
  'opensearch_rejected_execution_exception',
  'rejected_execution_exception',
  'circuit_breaking_exception',
  'cluster_block_exception',
  'index_not_found_exception',
  'index_closed_exception',
  'unavailable_shards_exception',
  'no_shard_available_action_exception',
  'process_cluster_event_timeout_exception',
  'node_closed_exception',
]);

interface ItemError {
  type?: unknown;
  reason?: unknown;
  caused_by?: ItemError;
}

interface ItemBody {
  status?: unknown;
  result?: unknown;
  error?: ItemError;
}

/** `type: reason (caused by type: reason)` as the server wrote it, for logs and dead letters. */
export function describeItemError(error: ItemError | undefined): string {
  if (error === undefined || error === null) return 'unknown error';
  const type = typeof error.type === 'string' ? error.type : 'error';
  const reason = typeof error.reason === 'string' ? `: ${error.reason}` : '';
  const cause =
    error.caused_by !== undefined && error.caused_by !== null
      ? ` (caused by ${describeItemError(error.caused_by)})`
      : '';
  return `${type}${reason}${cause}`;
}

export function isRetriableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Classifies one response item (`{ "index": {…} }` or `{ "delete": {…} }`). An item that is
 * missing or unreadable is retried: sending the operation again is harmless (it is versioned),
 * guessing its outcome is not.
 */
export function classifyBulkItem(kind: BulkOperationKind, item: unknown): ItemOutcome {
  const body =
    typeof item === 'object' && item !== null
      ? ((item as Record<string, unknown>)[kind] as ItemBody | undefined)
      : undefined;
  if (body === undefined || body === null || typeof body.status !== 'number') {
    return {
      kind: 'retry',
      reason: 'bulk_item_unreadable',
      message: `bulk response item for ${kind} is missing or has no status`,
    };
  }
  const { status, error } = body;
  if (error === undefined || error === null) {
    if (status >= 200 && status < 300) return { kind: 'applied' };
    if (kind === 'delete' && status === 404) return { kind: 'absent' };
  }
  const type = typeof error?.type === 'string' ? error.type : `http_${status}`;
  const message = `${status} ${describeItemError(error)}`;
  if (status === 409 && type === 'version_conflict_engine_exception') {
    return { kind: 'superseded' };
  }
  if (isRetriableStatus(status) || RETRIABLE_ITEM_ERROR_TYPES.has(type)) {
    return { kind: 'retry', reason: type, message };
  }
  return { kind: 'reject', reason: type, message };
}
