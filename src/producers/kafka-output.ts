import { randomUUID } from 'node:crypto';
import type { Kafka, Message, Producer, Transaction } from 'kafkajs';
import type { AvroCodec } from '../codec/avro-codec.js';
import type { Article, DeadLetter } from '../codec/records.js';
import { toDeadLetter } from '../codec/records.js';
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
  articleCodec: AvroCodec<Article>;
  deadLetterCodec: AvroCodec<DeadLetter>;
  createTopics?: { partitions: number; replicationFactor: number };
  maxBatchMessages?: number;
}

interface UnitMarker {
  unit: string;
  at: number;
}

/**
 * Exactly-once ingestion into Kafka. Each source unit is one Kafka transaction holding the
 * unit's article records (key PMID, Avro value), tombstones for deletions, dead letters, and a
 * marker `{unit}` on the checkpoints topic. A crash mid-unit leaves an open transaction that
 * the restarted producer aborts, so `read_committed` consumers never see half a unit; a crash
 * after the Kafka commit but before the source's own checkpoint is caught by the marker, and
 * the re-offered unit is skipped instead of sent twice.
 */
export class KafkaIngestOutput implements IngestOutput {
  private transaction: Transaction | undefined;
  private buffer: { topic: string; message: Message }[] = [];
  private readonly maxBatch: number;

  private constructor(
    private readonly options: KafkaOutputOptions,
    private readonly producer: Producer,
    private lastMarker: UnitMarker | undefined,
  ) {
    this.maxBatch = options.maxBatchMessages ?? 500;
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
    if (event.kind === 'article') {
      this.buffer.push({
        topic: topics.articles,
        message: { key: event.article.pmid, value: articleCodec.encode(event.article) },
      });
    } else if (event.kind === 'delete') {
      this.buffer.push({ topic: topics.articles, message: { key: event.pmid, value: null } });
    } else {
      const record = toDeadLetter(event.record, { topic: null });
      this.buffer.push({
        topic: topics.deadLetters,
        message: { key: record.key, value: deadLetterCodec.encode(record) },
      });
    }
    if (this.buffer.length >= this.maxBatch) await this.sendBuffer();
  }

  async commitUnit(unit: string): Promise<void> {
    const marker: UnitMarker = { unit, at: Date.now() };
    this.buffer.push({
      topic: this.options.topics.checkpoints,
      message: { key: this.options.sourceKey, value: JSON.stringify(marker) },
    });
    await this.sendBuffer();
    const transaction = this.transaction!;
    this.transaction = undefined;
    await transaction.commit();
    this.lastMarker = marker;
  }

  async close(): Promise<void> {
    const open = this.transaction;
    this.transaction = undefined;
    this.buffer = [];
    try {
      if (open !== undefined && open.isActive()) await open.abort();
    } finally {
      await this.producer.disconnect();
    }
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
