import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, Kafka, Message } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import type { Article } from '../../src/codec/records.js';
import { articleText } from '../../src/codec/records.js';
import { MedStreamError, isMedStreamError } from '../../src/errors.js';
import {
  createAnnotatedArticleCodec,
  createArticleCodec,
  createDeadLetterCodec,
} from '../../src/codec/schemas.js';
import type { ProcessorEvent } from '../../src/processors/kafka-processor.js';
import { KafkaProcessor } from '../../src/processors/kafka-processor.js';
import { syntheticArticles } from '../../src/producers/pubmed-xml/synthetic.js';
import { createKafka } from '../../src/transport/kafka/client.js';
import { ensureTopics, topicConfigs, topicNames } from '../../src/transport/kafka/topics.js';
import { KeywordAnnotator, testArticle } from './keyword-annotator.js';

const brokers = process.env.KAFKA_BROKERS;
const createdPrefixes: string[] = [];
const createdGroups: string[] = [];
const children = new Set<ChildProcess>();
const articleCodec = createArticleCodec();
const annotatedCodec = createAnnotatedArticleCodec();
const deadLetterCodec = createDeadLetterCodec();

function requireBrokers(): string[] {
  if (brokers === undefined || brokers === '') {
    throw new Error(
      'KAFKA_BROKERS is not set: run `npm run services -- up kafka` and source .cache/services/env.sh',
    );
  }
  return brokers.split(',');
}

async function createTopics(kafka: Kafka, prefix: string, partitions: number): Promise<void> {
  createdPrefixes.push(prefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(
      admin,
      topicConfigs(topicNames(prefix), { partitions, replicationFactor: 1 }),
    );
  } finally {
    await admin.disconnect();
  }
}

interface Consumed {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
}

/** A consumer that collects everything on `topic` from the beginning while it runs. */
async function collect(
  kafka: Kafka,
  topic: string,
  readUncommitted = false,
): Promise<{ records: Consumed[]; stop: () => Promise<void> }> {
  const groupId = `test-reader-${randomUUID()}`;
  createdGroups.push(groupId);
  const consumer: Consumer = kafka.consumer({ groupId, readUncommitted, maxWaitTimeInMs: 200 });
  const records: Consumed[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      records.push({
        partition,
        offset: message.offset,
        key: message.key === null ? null : message.key.toString(),
        value: message.value,
      });
      await Promise.resolve();
    },
  });
  return { records, stop: () => consumer.disconnect() };
}

/** Everything on `topic`, read until at least `atLeast` records arrived and it stayed quiet. */
async function readAll(
  kafka: Kafka,
  topic: string,
  atLeast: number,
  readUncommitted = false,
): Promise<Consumed[]> {
  const reader = await collect(kafka, topic, readUncommitted);
  let seen = 0;
  let quietSince = Date.now();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (reader.records.length !== seen) {
      seen = reader.records.length;
      quietSince = Date.now();
    }
    if (seen >= atLeast && Date.now() - quietSince > 2000) break;
    await sleep(100);
  }
  await reader.stop();
  return reader.records;
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  if (brokers === undefined || brokers === '') return;
  const kafka = createKafka({ brokers: brokers.split(','), clientId: 'medstream-test-cleanup' });
  const admin = kafka.admin();
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

