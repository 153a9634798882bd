import { performance } from 'node:perf_hooks';
import { SpanKind } from '@opentelemetry/api';
import type { Tracer } from '@opentelemetry/api';
import { Partitioners } from 'kafkajs';
import type {
  Admin,
  Consumer,
  EachBatchPayload,
  IHeaders,
  Kafka,
  KafkaMessage,
  Producer,
  Transaction,
} from 'kafkajs';
import type { AvroCodec } from '../codec/avro-codec.js';
import type { AnnotatedArticle, Article, DeadLetter } from '../codec/records.js';
import { MedStreamError, isMedStreamError } from '../errors.js';
import {
  AttributeKeys,
  SpanNames,
  createProcessorInstruments,
  medstreamTracer,
} from '../telemetry/instruments.js';
import type { LagObservation, ProcessorInstruments } from '../telemetry/instruments.js';
import { injectTraceContext, traceLinks } from '../telemetry/kafka-context.js';
import { inSpan } from '../telemetry/spans.js';
import type { TopicLayout } from '../transport/kafka/topics.js';
import { ensureTopics, topicConfigs } from '../transport/kafka/topics.js';
import type { Annotator } from './annotation/annotator.js';
import type {
  ClassifiedRecord,
  InputRecord,
  TransformResult,
} from './kafka-processor-transform.js';
import { classifyRecord, cutMicroBatches, transformBatch } from './kafka-processor-transform.js';

/**
 * The processor stage on Kafka: a consumer group on `pubmed.articles` that annotates
 * micro-batches and writes `pubmed.entities` (and dead letters on `pubmed.dlq`), exactly once.
 *
 * Exactly-once (consume-transform-produce): each micro-batch of one input partition is one
 * Kafka transaction holding its outputs, its dead letters and the group's offset for that
 * partition (`sendOffsets`). Read-committed readers see a batch's outputs if and only if its
 * input offsets were committed. Input is read with read_committed, so aborted ingest
 * transactions never reach the model.
 *
 * Zombie fencing without KIP-447 (kafkajs has no per-partition fencing through the consumer
 * group generation): one transactional producer per input partition, with the transactional id
 * `<group>/<topic>/<partition>` (the scheme Kafka Streams used before KIP-447). Whoever
 * processes a partition first initializes that id, which bumps the producer epoch: an older
 * owner (a stalled process the group gave up on, or a crashed run) is fenced and its open
 * transaction aborted, or, if it was already committing, completed before the new owner goes
 * on. Only after that does the new owner read the partition's committed offset, and it skips
 * any record below it; so every committed transaction starts exactly where the previous one
 * for its partition ended, whatever the group's rebalances did. An instance id therefore plays
 * no part in correctness (it only names the instance). Producers are kept across rebalances
 * for partitions that stay assigned (had another member processed the partition meanwhile, it
 * would have fenced ours: the next transaction fails and the session is re-created) and closed
 * for partitions that leave. A zombie that wakes up before noticing the rebalance may fence the
 * new owner once in turn; that costs an aborted batch, never a duplicate.
 *
 * Lifecycle: start → process (kafkajs `eachBatch`, one fetched partition batch at a time, cut
 * into micro-batches) → flush (nothing is buffered: every micro-batch ends committed or
 * aborted) → close (idempotent). Memory is bounded by the fetch limits (8 MiB per fetch, 1 MiB
 * per partition) plus one decoded micro-batch; micro-batches are processed strictly one after
 * another, so no promises pile up.
 *
 * Failures: a record-level problem is a dead letter. A failed transaction is aborted, the
 * partition's producer discarded, and the batch rethrown as retriable `KAFKA_TRANSACTION`:
 * kafkajs re-fetches from the last resolved offset (the last commit) with backoff, and the next
 * attempt re-initializes the producer and re-reads the committed offset. A non-retriable error
 * (model failure, programmer error) crashes the consumer; {@link KafkaProcessor.stopped}
 * reports it and the caller shuts down.
 *
 * Telemetry: one `medstream.processor.batch` span per micro-batch, linked to the distinct
 * producer spans whose W3C trace context the input records carry in their headers; every output
 * record (entities and dead letters) carries the batch span's context in turn. Counters and
 * histograms per committed batch, the consumer lag and the in-memory queue depth as gauges.
 */

