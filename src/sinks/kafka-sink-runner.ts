import { SpanKind } from '@opentelemetry/api';
import type { Tracer } from '@opentelemetry/api';
import type { Admin, Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { AvroCodec } from '../codec/avro-codec.js';
import type { AnnotatedArticle, DeadLetter } from '../codec/records.js';
import { MedStreamError, isMedStreamError } from '../errors.js';
import {
  AttributeKeys,
  SpanNames,
  createSinkInstruments,
  medstreamTracer,
} from '../telemetry/instruments.js';
import type { LagObservation, SinkInstruments } from '../telemetry/instruments.js';
import { traceLinks } from '../telemetry/kafka-context.js';
import { inSpan } from '../telemetry/spans.js';
import type { TopicLayout, TopicNames } from '../transport/kafka/topics.js';
import { ensureTopics, topicConfigs } from '../transport/kafka/topics.js';
import type { DecodedEntity, EntityMessage, SinkBatchLimits } from './kafka-sink-records.js';
import { batchDeadLetters, cutSinkBatches, decodeEntity } from './kafka-sink-records.js';
import type { Sink, SinkRecord } from './sink.js';

/**
 * Drives one {@link Sink} from `pubmed.entities`: a consumer group (`<prefix>-<sink>`) reading
 * with read_committed, so only the processor's committed transactions arrive.
 *
 * No loss, no duplicates: a batch's offsets are committed only after `sink.write` resolved
 * (every record acknowledged by the target or dead-lettered) and its dead letters were
 * acknowledged by the broker. A crash between the write and the commit re-delivers the batch,
 * and the sinks' writes are idempotent per PMID and versioned by offset, so the re-delivery
 * changes nothing (dead letters of that batch may then appear twice on `pubmed.dlq`).
 *
 * Outages: `sink.write` retries retriable failures itself for as long as it takes; meanwhile
 * this runner heartbeats so the group keeps the partition, and nothing is committed. Memory is
 * bounded by the fetch limits plus one decoded batch.
 *
 * Lifecycle: start (topics, sink.start, join) → batches → close: stop fetching, let the
 * in-flight write finish for up to `drainTimeoutMs` (then abort it — it is re-read on the next
 * start), leave the group, close the dead-letter producer and the sink. The runner owns the
 * sink's lifecycle.
 */

export interface KafkaSinkRunnerOptions {
  kafka: Kafka;
  topics: TopicNames;
  groupId: string;
  sink: Sink;
  annotatedCodec: AvroCodec<AnnotatedArticle>;
  deadLetterCodec: AvroCodec<DeadLetter>;
  limits: SinkBatchLimits;
  /** Longest time the broker holds a fetch open to fill it. */
  maxDelayMs?: number;
  /** Where a group without committed offsets starts; default the beginning. */
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  /** How long close() lets an in-flight write finish before aborting it. */
  drainTimeoutMs?: number;
  /** Creates missing topics with this layout before subscribing. */
  createTopics?: TopicLayout;
  instruments?: SinkInstruments;
  tracer?: Tracer;
  onEvent?: (event: SinkRunnerEvent) => void;
}

export type SinkRunnerEvent =
  | { kind: 'assigned'; partitions: number[] }
  | {
      kind: 'committed';
      partition: number;
      nextOffset: string;
      written: number;
      deleted: number;
      deadLetters: number;
      seconds: number;
    }
  | { kind: 'crashed'; error: unknown; restart: boolean };

export interface SinkRunnerStats {
  batches: number;
  written: number;
  deleted: number;
  /** Records the sink rejected plus undecodable messages, all sent to the dead-letter topic. */
  deadLetters: number;
  deadLetterCodes: Record<string, number>;
}

export interface SinkRunnerExit {
  failure?: unknown;
}

type State = 'new' | 'starting' | 'running' | 'closing' | 'closed';

const DEFAULT_SESSION_TIMEOUT_MS = 30_000;
const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

export class KafkaSinkRunner {
  readonly stats: SinkRunnerStats = {
    batches: 0,
    written: 0,
    deleted: 0,
    deadLetters: 0,
    deadLetterCodes: {},
  };
  /** Settles once the runner has stopped, by {@link close} or by a failure. */
  readonly stopped: Promise<SinkRunnerExit>;

  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly deadLetterProducer: Producer;
  private readonly abort = new AbortController();
  private readonly heartbeatIntervalMs: number;
  private readonly instruments: SinkInstruments;
  private readonly tracer: Tracer;
  /** Per partition: the high watermark last fetched and the next offset to commit. */
  private readonly lag = new Map<number, { highWatermark: bigint; next: bigint }>();
  private stopLag: (() => void) | undefined;
  private state: State = 'new';
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  private resolveStopped!: (exit: SinkRunnerExit) => void;

  constructor(private readonly options: KafkaSinkRunnerOptions) {
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    this.instruments = options.instruments ?? createSinkInstruments();
    this.tracer = options.tracer ?? medstreamTracer();
    const sessionTimeout = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    this.heartbeatIntervalMs = Math.max(500, Math.floor(sessionTimeout / 10));
    this.admin = options.kafka.admin();
    this.deadLetterProducer = options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      readUncommitted: false,
      sessionTimeout,
      rebalanceTimeout: Math.max(60_000, sessionTimeout * 2),
      heartbeatInterval: this.heartbeatIntervalMs,
      maxBytes: 8 * 1024 * 1024,
      maxBytesPerPartition: 1024 * 1024,
      maxWaitTimeInMs: options.maxDelayMs ?? 500,
      allowAutoTopicCreation: false,
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      const partitions = event.payload.memberAssignment[options.topics.entities] ?? [];
      for (const partition of this.lag.keys()) {
        if (!partitions.includes(partition)) this.lag.delete(partition);
      }
      options.onEvent?.({ kind: 'assigned', partitions: [...partitions].sort((a, b) => a - b) });
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload;
      options.onEvent?.({ kind: 'crashed', error, restart });
      if (!restart && this.closing === undefined) this.fail(error);
    });
  }

  /** Connects, creates missing topics, starts the sink, joins the group and starts consuming. */
  start(): Promise<void> {
    if (this.state !== 'new') {
      return this.starting ?? Promise.reject(new Error('sink runner already closed'));
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
    await this.options.sink.start();
    await this.deadLetterProducer.connect();
    if (this.closing !== undefined) return;
    await this.consumer.connect();
    await this.consumer.subscribe({
      topics: [topics.entities],
      fromBeginning: this.options.fromBeginning ?? true,
    });
    if (this.closing !== undefined) return;
    this.stopLag = this.instruments.observeLag(() => this.lagObservations());
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    if (this.state === 'starting') this.state = 'running';
  }

  /** The one shutdown path (idempotent); see the module comment. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.state = 'closing';
    await this.starting?.catch(() => undefined);
    const drain = setTimeout(() => {
      this.abort.abort(
        new MedStreamError('SERVICE_UNAVAILABLE', 'sink shut down while a write was in flight'),
      );
    }, this.options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
    const errors: unknown[] = [];
    const attempt = async (fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (error) {
        errors.push(error);
      }
    };
    // disconnect() stops the runner, which waits for the batch being written.
    await attempt(() => this.consumer.disconnect());
    clearTimeout(drain);
    this.stopLag?.();
    await attempt(() => this.deadLetterProducer.disconnect());
    await attempt(() => this.admin.disconnect());
    await attempt(() => this.options.sink.close());
    this.state = 'closed';
    this.resolveStopped(this.failure === undefined ? {} : { failure: this.failure.error });
    if (errors.length > 0) {
      throw new MedStreamError('INTERNAL', 'sink shutdown failed', { cause: errors[0] });
    }
  }

  private fail(error: unknown): void {
    this.failure ??= { error: unwrapFailure(error) };
    this.resolveStopped({ failure: this.failure.error });
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const lag = this.lag.get(batch.partition);
    if (lag === undefined) {
      this.lag.set(batch.partition, { highWatermark: BigInt(batch.highWatermark), next: -1n });
    } else {
      lag.highWatermark = BigInt(batch.highWatermark);
    }
    if (batch.messages.length === 0) return;
    const decoded = batch.messages.map((m) =>
      decodeEntity(
        {
          topic: batch.topic,
          partition: batch.partition,
          offset: m.offset,
          key: m.key,
          value: m.value,
          ...(m.headers === undefined ? {} : { headers: m.headers }),
        },
        this.options.annotatedCodec,
      ),
    );
    const lastOffset = batch.messages[batch.messages.length - 1].offset;
    // Past the last delivered record there may be transaction markers; committing past them
    // keeps the lag at zero once caught up.
    const endOfBatch = BigInt(batch.lastOffset()) + 1n;
    for (const chunk of cutSinkBatches(decoded, this.options.limits)) {
      if (!payload.isRunning() || payload.isStale()) break;
      await payload.heartbeat();
      const last = chunk[chunk.length - 1].message.offset;
      const next = last === lastOffset ? endOfBatch : BigInt(last) + 1n;
      await this.writeChunk(batch.partition, chunk, next, () => payload.heartbeat());
      payload.resolveOffset(last);
    }
  }

  private async writeChunk(
    partition: number,
    chunk: readonly DecodedEntity[],
    nextOffset: bigint,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const { sink, topics, groupId } = this.options;
    await inSpan(
      this.tracer,
      SpanNames.sinkBatch,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          [AttributeKeys.messagingSystem]: 'kafka',
          [AttributeKeys.destination]: topics.entities,
          [AttributeKeys.partition]: String(partition),
          [AttributeKeys.consumerGroup]: groupId,
          [AttributeKeys.sink]: sink.name,
          [AttributeKeys.batchCount]: chunk.length,
          [AttributeKeys.firstOffset]: chunk[0]?.message.offset ?? '',
          [AttributeKeys.lastOffset]: chunk[chunk.length - 1]?.message.offset ?? '',
        },
        // A batch holds records of many processor transactions: one link per producing span.
        links: traceLinks(chunk.map((item) => item.message.headers)),
      },
      (span) =>
        this.writeAndCommit(partition, chunk, nextOffset, heartbeat).then((deadLetters) => {
          span.setAttribute(AttributeKeys.deadLetters, deadLetters);
        }),
    );
  }

  /** Writes, dead-letters and commits one batch; returns the number of dead letters. */
  private async writeAndCommit(
    partition: number,
    chunk: readonly DecodedEntity[],
    nextOffset: bigint,
    heartbeat: () => Promise<void>,
  ): Promise<number> {
    const { sink, topics } = this.options;
    const started = performance.now();
    const records: SinkRecord[] = [];
    const messageOf = new Map<SinkRecord, EntityMessage>();
    const poisoned: Extract<DecodedEntity, { kind: 'poison' }>[] = [];
    for (const item of chunk) {
      if (item.kind === 'poison') {
        poisoned.push(item);
      } else {
        records.push(item.record);
        messageOf.set(item.record, item.message);
      }
    }
    // A write may wait out an outage for minutes: keep the group membership meanwhile.
    const keepAlive = setInterval(() => {
      heartbeat().catch(() => undefined);
    }, this.heartbeatIntervalMs);
    let result;
    try {
      result =
        records.length === 0
          ? { written: 0, deleted: 0, rejected: [] }
          : await sink.write(records, this.abort.signal);
    } catch (error) {
      if (isMedStreamError(error)) throw error;
      throw new MedStreamError('INTERNAL', `sink ${sink.name} failed: ${String(error)}`, {
        cause: error,
      });
    } finally {
      clearInterval(keepAlive);
    }
    const rejected = result.rejected.map((r) => {
      const message = messageOf.get(r.record);
      if (message === undefined) {
        throw new MedStreamError(
          'INTERNAL',
          `sink ${sink.name} rejected a record it was not given`,
        );
      }
      return { message, errorCode: r.errorCode, reason: r.message };
    });
    const letters = batchDeadLetters(
      sink.name,
      poisoned,
      rejected,
      this.options.deadLetterCodec,
      Date.now(),
    );
    if (letters.length > 0) {
      await this.deadLetterProducer.send({
        topic: topics.deadLetters,
        acks: -1,
        messages: letters,
      });
    }
    await this.consumer.commitOffsets([
      { topic: topics.entities, partition, offset: nextOffset.toString() },
    ]);

    const lag = this.lag.get(partition);
    if (lag !== undefined) lag.next = nextOffset;
    const seconds = (performance.now() - started) / 1000;
    const attributes = { [AttributeKeys.sink]: sink.name };
    this.instruments.records.add(result.written, {
      ...attributes,
      [AttributeKeys.outcome]: 'written',
    });
    this.instruments.records.add(result.deleted, {
      ...attributes,
      [AttributeKeys.outcome]: 'deleted',
    });
    this.instruments.records.add(letters.length, {
      ...attributes,
      [AttributeKeys.outcome]: 'rejected',
    });
    this.instruments.batchSize.record(chunk.length, attributes);
    this.instruments.batchDuration.record(seconds, attributes);

    this.stats.batches += 1;
    this.stats.written += result.written;
    this.stats.deleted += result.deleted;
    this.stats.deadLetters += letters.length;
    for (const code of [
      ...poisoned.map((p) => p.error.code as string),
      ...rejected.map((r) => r.errorCode),
    ]) {
      this.stats.deadLetterCodes[code] = (this.stats.deadLetterCodes[code] ?? 0) + 1;
    }
    this.options.onEvent?.({
      kind: 'committed',
      partition,
      nextOffset: nextOffset.toString(),
      written: result.written,
      deleted: result.deleted,
      deadLetters: letters.length,
      seconds,
    });
    return letters.length;
  }

  private *lagObservations(): Generator<LagObservation> {
    for (const [partition, { highWatermark, next }] of this.lag) {
      if (next < 0n) continue;
      yield {
        lag: highWatermark > next ? Number(highWatermark - next) : 0,
        attributes: {
          [AttributeKeys.sink]: this.options.sink.name,
          [AttributeKeys.destination]: this.options.topics.entities,
          [AttributeKeys.partition]: String(partition),
          [AttributeKeys.consumerGroup]: this.options.groupId,
        },
      };
    }
  }
}

/** kafkajs wraps what eachBatch threw: report our own error. */
function unwrapFailure(error: unknown): unknown {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; depth += 1) {
    if (isMedStreamError(e)) return e;
    e = e.cause;
  }
  return error;
}
