import { Client } from '@opensearch-project/opensearch';
import type { API } from '@opensearch-project/opensearch';
import type { Config } from '../../config/config.js';
import { MedStreamError } from '../../errors.js';
import { fullJitterDelayMs } from '../../producers/http/backoff.js';
import type { Clock } from '../../producers/http/clock.js';
import { systemClock } from '../../producers/http/clock.js';
import type { Sink, SinkRecord, SinkRejection, SinkWriteResult } from '../sink.js';
import type { BulkLimits, BulkOperation } from './bulk-request.js';
import { bulkBody, chunkOperations, invalidRecordReason, toBulkOperation } from './bulk-request.js';
import { classifyBulkItem } from './bulk-response.js';
import {
  assertNoIndexNamed,
  ensureIndex,
  listAliasIndices,
  putIndexTemplate,
  resolveWriteIndex,
} from './index-admin.js';
import type { IndexSettings } from './index-template.js';
import { assertIndexName, concreteIndexName, defaultIndexSettings } from './index-template.js';
import type { RetryContext, RetrySchedule, SearchIndexRetryEvent } from './request-retry.js';
import { abortable, defaultRetrySchedule, pause, retryRequest } from './request-retry.js';

/**
 * The OpenSearch search-index sink: one document per PMID (`_id` = PMID) in a concrete index
 * behind an alias that readers query.
 *
 * Writes. Each batch becomes `_bulk` requests of at most `batchRecords` operations and
 * `batchBytes` body bytes. Every operation carries `version_type: external` with the record's
 * version (the Kafka offset), so the server keeps the highest version of each PMID whatever
 * order operations arrive in: a replayed batch answers 409 for every item ("already at this
 * or a newer version"), which counts as written — a replay never regresses a document. A
 * tombstone becomes a versioned `delete`; 404 (already gone) counts as deleted. Items that
 * fail for a retriable reason (429, 5xx, rejected execution, cluster blocks) are resent alone
 * with backoff; items the server refuses for good (mapping and parsing errors) are returned in
 * `rejected` with code SINK_REJECTED and the server's reason, for the dead-letter topic. A
 * whole request that fails (connection refused or reset, timeout, 429, 502/503/504) is retried
 * with full-jitter exponential backoff, at most `retry.maxDelayMs` apart, until the write's
 * signal aborts. No record is dropped: `write` resolves only when every record is written,
 * deleted or rejected.
 *
 * Versions are only comparable within one source: an index is fed either from one entities
 * topic (its offsets) or by the in-process driver (numbers from the run's start time), never
 * both and never from two topics, or newer records would be refused as "already written"
 * (in-process numbers outrank every offset). Re-processing therefore goes to a new index.
 *
 * Index behind alias. The sink writes to a concrete index: the one named by `index`, else
 * `<alias>-<modelName>-<modelVersion>` for `model`, else the alias's single write index. At
 * start it puts the template `<alias>-template` (mapping `dynamic: strict`, governing every
 * `<alias>-*` index), creates its index if missing, and points the alias at it when the alias
 * does not exist yet. It never moves an existing alias: that is an operator's decision.
 *
 * Re-processing with a new model version (the old index keeps serving throughout):
 * 1. Run a second pipeline beside the live one under its own `KAFKA_TOPIC_PREFIX` (e.g.
 *    `reprocess-2.`; the prefix applies to every topic, so its articles topic is fed by a fresh
 *    ingest of the baseline and update files, or by copying `pubmed.articles`), with the new
 *    model, its own processor group and `MEDSTREAM_SINK_GROUP_PREFIX`, and a search-index sink
 *    whose `model` is the new name/version: it creates `<alias>-<model>-<new version>` next to
 *    the old index and fills it, while the live pipeline keeps the old index current. Each
 *    index is fed from one entities topic, so versions stay comparable (see above).
 * 2. When the new sink's consumer lag is near zero (the back-fill is done and it follows live
 *    updates), compare `_count` of both indices and spot-check documents.
 * 3. `switchAlias(client, alias, newIndex)`: one `_aliases` request removes the alias from the
 *    old index and adds it to the new one as write index; readers switch atomically.
 * 4. Stop the old pipeline; keep the old index for a rollback period (switching back is the
 *    same call), then delete it.
 * `listAliasIndices` shows where the alias points; `ensureModelIndex` creates a model
 * version's index ahead of time.
 *
 * Elasticsearch. The APIs used — `_bulk` with external versions, composable
 * `_index_template` (Elasticsearch ≥ 7.8), `_aliases` with `is_write_index`, `index.gc_deletes`
 * — have the same shape in Elasticsearch 7.10–7.17, so the sink is expected to work there
 * through the OpenSearch client; it is tested against OpenSearch 2.19 only. Not supported:
 * Elasticsearch < 7.10 (start fails with CONFIG_INVALID), Elastic Cloud ids and API-key
 * authentication (basic auth over the URL's scheme only), data streams (append-only: they take
 * no index or delete by `_id`). Elasticsearch 8 accepts the same requests but is
 * untested; start logs a warning.
 */

