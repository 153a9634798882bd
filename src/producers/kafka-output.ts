import { randomUUID } from 'node:crypto';
import { SpanKind, context, trace } from '@opentelemetry/api';
import type { Attributes, Span, Tracer } from '@opentelemetry/api';
import type { IHeaders, Kafka, Message, Producer, Transaction } from 'kafkajs';
import type { AvroCodec } from '../codec/avro-codec.js';
import type { Article, DeadLetter } from '../codec/records.js';
import { toDeadLetter } from '../codec/records.js';
import { MedStreamError } from '../errors.js';
import {
  AttributeKeys,
  SpanNames,
  createProducerInstruments,
  medstreamTracer,
} from '../telemetry/instruments.js';
import type { ProducerInstruments } from '../telemetry/instruments.js';
import { injectTraceContext } from '../telemetry/kafka-context.js';
import { recordFailure } from '../telemetry/spans.js';
import { ensureTopics, topicConfigs } from '../transport/kafka/topics.js';
import type { IngestOutput } from './ingest-output.js';
import type { PubmedEvent } from './pubmed-xml/parse-pubmed-xml.js';

export interface KafkaOutputTopics {
  articles: string;
  deadLetters: string;
  /** Compacted topic of unit markers, keyed by source. */
  checkpoints: string;
}

export interface KafkaOutputOptions {
  kafka: Kafka;
  topics: KafkaOutputTopics;
  /**
   * Stable across restarts of the same ingestion (e.g. derived from the source): a restarted
   * producer with the same id fences the crashed one and aborts its open transaction.
   */
  transactionalId: string;
  /** Identifies the source whose unit markers this output reads and writes. */
  sourceKey: string;
  /** The source's kind, the `medstream.source` attribute of the producer metrics. */
  sourceKind: 'eutils' | 'files';
  articleCodec: AvroCodec<Article>;
  deadLetterCodec: AvroCodec<DeadLetter>;
  createTopics?: { partitions: number; replicationFactor: number };
  maxBatchMessages?: number;
  instruments?: ProducerInstruments;
  tracer?: Tracer;
}

interface UnitMarker {
  unit: string;
  at: number;
}

/** The unit being written: its span, the headers every record carries, what it holds. */
interface OpenUnit {
  span: Span;
  headers: IHeaders;
  articles: number;
  deletes: number;
  deadLetters: number;
}

/**
 * Exactly-once ingestion into Kafka. Each source unit is one Kafka transaction holding the
 * unit's article records (key PMID, Avro value), tombstones for deletions, dead letters, and a
 * marker `{unit}` on the checkpoints topic. A crash mid-unit leaves an open transaction that
 * the restarted producer aborts, so `read_committed` consumers never see half a unit; a crash
 * after the Kafka commit but before the source's own checkpoint is caught by the marker, and
 * the re-offered unit is skipped instead of sent twice.
 *
 * Telemetry: each unit is one producer span (`medstream.producer.unit`) from its first record
 * to its commit, whose W3C trace context every record of the unit carries in its headers, so
 * the processor's batch spans link back to it. The producer counters count committed records
 * only: a unit aborted by a crash or a stop counts nothing (it is sent again).
 */
export class KafkaIngestOutput implements IngestOutput {
  private transaction: Transaction | undefined;
  private buffer: { topic: string; message: Message }[] = [];
  private readonly maxBatch: number;
  private readonly instruments: ProducerInstruments;
  private readonly tracer: Tracer;
  private readonly metricAttributes: Attributes;
  private open: OpenUnit | undefined;

  private constructor(
    private readonly options: KafkaOutputOptions,
    private readonly producer: Producer,
    private lastMarker: UnitMarker | undefined,
  ) {
    this.maxBatch = options.maxBatchMessages ?? 500;
    this.instruments = options.instruments ?? createProducerInstruments();
    this.tracer = options.tracer ?? medstreamTracer();
    this.metricAttributes = { [AttributeKeys.source]: options.sourceKind };
  }

