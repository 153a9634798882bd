import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, Message } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { createAnnotatedArticleCodec, createDeadLetterCodec } from '../../../src/codec/schemas.js';
import type { DeadLetter } from '../../../src/codec/records.js';
import type { SinkRunnerEvent } from '../../../src/sinks/kafka-sink-runner.js';
import { KafkaSinkRunner } from '../../../src/sinks/kafka-sink-runner.js';
import type { Sink, SinkRecord, SinkWriteResult } from '../../../src/sinks/sink.js';
import { createKafka } from '../../../src/transport/kafka/client.js';
import type { TopicNames } from '../../../src/transport/kafka/topics.js';
import { ensureTopics, topicConfigs, topicNames } from '../../../src/transport/kafka/topics.js';
import { requireServiceEnv } from '../../services/service-env.js';
import { generateArticles, generatedConcepts } from '../generated-articles.js';

/**
 * The runner against the real broker. The sink here is a recorder (the target systems have
 * their own tests); what is under test is the runner's contract: every record reaches the
 * sink, offsets are committed only after the write resolved, poison goes to the DLQ, a write
 * that outlasts the session timeout keeps the partition, and a shutdown mid-write re-delivers
 * exactly the uncommitted records.
 */

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
  const brokers = process.env.KAFKA_BROKERS;
  if (brokers === undefined || brokers === '') return;
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const all = await admin.listTopics();
    const topics = all.filter((t) => createdPrefixes.some((p) => t.startsWith(p)));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    await admin.deleteGroups(createdGroups).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
});

/** Writes records to memory; `hold` lets a test keep a write in flight. */
class RecordingSink implements Sink {
  readonly name = 'recording';
  readonly writes: SinkRecord[][] = [];
  started = 0;
  closed = 0;
  hold: ((records: readonly SinkRecord[], signal: AbortSignal) => Promise<void>) | undefined;

  start(): Promise<void> {
    this.started += 1;
    return Promise.resolve();
  }

  async write(records: readonly SinkRecord[], signal: AbortSignal): Promise<SinkWriteResult> {
    await this.hold?.(records, signal);
    signal.throwIfAborted();
    this.writes.push([...records]);
    const rejected = records
      .filter((r) => r.article?.title.includes('REJECT') === true)
      .map((record) => ({ record, errorCode: 'SINK_REJECTED', message: 'rejected by the test' }));
    const deleted = records.filter((r) => r.article === null).length;
    return { written: records.length - deleted - rejected.length, deleted, rejected };
  }

  close(): Promise<void> {
    this.closed += 1;
    return Promise.resolve();
  }

  offsets(): number[] {
    return this.writes.flat().map((r) => r.origin?.offset ?? -1);
  }
}

async function setUp(partitions: number): Promise<{ kafka: Kafka; topics: TopicNames }> {
  const kafka = kafkaClient();
  const prefix = `t-${randomUUID().slice(0, 8)}.`;
  createdPrefixes.push(prefix);
  const topics = topicNames(prefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topicConfigs(topics, { partitions, replicationFactor: 1 }));
  } finally {
    await admin.disconnect();
  }
  return { kafka, topics };
}

async function produce(kafka: Kafka, topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

function runner(
  kafka: Kafka,
  topics: TopicNames,
  groupId: string,
  sink: Sink,
  events: SinkRunnerEvent[],
  extra: { sessionTimeoutMs?: number; maxRecords?: number; drainTimeoutMs?: number } = {},
): KafkaSinkRunner {
  createdGroups.push(groupId);
  return new KafkaSinkRunner({
    kafka,
    topics,
    groupId,
    sink,
    annotatedCodec,
    deadLetterCodec,
    limits: { maxRecords: extra.maxRecords ?? 50, maxBytes: 1_000_000 },
    maxDelayMs: 100,
    ...(extra.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: extra.sessionTimeoutMs }),
    ...(extra.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: extra.drainTimeoutMs }),
    onEvent: (event) => events.push(event),
  });
}

/** Committed offset per partition of `topic` for `groupId` (-1 = none). */
async function committed(kafka: Kafka, groupId: string, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (entry?.partitions ?? [])
      .sort((a, b) => a.partition - b.partition)
      .map((p) => Number(p.offset));
  } finally {
    await admin.disconnect();
  }
}

async function endOffsets(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic))
      .sort((a, b) => a.partition - b.partition)
      .map((p) => Number(p.high));
  } finally {
    await admin.disconnect();
  }
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function readDeadLetters(kafka: Kafka, topic: string, count: number): Promise<DeadLetter[]> {
  const groupId = `test-dlq-${randomUUID()}`;
  createdGroups.push(groupId);
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const letters: DeadLetter[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      if (message.value !== null) letters.push(deadLetterCodec.decode(message.value));
      return Promise.resolve();
    },
  });
  try {
    await until(`${count} dead letters`, () => letters.length >= count, 30_000);
    await sleep(500);
    return letters;
  } finally {
    await consumer.disconnect();
  }
}

