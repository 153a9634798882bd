import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CharNgramIndex,
  keyGrams,
} from '../../../src/processors/normalization/char-ngram-index.js';

test('grams are per word, padded with #, counted', () => {
  assert.deepEqual(
    [...keyGrams('type 2')],
    [
      ['#ty', 1],
      ['typ', 1],
      ['ype', 1],
      ['pe#', 1],
      ['#2#', 1],
    ],
  );
  assert.equal(keyGrams('aa aa').get('#aa'), 2);
  assert.equal(keyGrams('').size, 0);
});

const KEYS = [
  'diabete mellitu type 2',
  'diabete mellitu type 1',
  'diabete insipidu',
  'breast neoplasm',
  'ovarian neoplasm',
  'muscular dystrophy duchenne',
];

test('ranks by cosine: the closest name first, word order ignored', () => {
  const index = new CharNgramIndex(KEYS);
  assert.equal(index.size, KEYS.length);
  const hits = index.search('type 2 diabete', 3);
  assert.equal(hits[0].doc, 0);
  assert.equal(hits[1].doc, 1);
  assert.ok(hits[0].score > hits[1].score && hits[1].score > (hits[2]?.score ?? 0));
  assert.equal(index.search('duchenne muscular dystrophy', 1)[0].doc, 5);
  assert.equal(index.search('neoplasm breast', 1)[0].doc, 3);
});

test('an identical key scores 1; scores lie in [0, 1]; minScore and k cut the list', () => {
  const index = new CharNgramIndex(KEYS);
  const [best] = index.search('breast neoplasm', 1);
  assert.equal(best.doc, 3);
  assert.ok(Math.abs(best.score - 1) < 1e-6);
  for (const hit of index.search('neoplasm', 10)) assert.ok(hit.score >= 0 && hit.score <= 1);
  assert.equal(index.search('neoplasm', 10, 0.99).length, 0);
  assert.equal(index.search('neoplasm', 1).length, 1);
  assert.deepEqual(index.search('zzzz qqqq', 5), []);
  assert.deepEqual(index.search('', 5), []);
});

test('unknown grams lower the score instead of being ignored', () => {
  const index = new CharNgramIndex(KEYS);
  const plain = index.search('breast', 1)[0].score;
  const noisy = index.search('breast xqzv', 1)[0].score;
  assert.ok(noisy < plain);
});

test('the search is repeatable (the shared accumulator is reset)', () => {
  const index = new CharNgramIndex(KEYS);
  const first = index.search('diabete', 6);
  assert.deepEqual(index.search('diabete', 6), first);
  // Type 1 and type 2 tie on `diabete`: ties break by key index.
  const docs = first.map((h) => h.doc);
  assert.equal(docs.indexOf(1), docs.indexOf(0) + 1);
  assert.equal(first[docs.indexOf(0)].score, first[docs.indexOf(1)].score);
});

test('non-ASCII characters index like any other', () => {
  const index = new CharNgramIndex(['maladie de ménétrier', 'maladie de crohn']);
  assert.equal(index.search('ménétrier', 1)[0].doc, 0);
  assert.throws(() => new CharNgramIndex(KEYS, { n: 4 }), RangeError);
});
