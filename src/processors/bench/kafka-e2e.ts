import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import type { Article } from '../../codec/records.js';
import {
  createAnnotatedArticleCodec,
  createArticleCodec,
  createDeadLetterCodec,
} from '../../codec/schemas.js';
import type { Config } from '../../config/config.js';
import { MedStreamError } from '../../errors.js';
import { createKafka } from '../../transport/kafka/client.js';
import { ensureTopics, topicConfigs, topicNames } from '../../transport/kafka/topics.js';
import type { Annotator } from '../annotation/annotator.js';
import { KafkaProcessor } from '../kafka-processor.js';

export interface KafkaEndToEnd {
  abstracts: number;
  /** From the processor's partition assignment to the last annotated record on the entities topic. */
  seconds: number;
  abstractsPerS: number;
  partitions: number;
  transactions: number;
}

/** Same layout as `medstream process` creates. */
const PARTITIONS = 6;
const PRODUCE_CHUNK = 500;

/**
 * End to end through Kafka: the articles are written (Avro, keyed by PMID) to a fresh articles
 * topic first, untimed; then the Kafka processor stage (consumer group, micro-batches,
 * transactions, Avro in and out) runs `annotator` over them, and a read-committed reader counts
 * the records on the entities topic. The topics and groups are deleted afterwards.
 */
export async function measureKafkaEndToEnd(
  config: Config,
  annotator: Annotator,
  articles: readonly Article[],
  options: { timeoutMs?: number; log?: (line: string) => void } = {},
): Promise<KafkaEndToEnd> {
  if (config.KAFKA_BROKERS === undefined) {
    throw new MedStreamError(
      'CONFIG_INVALID',
      'bench --kafka needs KAFKA_BROKERS (locally: `npm run services -- up kafka`, then source .cache/services/env.sh)',
    );
  }
  const log = options.log ?? (() => undefined);
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-bench`,
  });
  const run = randomUUID().slice(0, 8);
  const topics = topicNames(`${config.KAFKA_TOPIC_PREFIX}bench-${run}.`);
  const groups = [`medstream-bench-${run}`, `medstream-bench-reader-${run}`];
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(
      admin,
      topicConfigs(topics, { partitions: PARTITIONS, replicationFactor: 1 }),
    );
    log(`kafka: writing ${articles.length} articles to ${topics.articles}`);
    await produce(kafka, topics.articles, articles);
    return await timeProcessor(kafka, config, annotator, topics, groups, articles.length, {
      timeoutMs: options.timeoutMs ?? 600_000,
      log,
    });
  } finally {
    await admin
      .deleteTopics({ topics: [topics.articles, topics.entities, topics.deadLetters] })
      .catch(() => undefined);
    await admin.deleteGroups(groups).catch(() => undefined);
    await admin.disconnect();
  }
}

async function produce(kafka: Kafka, topic: string, articles: readonly Article[]): Promise<void> {
  const codec = createArticleCodec();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < articles.length; i += PRODUCE_CHUNK) {
      await producer.send({
        topic,
        acks: -1,
        messages: articles
          .slice(i, i + PRODUCE_CHUNK)
          .map((a) => ({ key: a.pmid, value: codec.encode(a) })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

async function timeProcessor(
  kafka: Kafka,
  config: Config,
  annotator: Annotator,
  topics: ReturnType<typeof topicNames>,
  [groupId, readerGroup]: string[],
  expected: number,
  options: { timeoutMs: number; log: (line: string) => void },
): Promise<KafkaEndToEnd> {
  let received = 0;
  let lastAt = 0;
  const reader = kafka.consumer({
    groupId: readerGroup,
    readUncommitted: false,
    maxWaitTimeInMs: 100,
  });
  await reader.connect();
  await reader.subscribe({ topic: topics.entities, fromBeginning: true });
  await reader.run({
    eachBatch: async ({ batch }) => {
      received += batch.messages.length;
      lastAt = performance.now();
      await Promise.resolve();
    },
  });
  let assignedAt: number | undefined;
  const processor = new KafkaProcessor({
    kafka,
    topics: {
      articles: topics.articles,
      entities: topics.entities,
      deadLetters: topics.deadLetters,
    },
    groupId,
    instanceId: `bench-${process.pid}`,
    annotator,
    articleCodec: createArticleCodec(),
    annotatedCodec: createAnnotatedArticleCodec(),
    deadLetterCodec: createDeadLetterCodec(),
    maxBatchItems: config.MEDSTREAM_PROCESSOR_MAX_BATCH,
    maxBatchChars: config.MEDSTREAM_PROCESSOR_MAX_BATCH_CHARS,
    maxDelayMs: config.MEDSTREAM_PROCESSOR_MAX_DELAY_MS,
    sessionTimeoutMs: config.MEDSTREAM_PROCESSOR_SESSION_TIMEOUT_MS,
    onEvent: (event) => {
      if (event.kind === 'assigned' && event.partitions.length > 0) {
        assignedAt ??= performance.now();
      }
    },
  });
  let failure: unknown;
  void processor.stopped.then((exit) => (failure ??= exit.failure));
  try {
    options.log(`kafka: processing ${expected} articles (group ${groupId})`);
    await processor.start();
    const deadline = performance.now() + options.timeoutMs;
    while (received + processor.stats.deadLetters < expected) {
      if (failure !== undefined) {
        throw new MedStreamError('INTERNAL', 'the Kafka processor stopped during the bench', {
          cause: failure,
        });
      }
      if (performance.now() > deadline) {
        throw new MedStreamError(
          'SERVICE_UNAVAILABLE',
          `bench --kafka: ${received} of ${expected} annotated records after ${options.timeoutMs} ms`,
        );
      }
      await sleep(20);
    }
  } finally {
    await processor.close();
    await reader.disconnect();
  }
  const seconds = (lastAt - (assignedAt ?? lastAt)) / 1000;
  return {
    abstracts: received,
    seconds,
    abstractsPerS: received / seconds,
    partitions: PARTITIONS,
    transactions: processor.stats.batches,
  };
}