test('every record reaches the sink once, tombstones as deletions, poison and rejections in the DLQ', async () => {
  const { kafka, topics } = await setUp(3);
  const articles = generateArticles({
    firstPmid: 7_000_000,
    count: 300,
    concepts: generatedConcepts('r1'),
    seed: 5,
  });
  articles[10] = { ...articles[10], title: 'REJECT me' };
  const messages: Message[] = articles.map((a) => ({
    key: a.pmid,
    value: annotatedCodec.encode(a),
  }));
  const deletedPmids = articles.slice(0, 20).map((a) => a.pmid);
  messages.push(...deletedPmids.map((pmid) => ({ key: pmid, value: null })));
  messages.push({ key: '7000005', value: Buffer.from('not Avro at all') });
  // A compacted topic refuses unkeyed records, so the runner's missing-key case cannot be
  // produced here (it is unit-tested); a key that is not the record's PMID can.
  messages.push({ key: '123', value: annotatedCodec.encode(articles[1]) });
  await produce(kafka, topics.entities, messages);

  const sink = new RecordingSink();
  const events: SinkRunnerEvent[] = [];
  const groupId = `test-sink-${randomUUID()}`;
  const run = runner(kafka, topics, groupId, sink, events);
  await run.start();
  const ends = await endOffsets(kafka, topics.entities);
  await until('all offsets committed', async () => {
    const offsets = await committed(kafka, groupId, topics.entities);
    return offsets.length === ends.length && offsets.every((o, i) => o === ends[i]);
  });
  await run.close();
  assert.equal(sink.started, 1);
  assert.equal(sink.closed, 1);

  const received = sink.writes.flat();
  assert.equal(received.length, 320, 'every decodable record exactly once');
  const keys = received.map((r) => `${r.origin?.partition}:${r.origin?.offset}`);
  assert.equal(new Set(keys).size, keys.length, 'no record delivered twice');
  const deletions = received.filter((r) => r.article === null).map((r) => r.pmid);
  assert.deepEqual(deletions.sort(), [...deletedPmids].sort());
  // Per PMID, the tombstone (produced later) carries the larger version.
  for (const pmid of deletedPmids) {
    const [upsert, tombstone] = received.filter((r) => r.pmid === pmid);
    assert.ok(upsert !== undefined && tombstone !== undefined);
    assert.ok(tombstone.version > upsert.version);
  }
  assert.ok(
    sink.writes.every((w) => w.length <= 50),
    'batches respect maxRecords',
  );

  assert.equal(run.stats.written, 299);
  assert.equal(run.stats.deleted, 20);
  assert.equal(run.stats.deadLetters, 3);
  const letters = await readDeadLetters(kafka, topics.deadLetters, 3);
  assert.deepEqual(letters.map((l) => l.errorCode).sort(), [
    'AVRO_DECODE',
    'RECORD_INVALID',
    'SINK_REJECTED',
  ]);
  assert.ok(letters.every((l) => l.stage === 'sink:recording' && l.topic === topics.entities));
});

test('a write longer than the session timeout keeps the partition and commits once', async () => {
  const { kafka, topics } = await setUp(1);
  const articles = generateArticles({
    firstPmid: 7_100_000,
    count: 40,
    concepts: generatedConcepts('r2'),
    seed: 6,
  });
  await produce(
    kafka,
    topics.entities,
    articles.map((a) => ({ key: a.pmid, value: annotatedCodec.encode(a) })),
  );
  const sink = new RecordingSink();
  let held = false;
  sink.hold = async () => {
    if (held) return;
    held = true;
    await sleep(15_000); // an outage of 2.5 session timeouts
  };
  const events: SinkRunnerEvent[] = [];
  const groupId = `test-sink-${randomUUID()}`;
  const run = runner(kafka, topics, groupId, sink, events, { sessionTimeoutMs: 6_000 });
  await run.start();
  await until('all offsets committed', async () => {
    const [offset] = await committed(kafka, groupId, topics.entities);
    return offset === 40;
  });
  await run.close();
  assert.equal(events.filter((e) => e.kind === 'assigned').length, 1, 'no rebalance');
  assert.equal(sink.offsets().length, 40);
  assert.equal(new Set(sink.offsets()).size, 40);
});

test('shutdown mid-write aborts the write; the next run re-delivers exactly the uncommitted records', async () => {
  const { kafka, topics } = await setUp(1);
  const articles = generateArticles({
    firstPmid: 7_200_000,
    count: 200,
    concepts: generatedConcepts('r3'),
    seed: 7,
  });
  await produce(
    kafka,
    topics.entities,
    articles.map((a) => ({ key: a.pmid, value: annotatedCodec.encode(a) })),
  );
  const groupId = `test-sink-${randomUUID()}`;
  const first = new RecordingSink();
  let writesSeen = 0;
  let stuck: (() => void) | undefined;
  const stuckWrite = new Promise<void>((resolve) => (stuck = resolve));
  first.hold = async (_records, signal) => {
    writesSeen += 1;
    if (writesSeen < 3) return;
    stuck?.();
    // Never returns on its own: only the shutdown's abort ends it.
    await new Promise<void>((_, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    });
  };
  const run1 = runner(kafka, topics, groupId, first, [], { maxRecords: 30, drainTimeoutMs: 500 });
  await run1.start();
  await stuckWrite;
  await run1.close();
  const [committedAtStop] = await committed(kafka, groupId, topics.entities);
  assert.equal(committedAtStop, 60, 'two batches of 30 committed, the third aborted');
  assert.deepEqual(
    first.offsets(),
    Array.from({ length: 60 }, (_, i) => i),
  );

  const second = new RecordingSink();
  const run2 = runner(kafka, topics, groupId, second, [], { maxRecords: 30 });
  await run2.start();
  await until('all offsets committed', async () => {
    const [offset] = await committed(kafka, groupId, topics.entities);
    return offset === 200;
  });
  await run2.close();
  assert.deepEqual(
    second.offsets(),
    Array.from({ length: 140 }, (_, i) => 60 + i),
    'the second run starts exactly at the committed offset',
  );
});