export interface SearchIndexSinkOptions {
  /** OpenSearch / Elasticsearch base URL, e.g. `http://127.0.0.1:9200`. */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** The alias readers query (OPENSEARCH_INDEX_ALIAS). */
  readonly alias: string;
  /** Concrete index to write; overrides `model`. */
  readonly index?: string;
  /** Names the concrete index `<alias>-<name>-<version>`. */
  readonly model?: { readonly name: string; readonly version: string };
  /** Most operations per `_bulk` request (MEDSTREAM_SINK_BATCH_RECORDS); default 500. */
  readonly batchRecords?: number;
  /** Most body bytes per `_bulk` request (MEDSTREAM_SINK_BATCH_BYTES); default 5,000,000. */
  readonly batchBytes?: number;
  /** Settings of indices the sink creates and of the template. */
  readonly indexSettings?: Partial<IndexSettings>;
  /** `refresh` of each bulk request; default false (the index's refresh interval applies). */
  readonly refresh?: boolean | 'wait_for';
  /** How long `start` waits for the server to answer; default 60 s. */
  readonly startTimeoutMs?: number;
  /** Per-request timeout; default 60 s. */
  readonly requestTimeoutMs?: number;
  readonly retry?: Partial<RetrySchedule>;
  /** One line per event (retries, alias notes); default: none. */
  readonly log?: (line: string) => void;
  /** Called for every retry, request or items, before its backoff. */
  readonly onRetry?: (event: SearchIndexRetryEvent) => void;
  readonly clock?: Clock;
  /** Uniform in [0, 1); injected for deterministic jitter in tests. */
  readonly random?: () => number;
  /** A client owned by the caller (not closed by `close`); default: one built from `url`. */
  readonly client?: Client;
}

/** Per-batch counters beyond the contract's, for the driver's metrics. */
export interface SearchIndexWriteStats {
  /** `_bulk` requests sent, retries included. */
  readonly bulkRequests: number;
  /** Request body bytes sent, retries included. */
  readonly bulkBytes: number;
  /** Whole requests retried. */
  readonly requestRetries: number;
  /** Operations resent after a retriable item failure. */
  readonly itemRetries: number;
  /** Operations answered 409: the document was already at this or a newer version. */
  readonly superseded: number;
  /** Deletions of documents that did not exist. */
  readonly absent: number;
}

export interface SearchIndexWriteResult extends SinkWriteResult {
  readonly stats: SearchIndexWriteStats;
}

const DEFAULT_BATCH_RECORDS = 500;
const DEFAULT_BATCH_BYTES = 5_000_000;
const DEFAULT_START_TIMEOUT_MS = 60_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** Distinct item error reasons named in one retry log line. */
const MAX_REASONS_LOGGED = 5;

function positiveInteger(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new MedStreamError('CONFIG_INVALID', `${what} must be a positive integer, got ${v}`);
  }
  return v;
}

interface MutableStats {
  bulkRequests: number;
  bulkBytes: number;
  requestRetries: number;
  itemRetries: number;
  superseded: number;
  absent: number;
}

interface RetriableOperation {
  readonly op: BulkOperation;
  /** The item's error type, e.g. `es_rejected_execution_exception`. */
  readonly reason: string;
}

interface BatchState {
  written: number;
  deleted: number;
  rejected: SinkRejection[];
  stats: MutableStats;
  retryLater: RetriableOperation[];
}

export class SearchIndexSink implements Sink {
  readonly name = 'opensearch';
  private readonly client: Client;
  private readonly ownsClient: boolean;
  private readonly alias: string;
  private readonly limits: BulkLimits;
  private readonly settings: IndexSettings;
  private readonly schedule: RetrySchedule;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: (line: string) => void;
  private target: string | undefined;
  private starting: Promise<void> | undefined;
  private closed = false;
  /** Aborts a start or write still in flight when `close` is called. */
  private readonly closing = new AbortController();

