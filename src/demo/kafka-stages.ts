import { setTimeout as sleep } from 'node:timers/promises';
import type { AnnotatedArticle, Article, DeadLetter } from '../codec/records.js';
import { codecForTopic } from '../codec/schema-registry.js';
import type { Config } from '../config/config.js';
import { MedStreamError } from '../errors.js';
import type { Annotator } from '../processors/annotation/annotator.js';
import type { AnnotatedEvent } from '../processors/in-process.js';
import { KafkaProcessor } from '../processors/kafka-processor.js';
import { KafkaIngestOutput } from '../producers/kafka-output.js';
import type { PubmedEvent } from '../producers/pubmed-xml/parse-pubmed-xml.js';
import { KafkaSinkRunner } from '../sinks/kafka-sink-runner.js';
import type { Sink, SinkRecord, SinkWriteResult } from '../sinks/sink.js';
import { createKafka } from '../transport/kafka/client.js';
import { topicNames } from '../transport/kafka/topics.js';

/**
 * `medstream demo --kafka`: the demo's stages joined by a real broker instead of in-process
 * queues — the producer writes the citations to `pubmed.articles` in one transaction, the
 * processor (this process, the same annotator) annotates them exactly once into
 * `pubmed.entities`, and a sink runner reads them back with read_committed. Topics live under
 * a prefix of their own for the run (`medstream-demo-<id>.`) and are deleted at the end, so a
 * demo never mixes with a pipeline's topics on the same broker.
 */

export interface KafkaStagesOptions {
  readonly brokers: readonly string[];
  readonly log: (line: string) => void;
  /** How long to wait for every article to come back annotated. */
  readonly timeoutMs?: number;
}

/** The demo's sink at the end of the Kafka path: the annotated records, in arrival order. */
class CollectingSink implements Sink {
  readonly name = 'demo';
  readonly records: SinkRecord[] = [];
  start(): Promise<void> {
    return Promise.resolve();
  }
  write(records: readonly SinkRecord[]): Promise<SinkWriteResult> {
    this.records.push(...records);
    const deleted = records.filter((r) => r.article === null).length;
    return Promise.resolve({ written: records.length - deleted, deleted, rejected: [] });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export async function* annotateThroughKafka(
  config: Config,
  events: AsyncIterable<PubmedEvent>,
  annotator: Annotator,
  options: KafkaStagesOptions,
): AsyncGenerator<AnnotatedEvent> {
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const prefix = `medstream-demo-${runId}.`;
  const topics = topicNames(prefix);
  const kafka = createKafka({ brokers: options.brokers, clientId: `medstream-demo-${runId}` });
  const registry = config.SCHEMA_REGISTRY_URL;
  const layout = { partitions: 3, replicationFactor: config.KAFKA_REPLICATION_FACTOR };
  const articleCodec = await codecForTopic<Article>('article', topics.articles, registry);
  const annotatedCodec = await codecForTopic<AnnotatedArticle>(
    'annotated-article',
    topics.entities,
    registry,
  );
  const deadLetterCodec = await codecForTopic<DeadLetter>(
    'dead-letter',
    topics.deadLetters,
    registry,
  );
  options.log(`kafka ${options.brokers.join(',')}: topics ${prefix}* for this run`);

  const deadLetters: AnnotatedEvent[] = [];
  /** Input position of each PMID's last event: outputs are put back into input order. */
  const order = new Map<string, number>();
  let articles = 0;
  let deletes = 0;
  const output = await KafkaIngestOutput.open({
    kafka,
    topics: {
      articles: topics.articles,
      deadLetters: topics.deadLetters,
      checkpoints: topics.ingestCheckpoints,
    },
    transactionalId: `medstream-demo-${runId}`,
    sourceKey: `demo-${runId}`,
    sourceKind: 'eutils',
    articleCodec,
    deadLetterCodec,
    createTopics: layout,
  });
  const collector = new CollectingSink();
  const processor = new KafkaProcessor({
    kafka,
    topics: {
      articles: topics.articles,
      entities: topics.entities,
      deadLetters: topics.deadLetters,
    },
    groupId: `medstream-demo-processor-${runId}`,
    instanceId: `demo-${runId}`,
    annotator,
    articleCodec,
    annotatedCodec,
    deadLetterCodec,
    maxBatchItems: 8,
    maxBatchChars: config.MEDSTREAM_PROCESSOR_MAX_BATCH_CHARS,
    maxDelayMs: 100,
    minFetchBytes: 1,
    createTopics: layout,
  });
  const runner = new KafkaSinkRunner({
    kafka,
    topics,
    groupId: `medstream-demo-sink-${runId}`,
    sink: collector,
    annotatedCodec,
    deadLetterCodec,
    limits: { maxRecords: 50, maxBytes: config.MEDSTREAM_SINK_BATCH_BYTES },
    maxDelayMs: 100,
    createTopics: layout,
  });
  try {
    try {
      for await (const event of events) {
        if (event.kind === 'dead-letter') {
          deadLetters.push({ kind: 'dead-letter', record: event.record });
        } else if (event.kind === 'delete') {
          deletes += 1;
          order.set(event.pmid, order.size);
        } else {
          articles += 1;
          order.set(event.article.pmid, order.size);
        }
        await output.write(event);
      }
      await output.commitUnit('demo');
    } finally {
      await output.close();
    }
    options.log(`produced ${articles} articles to ${topics.articles}; processing`);
    await processor.start();
    await runner.start();
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    while (collector.records.length < articles + deletes) {
      const stopped = await Promise.race([
        processor.stopped.then((exit) => exit.failure ?? 'stopped'),
        runner.stopped.then((exit) => exit.failure ?? 'stopped'),
        sleep(200).then(() => undefined),
      ]);
      if (stopped !== undefined) {
        throw new MedStreamError('SERVICE_UNAVAILABLE', 'a demo stage stopped on Kafka', {
          cause: stopped,
        });
      }
      if (Date.now() > deadline) {
        throw new MedStreamError(
          'SERVICE_UNAVAILABLE',
          `only ${collector.records.length} of ${articles + deletes} records came back from ${topics.entities}`,
        );
      }
    }
    options.log(
      `${collector.records.length} records read back from ${topics.entities} ` +
        `(${processor.stats.batches} processor transactions)`,
    );
  } finally {
    await runner.close().catch(() => undefined);
    await processor.close().catch(() => undefined);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const all = await admin.listTopics();
      await admin.deleteTopics({ topics: all.filter((t) => t.startsWith(prefix)) });
    } finally {
      await admin.disconnect();
    }
  }
  // The processor and the sink run in partition order, not input order: restore the input's.
  const position = (r: SinkRecord): number => order.get(r.pmid) ?? Number.MAX_SAFE_INTEGER;
  for (const record of [...collector.records].sort((a, b) => position(a) - position(b))) {
    yield record.article === null
      ? { kind: 'delete', pmid: record.pmid }
      : { kind: 'annotated', record: record.article };
  }
  yield* deadLetters;
}
