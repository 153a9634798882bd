import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createAnnotatedArticleCodec,
  createArticleCodec,
  createDeadLetterCodec,
} from '../../src/codec/schemas.js';
import { articleText } from '../../src/codec/records.js';
import { MedStreamError, isMedStreamError } from '../../src/errors.js';
import type {
  ClassifiedRecord,
  InputRecord,
} from '../../src/processors/kafka-processor-transform.js';
import {
  PROCESSOR_STAGE,
  classifyRecord,
  cutMicroBatches,
  transformBatch,
} from '../../src/processors/kafka-processor-transform.js';
import { KeywordAnnotator, testArticle } from './keyword-annotator.js';

const articleCodec = createArticleCodec();
const annotatedCodec = createAnnotatedArticleCodec();
const deadLetterCodec = createDeadLetterCodec();
const TOPIC = 't.pubmed.articles';

let nextOffset = 100;
function input(key: string | null, value: Buffer | null): InputRecord {
  return {
    topic: TOPIC,
    partition: 2,
    offset: String(nextOffset++),
    key: key === null ? null : Buffer.from(key),
    value,
  };
}

function encoded(pmid: string, abstract = 'A cancer cohort. No cancer here? cancerous.'): Buffer {
  return articleCodec.encode(testArticle(pmid, `Title ${pmid}`, abstract));
}

const classify = (record: InputRecord, maxTextChars = 1000): ClassifiedRecord =>
  classifyRecord(record, { articleCodec, maxTextChars });

function options(annotator = new KeywordAnnotator({ maxTextChars: 1000 })) {
  return { annotator, annotatedCodec, deadLetterCodec, now: () => 1234 };
}

test('classifies articles, tombstones and each kind of poison record', () => {
  const ok = classify(input('1', encoded('1')));
  assert.equal(ok.kind, 'article');
  assert.equal(
    ok.kind === 'article' && ok.chars,
    articleText(testArticle('1', 'Title 1', 'A cancer cohort. No cancer here? cancerous.')).length,
  );

  const tomb = classify(input('2', null));
  assert.deepEqual(tomb.kind === 'tombstone' && tomb.pmid, '2');

  const codes = [
    classify(input(null, encoded('3'))),
    classify(input('', encoded('3'))),
    classify(input(null, null)),
    classify(input('4', Buffer.from('not avro at all'))),
    classify(input('5', Buffer.alloc(0))),
    classify(input('6', encoded('7'))),
    classify(input('8', encoded('8', 'x'.repeat(2000)))),
  ].map((r) => (r.kind === 'poison' ? r.error.code : r.kind));
  assert.deepEqual(codes, [
    'RECORD_KEY_MISSING',
    'RECORD_KEY_MISSING',
    'RECORD_KEY_MISSING',
    'AVRO_DECODE',
    'AVRO_DECODE',
    'RECORD_INVALID',
    'RECORD_TOO_LARGE',
  ]);
});

test('a text of exactly maxTextChars is accepted, one more is dead-lettered', () => {
  const title = 'T';
  const abstract = 'y'.repeat(98);
  const value = articleCodec.encode(testArticle('9', title, abstract));
  assert.equal(articleText({ title, abstract }).length, 100);
  assert.equal(classify(input('9', value), 100).kind, 'article');
  assert.equal(classify(input('9', value), 99).kind, 'poison');
});

test('outputs keep input order; tombstones pass through; poison goes to the DLQ and the rest goes on', async () => {
  const garbage = Buffer.from([0xc3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9]);
  const oversized = encoded('13', 'cancer '.repeat(300));
  const records = [
    input('10', encoded('10')),
    input('11', null),
    input('12', garbage),
    input('13', oversized),
    input(null, encoded('14')),
    input('15', encoded('15', 'Nothing to see.')),
    input('10', null),
  ].map((r) => classify(r));
  const annotator = new KeywordAnnotator({ maxTextChars: 1000 });
  const result = await transformBatch(records, options(annotator));

  assert.deepEqual(annotator.batches, [2], 'one annotate call with the two valid articles');
  assert.deepEqual(
    result.entities.map((m) => [String(m.key), m.value === null ? null : 'annotated']),
    [
      ['10', 'annotated'],
      ['11', null],
      ['15', 'annotated'],
      ['10', null],
    ],
  );
  const first = annotatedCodec.decode(result.entities[0].value!);
  const text = articleText(first);
  assert.deepEqual(
    first.mentions.map((m) => [m.start, m.end, text.slice(m.start, m.end), m.type, m.ids]),
    [
      [11, 17, 'cancer', 'Disease', ['MESH:D009369']],
      [29, 35, 'cancer', 'Disease', ['MESH:D009369']],
    ],
  );
  assert.equal(annotatedCodec.decode(result.entities[2].value!).mentions.length, 0);
  assert.equal(result.articles, 2);
  assert.equal(result.tombstones, 2);

  const dead = result.deadLetters.map((m) => deadLetterCodec.decode(m.value!));
  assert.deepEqual(
    dead.map((d) => [d.errorCode, d.key?.toString() ?? null]),
    [
      ['AVRO_DECODE', '12'],
      ['RECORD_TOO_LARGE', '13'],
      ['RECORD_KEY_MISSING', null],
    ],
  );
  assert.deepEqual(
    result.deadLetters.map((m) => m.key?.toString() ?? null),
    ['12', '13', null],
  );
  for (const [i, d] of dead.entries()) {
    const original = records[[2, 3, 4][i]].input;
    assert.equal(d.stage, PROCESSOR_STAGE);
    assert.equal(d.topic, TOPIC);
    assert.equal(d.partition, 2);
    assert.equal(d.offset, Number(original.offset));
    assert.deepEqual(d.value, original.value, 'original bytes kept');
    assert.equal(d.valueTruncated, false);
    assert.equal(d.valueSize, original.value!.length);
    assert.equal(d.at, 1234);
    assert.ok(d.message.length > 0);
  }
  assert.deepEqual(
    [...result.deadLetterCodes],
    [
      ['AVRO_DECODE', 1],
      ['RECORD_TOO_LARGE', 1],
      ['RECORD_KEY_MISSING', 1],
    ],
  );
});

