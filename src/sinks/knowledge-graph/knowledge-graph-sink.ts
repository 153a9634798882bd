import type { Tracer } from '@opentelemetry/api';
import neo4j from 'neo4j-driver';
import type { Driver, ManagedTransaction } from 'neo4j-driver';
import type { Config } from '../../config/config.js';
import { MedStreamError, isMedStreamError } from '../../errors.js';
import type { Clock } from '../../producers/http/clock.js';
import { systemClock } from '../../producers/http/clock.js';
import { medstreamTracer } from '../../telemetry/instruments.js';
import { inSpan } from '../../telemetry/spans.js';
import type { Sink, SinkRecord, SinkRejection, SinkWriteResult } from '../sink.js';
import { planBatch } from './batch-plan.js';
import type { BatchPlan, StoredArticleState } from './batch-plan.js';
import {
  APPLY_PAIR_DELTAS,
  AWAIT_INDEXES,
  CREATE_MENTIONS,
  DELETE_ARTICLES,
  DELETE_MARKERS,
  DELETE_MENTIONS,
  DELETE_PLACEHOLDERS,
  LOCK_AND_READ,
  MARK_DELETED,
  MERGE_CONCEPTS,
  SCHEMA_STATEMENTS,
  SET_ARTICLES,
} from './cypher.js';
import { DEFAULT_MAX_PAIRED_CONCEPTS, prepareRecord } from './graph-model.js';
import type { ConceptLookup, PreparedRecord } from './graph-model.js';
import {
  KnowledgeGraphSpans,
  OUTCOME_ATTRIBUTE,
  createKnowledgeGraphInstruments,
} from './knowledge-graph-telemetry.js';
import type { KnowledgeGraphInstruments } from './knowledge-graph-telemetry.js';
import { classifyNeo4jError } from './neo4j-errors.js';
import { applyBisecting, defaultRetrySchedule, retryRetriable } from './write-retry.js';
import type { RetryContext, RetryEvent, RetrySchedule } from './write-retry.js';

/**
 * The Neo4j knowledge-graph sink: each batch of AnnotatedArticles (and tombstones) becomes
 * Article, Concept, MENTIONS and CO_OCCURS changes in one write transaction per
 * `batchRecords` records. Idempotent per PMID and version (see batch-plan.ts), so replays,
 * retries after a lost commit acknowledgement and redelivered Kafka batches leave the graph as
 * one delivery would. The model and its rules are described in README.md in this folder.
 *
 * Failures: retriable ones (server down, connection lost, deadlock) retry the batch with
 * full-jitter backoff until the write's signal aborts; a record the server refuses is isolated
 * by bisection and returned in `rejected`; configuration errors are thrown.
 *
 * Concurrency: writes of one sink run one after another. Several sinks on one database stay
 * correct — each transaction locks the Article nodes of its PMIDs before reading them, and
 * CO_OCCURS increments are atomic — but contend on popular concepts: deadlocks are detected by
 * the server and retried (driver retries, then this sink's backoff). Kafka partitioning by PMID
 * keeps their articles disjoint.
 */

export interface KnowledgeGraphConnection {
  /** Bolt URI: `bolt://`, `neo4j://` (routing), with `+s`/`+ssc` for TLS. */
  readonly uri: string;
  readonly user: string;
  /** undefined: connect without authentication. */
  readonly password: string | undefined;
  readonly database: string;
  /** Most records per graph transaction; a larger write is split. */
  readonly batchRecords: number;
}

export interface KnowledgeGraphSinkOptions extends KnowledgeGraphConnection {
  /** Concept names and types; `conceptLookupFromDictionary` in production. */
  readonly conceptLookup: ConceptLookup;
  /** Per-article cap of the concepts that form CO_OCCURS pairs (0: no CO_OCCURS at all). */
  readonly maxPairedConcepts?: number;
  /** How long `start()` waits for the server (with backoff) before it fails. Default 120 s. */
  readonly startTimeoutMs?: number;
  readonly retry?: RetrySchedule;
  /** One line per retry and per start-up event. */
  readonly log?: (line: string) => void;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly instruments?: KnowledgeGraphInstruments;
  readonly tracer?: Tracer;
}

/** Cumulative counts since the sink was created. */
export interface KnowledgeGraphSinkStats {
  readonly transactions: number;
  readonly retries: number;
  readonly written: number;
  readonly deleted: number;
  readonly rejected: number;
  /** Records that changed nothing because a newer version of their PMID was stored. */
  readonly superseded: number;
  readonly skippedPairs: number;
}

export interface KnowledgeGraphSink extends Sink {
  stats(): KnowledgeGraphSinkStats;
}

