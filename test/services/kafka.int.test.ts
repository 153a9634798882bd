import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, Partitioners, type Admin } from 'kafkajs';
import { requireServiceEnv, runId } from './service-env.js';

const RUN = runId();
const TIMEOUT_MS = 90_000;

function kafkaClient(clientId: string): Kafka {
  return new Kafka({
    clientId: `${clientId}-${RUN}`,
    brokers: requireServiceEnv('KAFKA_BROKERS').split(','),
    connectionTimeout: 5_000,
    // Failures surface as rejected promises; kafkajs' retry chatter would only add noise.
    logLevel: logLevel.NOTHING,
  });
}

async function createTopics(admin: Admin, topics: readonly string[]): Promise<void> {
  const created = await admin.createTopics({
    topics: topics.map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
    waitForLeaders: true,
  });
  assert.equal(created, true, `topics ${topics.join(', ')} already existed`);
}

/**
 * Reads `count` records from the start of a single-partition topic with a fresh consumer group
 * and returns them in log order (plus anything that arrived before the consumer stopped).
 */
async function consumeValues(
  kafka: Kafka,
  topic: string,
  groupId: string,
  count: number,
  readUncommitted: boolean,
): Promise<string[]> {
  const consumer = kafka.consumer({ groupId, readUncommitted, allowAutoTopicCreation: false });
  await consumer.connect();
  const values: string[] = [];
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`timed out waiting for ${count} records on ${topic}: ${values.join(',')}`),
          ),
        30_000,
      );
      consumer
        .run({
          eachMessage: ({ message }) => {
            values.push(message.value?.toString('utf8') ?? '<tombstone>');
            if (values.length >= count) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          },
        })
        .catch((error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        });
    });
  } finally {
    await consumer.disconnect();
  }
  return values;
}

let admin: Admin;
const topicsToDelete: string[] = [];
const groupsToDelete: string[] = [];

before(async () => {
  // Inside the hook, so a missing KAFKA_BROKERS fails every test with its hint.
  admin = kafkaClient('medstream-int-admin').admin();
  await admin.connect();
});

after(async () => {
  if (admin === undefined) return;
  try {
    if (groupsToDelete.length > 0) await admin.deleteGroups(groupsToDelete);
    if (topicsToDelete.length > 0) await admin.deleteTopics({ topics: topicsToDelete });
    const remaining = (await admin.listTopics()).filter((topic) => topicsToDelete.includes(topic));
    assert.deepEqual(remaining, [], 'test topics were not deleted');
  } finally {
    await admin.disconnect();
  }
});

test('kafka: produce and consume round trip', { timeout: TIMEOUT_MS }, async () => {
  const kafka = kafkaClient('medstream-int-roundtrip');
  const topic = `medstream.test.roundtrip.${RUN}`;
  const groupId = `medstream-test-roundtrip-${RUN}`;
  await createTopics(admin, [topic]);
  topicsToDelete.push(topic);

  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    const sent = ['first', 'second', 'third'];
    await producer.send({
      topic,
      acks: -1,
      messages: sent.map((value, index) => ({ key: `pmid-${index}`, value })),
    });
  } finally {
    await producer.disconnect();
  }

  groupsToDelete.push(groupId);
  const received = await consumeValues(kafka, topic, groupId, 3, false);
  assert.deepEqual(received, ['first', 'second', 'third']);
});

test(
  'kafka: transactions commit and abort; read_committed sees only committed records',
  { timeout: TIMEOUT_MS },
  async () => {
    const kafka = kafkaClient('medstream-int-tx');
    const source = `medstream.test.tx-source.${RUN}`;
    const output = `medstream.test.tx-output.${RUN}`;
    // The group whose offsets the transaction commits (consume-transform-produce pattern).
    const processorGroup = `medstream-test-tx-processor-${RUN}`;
    const committedReader = `medstream-test-tx-committed-${RUN}`;
    const uncommittedReader = `medstream-test-tx-uncommitted-${RUN}`;
    await createTopics(admin, [source, output]);
    topicsToDelete.push(source, output);
    groupsToDelete.push(processorGroup, committedReader, uncommittedReader);

    const plain = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await plain.connect();
    try {
      await plain.send({
        topic: source,
        acks: -1,
        messages: [{ value: 'in-0' }, { value: 'in-1' }],
      });
    } finally {
      await plain.disconnect();
    }

    const producer = kafka.producer({
      transactionalId: `medstream-test-tx-${RUN}`,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    try {
      const first = await producer.transaction();
      await first.send({
        topic: output,
        messages: [{ value: 'committed-1' }, { value: 'committed-2' }],
      });
      await first.sendOffsets({
        consumerGroupId: processorGroup,
        topics: [{ topic: source, partitions: [{ partition: 0, offset: '2' }] }],
      });
      await first.commit();

      const second = await producer.transaction();
      await second.send({ topic: output, messages: [{ value: 'aborted-1' }] });
      await second.abort();

      // A commit after the abort: read_committed must skip the aborted record, not stop at it.
      const third = await producer.transaction();
      await third.send({ topic: output, messages: [{ value: 'committed-3' }] });
      await third.commit();
    } finally {
      await producer.disconnect();
    }

    const committed = await consumeValues(kafka, output, committedReader, 3, false);
    assert.deepEqual(committed, ['committed-1', 'committed-2', 'committed-3']);

    // The aborted record really is in the log: read_uncommitted sees it in place.
    const uncommitted = await consumeValues(kafka, output, uncommittedReader, 4, true);
    assert.deepEqual(uncommitted, ['committed-1', 'committed-2', 'aborted-1', 'committed-3']);

    // Offsets sent within the committed transaction are the group's committed offsets.
    let offset: string | undefined;
    for (let attempt = 0; attempt < 20 && offset !== '2'; attempt++) {
      if (attempt > 0) await sleep(500);
      const offsets = await admin.fetchOffsets({ groupId: processorGroup, topics: [source] });
      offset = offsets[0]?.partitions.find((p) => p.partition === 0)?.offset;
    }
    assert.equal(offset, '2', 'transactional sendOffsets did not commit the group offset');
  },
);
