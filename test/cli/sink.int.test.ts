import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@opensearch-project/opensearch';
import type { Kafka, Message } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import type { AnnotatedArticle } from '../../src/codec/records.js';
import { createAnnotatedArticleCodec } from '../../src/codec/schemas.js';
import { createKafka } from '../../src/transport/kafka/client.js';
import type { TopicNames } from '../../src/transport/kafka/topics.js';
import { ensureTopics, topicConfigs, topicNames } from '../../src/transport/kafka/topics.js';
import { requireServiceEnv, runId } from '../services/service-env.js';
import { testDriver } from '../sinks/knowledge-graph/graph-snapshot.js';
import { generateArticles, generatedConcepts } from '../sinks/generated-articles.js';
import type { IndexedEntry } from '../sinks/search-index/index-state.js';
import { assertIndexHolds, removeAliasIndices } from '../sinks/search-index/index-state.js';

/**
 * `medstream sink …` as an operator runs it: a process reading a real entities topic, writing a
 * real OpenSearch / Neo4j, stopped with SIGTERM. A few thousand records; then the topic is
 * replayed from the beginning (a new consumer group) and some PMIDs are deleted by tombstones.
 * The target must end exactly as the input says: no duplicates, no regressions.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const codec = createAnnotatedArticleCodec();
const children = new Set<ChildProcess>();
const createdPrefixes: string[] = [];

function kafkaClient(): Kafka {
  return createKafka({
    brokers: requireServiceEnv('KAFKA_BROKERS').split(','),
    clientId: 'medstream-test',
  });
}

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  if (process.env.KAFKA_BROKERS === undefined) return;
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) =>
      createdPrefixes.some((p) => t.startsWith(p)),
    );
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
});

async function setUpTopics(): Promise<{ kafka: Kafka; topics: TopicNames; prefix: string }> {
  const kafka = kafkaClient();
  const prefix = `t-${randomUUID().slice(0, 8)}.`;
  createdPrefixes.push(prefix);
  const topics = topicNames(prefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topicConfigs(topics, { partitions: 3, replicationFactor: 1 }));
  } finally {
    await admin.disconnect();
  }
  return { kafka, topics, prefix };
}

async function produce(kafka: Kafka, topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 500) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
    }
  } finally {
    await producer.disconnect();
  }
}

interface SinkProcess {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
}

function startSink(target: string, args: string[], env: Record<string, string>): SinkProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'sink', target, '--json', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, MEDSTREAM_OPS_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.add(child);
  const out: SinkProcess = { child, stdout: [], stderr: [] };
  child.stdout?.on('data', (chunk: Buffer) => out.stdout.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => out.stderr.push(chunk.toString()));
  return out;
}

/** SIGTERM, then the JSON summary the command prints on a clean exit. */
async function stopSink(sink: SinkProcess): Promise<{ written: number; deleted: number }> {
  const exited = once(sink.child, 'exit');
  sink.child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  children.delete(sink.child);
  assert.equal(code, 0, `sink exited ${code}:\n${sink.stderr.join('')}`);
  const summary = JSON.parse(sink.stdout.join('').trim()) as {
    stats: { written: number; deleted: number };
    failure: string | null;
  };
  assert.equal(summary.failure, null);
  return summary.stats;
}

/** Waits until the group has committed every offset of the topic. */
async function caughtUp(kafka: Kafka, groupId: string, topic: string, sink: SinkProcess) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + 180_000;
    for (;;) {
      assert.equal(sink.child.exitCode, null, `sink exited early:\n${sink.stderr.join('')}`);
      const ends = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const done = ends.every(
        (end) =>
          committed?.partitions.find((p) => p.partition === end.partition)?.offset === end.high,
      );
      if (done) return;
      if (Date.now() > deadline) {
        throw new Error(`group ${groupId} did not catch up:\n${sink.stderr.join('')}`);
      }
      await sleep(500);
    }
  } finally {
    await admin.disconnect();
  }
}