const URI_SCHEMES = ['bolt', 'bolt+s', 'bolt+ssc', 'neo4j', 'neo4j+s', 'neo4j+ssc'];
const DEFAULT_START_TIMEOUT_MS = 120_000;
const AWAIT_INDEXES_SECONDS = 600;

function checkUri(uri: string, setting: string): void {
  const scheme = /^([a-z0-9+]+):\/\/[^/\s]+/i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined || !URI_SCHEMES.includes(scheme)) {
    throw new MedStreamError(
      'CONFIG_INVALID',
      `${setting}=${uri} is not a Neo4j Bolt URI: use ${URI_SCHEMES.map((s) => `${s}://`).join(', ')} ` +
        'followed by host[:port], e.g. bolt://127.0.0.1:7687',
    );
  }
}

function checkCount(value: number, name: string, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new MedStreamError('CONFIG_INVALID', `${name} must be an integer ≥ ${min}, not ${value}`);
  }
}

/** Connection settings from the validated configuration; NEO4J_URI is required. */
export function knowledgeGraphSinkOptionsFromConfig(config: Config): KnowledgeGraphConnection {
  const uri = config.NEO4J_URI;
  if (uri === undefined || uri.trim() === '') {
    throw new MedStreamError(
      'CONFIG_INVALID',
      'NEO4J_URI is not set: set it to the Bolt URI of the graph database, e.g. ' +
        'bolt://127.0.0.1:7687 (see docs/configuration.md)',
    );
  }
  checkUri(uri.trim(), 'NEO4J_URI');
  return Object.freeze({
    uri: uri.trim(),
    user: config.NEO4J_USER,
    password: config.NEO4J_PASSWORD,
    database: config.NEO4J_DATABASE,
    batchRecords: config.MEDSTREAM_SINK_BATCH_RECORDS,
  });
}

export function createKnowledgeGraphSink(options: KnowledgeGraphSinkOptions): KnowledgeGraphSink {
  return new Neo4jKnowledgeGraphSink(options);
}

interface TransactionOutcome {
  readonly plan: BatchPlan;
}

/**
 * Parameters of the write statements. Integers travel as Neo4j integers: a JavaScript number
 * would be stored as a float.
 */
function statementRows(plan: BatchPlan) {
  const toInt = (value: number) => neo4j.int(value);
  return {
    concepts: plan.concepts,
    upsertPmids: plan.upserts.map((u) => u.pmid),
    articles: plan.upserts.map(({ pmid, version, graph }) => ({
      pmid,
      properties: {
        version: toInt(version),
        articleVersion: toInt(graph.articleVersion),
        title: graph.title,
        modelName: graph.modelName,
        modelVersion: graph.modelVersion,
        publicationDate: graph.publicationDate,
        pairedConcepts: graph.pairedConcepts.length === 0 ? null : graph.pairedConcepts,
      },
    })),
    mentions: plan.upserts.flatMap(({ pmid, graph }) =>
      graph.mentions.map((m) => ({
        pmid,
        concept: m.concept,
        count: toInt(m.count),
        spans: m.spans,
        model: graph.model,
      })),
    ),
    deletions: plan.deletions.map(({ pmid, version }) => ({ pmid, version: toInt(version) })),
    pairs: plan.pairs.map(({ start, end, delta }) => ({ start, end, delta: toInt(delta) })),
  };
}

function readState(value: unknown): number | null {
  return typeof value === 'number' ? value : null;
}

class Neo4jKnowledgeGraphSink implements KnowledgeGraphSink {
  readonly name = 'neo4j';
  private readonly options: KnowledgeGraphSinkOptions;
  private readonly maxPairedConcepts: number;
  private readonly log: (line: string) => void;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly instruments: KnowledgeGraphInstruments;
  private readonly tracer: Tracer;
  private driver: Driver | undefined;
  private starting: Promise<void> | undefined;
  private started = false;
  private closing: Promise<void> | undefined;
  /** Aborts start-up retries when the sink is closed meanwhile. */
  private readonly lifetime = new AbortController();
  /** Writes run one after another: the tail of the chain. */
  private queue: Promise<unknown> = Promise.resolve();
  private counts = {
    transactions: 0,
    retries: 0,
    written: 0,
    deleted: 0,
    rejected: 0,
    superseded: 0,
    skippedPairs: 0,
  };

  constructor(options: KnowledgeGraphSinkOptions) {
    checkUri(options.uri, 'uri');
    checkCount(options.batchRecords, 'batchRecords', 1);
    this.maxPairedConcepts = options.maxPairedConcepts ?? DEFAULT_MAX_PAIRED_CONCEPTS;
    checkCount(this.maxPairedConcepts, 'maxPairedConcepts', 0);
    this.options = options;
    this.log = options.log ?? (() => undefined);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.instruments = options.instruments ?? createKnowledgeGraphInstruments();
    this.tracer = options.tracer ?? medstreamTracer();
  }

