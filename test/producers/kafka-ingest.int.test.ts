import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import type { Kafka } from 'kafkajs';
import { ingestFiles } from '../../src/cli/commands/ingest.js';
import { createArticleCodec } from '../../src/codec/schemas.js';
import { loadConfig } from '../../src/config/config.js';
import { syntheticPubmedXml } from '../../src/producers/pubmed-xml/synthetic.js';
import { createKafka } from '../../src/transport/kafka/client.js';
import { topicNames } from '../../src/transport/kafka/topics.js';

const brokers = process.env.KAFKA_BROKERS;
const work = mkdtempSync(join(tmpdir(), 'medstream-kafka-ingest-'));
const createdPrefixes: string[] = [];

function requireBrokers(): string {
  if (brokers === undefined || brokers === '') {
    throw new Error(
      'KAFKA_BROKERS is not set: run `npm run services -- up` and source .cache/services/env.sh',
    );
  }
  return brokers;
}

/** Update files written by the project's own generator: `count` articles each, consecutive PMIDs. */
function writeUpdateFiles(
  dir: string,
  files: { articles: number; firstPmid: number; deletions?: string[] }[],
): void {
  mkdirSync(dir, { recursive: true });
  files.forEach((file, i) => {
    const xml = [...syntheticPubmedXml({ ...file, seed: i + 1 })].join('');
    writeFileSync(join(dir, `pubmed26n${String(i + 1).padStart(4, '0')}.xml.gz`), gzipSync(xml));
  });
}

interface Consumed {
  key: string;
  value: Buffer | null;
}

/** Everything committed on `topic`, read with read_committed until the topic stays quiet. */
async function consumeCommitted(kafka: Kafka, topic: string, atLeast: number): Promise<Consumed[]> {
  const groupId = `test-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false });
  const seen: Consumed[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let last = Date.now();
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push({ key: message.key!.toString(), value: message.value });
      last = Date.now();
      await Promise.resolve();
    },
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && (seen.length < atLeast || Date.now() - last < 2000)) {
    await sleep(100);
  }
  await consumer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteGroups([groupId]).catch(() => undefined);
  await admin.disconnect();
  return seen;
}

after(async () => {
  rmSync(work, { recursive: true, force: true });
  if (brokers === undefined || createdPrefixes.length === 0) return;
  const kafka = createKafka({ brokers: brokers.split(','), clientId: 'medstream-test-cleanup' });
  const admin = kafka.admin();
  await admin.connect();
  const all = await admin.listTopics();
  await admin.deleteTopics({
    topics: all.filter((t) => createdPrefixes.some((p) => t.startsWith(p))),
  });
  await admin.disconnect();
});

test('ingest files → Kafka: Avro articles keyed by PMID, tombstones, and a re-offered committed file is skipped', async () => {
  const list = requireBrokers();
  const prefix = `t-${randomUUID().slice(0, 8)}.`;
  createdPrefixes.push(prefix);
  const config = loadConfig({
    KAFKA_BROKERS: list,
    KAFKA_TOPIC_PREFIX: prefix,
    MEDSTREAM_CACHE: join(work, 'cache-a'),
  });
  const input = join(work, 'in-a');
  writeUpdateFiles(input, [
    { articles: 150, firstPmid: 1000 },
    { articles: 150, firstPmid: 2000, deletions: ['1000', '1001'] },
    { articles: 150, firstPmid: 3000 },
  ]);
  const checkpoint = join(work, 'checkpoint-a.json');
  const summary = await ingestFiles({ from: input, checkpoint, progress: false }, config);
  assert.equal(summary.units, 3);
  assert.equal(summary.articles, 450);
  assert.equal(summary.deletes, 2);

  const kafka = createKafka({ brokers: list.split(','), clientId: 'medstream-test' });
  const topic = topicNames(prefix).articles;
  const records = await consumeCommitted(kafka, topic, 452);
  assert.equal(records.length, 452);
  const codec = createArticleCodec();
  const articles = records.filter((r) => r.value !== null);
  const tombstones = records.filter((r) => r.value === null).map((r) => r.key);
  assert.deepEqual(tombstones.sort(), ['1000', '1001']);
  for (const record of articles) {
    const article = codec.decode(record.value!);
    assert.equal(article.pmid, record.key);
    assert.ok(article.title.length > 0);
    assert.match(article.source, /^pubmed26n000[123]\.xml\.gz$/);
  }
  assert.equal(new Set(articles.map((r) => r.key)).size, 450);

  // A crash after the third file's Kafka transaction but before its checkpoint write: the
  // local checkpoint lists two files; the unit marker in Kafka says the third is done.
  const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as { completed: unknown[] };
  saved.completed = saved.completed.slice(0, 2);
  writeFileSync(checkpoint, JSON.stringify(saved));
  const rerun = await ingestFiles({ from: input, checkpoint, progress: false }, config);
  assert.equal(rerun.units, 1);
  assert.equal(rerun.articles, 0, 'the committed file must not be sent again');
  const again = await consumeCommitted(kafka, topic, 452);
  assert.equal(again.length, 452);
});

test('SIGKILL mid-file, restart: every article exactly once for read_committed readers', async () => {
  const list = requireBrokers();
  const prefix = `t-${randomUUID().slice(0, 8)}.`;
  createdPrefixes.push(prefix);
  const input = join(work, 'in-b');
  const files = [0, 1, 2, 3].map((i) => ({ articles: 2500, firstPmid: 100_000 + i * 10_000 }));
  writeUpdateFiles(input, files);
  const checkpoint = join(work, 'checkpoint-b.json');
  const env = {
    ...process.env,
    KAFKA_BROKERS: list,
    KAFKA_TOPIC_PREFIX: prefix,
    MEDSTREAM_CACHE: join(work, 'cache-b'),
    // An ephemeral ops port: the fixed default may be taken on a shared host.
    MEDSTREAM_OPS_PORT: '0',
  };
  const run = () =>
    spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'ingest',
        'files',
        '--from',
        input,
        '--checkpoint',
        checkpoint,
      ],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
  const completed = () =>
    existsSync(checkpoint)
      ? (JSON.parse(readFileSync(checkpoint, 'utf8')) as { completed: unknown[] }).completed.length
      : 0;

  const first = run();
  const firstExit = new Promise<number | null>((resolve) =>
    first.on('exit', (code) => resolve(code)),
  );
  const deadline = Date.now() + 120_000;
  while (completed() < 1 && Date.now() < deadline) await sleep(20);
  first.kill('SIGKILL');
  await firstExit;
  const atKill = completed();
  assert.ok(atKill >= 1 && atKill < files.length, `killed after ${atKill} committed files`);

  const second = run();
  let stderr = '';
  second.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => second.on('exit', (c) => resolve(c)));
  assert.equal(code, 0, stderr);
  assert.equal(completed(), files.length);

  const kafka = createKafka({ brokers: list.split(','), clientId: 'medstream-test' });
  const records = await consumeCommitted(kafka, topicNames(prefix).articles, 10_000);
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
  assert.equal(counts.size, 10_000, 'no article lost');
  const duplicated = [...counts].filter(([, n]) => n > 1);
  assert.deepEqual(duplicated, [], 'no article twice');
});
