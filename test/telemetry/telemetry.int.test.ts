import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { IHeaders, Kafka } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import {
  createAnnotatedArticleCodec,
  createArticleCodec,
  createDeadLetterCodec,
} from '../../src/codec/schemas.js';
import { KafkaProcessor } from '../../src/processors/kafka-processor.js';
import { KafkaIngestOutput } from '../../src/producers/kafka-output.js';
import { AttributeKeys, SpanNames } from '../../src/telemetry/instruments.js';
import { startTelemetry } from '../../src/telemetry/sdk.js';
import { createKafka } from '../../src/transport/kafka/client.js';
import { topicNames } from '../../src/transport/kafka/topics.js';
import { KeywordAnnotator, testArticle } from '../processors/keyword-annotator.js';
import { requireServiceEnv } from '../services/service-env.js';

const articleCodec = createArticleCodec();
const annotatedCodec = createAnnotatedArticleCodec();
const deadLetterCodec = createDeadLetterCodec();
const createdPrefixes: string[] = [];
const createdGroups: string[] = [];

function kafkaClient(): Kafka {
  return createKafka({
    brokers: requireServiceEnv('KAFKA_BROKERS').split(','),
    clientId: 'medstream-test',
  });
}

after(async () => {
  if (createdPrefixes.length === 0) return;
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) =>
      createdPrefixes.some((p) => t.startsWith(p)),
    );
    if (topics.length > 0) await admin.deleteTopics({ topics });
    await admin.deleteGroups(createdGroups).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
});

interface Consumed {
  key: string;
  headers: IHeaders;
}

/** Reads `topic` from the beginning (read_committed) until `count` records arrived. */
async function readRecords(kafka: Kafka, topic: string, count: number): Promise<Consumed[]> {
  const groupId = `test-reader-${randomUUID()}`;
  createdGroups.push(groupId);
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const records: Consumed[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        records.push({ key: message.key?.toString() ?? '', headers: message.headers ?? {} });
        await Promise.resolve();
      },
    });
    const deadline = Date.now() + 60_000;
    while (records.length < count && Date.now() < deadline) await sleep(50);
  } finally {
    await consumer.disconnect();
  }
  return records;
}

function traceparentOf(headers: IHeaders): { traceId: string; spanId: string } | undefined {
  const value = headers.traceparent?.toString();
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(value ?? '');
  return match === null ? undefined : { traceId: match[1], spanId: match[2] };
}

const spanId = (span: ReadableSpan): string => span.spanContext().spanId;

