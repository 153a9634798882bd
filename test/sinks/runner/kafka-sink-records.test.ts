import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createAnnotatedArticleCodec, createDeadLetterCodec } from '../../../src/codec/schemas.js';
import type { EntityMessage } from '../../../src/sinks/kafka-sink-records.js';
import {
  batchDeadLetters,
  cutSinkBatches,
  decodeEntity,
} from '../../../src/sinks/kafka-sink-records.js';
import { generateArticles, generatedConcepts } from '../generated-articles.js';

const codec = createAnnotatedArticleCodec();
const deadLetterCodec = createDeadLetterCodec();

const article = generateArticles({
  firstPmid: 500,
  count: 20,
  concepts: generatedConcepts('u'),
  seed: 11,
}).find((a) => a.mentions.length > 1);
const PMID = article?.pmid ?? '';

function message(offset: number, key: string | null, value: Buffer | null): EntityMessage {
  return {
    topic: 'pubmed.entities',
    partition: 2,
    offset: String(offset),
    key: key === null ? null : Buffer.from(key),
    value,
  };
}

describe('decodeEntity', () => {
  test('an annotated article becomes a record versioned by its offset', () => {
    assert.ok(article !== undefined);
    const decoded = decodeEntity(message(41, PMID, codec.encode(article)), codec);
    assert.equal(decoded.kind, 'record');
    if (decoded.kind !== 'record') return;
    assert.equal(decoded.record.pmid, PMID);
    assert.equal(decoded.record.version, 41);
    // avsc decodes into its record classes: compare the data.
    assert.deepEqual(JSON.parse(JSON.stringify(decoded.record.article)), article);
    assert.deepEqual(decoded.record.origin, { topic: 'pubmed.entities', partition: 2, offset: 41 });
  });

  test('a tombstone becomes a deletion', () => {
    const decoded = decodeEntity(message(7, '123', null), codec);
    assert.equal(decoded.kind, 'record');
    if (decoded.kind === 'record') assert.equal(decoded.record.article, null);
  });

  test('missing key, undecodable value and key/PMID mismatch are poison with their codes', () => {
    assert.ok(article !== undefined);
    const cases: [EntityMessage, string][] = [
      [message(1, null, codec.encode(article)), 'RECORD_KEY_MISSING'],
      [message(2, PMID, Buffer.from('not avro')), 'AVRO_DECODE'],
      [message(3, '999', codec.encode(article)), 'RECORD_INVALID'],
    ];
    for (const [input, code] of cases) {
      const decoded = decodeEntity(input, codec);
      assert.equal(decoded.kind, 'poison');
      if (decoded.kind === 'poison') assert.equal(decoded.error.code, code);
    }
  });
});

describe('cutSinkBatches', () => {
  const items = Array.from({ length: 10 }, (_, i) => ({
    message: message(i, String(i), Buffer.alloc(100)),
  }));

  test('keeps order and respects the record limit', () => {
    const batches = [...cutSinkBatches(items, { maxRecords: 4, maxBytes: 1e9 })];
    assert.deepEqual(
      batches.map((b) => b.length),
      [4, 4, 2],
    );
    assert.deepEqual(batches.flat(), items);
  });

  test('respects the byte limit; an oversized message is a batch alone', () => {
    const sizes = [...cutSinkBatches(items, { maxRecords: 100, maxBytes: 350 })].map(
      (b) => b.length,
    );
    assert.deepEqual(sizes, [3, 3, 3, 1]);
    const big = [...cutSinkBatches(items.slice(0, 3), { maxRecords: 100, maxBytes: 50 })];
    assert.deepEqual(
      big.map((b) => b.length),
      [1, 1, 1],
    );
  });
});

test('dead letters name the sink stage, the code, the reason and the source position', () => {
  const poisonMessage = message(9, '77', Buffer.from('garbage'));
  const decoded = decodeEntity(poisonMessage, codec);
  assert.equal(decoded.kind, 'poison');
  if (decoded.kind !== 'poison') return;
  const rejected = {
    message: message(10, '78', Buffer.alloc(80_000, 1)),
    errorCode: 'SINK_REJECTED',
    reason: 'mapper_parsing_exception: failed to parse field [publicationDate]',
  };
  const letters = batchDeadLetters('opensearch', [decoded], [rejected], deadLetterCodec, 1234);
  const [first, second] = letters.map((l) => deadLetterCodec.decode(l.value));
  assert.ok(first !== undefined && second !== undefined);
  assert.equal(first.stage, 'sink:opensearch');
  assert.equal(first.errorCode, 'AVRO_DECODE');
  assert.equal(first.offset, 9);
  assert.equal(first.partition, 2);
  assert.deepEqual(first.value, Buffer.from('garbage'));
  assert.equal(second.errorCode, 'SINK_REJECTED');
  assert.equal(second.message, rejected.reason);
  assert.equal(second.valueTruncated, true);
  assert.equal(second.valueSize, 80_000);
  assert.equal(second.at, 1234);
  assert.deepEqual(letters[1]?.key, Buffer.from('78'));
});