test('tombstones propagate; poison records land in the DLQ with their code while the rest is annotated', async () => {
  const kafka = createKafka({ brokers: requireBrokers(), clientId: 'medstream-test' });
  const prefix = `t-${randomUUID().slice(0, 8)}.`;
  const topics = topicNames(prefix);
  await createTopics(kafka, prefix, 3);

  const valid = Array.from({ length: 30 }, (_, i) =>
    testArticle(String(1000 + i), `Title ${1000 + i}`, `Lung cancer in cohort ${i}; cancer again.`),
  );
  const garbage = Buffer.from('definitely not Avro');
  const oversized = articleCodec.encode(testArticle('6001', 'Long', 'cancer '.repeat(400)));
  const keyless = articleCodec.encode(testArticle('6002', 'No key', 'cancer'));
  const poison: {
    code: string;
    key: string;
    value: Buffer;
    at: { partition: number; offset: string };
  }[] = [];
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const send = async (message: Message): Promise<{ partition: number; offset: string }> => {
      const [meta] = await producer.send({ topic: topics.articles, acks: -1, messages: [message] });
      return { partition: meta.partition, offset: meta.baseOffset! };
    };
    for (const article of valid) {
      await send({ key: article.pmid, value: articleCodec.encode(article) });
    }
    await send({ key: '1005', value: null });
    await send({ key: '5000', value: null });
    // A compacted topic refuses null keys; an empty key is the missing PMID that gets through.
    for (const [code, key, value] of [
      ['AVRO_DECODE', '6000', garbage],
      ['RECORD_TOO_LARGE', '6001', oversized],
      ['RECORD_KEY_MISSING', '', keyless],
    ] as const) {
      poison.push({ code, key, value, at: await send({ key, value }) });
    }
  } finally {
    await producer.disconnect();
  }

  const groupId = `test-processor-${randomUUID()}`;
  createdGroups.push(groupId);
  const annotator = new KeywordAnnotator({ maxTextChars: 2000 });
  const events: ProcessorEvent[] = [];
  const processor = new KafkaProcessor({
    kafka,
    topics: {
      articles: topics.articles,
      entities: topics.entities,
      deadLetters: topics.deadLetters,
    },
    groupId,
    instanceId: 'int-a',
    annotator,
    articleCodec,
    annotatedCodec,
    deadLetterCodec,
    maxBatchItems: 8,
    maxBatchChars: 100_000,
    maxDelayMs: 100,
    sessionTimeoutMs: 6000,
    onEvent: (event) => events.push(event),
  });
  const entities = await collect(kafka, topics.entities);
  const deadLetters = await collect(kafka, topics.deadLetters);
  try {
    await processor.start();
    await waitFor(
      'all outputs',
      () => entities.records.length >= 32 && deadLetters.records.length >= 3,
      60_000,
    );
  } finally {
    await processor.close();
    await entities.stop();
    await deadLetters.stop();
  }
  assert.equal(annotator.closed, false, 'the annotator belongs to the caller');
  assert.deepEqual((await processor.stopped).failure, undefined);

  // Outputs: every valid article once, annotated; tombstones as null values.
  assert.equal(entities.records.length, 32);
  const byKey = new Map<string, Consumed[]>();
  for (const r of entities.records) byKey.set(r.key!, [...(byKey.get(r.key!) ?? []), r]);
  for (const article of valid) {
    const outputs = byKey.get(article.pmid)!;
    const annotated = annotatedCodec.decode(outputs[0].value!);
    const text = articleText(annotated);
    assert.equal(annotated.pmid, article.pmid);
    assert.deepEqual(
      annotated.mentions.map((m) => text.slice(m.start, m.end)),
      ['cancer', 'cancer'],
    );
    assert.equal(annotated.modelName, 'test-keyword');
  }
  const pmid1005 = byKey.get('1005')!;
  assert.equal(pmid1005.length, 2);
  assert.ok(
    pmid1005[0].value !== null && pmid1005[1].value === null,
    'article, then its tombstone',
  );
  assert.deepEqual(
    byKey.get('5000')!.map((r) => r.value),
    [null],
  );

  // Dead letters: the original record, its position and the error code.
  const dead = deadLetters.records.map((r) => deadLetterCodec.decode(r.value!));
  assert.deepEqual(dead.map((d) => d.errorCode).sort(), poison.map((p) => p.code).sort());
  for (const p of poison) {
    const d = dead.find((x) => x.errorCode === p.code)!;
    assert.equal(d.stage, 'processor');
    assert.equal(d.topic, topics.articles);
    assert.equal(d.partition, p.at.partition);
    assert.equal(d.offset, Number(p.at.offset));
    assert.equal(d.key?.toString() ?? null, p.key);
    assert.deepEqual(d.value, p.value);
  }

  // The group's committed offsets reached the end of every partition.
  const admin = kafka.admin();
  await admin.connect();
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topics.articles] });
  const ends = await admin.fetchTopicOffsets(topics.articles);
  await admin.disconnect();
  for (const end of ends) {
    const c = committed.partitions.find((p) => p.partition === end.partition)!;
    assert.equal(c.offset, end.high, `partition ${end.partition}`);
  }
  assert.equal(processor.stats.articles, 30);
  assert.equal(processor.stats.tombstones, 2);
  assert.deepEqual(processor.stats.deadLetterCodes, {
    AVRO_DECODE: 1,
    RECORD_TOO_LARGE: 1,
    RECORD_KEY_MISSING: 1,
  });
  assert.equal(processor.stats.aborts, 0);
  assert.ok(events.some((e) => e.kind === 'assigned'));
});