test('trace context flows producer → Kafka → processor: batch spans link to the unit spans, outputs carry the batch span', async () => {
  const memory = new InMemorySpanExporter();
  const telemetry = await startTelemetry({
    serviceName: 'medstream-test',
    serviceVersion: '0',
    instanceId: 'int',
    opsPort: 0,
    opsHost: '127.0.0.1',
    spanProcessors: [new SimpleSpanProcessor(memory)],
    log: () => undefined,
  });
  const kafka = kafkaClient();
  const prefix = `t-${randomUUID().slice(0, 8)}.`;
  createdPrefixes.push(prefix);
  const topics = topicNames(prefix);
  const layout = { partitions: 1, replicationFactor: 1 };
  let spans: ReadableSpan[];
  let outputs: Consumed[];
  let metricsText: string;
  try {
    // Two units (two transactions, two producer spans): PMIDs 1..4 + a deletion + a dead
    // letter, then PMIDs 11..13.
    const output = await KafkaIngestOutput.open({
      kafka,
      topics: {
        articles: topics.articles,
        deadLetters: topics.deadLetters,
        checkpoints: topics.ingestCheckpoints,
      },
      transactionalId: `${prefix}ingest`,
      sourceKey: 'files:test',
      sourceKind: 'files',
      articleCodec,
      deadLetterCodec,
      createTopics: layout,
    });
    const unitOf = new Map<string, string>();
    try {
      for (const pmid of ['1', '2', '3', '4']) {
        await output.write({ kind: 'article', article: testArticle(pmid, `T${pmid}`, 'cancer') });
        unitOf.set(pmid, 'unit-1');
      }
      await output.write({ kind: 'delete', pmid: '99', source: 'unit-1' });
      unitOf.set('99', 'unit-1');
      await output.write({
        kind: 'dead-letter',
        record: {
          key: null,
          value: Buffer.from('<PubmedArticle>'),
          valueTruncated: false,
          valueSize: 15,
          stage: 'producer',
          errorCode: 'XML_MALFORMED',
          message: 'test',
          source: 'unit-1',
          position: null,
        },
      });
      await output.commitUnit('unit-1');
      for (const pmid of ['11', '12', '13']) {
        await output.write({ kind: 'article', article: testArticle(pmid, `T${pmid}`, 'cancer') });
        unitOf.set(pmid, 'unit-2');
      }
      await output.commitUnit('unit-2');
    } finally {
      await output.close();
    }

    const groupId = `test-processor-${randomUUID()}`;
    createdGroups.push(groupId);
    const processor = new KafkaProcessor({
      kafka,
      topics: {
        articles: topics.articles,
        entities: topics.entities,
        deadLetters: topics.deadLetters,
      },
      groupId,
      instanceId: 'int',
      annotator: new KeywordAnnotator(),
      articleCodec,
      annotatedCodec,
      deadLetterCodec,
      // Small batches: the two units' records spread over several batch spans.
      maxBatchItems: 3,
      maxBatchChars: 100_000,
      maxDelayMs: 100,
      sessionTimeoutMs: 6000,
      createTopics: layout,
    });
    try {
      await processor.start();
      outputs = await readRecords(kafka, topics.entities, unitOf.size);
    } finally {
      await processor.close();
    }
    await telemetry.forceFlush();
    spans = memory.getFinishedSpans();
    metricsText = await (await fetch(`${telemetry.opsUrl}/metrics`)).text();

    assert.deepEqual(
      outputs.map((r) => r.key).sort(),
      [...unitOf.keys()].sort(),
      'every article and the tombstone processed once',
    );
    const producerSpans = new Map(
      spans
        .filter((s) => s.name === SpanNames.producerUnit)
        .map((s) => [String(s.attributes[AttributeKeys.unit]), s]),
    );
    assert.deepEqual([...producerSpans.keys()].sort(), ['unit-1', 'unit-2']);
    for (const span of producerSpans.values()) assert.equal(span.kind, SpanKind.PRODUCER);
    const batchSpans = new Map(
      spans.filter((s) => s.name === SpanNames.processorBatch).map((s) => [spanId(s), s]),
    );
    assert.ok(batchSpans.size >= 3, `${batchSpans.size} batch spans for 8 records by 3`);

    for (const record of outputs) {
      const carried = traceparentOf(record.headers);
      assert.ok(carried !== undefined, `output ${record.key} carries a traceparent`);
      const batch = batchSpans.get(carried.spanId);
      assert.ok(batch !== undefined, `output ${record.key}: its traceparent names a batch span`);
      assert.equal(carried.traceId, batch.spanContext().traceId);
      // The batch that wrote the record links to the span of the unit that produced it.
      const producer = producerSpans.get(unitOf.get(record.key) ?? '');
      assert.ok(producer !== undefined, `a unit for ${record.key}`);
      assert.ok(
        batch.links.some(
          (l) =>
            l.context.traceId === producer.spanContext().traceId &&
            l.context.spanId === spanId(producer),
        ),
        `batch of ${record.key} links to ${String(producer.attributes[AttributeKeys.unit])}`,
      );
    }
  } finally {
    await telemetry.shutdown();
  }

  // The same run, as Prometheus sees it.
  assert.match(metricsText, /^medstream_producer_articles_total\{medstream_source="files"\} 7$/m);
  assert.match(metricsText, /^medstream_producer_deletes_total\{medstream_source="files"\} 1$/m);
  assert.match(
    metricsText,
    /^medstream_producer_dead_letters_total\{medstream_source="files"\} 1$/m,
  );
  assert.match(metricsText, /^medstream_producer_units_total\{medstream_source="files"\} 2$/m);
  assert.match(metricsText, /^medstream_processor_articles_total\{[^}]*\} 7$/m);
  assert.match(metricsText, /^medstream_processor_tombstones_total\{[^}]*\} 1$/m);
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function poll<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('medstream process serves /readyz (503 until it joined its group, then 200) and /metrics on MEDSTREAM_OPS_PORT', async () => {
  const kafka = kafkaClient();
  const prefix = `t-${randomUUID().slice(0, 8)}.`;
  createdPrefixes.push(prefix);
  const topics = topicNames(prefix);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: topics.articles, numPartitions: 1 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    await producer.send({
      topic: topics.articles,
      acks: -1,
      messages: ['21', '22', '23', '24', '25'].map((pmid) => ({
        key: pmid,
        value: articleCodec.encode(testArticle(pmid, 'T', 'cancer')),
      })),
    });
  } finally {
    await producer.disconnect();
  }
  const groupId = `test-processor-${randomUUID()}`;
  createdGroups.push(groupId);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/processors/process-cli-fixture.ts', 'process'],
    {
      env: {
        ...process.env,
        KAFKA_TOPIC_PREFIX: prefix,
        MEDSTREAM_PROCESSOR_GROUP: groupId,
        MEDSTREAM_PROCESSOR_SESSION_TIMEOUT_MS: '6000',
        MEDSTREAM_PROCESSOR_MAX_DELAY_MS: '100',
        MEDSTREAM_OPS_PORT: String(port),
        MEDSTREAM_OPS_HOST: '127.0.0.1',
        OTEL_SERVICE_NAME: 'medstream-process-test',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const first = await poll(
      'the ops server',
      async () => (await fetch(`${base}/readyz`)).status,
      60_000,
    );
    assert.equal(first, 503, 'not ready before the consumer joined its group');
    await poll(
      'readiness',
      async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined),
      60_000,
    );
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const text = await poll(
      '5 articles in /metrics',
      async () => {
        const body = await (await fetch(`${base}/metrics`)).text();
        return /^medstream_processor_articles_total\{[^}]*\} 5$/m.test(body) ? body : undefined;
      },
      60_000,
    );
    assert.match(text, /^medstream_processor_model_load_duration_count\{[^}]*\} 1$/m);
    assert.match(text, /service_name="medstream-process-test"/);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exit, 0, stderr);
  assert.match(stderr, new RegExp(`ops server on ${base} \\(/metrics, /healthz, /readyz\\)`));
  await assert.rejects(fetch(`${base}/healthz`), 'the ops server is gone with the process');
});