interface Scenario {
  articles: AnnotatedArticle[];
  deleted: Set<string>;
  conceptPrefix: string;
}

function scenario(firstPmid: number): Scenario {
  const namespace = runId();
  const articles = generateArticles({
    firstPmid,
    count: 2_000,
    concepts: generatedConcepts(namespace),
    seed: 17,
  });
  const deleted = new Set(articles.filter((_, i) => i % 9 === 0).map((a) => a.pmid));
  return { articles, deleted, conceptPrefix: `MESH:T${namespace}` };
}

test('sink opensearch: a topic replayed from the beginning and tombstones leave exactly the expected index', async () => {
  const { kafka, topics, prefix } = await setUpTopics();
  const { articles, deleted } = scenario(8_100_000);
  await produce(
    kafka,
    topics.entities,
    articles.map((a) => ({ key: a.pmid, value: codec.encode(a) })),
  );
  const alias = `medstream-cli-${runId()}`;
  const index = `${alias}-current`;
  const env = {
    KAFKA_TOPIC_PREFIX: prefix,
    OPENSEARCH_INDEX_ALIAS: alias,
    OPENSEARCH_URL: requireServiceEnv('OPENSEARCH_URL'),
  };
  const client = new Client({ node: requireServiceEnv('OPENSEARCH_URL') });
  try {
    const group1 = `g1-${runId()}`;
    const first = startSink('opensearch', ['--index', index, '--group', group1], env);
    await caughtUp(kafka, group1, topics.entities, first);
    assert.equal((await stopSink(first)).written, 2_000);

    // Replay everything with a new group, then delete some PMIDs while it runs.
    const group2 = `g2-${runId()}`;
    const replay = startSink('opensearch', ['--index', index, '--group', group2], env);
    await produce(
      kafka,
      topics.entities,
      [...deleted].map((pmid) => ({ key: pmid, value: null })),
    );
    await caughtUp(kafka, group2, topics.entities, replay);
    const stats = await stopSink(replay);
    assert.equal(stats.written, 2_000, 'a replayed record counts as written (already there)');
    assert.equal(stats.deleted, deleted.size);

    // Expected, from the topic itself: per PMID its last record (versions are offsets).
    const latest = await lastRecordPerKey(kafka, topics.entities);
    const byPmid = new Map(articles.map((a) => [a.pmid, a]));
    const expected: IndexedEntry[] = [];
    for (const [pmid, { offset, tombstone }] of latest) {
      const article = byPmid.get(pmid);
      assert.ok(article !== undefined, `PMID ${pmid} was produced by the test`);
      if (tombstone) continue;
      expected.push({
        pmid,
        version: offset,
        textSha256: article.textSha256,
        modelVersion: article.modelVersion,
        mentions: article.mentions,
      });
    }
    assert.equal(expected.length, 2_000 - deleted.size);
    await assertIndexHolds(client, index, expected);
    const aliases = await client.indices.getAlias({ name: alias });
    assert.deepEqual(Object.keys(aliases.body), [index], 'the alias points at the written index');
  } finally {
    await removeAliasIndices(client, alias);
    await client.close();
  }
});

/** Reads the whole topic: per key, the offset of its last record and whether it is a tombstone. */
async function lastRecordPerKey(
  kafka: Kafka,
  topic: string,
): Promise<Map<string, { offset: number; tombstone: boolean }>> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = ends.reduce((n, e) => n + Number(e.high), 0);
  const consumer = kafka.consumer({ groupId: `reader-${runId()}`, maxWaitTimeInMs: 100 });
  const latest = new Map<string, { offset: number; tombstone: boolean }>();
  let seen = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      seen += 1;
      const key = message.key?.toString() ?? '';
      const offset = Number(message.offset);
      const current = latest.get(key);
      if (current === undefined || offset > current.offset) {
        latest.set(key, { offset, tombstone: message.value === null });
      }
      return Promise.resolve();
    },
  });
  try {
    const deadline = Date.now() + 60_000;
    while (seen < total) {
      if (Date.now() > deadline) throw new Error(`read ${seen} of ${total} records`);
      await sleep(200);
    }
    return latest;
  } finally {
    await consumer.disconnect();
  }
}

