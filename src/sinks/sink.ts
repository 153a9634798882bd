import type { AnnotatedArticle } from '../codec/records.js';

/**
 * The contract every sink implements. A sink receives batches of {@link SinkRecord}s from one
 * driver — the Kafka sink runner (`pubmed.entities`, offsets committed only after `write`
 * resolves) or the in-process pipeline — and must neither lose nor duplicate: writes are
 * idempotent per PMID, so a batch written twice (a replay, a retry after a crash) leaves the
 * same state as once.
 */

/** Where a record came from, for dead letters and logs. */
export interface SinkRecordOrigin {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface SinkRecord {
  readonly pmid: string;
  /** The annotated article, or `null` for a deletion (a Kafka tombstone). */
  readonly article: AnnotatedArticle | null;
  /**
   * Orders the records of one PMID: a later record has a larger version. From Kafka it is the
   * record's offset (a key always lands on one partition, so offsets order a PMID's records and
   * a replay repeats the same versions); in-process it is the stream's sequence number. Sinks
   * use it to refuse regressions (OpenSearch external versioning, a version on graph nodes).
   */
  readonly version: number;
  readonly origin: SinkRecordOrigin | null;
}

/** A record the sink cannot write for a reason retrying will not fix (e.g. a mapping conflict). */
export interface SinkRejection {
  readonly record: SinkRecord;
  /** A MedStreamError code, e.g. `SINK_REJECTED`. */
  readonly errorCode: string;
  readonly message: string;
}

export interface SinkWriteResult {
  /** Records written (or found already written at this or a newer version). */
  readonly written: number;
  /** Deletions applied (or found already applied). */
  readonly deleted: number;
  /** Records the driver sends to the dead-letter topic/file; the batch is still acknowledged. */
  readonly rejected: readonly SinkRejection[];
}

export interface Sink {
  /** `opensearch`, `neo4j`, `pubtator`, … (telemetry attribute, log prefix). */
  readonly name: string;
  /** Connects and prepares (index template and alias, constraints, output folder). */
  start(): Promise<void>;
  /**
   * Writes one batch. Resolves when every record is durably written or listed in `rejected`;
   * retriable failures (HTTP 429, 5xx, connection loss) are retried inside with backoff for as
   * long as it takes, until `signal` aborts — then it rejects and the driver commits nothing.
   */
  write(records: readonly SinkRecord[], signal: AbortSignal): Promise<SinkWriteResult>;
  /** Flushes what is buffered and releases connections; idempotent. */
  close(): Promise<void>;
}