  constructor(private readonly options: SearchIndexSinkOptions) {
    this.alias = assertIndexName(options.alias, 'Index alias');
    if (options.index !== undefined) assertIndexName(options.index, 'Index name');
    if (options.model !== undefined) {
      concreteIndexName(options.alias, options.model.name, options.model.version);
    }
    if ((options.username === undefined) !== (options.password === undefined)) {
      throw new MedStreamError(
        'CONFIG_INVALID',
        'OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD must be set together',
      );
    }
    this.limits = {
      maxRecords: positiveInteger(options.batchRecords, DEFAULT_BATCH_RECORDS, 'batchRecords'),
      maxBytes: positiveInteger(options.batchBytes, DEFAULT_BATCH_BYTES, 'batchBytes'),
    };
    this.settings = { ...defaultIndexSettings, ...options.indexSettings };
    this.schedule = { ...defaultRetrySchedule, ...options.retry };
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.log = options.log ?? (() => undefined);
    this.ownsClient = options.client === undefined;
    this.client =
      options.client ??
      new Client({
        node: options.url,
        ...(options.username === undefined || options.password === undefined
          ? {}
          : { auth: { username: options.username, password: options.password } }),
        // Retries are this sink's: classified, with backoff, bounded by the caller's signal.
        maxRetries: 0,
        requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      });
  }

  /** The concrete index this sink writes; known after `start`. */
  get index(): string | undefined {
    return this.target;
  }