test('a retriable annotator failure re-runs the batch; a non-retriable one stops the processor without committing', async () => {
  const kafka = createKafka({ brokers: requireBrokers(), clientId: 'medstream-test' });
  const prefix = `t-${randomUUID().slice(0, 8)}.`;
  const topics = topicNames(prefix);
  await createTopics(kafka, prefix, 1);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({
    topic: topics.articles,
    acks: -1,
    messages: Array.from({ length: 20 }, (_, i) => ({
      key: String(3000 + i),
      value: articleCodec.encode(testArticle(String(3000 + i), 'T', 'cancer')),
    })),
  });
  await producer.disconnect();

  const make = (annotator: KeywordAnnotator, groupId: string): KafkaProcessor => {
    createdGroups.push(groupId);
    return new KafkaProcessor({
      kafka,
      topics: {
        articles: topics.articles,
        entities: topics.entities,
        deadLetters: topics.deadLetters,
      },
      groupId,
      instanceId: 'int-failures',
      annotator,
      articleCodec,
      annotatedCodec,
      deadLetterCodec,
      maxBatchItems: 5,
      maxBatchChars: 100_000,
      maxDelayMs: 100,
      sessionTimeoutMs: 6000,
    });
  };
  const committed = async (groupId: string): Promise<string> => {
    const admin = kafka.admin();
    await admin.connect();
    const [topic] = await admin.fetchOffsets({ groupId, topics: [topics.articles] });
    await admin.disconnect();
    return topic.partitions[0].offset;
  };

  // Non-retriable (a broken model): the processor stops by itself; nothing is committed.
  const broken = new KeywordAnnotator();
  broken.annotate = () => Promise.reject(new MedStreamError('MODEL_INVALID', 'broken model'));
  const fatalGroup = `test-processor-${randomUUID()}`;
  const fatal = make(broken, fatalGroup);
  await fatal.start();
  const timer = new AbortController();
  const exit = await Promise.race([
    fatal.stopped,
    sleep(30_000, undefined, { signal: timer.signal }).then(
      () => undefined,
      () => undefined,
    ),
  ]);
  timer.abort();
  await fatal.close();
  assert.ok(exit !== undefined, 'the processor must stop on a non-retriable failure');
  assert.ok(isMedStreamError(exit.failure), String(exit.failure));
  assert.equal(exit.failure.code, 'MODEL_INVALID');
  assert.equal(await committed(fatalGroup), '-1');

  // Retriable (e.g. a busy accelerator): the first call fails, the batch is fetched again.
  const flaky = new KeywordAnnotator();
  const annotate = flaky.annotate.bind(flaky);
  let calls = 0;
  flaky.annotate = (articles) => {
    calls += 1;
    return calls === 2
      ? Promise.reject(new MedStreamError('SERVICE_UNAVAILABLE', 'busy'))
      : annotate(articles);
  };
  const retryGroup = `test-processor-${randomUUID()}`;
  const retrying = make(flaky, retryGroup);
  const entities = await collect(kafka, topics.entities);
  try {
    await retrying.start();
    await waitFor('20 outputs', () => entities.records.length >= 20, 60_000);
    await sleep(1000);
  } finally {
    await retrying.close();
    await entities.stop();
  }
  assert.equal((await retrying.stopped).failure, undefined);
  assert.equal(await committed(retryGroup), '20');
  assert.deepEqual(
    entities.records.map((r) => r.key),
    Array.from({ length: 20 }, (_, i) => String(3000 + i)),
    'each once, in order',
  );
  assert.equal(retrying.stats.articles, 20);
});

/** The served model if one is there; otherwise the same command with the keyword annotator. */
function processorCommand(): { args: string[]; annotator: string } {
  const modelDir = process.env.MEDSTREAM_TEST_MODEL_DIR ?? 'models/bc5cdr-mtl';
  if (existsSync(join(modelDir, 'manifest.json'))) {
    return {
      args: ['--import', 'tsx', 'src/cli/main.ts', 'process', '--model', modelDir],
      annotator: `ONNX model ${modelDir}`,
    };
  }
  return { args: fixtureCommand(), annotator: `keyword test annotator (no model at ${modelDir})` };
}

/** `medstream process` with the keyword annotator (TEST_ANNOTATOR_DELAY_MS per article). */
function fixtureCommand(): string[] {
  return ['--import', 'tsx', 'test/processors/process-cli-fixture.ts', 'process'];
}

interface Spawned {
  child: ChildProcess;
  exit: Promise<number | null>;
  stderr: () => string;
}

function spawnProcessor(args: string[], env: NodeJS.ProcessEnv): Spawned {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return { child, exit, stderr: () => stderr };
}