test('sink neo4j: replay and tombstones leave Article counts and CO_OCCURS counts equal to the input', async () => {
  const { kafka, topics, prefix } = await setUpTopics();
  const { articles, deleted, conceptPrefix } = scenario(8_200_000);
  await produce(
    kafka,
    topics.entities,
    articles.map((a) => ({ key: a.pmid, value: codec.encode(a) })),
  );
  const env = { KAFKA_TOPIC_PREFIX: prefix, NEO4J_URI: requireServiceEnv('NEO4J_URI') };
  const driver = testDriver();
  const pmids = articles.map((a) => a.pmid);
  try {
    const group1 = `g1-${runId()}`;
    const first = startSink('neo4j', ['--group', group1], env);
    await caughtUp(kafka, group1, topics.entities, first);
    await stopSink(first);

    const group2 = `g2-${runId()}`;
    const replay = startSink('neo4j', ['--group', group2], env);
    await produce(
      kafka,
      topics.entities,
      [...deleted].map((pmid) => ({ key: pmid, value: null })),
    );
    await caughtUp(kafka, group2, topics.entities, replay);
    await stopSink(replay);

    // Expected, from the input alone: live articles and, per unordered concept pair, the
    // number of live articles mentioning both.
    const live = articles.filter((a) => !deleted.has(a.pmid));
    const expectedPairs = new Map<string, number>();
    for (const article of live) {
      const ids = [...new Set(article.mentions.flatMap((m) => m.ids))].sort();
      for (let i = 0; i < ids.length; i += 1) {
        for (let j = i + 1; j < ids.length; j += 1) {
          const key = `${ids[i]}|${ids[j]}`;
          expectedPairs.set(key, (expectedPairs.get(key) ?? 0) + 1);
        }
      }
    }
    const counted = await driver.executeQuery(
      'MATCH (a:Article) WHERE a.pmid IN $pmids RETURN count(a) AS n, count(DISTINCT a.pmid) AS d',
      { pmids },
    );
    assert.equal(counted.records[0]?.get('n'), live.length, 'one Article per live PMID');
    assert.equal(counted.records[0]?.get('d'), live.length, 'no duplicate Article');
    const pairs = await driver.executeQuery(
      `MATCH (x:Concept)-[r:CO_OCCURS]-(y:Concept)
       WHERE x.id STARTS WITH $prefix AND x.id < y.id
       RETURN x.id AS x, y.id AS y, r.articles AS n`,
      { prefix: conceptPrefix },
    );
    const actualPairs = new Map(
      pairs.records.map((r) => [`${String(r.get('x'))}|${String(r.get('y'))}`, Number(r.get('n'))]),
    );
    assert.equal(actualPairs.size, expectedPairs.size, 'CO_OCCURS relationships');
    assert.deepEqual(
      new Map([...actualPairs].sort()),
      new Map([...expectedPairs].sort()),
      'CO_OCCURS articles per pair',
    );
    const mentions = await driver.executeQuery(
      `MATCH (a:Article)-[m:MENTIONS]->(:Concept) WHERE a.pmid IN $pmids RETURN count(m) AS n`,
      { pmids },
    );
    const expectedMentions = live.reduce(
      (n, a) => n + new Set(a.mentions.flatMap((m) => m.ids)).size,
      0,
    );
    assert.equal(mentions.records[0]?.get('n'), expectedMentions, 'MENTIONS per article-concept');
  } finally {
    await driver.executeQuery('MATCH (a:Article) WHERE a.pmid IN $pmids DETACH DELETE a', {
      pmids,
    });
    await driver.executeQuery('MATCH (d:DeletedArticle) WHERE d.pmid IN $pmids DELETE d', {
      pmids,
    });
    await driver.executeQuery('MATCH (c:Concept) WHERE c.id STARTS WITH $prefix DETACH DELETE c', {
      prefix: conceptPrefix,
    });
    await driver.close();
  }
});