test('dead-letter values are capped and say so', async () => {
  const big = Buffer.alloc(5000, 0x41);
  const result = await transformBatch([classify(input('20', big))], {
    ...options(),
    maxDeadLetterValueBytes: 100,
  });
  const dead = deadLetterCodec.decode(result.deadLetters[0].value!);
  assert.equal(dead.value.length, 100);
  assert.equal(dead.valueTruncated, true);
  assert.equal(dead.valueSize, 5000);
});

test('an annotation that does not encode is dead-lettered on its own', async () => {
  const annotator = new KeywordAnnotator({ maxTextChars: 1000, breakPmids: ['31'] });
  const records = ['30', '31', '32'].map((pmid) => classify(input(pmid, encoded(pmid))));
  const result = await transformBatch(records, options(annotator));
  assert.deepEqual(
    result.entities.map((m) => String(m.key)),
    ['30', '32'],
  );
  const dead = deadLetterCodec.decode(result.deadLetters[0].value!);
  assert.equal(dead.errorCode, 'RECORD_INVALID');
  assert.deepEqual(dead.value, records[1].input.value);
});

test('a batch without articles does not call the annotator', async () => {
  const annotator = new KeywordAnnotator();
  const result = await transformBatch(
    [classify(input('40', null)), classify(input('41', Buffer.from('x')))],
    options(annotator),
  );
  assert.deepEqual(annotator.batches, []);
  assert.equal(result.entities.length, 1);
  assert.equal(result.deadLetters.length, 1);
});

test('an annotator that breaks its contract fails the whole batch', async () => {
  const annotator = new KeywordAnnotator();
  const records = ['50', '51'].map((pmid) => classify(input(pmid, encoded(pmid))));

  annotator.annotate = (articles) =>
    Promise.resolve([]).then(() => articles.slice(1).map(() => ({}) as never));
  await assert.rejects(
    transformBatch(records, options(annotator)),
    (e: unknown) => isMedStreamError(e) && e.code === 'INTERNAL',
  );

  const swapped = new KeywordAnnotator();
  const original = swapped.annotate.bind(swapped);
  swapped.annotate = async (articles) => (await original(articles)).reverse();
  await assert.rejects(
    transformBatch(records, options(swapped)),
    (e: unknown) => isMedStreamError(e) && e.code === 'INTERNAL',
  );

  const failing = new KeywordAnnotator();
  failing.annotate = () => Promise.reject(new MedStreamError('MODEL_INVALID', 'no model'));
  await assert.rejects(
    transformBatch(records, options(failing)),
    (e: unknown) => isMedStreamError(e) && e.code === 'MODEL_INVALID',
  );
});

test('micro-batches are cut by count and by text size, lazily, without losing or reordering', () => {
  let classified = 0;
  function* lazily(): Generator<ClassifiedRecord> {
    for (let i = 0; i < 25; i += 1) {
      classified += 1;
      // Every fifth record is a tombstone (weight 0); articles weigh their text (~100 chars).
      yield i % 5 === 0
        ? classify(input(String(i), null))
        : classify(input(String(i), encoded(String(i), 'z'.repeat(90))));
    }
  }
  const iterator = cutMicroBatches(lazily(), { maxItems: 4, maxChars: 150 });
  const first = iterator.next();
  assert.equal(first.done, false);
  assert.equal(classified, 3, 'only the first batch was classified');
  const batches = [first.value, ...iterator];
  assert.deepEqual(
    batches.flat().map((r) => r.input.key!.toString()),
    Array.from({ length: 25 }, (_, i) => String(i)),
  );
  const weight = (r: ClassifiedRecord): number => (r.kind === 'article' ? r.chars : 0);
  for (const batch of batches) {
    assert.ok(batch.length <= 4);
    // A batch closes once it reaches the budget: only its last record may cross it.
    const beforeLast = batch.slice(0, -1).reduce((n, r) => n + weight(r), 0);
    assert.ok(beforeLast < 150, `batch of ${beforeLast} chars before its last record`);
  }

  const byCount = [...cutMicroBatches(lazily(), { maxItems: 4, maxChars: 1e9 })];
  assert.deepEqual(
    byCount.map((b) => b.length),
    [4, 4, 4, 4, 4, 4, 1],
  );
});