function processorEnv(prefix: string, groupId: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KAFKA_BROKERS: brokers,
    KAFKA_TOPIC_PREFIX: prefix,
    MEDSTREAM_PROCESSOR_GROUP: groupId,
    MEDSTREAM_PROCESSOR_SESSION_TIMEOUT_MS: '6000',
    MEDSTREAM_PROCESSOR_MAX_DELAY_MS: '100',
    MEDSTREAM_PROCESSOR_MAX_BATCH: '32',
    TEST_ANNOTATOR_DELAY_MS: '8',
    // Several instances run at once on this host: no ops server (its port would be shared).
    MEDSTREAM_OPS_PORT: '0',
  };
}

/**
 * Synthetic articles and tombstones in committed transactions of 250, plus one aborted
 * transaction of 100 articles (PMIDs 800,000+) that must never be processed. Returns the keys
 * a downstream reader must see exactly once.
 */
async function produceInput(
  kafka: Kafka,
  topic: string,
  options: { articles: number; tombstones: number; firstPmid: number; transactionalId: string },
): Promise<Set<string>> {
  const ingestedAt = Date.now();
  const articles: Article[] = [];
  for (const { expected } of syntheticArticles({
    articles: options.articles,
    firstPmid: options.firstPmid,
    abstractChars: 300,
    seed: 11,
  })) {
    articles.push({ ...expected, source: 'synthetic', ingestedAt });
  }
  const input: Message[] = articles.map((a) => ({ key: a.pmid, value: articleCodec.encode(a) }));
  const tombstones = Array.from({ length: options.tombstones }, (_, i) => String(900_000 + i));
  tombstones.forEach((key, i) => input.splice(100 * (i + 1), 0, { key, value: null }));
  const producer = kafka.producer({
    transactionalId: options.transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    for (let i = 0; i < input.length; i += 250) {
      const txn = await producer.transaction();
      await txn.send({ topic, messages: input.slice(i, i + 250) });
      await txn.commit();
      if (i === 500) {
        const aborted = await producer.transaction();
        await aborted.send({
          topic,
          messages: Array.from({ length: 100 }, (_, k) => ({
            key: String(800_000 + k),
            value: articleCodec.encode({ ...articles[0], pmid: String(800_000 + k) }),
          })),
        });
        await aborted.abort();
      }
    }
  } finally {
    await producer.disconnect();
  }
  return new Set([...articles.map((a) => a.pmid), ...tombstones]);
}

/** A fresh read_committed reader sees every expected key exactly once and nothing else. */
async function assertExactlyOnce(
  kafka: Kafka,
  topic: string,
  expected: Set<string>,
): Promise<Consumed[]> {
  const records = await readAll(kafka, topic, expected.size);
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.key!, (counts.get(r.key!) ?? 0) + 1);
  const missing = [...expected].filter((k) => !counts.has(k));
  const duplicated = [...counts].filter(([, n]) => n > 1);
  const unexpected = [...counts.keys()].filter((k) => !expected.has(k));
  assert.deepEqual(missing, [], 'no article lost');
  assert.deepEqual(duplicated, [], 'no article twice');
  assert.deepEqual(unexpected, [], 'nothing from the aborted input transaction');
  return records;
}

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;