  stats(): KnowledgeGraphSinkStats {
    return { ...this.counts };
  }

  start(): Promise<void> {
    if (this.closing !== undefined) {
      return Promise.reject(new MedStreamError('INTERNAL', 'neo4j sink: start() after close()'));
    }
    // A failed start may be tried again (e.g. by a supervisor after its own backoff).
    this.starting ??= this.connect().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  private async connect(): Promise<void> {
    const { uri, user, password, database } = this.options;
    const driver = neo4j.driver(
      uri,
      password === undefined ? undefined : neo4j.auth.basic(user, password),
      {
        disableLosslessIntegers: true,
        // The driver's own retries of a transaction are kept short: the sink's loop retries
        // for as long as the write's signal allows, with logging and backoff.
        maxTransactionRetryTime: 5_000,
        connectionTimeout: 15_000,
        connectionAcquisitionTimeout: 60_000,
        userAgent: 'medstream-knowledge-graph',
      },
    );
    this.driver = driver;
    const timeoutMs = this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const context: RetryContext = {
      signal: this.lifetime.signal,
      clock: this.clock,
      random: this.random,
      schedule: this.options.retry ?? defaultRetrySchedule,
      classify: (error) => classifyNeo4jError(error, `neo4j ${uri}`),
      deadline: this.clock.now() + timeoutMs,
      onRetry: ({ attempt, delayMs, error }) =>
        this.log(`neo4j: not ready (${error.message}); retry ${attempt} in ${delayMs} ms`),
    };
    try {
      await retryRetriable(async () => {
        await driver.verifyConnectivity({ database });
        for (const statement of SCHEMA_STATEMENTS) {
          await driver.executeQuery(statement, {}, { database });
        }
        await driver.executeQuery(AWAIT_INDEXES, { seconds: AWAIT_INDEXES_SECONDS }, { database });
      }, context);
    } catch (error) {
      this.driver = undefined;
      await driver.close();
      if (isMedStreamError(error) && error.retriable) {
        throw new MedStreamError(
          error.code,
          `neo4j: no usable server at ${uri} (database ${database}) within ${timeoutMs} ms: ` +
            `${error.message}. Check NEO4J_URI and that the server is running.`,
          { cause: error, details: error.details },
        );
      }
      if (isMedStreamError(error)) throw error;
      throw new MedStreamError(
        'CONFIG_INVALID',
        `neo4j: could not prepare the graph schema in database ${database}: ` +
          `${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    this.started = true;
    this.log(`neo4j: connected to ${uri}, database ${database}; constraints in place`);
  }

  write(records: readonly SinkRecord[], signal: AbortSignal): Promise<SinkWriteResult> {
    if (!this.started || this.closing !== undefined) {
      return Promise.reject(
        new MedStreamError(
          'INTERNAL',
          this.closing === undefined
            ? 'neo4j sink: write() before start() resolved'
            : 'neo4j sink: write() after close()',
        ),
      );
    }
    const run = this.queue.then(() =>
      inSpan(
        this.tracer,
        KnowledgeGraphSpans.write,
        { attributes: { 'messaging.batch.message_count': records.length } },
        () => this.writeNow(records, signal),
      ),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async writeNow(
    records: readonly SinkRecord[],
    signal: AbortSignal,
  ): Promise<SinkWriteResult> {
    signal.throwIfAborted();
    const began = performance.now();
    const rejected: SinkRejection[] = [];
    const prepared: PreparedRecord[] = [];
    for (const record of records) {
      try {
        prepared.push(prepareRecord(record, this.options.conceptLookup, this.maxPairedConcepts));
      } catch (error) {
        if (!isMedStreamError(error) || error.code !== 'SINK_REJECTED') throw error;
        rejected.push({ record, errorCode: error.code, message: error.message });
      }
    }
    const context: RetryContext = {
      signal,
      clock: this.clock,
      random: this.random,
      schedule: this.options.retry ?? defaultRetrySchedule,
      classify: (error) => classifyNeo4jError(error, 'graph write'),
      onRetry: (event) => this.onRetry(event),
    };
    let written = 0;
    let deleted = 0;
    const size = this.options.batchRecords;
    for (let from = 0; from < prepared.length; from += size) {
      const outcome = await applyBisecting(
        prepared.slice(from, from + size),
        (part) => retryRetriable(() => this.transaction(part), context),
        context.classify,
      );
      for (const { plan } of outcome.results) {
        written += plan.written;
        deleted += plan.deleted;
        this.counts.transactions += 1;
        this.counts.superseded += plan.superseded;
        this.counts.skippedPairs += plan.skippedPairs;
        this.instruments.transactions.add(1);
        this.instruments.superseded.add(plan.superseded);
        this.instruments.skippedPairs.add(plan.skippedPairs);
      }
      for (const { item, error } of outcome.failures) {
        const message = error instanceof Error ? error.message : String(error);
        this.log(`neo4j: rejected PMID ${item.record.pmid} v${item.record.version}: ${message}`);
        rejected.push({ record: item.record, errorCode: 'SINK_REJECTED', message });
      }
    }
    this.counts.written += written;
    this.counts.deleted += deleted;
    this.counts.rejected += rejected.length;
    this.instruments.records.add(written, { [OUTCOME_ATTRIBUTE]: 'written' });
    this.instruments.records.add(deleted, { [OUTCOME_ATTRIBUTE]: 'deleted' });
    this.instruments.records.add(rejected.length, { [OUTCOME_ATTRIBUTE]: 'rejected' });
    this.instruments.writeDuration.record((performance.now() - began) / 1000);
    return { written, deleted, rejected };
  }

  private onRetry({ attempt, delayMs, error }: RetryEvent): void {
    this.counts.retries += 1;
    this.instruments.retries.add(1, { 'medstream.error.code': error.code });
    this.log(`neo4j: ${error.message}; retry ${attempt} in ${delayMs} ms`);
  }

  /** One write transaction; the driver reruns the function on its own transient retries. */
  private async transaction(part: readonly PreparedRecord[]): Promise<TransactionOutcome> {
    const driver = this.driver;
    if (driver === undefined) throw new MedStreamError('INTERNAL', 'neo4j sink: no driver');
    const session = driver.session({
      database: this.options.database,
      defaultAccessMode: neo4j.session.WRITE,
    });
    try {
      return await session.executeWrite((tx) => this.apply(tx, part), {
        metadata: { app: 'medstream', sink: 'neo4j' },
      });
    } finally {
      // A session on a lost connection may fail to close; the transaction's error is the news.
      await session.close().catch(() => undefined);
    }
  }

  private async apply(
    tx: ManagedTransaction,
    part: readonly PreparedRecord[],
  ): Promise<TransactionOutcome> {
    const pmids = [...new Set(part.map((p) => p.record.pmid))].sort();
    const read = await tx.run(LOCK_AND_READ, { pmids });
    const stored = new Map<string, StoredArticleState>();
    for (const row of read.records) {
      const pairedConcepts: unknown = row.get('pairedConcepts');
      stored.set(row.get('pmid') as string, {
        version: readState(row.get('version')),
        pairedConcepts: Array.isArray(pairedConcepts) ? (pairedConcepts as string[]) : [],
        deletedVersion: readState(row.get('deletedVersion')),
      });
    }
    const plan = planBatch(part, stored);
    const rows = statementRows(plan);
    if (rows.concepts.length > 0) await tx.run(MERGE_CONCEPTS, { rows: rows.concepts });
    if (rows.articles.length > 0) {
      // Only articles stored before have MENTIONS to replace; new ones start from a placeholder.
      const replaced = rows.upsertPmids.filter((p) => (stored.get(p)?.version ?? null) !== null);
      if (replaced.length > 0) await tx.run(DELETE_MENTIONS, { pmids: replaced });
      await tx.run(SET_ARTICLES, { rows: rows.articles });
      if (rows.mentions.length > 0) await tx.run(CREATE_MENTIONS, { rows: rows.mentions });
    }
    if (plan.unmarked.length > 0) await tx.run(DELETE_MARKERS, { pmids: plan.unmarked });
    if (rows.deletions.length > 0) {
      await tx.run(DELETE_ARTICLES, { rows: rows.deletions });
      await tx.run(MARK_DELETED, { rows: rows.deletions });
    }
    if (rows.pairs.length > 0) await tx.run(APPLY_PAIR_DELTAS, { rows: rows.pairs });
    const applied = new Set([...rows.upsertPmids, ...plan.deletions.map((d) => d.pmid)]);
    const placeholders = pmids.filter((p) => stored.get(p)?.version === null && !applied.has(p));
    if (placeholders.length > 0) await tx.run(DELETE_PLACEHOLDERS, { pmids: placeholders });
    return { plan };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.lifetime.abort(new MedStreamError('INTERNAL', 'neo4j sink closed during start-up'));
      // Writes in flight finish (or fail) first: a commit is not cut off half-way.
      await this.queue;
      await this.starting?.catch(() => undefined);
      await this.driver?.close();
    })();
    return this.closing;
  }
}