  static async open(options: KafkaOutputOptions): Promise<KafkaIngestOutput> {
    const { kafka, topics } = options;
    if (options.createTopics !== undefined) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const [articles, , deadLetters] = topicConfigs(
          {
            articles: topics.articles,
            entities: `${topics.articles}.unused`,
            deadLetters: topics.deadLetters,
          },
          options.createTopics,
        );
        await ensureTopics(admin, [
          articles,
          deadLetters,
          {
            topic: topics.checkpoints,
            numPartitions: 1,
            replicationFactor: options.createTopics.replicationFactor,
            configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
          },
        ]);
      } finally {
        await admin.disconnect();
      }
    }
    const producer = kafka.producer({
      transactionalId: options.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 300_000,
    });
    await producer.connect();
    try {
      // kafkajs sends InitProducerId on the first transaction, not on connect: the broker then
      // bumps the epoch and aborts a crashed run's open transaction. Only after that is the
      // checkpoints topic stable to read. An empty transaction ends locally.
      const fence = await producer.transaction();
      await fence.abort();
      const marker = await readLastMarker(kafka, topics.checkpoints, options.sourceKey);
      return new KafkaIngestOutput(options, producer, marker);
    } catch (error) {
      await producer.disconnect();
      throw error;
    }
  }

  isCommitted(unit: string): boolean {
    return this.lastMarker?.unit === unit;
  }

  async write(event: PubmedEvent): Promise<void> {
    const { topics, articleCodec, deadLetterCodec } = this.options;
    const unit = this.unit();
    const { headers } = unit;
    if (event.kind === 'article') {
      this.buffer.push({
        topic: topics.articles,
        message: { key: event.article.pmid, value: articleCodec.encode(event.article), headers },
      });
      unit.articles += 1;
    } else if (event.kind === 'delete') {
      this.buffer.push({
        topic: topics.articles,
        message: { key: event.pmid, value: null, headers },
      });
      unit.deletes += 1;
    } else {
      const record = toDeadLetter(event.record, { topic: null });
      this.buffer.push({
        topic: topics.deadLetters,
        message: { key: record.key, value: deadLetterCodec.encode(record), headers },
      });
      unit.deadLetters += 1;
    }
    if (this.buffer.length >= this.maxBatch) await this.sendBuffer();
  }

  async commitUnit(unit: string): Promise<void> {
    const open = this.unit();
    this.open = undefined;
    const { span } = open;
    span.setAttributes({
      [AttributeKeys.unit]: unit,
      [AttributeKeys.batchCount]: open.articles + open.deletes + open.deadLetters + 1,
    });
    try {
      const marker: UnitMarker = { unit, at: Date.now() };
      this.buffer.push({
        topic: this.options.topics.checkpoints,
        message: {
          key: this.options.sourceKey,
          value: JSON.stringify(marker),
          headers: open.headers,
        },
      });
      await this.sendBuffer();
      const transaction = this.transaction!;
      this.transaction = undefined;
      await transaction.commit();
      this.lastMarker = marker;
    } catch (error) {
      recordFailure(span, error);
      span.end();
      throw error;
    }
    span.end();
    const attributes = this.metricAttributes;
    this.instruments.articles.add(open.articles, attributes);
    this.instruments.deletes.add(open.deletes, attributes);
    this.instruments.deadLetters.add(open.deadLetters, attributes);
    this.instruments.units.add(1, attributes);
  }

  async close(): Promise<void> {
    const open = this.transaction;
    this.transaction = undefined;
    this.buffer = [];
    if (this.open !== undefined) {
      recordFailure(
        this.open.span,
        new MedStreamError('KAFKA_TRANSACTION', 'unit aborted before its commit; it is sent again'),
      );
      this.open.span.end();
      this.open = undefined;
    }
    try {
      if (open !== undefined && open.isActive()) await open.abort();
    } finally {
      await this.producer.disconnect();
    }
  }

  /** The unit being written, its span started by its first record. */
  private unit(): OpenUnit {
    if (this.open !== undefined) return this.open;
    const { topics } = this.options;
    const span = this.tracer.startSpan(SpanNames.producerUnit, {
      kind: SpanKind.PRODUCER,
      attributes: {
        [AttributeKeys.messagingSystem]: 'kafka',
        [AttributeKeys.destination]: topics.articles,
        [AttributeKeys.source]: this.options.sourceKind,
      },
    });
    // One headers object shared by the unit's records: kafkajs only reads it.
    const headers = injectTraceContext({}, trace.setSpan(context.active(), span));
    this.open = { span, headers, articles: 0, deletes: 0, deadLetters: 0 };
    return this.open;
  }

  private async sendBuffer(): Promise<void> {
    if (this.buffer.length === 0) return;
    this.transaction ??= await this.producer.transaction();
    const byTopic = new Map<string, Message[]>();
    for (const { topic, message } of this.buffer) {
      let messages = byTopic.get(topic);
      if (messages === undefined) byTopic.set(topic, (messages = []));
      messages.push(message);
    }
    this.buffer = [];
    await this.transaction.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
  }
}

/** Reads the newest committed marker of `sourceKey`; the topic is compacted and small. */
async function readLastMarker(
  kafka: Kafka,
  topic: string,
  sourceKey: string,
): Promise<UnitMarker | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  let end: { partition: number; offset: string }[];
  try {
    if (!(await admin.listTopics()).includes(topic)) return undefined;
    end = await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect();
  }
  const pending = new Map(
    end.filter((p) => Number(p.offset) > 0).map((p) => [p.partition, BigInt(p.offset)]),
  );
  if (pending.size === 0) return undefined;

  const groupId = `medstream-checkpoint-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false });
  let marker: UnitMarker | undefined;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      // Transaction control records occupy the last offsets and are never delivered, so the
      // end is "the last delivered offset + 1 reaches the high watermark" or a quiet period.
      let quiet = setTimeout(resolve, 3000);
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            clearTimeout(quiet);
            for (const message of batch.messages) {
              if (message.key?.toString() === sourceKey && message.value !== null) {
                marker = JSON.parse(message.value.toString()) as UnitMarker;
              }
            }
            const high = BigInt(batch.highWatermark);
            if (BigInt(batch.lastOffset()) + 2n >= high) pending.delete(batch.partition);
            if (pending.size === 0) resolve();
            else quiet = setTimeout(resolve, 3000);
            await Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
    const admin2 = kafka.admin();
    await admin2.connect();
    await admin2.deleteGroups([groupId]).catch(() => undefined);
    await admin2.disconnect();
  }
  return marker;
}