test(
  'kill -9 mid-batch three times and SIGTERM once, restarting each time: every article exactly once for read_committed readers',
  { timeout: 300_000 },
  async (t) => {
    const kafka = createKafka({ brokers: requireBrokers(), clientId: 'medstream-test' });
    const prefix = `t-${randomUUID().slice(0, 8)}.`;
    const topics = topicNames(prefix);
    await createTopics(kafka, prefix, 6);
    const expected = await produceInput(kafka, topics.articles, {
      articles: 2000,
      tombstones: 20,
      firstPmid: 100_000,
      transactionalId: `${prefix}test-input`,
    });
    const groupId = `test-processor-${randomUUID()}`;
    createdGroups.push(groupId);
    const command = processorCommand();
    t.diagnostic(`processor: ${command.annotator}`);
    const env = processorEnv(prefix, groupId);

    // Progress as a downstream reader sees it.
    const monitor = await collect(kafka, topics.entities);
    const started = Date.now();
    try {
      // Three crashes at random moments once outputs are appearing, then a graceful stop
      // mid-stream, which must finish and commit its batch and exit 0.
      const interruptions = ['SIGKILL', 'SIGKILL', 'SIGKILL', 'SIGTERM'] as const;
      for (const [i, signal] of interruptions.entries()) {
        const before = monitor.records.length;
        const proc = spawnProcessor(command.args, env);
        await waitFor(
          `outputs of run ${i + 1}`,
          () => monitor.records.length > before || proc.child.exitCode !== null,
          120_000,
        );
        assert.equal(proc.child.exitCode, null, `run ${i + 1} exited early:\n${proc.stderr()}`);
        await sleep(300 + Math.floor(Math.random() * 2500));
        const stopAt = Date.now();
        proc.child.kill(signal);
        const code = await proc.exit;
        t.diagnostic(
          `${signal} ${i + 1} after ${seconds(started)}, ${monitor.records.length} committed outputs`,
        );
        assert.ok(monitor.records.length < expected.size, `run ${i + 1} finished before its stop`);
        if (signal === 'SIGTERM') {
          assert.equal(code, 0, proc.stderr());
          assert.match(proc.stderr(), /SIGTERM, finishing the current batch/);
          assert.match(proc.stderr(), /medstream process: \d+ articles, .* 0 aborted/);
          t.diagnostic(`graceful stop took ${Date.now() - stopAt} ms`);
        }
      }

      const last = spawnProcessor(command.args, env);
      await waitFor(
        'the remaining outputs',
        () =>
          new Set(monitor.records.map((r) => r.key)).size >= expected.size ||
          last.child.exitCode !== null,
        180_000,
      );
      last.child.kill('SIGTERM');
      const code = await last.exit;
      assert.equal(code, 0, last.stderr());
      assert.match(last.stderr(), /medstream process: \d+ articles, \d+ tombstones/);
      t.diagnostic(`all outputs after ${seconds(started)}`);
    } finally {
      await monitor.stop();
    }

    const records = await assertExactlyOnce(kafka, topics.entities, expected);
    assert.equal(records.filter((r) => r.value === null).length, 20, 'tombstones');
    const annotated = records
      .filter((r) => r.value !== null)
      .map((r) => annotatedCodec.decode(r.value!));
    t.diagnostic(
      `${annotated[0].modelName} ${annotated[0].modelVersion}: ` +
        `${annotated.reduce((n, a) => n + a.mentions.length, 0)} mentions in ${annotated.length} articles`,
    );

    // Evidence of kills inside transactions: outputs only a read_uncommitted reader sees.
    const raw = await readAll(kafka, topics.entities, records.length, true);
    t.diagnostic(`${raw.length - records.length} outputs of aborted (killed) transactions`);
  },
);

test(
  'a frozen instance (SIGSTOP) loses its partitions to another and is fenced when it wakes: still exactly once',
  { timeout: 240_000 },
  async (t) => {
    const kafka = createKafka({ brokers: requireBrokers(), clientId: 'medstream-test' });
    const prefix = `t-${randomUUID().slice(0, 8)}.`;
    const topics = topicNames(prefix);
    await createTopics(kafka, prefix, 6);
    const expected = await produceInput(kafka, topics.articles, {
      articles: 1500,
      tombstones: 5,
      firstPmid: 200_000,
      transactionalId: `${prefix}test-input`,
    });
    const groupId = `test-processor-${randomUUID()}`;
    createdGroups.push(groupId);
    const env = processorEnv(prefix, groupId);
    const monitor = await collect(kafka, topics.entities);
    const started = Date.now();
    let a: Spawned | undefined;
    let b: Spawned | undefined;
    try {
      a = spawnProcessor([...fixtureCommand(), '--instance-id', 'a'], env);
      await waitFor('outputs of a', () => monitor.records.length > 0, 120_000);
      await sleep(200 + Math.floor(Math.random() * 500));
      // A zombie: alive, holding an initialized producer and an in-flight batch, but silent.
      a.child.kill('SIGSTOP');
      const frozenAt = monitor.records.length;
      t.diagnostic(`a frozen after ${seconds(started)} at ${frozenAt} outputs`);

      b = spawnProcessor([...fixtureCommand(), '--instance-id', 'b'], env);
      await waitFor('b to take over', () => monitor.records.length >= frozenAt + 200, 120_000);
      a.child.kill('SIGCONT');
      t.diagnostic(`a woken after ${seconds(started)} at ${monitor.records.length} outputs`);

      await waitFor(
        'all outputs',
        () => new Set(monitor.records.map((r) => r.key)).size >= expected.size,
        180_000,
      );
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      assert.equal(await a.exit, 0, a.stderr());
      assert.equal(await b.exit, 0, b.stderr());
      t.diagnostic(`all outputs after ${seconds(started)}`);
      const aLog = a.stderr();
      t.diagnostic(
        `a after waking: ${(aLog.match(/transaction aborted/g) ?? []).length} aborted transactions, ` +
          `${(aLog.match(/already committed/g) ?? []).length} skips`,
      );
    } finally {
      a?.child.kill('SIGCONT');
      await monitor.stop();
    }
    await assertExactlyOnce(kafka, topics.entities, expected);
  },
);