export interface KafkaProcessorTopics {
  articles: string;
  entities: string;
  deadLetters: string;
}

export interface KafkaProcessorOptions {
  kafka: Kafka;
  topics: KafkaProcessorTopics;
  groupId: string;
  /** Names this instance in logs and telemetry; correctness does not depend on it. */
  instanceId: string;
  annotator: Annotator;
  articleCodec: AvroCodec<Article>;
  annotatedCodec: AvroCodec<AnnotatedArticle>;
  deadLetterCodec: AvroCodec<DeadLetter>;
  /** Records per micro-batch (one annotate call, one transaction). */
  maxBatchItems: number;
  /** Text characters per micro-batch. */
  maxBatchChars: number;
  /** Longest time the broker holds a fetch open to gather `minBytes`. */
  maxDelayMs: number;
  /** Bytes a fetch waits for (up to `maxDelayMs`); default 64 KiB. */
  minFetchBytes?: number;
  /** Creates missing topics with this layout before subscribing. */
  createTopics?: TopicLayout;
  /** Where a group without committed offsets starts; default the beginning. */
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  transactionTimeoutMs?: number;
  maxDeadLetterValueBytes?: number;
  instruments?: ProcessorInstruments;
  tracer?: Tracer;
  onEvent?: (event: ProcessorEvent) => void;
}

export type ProcessorEvent =
  | { kind: 'assigned'; partitions: number[] }
  | { kind: 'committed'; partition: number; records: number; nextOffset: string }
  | { kind: 'skipped'; partition: number; records: number; committedOffset: string }
  | { kind: 'aborted'; partition: number; error: unknown }
  | { kind: 'crashed'; error: unknown; restart: boolean };

export interface ProcessorStats {
  /** Committed micro-batches (transactions). */
  batches: number;
  articles: number;
  tombstones: number;
  deadLetters: number;
  deadLetterCodes: Record<string, number>;
  characters: number;
  tokens: number;
  aborts: number;
  /** Records skipped because a previous owner of the partition had already committed them. */
  skipped: number;
}

export interface ProcessorExit {
  /** Set when the processor stopped on its own because of a non-retriable failure. */
  failure?: unknown;
}

interface PartitionSession {
  partition: number;
  producer: Producer;
  /** First offset this group has not committed, read after this producer fenced older ones. */
  nextOffset: bigint;
}

type State = 'new' | 'starting' | 'running' | 'closing' | 'closed';

const DEFAULT_SESSION_TIMEOUT_MS = 30_000;
const DEFAULT_TRANSACTION_TIMEOUT_MS = 60_000;
const START_GRACE_MS = 5_000;

export class KafkaProcessor {
  readonly stats: ProcessorStats = {
    batches: 0,
    articles: 0,
    tombstones: 0,
    deadLetters: 0,
    deadLetterCodes: {},
    characters: 0,
    tokens: 0,
    aborts: 0,
    skipped: 0,
  };
  /** Settles once the processor has stopped, by {@link close} or by a crash. */
  readonly stopped: Promise<ProcessorExit>;

  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly instruments: ProcessorInstruments;
  private readonly tracer: Tracer;
  private readonly sessions = new Map<number, PartitionSession>();
  private readonly lag = new Map<number, { highWatermark: bigint; next: bigint }>();
  private readonly heartbeatIntervalMs: number;
  private readonly tokensSoFar: (() => number) | undefined;
  private assigned = new Set<number>();
  private assignmentVersion = 0;
  private retiredVersion = 0;
  private state: State = 'new';
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  private stopLag: (() => void) | undefined;
  private stopQueueDepth: (() => void) | undefined;
  /** Records of the partition batch in hand not yet committed (the queue-depth gauge). */
  private queued = 0;
  private resolveStopped!: (exit: ProcessorExit) => void;