  /**
   * Waits for the server (retrying with backoff up to `startTimeoutMs`), puts the template,
   * creates the index and, when the alias does not exist, the alias. Concurrent and repeated
   * calls share one start; after a failed start the next call tries again.
   */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('search-index sink is closed'));
    this.starting ??= this.prepare().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  private async prepare(): Promise<void> {
    const startTimeoutMs = positiveInteger(
      this.options.startTimeoutMs,
      DEFAULT_START_TIMEOUT_MS,
      'startTimeoutMs',
    );
    const deadline = this.clock.now() + startTimeoutMs;
    const context = this.retryContext(this.closing.signal, { deadline });
    const requestTimeoutMs = () => Math.max(1000, deadline - this.clock.now());
    const step = <T>(what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> =>
      retryRequest(what, run, context).catch((error: unknown) => {
        if (error instanceof MedStreamError && error.retriable) {
          throw new MedStreamError(
            'SERVICE_UNAVAILABLE',
            `OpenSearch at ${this.options.url} did not answer within ${startTimeoutMs} ms: ${error.message}`,
            { cause: error },
          );
        }
        throw error;
      });

    const info = await step('connect', (signal) =>
      abortable(this.client.info({}, { requestTimeout: requestTimeoutMs() }), signal),
    );
    this.checkServer(info.body);
    await step('put index template', (signal) =>
      putIndexTemplate(this.client, this.alias, this.settings, {
        signal,
        requestTimeoutMs: requestTimeoutMs(),
      }),
    );
    const behindAlias = await step('list alias', (signal) =>
      listAliasIndices(this.client, this.alias, { signal, requestTimeoutMs: requestTimeoutMs() }),
    );
    const target =
      this.options.index ??
      (this.options.model === undefined
        ? resolveWriteIndex(this.alias, behindAlias)
        : concreteIndexName(this.alias, this.options.model.name, this.options.model.version));
    const created = await step(`create index ${target}`, (signal) =>
      ensureIndex(this.client, target, this.settings, {
        signal,
        requestTimeoutMs: requestTimeoutMs(),
      }),
    );
    if (created) this.log(`search-index: created index ${target}`);
    if (behindAlias.length === 0) {
      await step(`check alias name ${this.alias}`, (signal) =>
        assertNoIndexNamed(this.client, this.alias, {
          signal,
          requestTimeoutMs: requestTimeoutMs(),
        }),
      );
      // Only the first sink of an alias creates it; later ones never move it (see the module doc).
      await step(`add alias ${this.alias}`, (signal) =>
        abortable(
          this.client.indices.updateAliases(
            {
              body: {
                actions: [{ add: { index: target, alias: this.alias, is_write_index: true } }],
              },
            },
            { requestTimeout: requestTimeoutMs() },
          ),
          signal,
        ),
      );
      this.log(`search-index: alias ${this.alias} now points to ${target}`);
    } else if (!behindAlias.some((i) => i.index === target)) {
      this.log(
        `search-index: writing ${target}, which is not behind alias ${this.alias} ` +
          `(it serves ${behindAlias.map((i) => i.index).join(', ')}); switch the alias when ${target} is complete`,
      );
    }
    this.target = target;
  }

  private checkServer(body: unknown): void {
    const version = (body as { version?: { number?: unknown; distribution?: unknown } }).version;
    const number = typeof version?.number === 'string' ? version.number : '';
    const distribution = typeof version?.distribution === 'string' ? version.distribution : '';
    const major = Number.parseInt(number.split('.')[0] ?? '', 10);
    const minor = Number.parseInt(number.split('.')[1] ?? '', 10);
    if (distribution === 'opensearch' || Number.isNaN(major)) return;
    // No distribution field: Elasticsearch.
    if (major < 7 || (major === 7 && minor < 10)) {
      throw new MedStreamError(
        'CONFIG_INVALID',
        `Elasticsearch ${number} is not supported by the search-index sink (needs OpenSearch, or Elasticsearch 7.10 or later)`,
      );
    }
    if (major >= 8) {
      this.log(`search-index: Elasticsearch ${number} is untested; 7.10–7.17 and OpenSearch are`);
    }
  }

  async write(
    records: readonly SinkRecord[],
    signal: AbortSignal,
  ): Promise<SearchIndexWriteResult> {
    if (this.closed) throw new Error('search-index sink is closed');
    const index = this.target;
    if (index === undefined) throw new Error('search-index sink: write() before start()');
    signal.throwIfAborted();

    const state: BatchState = {
      written: 0,
      deleted: 0,
      rejected: [],
      stats: {
        bulkRequests: 0,
        bulkBytes: 0,
        requestRetries: 0,
        itemRetries: 0,
        superseded: 0,
        absent: 0,
      },
      retryLater: [],
    };
    let pending: BulkOperation[] = [];
    for (const record of records) {
      const invalid = invalidRecordReason(record);
      if (invalid === undefined) pending.push(toBulkOperation(record));
      else state.rejected.push({ record, errorCode: 'SINK_REJECTED', message: invalid });
    }

    const context = this.retryContext(AbortSignal.any([signal, this.closing.signal]), {
      onRequestRetry: () => {
        state.stats.requestRetries += 1;
      },
    });
    for (let round = 1; pending.length > 0; round += 1) {
      state.retryLater = [];
      for (const chunk of chunkOperations(pending, this.limits)) {
        await this.sendChunk(index, chunk, state, context);
      }
      const failed = state.retryLater;
      pending = failed.map((f) => f.op);
      if (pending.length === 0) break;
      state.stats.itemRetries += pending.length;
      const delayMs = fullJitterDelayMs(round, this.schedule, this.random);
      const reasons = summarizeReasons(failed);
      context.onRetry({
        scope: 'items',
        reason: reasons.first,
        message: `${pending.length} bulk items failed (${reasons.summary})`,
        attempt: round,
        delayMs,
        operations: pending.length,
      });
      await pause(delayMs, context);
    }
    return {
      written: state.written,
      deleted: state.deleted,
      rejected: state.rejected,
      stats: { ...state.stats },
    };
  }

  /**
   * One `_bulk` request with whole-request retries. A 413 (body over the server's
   * `http.max_content_length`) halves the chunk; a single operation that is still too large is
   * rejected.
   */
  private async sendChunk(
    index: string,
    chunk: readonly BulkOperation[],
    state: BatchState,
    context: RetryContext,
  ): Promise<void> {
    const body = bulkBody(chunk);
    const bytes = Buffer.byteLength(body);
    let response;
    try {
      response = await retryRequest(
        `bulk of ${chunk.length} to ${index}`,
        (signal) => {
          state.stats.bulkRequests += 1;
          state.stats.bulkBytes += bytes;
          return abortable(
            this.client.bulk({
              index,
              // The client sends a string body as is (typed as an array of operations only);
              // prebuilt NDJSON is what the byte limit was measured on.
              body: body as unknown as API.Bulk_RequestBody,
              refresh: this.options.refresh ?? false,
              // Only what classification needs: skips echoing ids, versions and shard counts.
              filter_path: 'errors,items.*.status,items.*.result,items.*.error',
            }),
            signal,
          );
        },
        { ...context, operations: chunk.length },
      );
    } catch (error) {
      if (error instanceof MedStreamError && error.details.status === 413) {
        if (chunk.length > 1) {
          const half = Math.ceil(chunk.length / 2);
          await this.sendChunk(index, chunk.slice(0, half), state, context);
          await this.sendChunk(index, chunk.slice(half), state, context);
          return;
        }
        const [op] = chunk;
        if (op !== undefined) {
          state.rejected.push({
            record: op.record,
            errorCode: 'SINK_REJECTED',
            message: `document of ${op.bytes} bytes is larger than the server accepts (HTTP 413)`,
          });
        }
        return;
      }
      throw error;
    }

    const items = (response.body as { items?: unknown }).items;
    const list = Array.isArray(items) ? (items as unknown[]) : [];
    chunk.forEach((op, i) => {
      const outcome = classifyBulkItem(op.kind, list.length === chunk.length ? list[i] : undefined);
      switch (outcome.kind) {
        case 'applied':
          break;
        case 'superseded':
          state.stats.superseded += 1;
          break;
        case 'absent':
          state.stats.absent += 1;
          break;
        case 'retry':
          state.retryLater.push({ op, reason: outcome.reason });
          return;
        case 'reject':
          state.rejected.push({
            record: op.record,
            errorCode: 'SINK_REJECTED',
            message: outcome.message,
          });
          return;
      }
      if (op.kind === 'index') state.written += 1;
      else state.deleted += 1;
    });
  }

  private retryContext(
    signal: AbortSignal,
    extra: { deadline?: number; onRequestRetry?: () => void },
  ): RetryContext {
    return {
      signal,
      clock: this.clock,
      random: this.random,
      schedule: this.schedule,
      ...(extra.deadline === undefined ? {} : { deadline: extra.deadline }),
      onRetry: (event) => {
        if (event.scope === 'request') extra.onRequestRetry?.();
        this.log(
          `search-index: retry ${event.attempt} of ${event.scope === 'request' ? 'request' : `${event.operations} items`} in ${event.delayMs} ms: ${event.message}`,
        );
        this.options.onRetry?.(event);
      },
    };
  }

  /**
   * Releases the client (unless the caller owns it); idempotent. Nothing is buffered: a write
   * or start still retrying is aborted and rejects (its batch is not acknowledged).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort(new Error('search-index sink is closed'));
    if (this.ownsClient) await this.client.close();
  }
}

/** The most frequent reason, and `reason ×count` for the most frequent few. */
function summarizeReasons(failed: readonly RetriableOperation[]): {
  first: string;
  summary: string;
} {
  const counts = new Map<string, number>();
  for (const { reason } of failed) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  const summary = sorted
    .slice(0, MAX_REASONS_LOGGED)
    .map(([reason, n]) => `${reason} ×${n}`)
    .join(', ');
  return { first: sorted[0]?.[0] ?? 'unknown', summary };
}

export function createSearchIndexSink(options: SearchIndexSinkOptions): SearchIndexSink {
  return new SearchIndexSink(options);
}

/**
 * The sink options the configuration determines (server, credentials, alias, bulk limits).
 * The caller adds the `model` (from the served model's manifest) or an `index`, and hooks.
 */
export function searchIndexSinkOptionsFromConfig(
  config: Pick<
    Config,
    | 'OPENSEARCH_URL'
    | 'OPENSEARCH_USERNAME'
    | 'OPENSEARCH_PASSWORD'
    | 'OPENSEARCH_INDEX_ALIAS'
    | 'MEDSTREAM_SINK_BATCH_RECORDS'
    | 'MEDSTREAM_SINK_BATCH_BYTES'
  >,
): SearchIndexSinkOptions {
  if (config.OPENSEARCH_URL === undefined) {
    throw new MedStreamError(
      'CONFIG_INVALID',
      'OPENSEARCH_URL is not set: the search-index sink needs the OpenSearch base URL (see docs/configuration.md)',
    );
  }
  if ((config.OPENSEARCH_USERNAME === undefined) !== (config.OPENSEARCH_PASSWORD === undefined)) {
    throw new MedStreamError(
      'CONFIG_INVALID',
      'OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD must be set together (see docs/configuration.md)',
    );
  }
  return {
    url: config.OPENSEARCH_URL,
    ...(config.OPENSEARCH_USERNAME === undefined ? {} : { username: config.OPENSEARCH_USERNAME }),
    ...(config.OPENSEARCH_PASSWORD === undefined ? {} : { password: config.OPENSEARCH_PASSWORD }),
    alias: config.OPENSEARCH_INDEX_ALIAS,
    batchRecords: config.MEDSTREAM_SINK_BATCH_RECORDS,
    batchBytes: config.MEDSTREAM_SINK_BATCH_BYTES,
  };
}