  constructor(private readonly options: KafkaProcessorOptions) {
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    this.instruments = options.instruments ?? createProcessorInstruments();
    this.tracer = options.tracer ?? medstreamTracer();
    this.tokensSoFar = tokenCounter(options.annotator);
    const sessionTimeout = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    this.heartbeatIntervalMs = Math.max(500, Math.floor(sessionTimeout / 10));
    this.admin = options.kafka.admin();
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      readUncommitted: false,
      sessionTimeout,
      rebalanceTimeout: Math.max(60_000, sessionTimeout * 2),
      heartbeatInterval: this.heartbeatIntervalMs,
      // Bounded memory: one fetch holds at most maxBytes, a partition at most 1 MiB of it.
      maxBytes: 8 * 1024 * 1024,
      maxBytesPerPartition: 1024 * 1024,
      minBytes: options.minFetchBytes ?? 64 * 1024,
      maxWaitTimeInMs: options.maxDelayMs,
      allowAutoTopicCreation: false,
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      const partitions = event.payload.memberAssignment[options.topics.articles] ?? [];
      this.assigned = new Set(partitions);
      this.assignmentVersion += 1;
      for (const partition of this.lag.keys()) {
        if (!this.assigned.has(partition)) this.lag.delete(partition);
      }
      options.onEvent?.({ kind: 'assigned', partitions: [...partitions].sort((a, b) => a - b) });
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      options.onEvent?.({ kind: 'crashed', error, restart });
      if (!restart && this.closing === undefined) {
        this.failure ??= { error: unwrapFailure(error) };
        this.resolveStopped({ failure: this.failure.error });
      }
    });
  }

  /** Connects, creates missing topics, joins the group and starts consuming. */
  start(): Promise<void> {
    if (this.state !== 'new') {
      return this.starting ?? Promise.reject(new Error('processor already closed'));
    }
    this.state = 'starting';
    this.starting = this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const { topics } = this.options;
    await this.admin.connect();
    if (this.options.createTopics !== undefined) {
      await ensureTopics(this.admin, topicConfigs(topics, this.options.createTopics));
    }
    if (this.closing !== undefined) return;
    await this.consumer.connect();
    await this.consumer.subscribe({
      topics: [topics.articles],
      fromBeginning: this.options.fromBeginning ?? true,
    });
    if (this.closing !== undefined) return;
    this.stopLag = this.instruments.observeLag(() => this.lagObservations());
    this.stopQueueDepth = this.instruments.observeQueueDepth(() => this.queued, {
      [AttributeKeys.destination]: topics.articles,
      [AttributeKeys.consumerGroup]: this.options.groupId,
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    if (this.state === 'starting') this.state = 'running';
  }

  /**
   * The one shutdown path (idempotent): stop fetching, let the in-flight micro-batch commit,
   * leave the group, close the producers and the admin client. The annotator belongs to the
   * caller, which closes it afterwards.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.state = 'closing';
    // Give a start in progress a moment to reach a point where the clients disconnect
    // cleanly, but do not wait on a broker that does not answer.
    if (this.starting !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.starting.catch(() => undefined),
        new Promise((resolve) => (timer = setTimeout(resolve, START_GRACE_MS))),
      ]);
      clearTimeout(timer);
    }
    const errors: unknown[] = [];
    const attempt = async (fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (error) {
        errors.push(error);
      }
    };
    // disconnect() stops the runner first, which waits for the batch being processed.
    await attempt(() => this.consumer.disconnect());
    this.stopLag?.();
    this.stopQueueDepth?.();
    for (const session of this.sessions.values()) {
      await attempt(() => session.producer.disconnect());
    }
    this.sessions.clear();
    await attempt(() => this.admin.disconnect());
    this.state = 'closed';
    this.resolveStopped(this.failure === undefined ? {} : { failure: this.failure.error });
    if (errors.length > 0) {
      throw new MedStreamError('INTERNAL', 'processor shutdown failed', { cause: errors[0] });
    }
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { partition } = batch;
    this.observeHighWatermark(partition, batch.highWatermark);
    await this.retireRevokedSessions();
    const session = await this.session(partition);

    let messages = batch.messages;
    const fresh = messages.findIndex((m) => BigInt(m.offset) >= session.nextOffset);
    const skip = fresh === -1 ? messages.length : fresh;
    if (skip > 0) {
      // A previous owner committed these after our consumer read its starting offset.
      payload.resolveOffset(messages[skip - 1].offset);
      messages = messages.slice(skip);
      this.stats.skipped += skip;
      this.options.onEvent?.({
        kind: 'skipped',
        partition,
        records: skip,
        committedOffset: session.nextOffset.toString(),
      });
    }
    if (messages.length === 0) return;
    const lastMessage = messages[messages.length - 1];
    // Past the last delivered record there may be control records; committing past them too
    // keeps the lag at zero once caught up.
    const endOfBatch = BigInt(batch.lastOffset()) + 1n;

    const batches = cutMicroBatches(this.classify(batch.topic, partition, messages), {
      maxItems: this.options.maxBatchItems,
      maxChars: this.options.maxBatchChars,
    });
    this.queued = messages.length;
    try {
      for (const records of batches) {
        // Graceful stop or a seek: leave the rest unresolved, to be fetched again.
        if (!payload.isRunning() || payload.isStale()) break;
        await payload.heartbeat();
        const last = records[records.length - 1].input.offset;
        const nextOffset = last === lastMessage.offset ? endOfBatch : BigInt(last) + 1n;
        await this.processMicroBatch(session, records, nextOffset, () => payload.heartbeat());
        payload.resolveOffset(last);
        this.queued -= records.length;
      }
    } finally {
      // Whatever was not committed is dropped here and fetched again.
      this.queued = 0;
    }
  }

  private *classify(
    topic: string,
    partition: number,
    messages: readonly KafkaMessage[],
  ): Generator<ClassifiedRecord, void, undefined> {
    const options = {
      articleCodec: this.options.articleCodec,
      maxTextChars: this.options.annotator.maxTextChars,
    };
    for (const message of messages) {
      const input: InputRecord = {
        topic,
        partition,
        offset: message.offset,
        key: message.key,
        value: message.value,
        headers: message.headers,
      };
      yield classifyRecord(input, options);
    }
  }

  private async processMicroBatch(
    session: PartitionSession,
    records: ClassifiedRecord[],
    nextOffset: bigint,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const { topics, groupId } = this.options;
    const { partition } = session;
    const started = performance.now();
    const attributes = {
      [AttributeKeys.messagingSystem]: 'kafka',
      [AttributeKeys.destination]: topics.articles,
      [AttributeKeys.partition]: String(partition),
      [AttributeKeys.consumerGroup]: groupId,
    };
    await inSpan(
      this.tracer,
      SpanNames.processorBatch,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          ...attributes,
          [AttributeKeys.batchCount]: records.length,
          [AttributeKeys.firstOffset]: records[0].input.offset,
          [AttributeKeys.lastOffset]: records[records.length - 1].input.offset,
          [AttributeKeys.instance]: this.options.instanceId,
        },
        // A batch has many producers: it links to each (distinct) producing span instead of
        // taking one record's producer as its parent.
        links: traceLinks(records.map((r) => r.input.headers)),
      },
      async (span) => {
        const tokensBefore = this.tokensSoFar?.() ?? 0;
        const result = await this.transform(records, heartbeat);
        const tokens = (this.tokensSoFar?.() ?? 0) - tokensBefore;
        // Every output carries this batch span's context, for the sinks' spans to link to.
        await this.commit(session, result, nextOffset, injectTraceContext({}));
        span.setAttribute(AttributeKeys.deadLetters, result.deadLetters.length);

        this.stats.batches += 1;
        this.stats.articles += result.articles;
        this.stats.tombstones += result.tombstones;
        this.stats.characters += result.characters;
        this.stats.tokens += tokens;
        this.instruments.articles.add(result.articles, attributes);
        this.instruments.tombstones.add(result.tombstones, attributes);
        this.instruments.characters.add(result.characters, attributes);
        if (this.tokensSoFar !== undefined) this.instruments.tokens.add(tokens, attributes);
        for (const [code, n] of result.deadLetterCodes) {
          this.stats.deadLetters += n;
          this.stats.deadLetterCodes[code] = (this.stats.deadLetterCodes[code] ?? 0) + n;
          this.instruments.deadLetters.add(n, { ...attributes, [AttributeKeys.errorCode]: code });
        }
        this.instruments.batchSize.record(records.length, attributes);
        this.instruments.batchDuration.record((performance.now() - started) / 1000, attributes);
        this.options.onEvent?.({
          kind: 'committed',
          partition,
          records: records.length,
          nextOffset: nextOffset.toString(),
        });
      },
    );
  }

  /** Annotates outside the transaction (keeping it short), heartbeating meanwhile. */
  private async transform(
    records: ClassifiedRecord[],
    heartbeat: () => Promise<void>,
  ): Promise<TransformResult> {
    // A rebalance noticed here is acted on at the next heartbeat between micro-batches;
    // committing this batch meanwhile is safe, since a new owner's producer fences ours.
    const keepAlive = setInterval(() => {
      heartbeat().catch(() => undefined);
    }, this.heartbeatIntervalMs);
    try {
      return await transformBatch(records, {
        annotator: this.options.annotator,
        annotatedCodec: this.options.annotatedCodec,
        deadLetterCodec: this.options.deadLetterCodec,
        ...(this.options.maxDeadLetterValueBytes === undefined
          ? {}
          : { maxDeadLetterValueBytes: this.options.maxDeadLetterValueBytes }),
      });
    } catch (error) {
      // Unknown errors are programmer errors: never retried (kafkajs would retry them).
      if (isMedStreamError(error)) throw error;
      throw new MedStreamError('INTERNAL', `annotation failed: ${String(error)}`, {
        cause: error,
      });
    } finally {
      clearInterval(keepAlive);
    }
  }

  private async commit(
    session: PartitionSession,
    result: TransformResult,
    nextOffset: bigint,
    headers: IHeaders,
  ): Promise<void> {
    const { topics, groupId } = this.options;
    let transaction: Transaction | undefined;
    try {
      transaction = await session.producer.transaction();
      const topicMessages = [];
      if (result.entities.length > 0) {
        topicMessages.push({
          topic: topics.entities,
          messages: result.entities.map((m) => ({ ...m, headers })),
        });
      }
      if (result.deadLetters.length > 0) {
        topicMessages.push({
          topic: topics.deadLetters,
          messages: result.deadLetters.map((m) => ({ ...m, headers })),
        });
      }
      if (topicMessages.length > 0) await transaction.sendBatch({ acks: -1, topicMessages });
      await transaction.sendOffsets({
        consumerGroupId: groupId,
        topics: [
          {
            topic: topics.articles,
            partitions: [{ partition: session.partition, offset: nextOffset.toString() }],
          },
        ],
      });
      await transaction.commit();
    } catch (error) {
      if (transaction?.isActive() === true) await transaction.abort().catch(() => undefined);
      await this.retire(session.partition);
      this.stats.aborts += 1;
      this.instruments.aborts.add(1, {
        [AttributeKeys.destination]: topics.articles,
        [AttributeKeys.partition]: String(session.partition),
      });
      this.options.onEvent?.({ kind: 'aborted', partition: session.partition, error });
      throw new MedStreamError(
        'KAFKA_TRANSACTION',
        `transaction for ${topics.articles}[${session.partition}] failed; re-reading from the committed offset`,
        { cause: error },
      );
    }
    session.nextOffset = nextOffset;
    const lag = this.lag.get(session.partition);
    if (lag !== undefined) lag.next = nextOffset;
  }

  /** The partition's producer, initialized (fencing older owners) on first use. */
  private async session(partition: number): Promise<PartitionSession> {
    const existing = this.sessions.get(partition);
    if (existing !== undefined) return existing;
    const { kafka, topics, groupId } = this.options;
    const producer = kafka.producer({
      transactionalId: transactionalIdFor(groupId, topics.articles, partition),
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.options.transactionTimeoutMs ?? DEFAULT_TRANSACTION_TIMEOUT_MS,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    try {
      await producer.connect();
      // kafkajs sends InitProducerId with the transactional id on the first transaction: the
      // broker bumps the epoch (fencing older producers) and finishes their open transaction
      // first. An empty transaction ends locally without a request.
      const fence = await producer.transaction();
      await fence.abort();
      const nextOffset = await this.committedOffset(partition);
      const session: PartitionSession = { partition, producer, nextOffset };
      this.sessions.set(partition, session);
      const lag = this.lag.get(partition);
      if (lag !== undefined) lag.next = nextOffset;
      return session;
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw new MedStreamError(
        'KAFKA_TRANSACTION',
        `cannot initialize the transactional producer for ${topics.articles}[${partition}]`,
        { cause: error },
      );
    }
  }

  private async committedOffset(partition: number): Promise<bigint> {
    const { groupId, topics } = this.options;
    const [topic] = await this.admin.fetchOffsets({ groupId, topics: [topics.articles] });
    const offset = topic?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
    // -1: nothing committed yet; every record is new.
    return BigInt(offset);
  }

  private async retire(partition: number): Promise<void> {
    const session = this.sessions.get(partition);
    if (session === undefined) return;
    this.sessions.delete(partition);
    await session.producer.disconnect().catch(() => undefined);
  }

  private async retireRevokedSessions(): Promise<void> {
    if (this.retiredVersion === this.assignmentVersion) return;
    this.retiredVersion = this.assignmentVersion;
    for (const partition of [...this.sessions.keys()]) {
      if (!this.assigned.has(partition)) await this.retire(partition);
    }
  }

  private observeHighWatermark(partition: number, highWatermark: string): void {
    const entry = this.lag.get(partition);
    const next = this.sessions.get(partition)?.nextOffset ?? -1n;
    if (entry === undefined) {
      this.lag.set(partition, { highWatermark: BigInt(highWatermark), next });
    } else {
      entry.highWatermark = BigInt(highWatermark);
    }
  }

  private *lagObservations(): Generator<LagObservation> {
    for (const [partition, { highWatermark, next }] of this.lag) {
      if (next < 0n) continue;
      const lag = highWatermark > next ? Number(highWatermark - next) : 0;
      yield {
        lag,
        attributes: {
          [AttributeKeys.destination]: this.options.topics.articles,
          [AttributeKeys.partition]: String(partition),
          [AttributeKeys.consumerGroup]: this.options.groupId,
        },
      };
    }
  }
}

/** Stable per (group, input partition): see the module comment on fencing. */
export function transactionalIdFor(groupId: string, topic: string, partition: number): string {
  return `${groupId}/${topic}/${partition}`;
}

/** kafkajs wraps what eachBatch threw (KafkaJSNonRetriableError…): report our own error. */
function unwrapFailure(error: unknown): unknown {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; depth += 1) {
    if (isMedStreamError(e)) return e;
    e = e.cause;
  }
  return error;
}

/** The annotator's running token count, when it keeps one (the ONNX annotator does). */
function tokenCounter(annotator: Annotator): (() => number) | undefined {
  const stats = (annotator as { stats?: { tokens?: unknown } }).stats;
  if (stats === undefined || typeof stats.tokens !== 'number') return undefined;
  return () => stats.tokens as number;
}
