import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnnotatedArticle, Mention } from '../../../src/codec/records.js';
import { isMedStreamError } from '../../../src/errors.js';
import {
  buildArticleGraph,
  conceptPairs,
  conceptLookupFromDictionary,
  conceptVocabulary,
  pairCount,
  prepareRecord,
  selectPairedConcepts,
} from '../../../src/sinks/knowledge-graph/graph-model.js';
import type { ConceptLookup } from '../../../src/sinks/knowledge-graph/graph-model.js';

const mention = (start: number, end: number, ids: string[], type = 'Disease', text = 'x') =>
  ({ start, end, text, type, ids, score: 0.9, source: 'model' }) satisfies Mention;

function article(pmid: string, mentions: Mention[]): AnnotatedArticle {
  return {
    pmid,
    version: 2,
    title: 'Lithium and polyuria',
    abstract: 'Chronic lithium caused polyuria.',
    journal: null,
    publicationDate: '2020-05',
    meshHeadings: [],
    textSha256: '',
    modelName: 'bc5cdr',
    modelVersion: '1.2.0',
    vocabularyVersion: 'v1',
    mentions,
    processedAt: 0,
  };
}

const lookup: ConceptLookup = (id) =>
  id === 'MESH:D008094' ? { name: 'Lithium', type: 'Chemical' } : undefined;

function rejectedWith(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error) => {
    assert.ok(isMedStreamError(error));
    assert.equal(error.code, 'SINK_REJECTED');
    assert.match(error.message, pattern);
    return true;
  });
}

test('one MENTIONS row per concept: distinct spans counted, sorted by offset, composites split', () => {
  const graph = buildArticleGraph(
    article('1001', [
      mention(30, 38, ['MESH:D011141'], 'Disease', 'polyuria'),
      mention(8, 15, ['MESH:D008094'], 'Chemical', 'Lithium'),
      // The same span twice (two model passes) is one mention.
      mention(8, 15, ['MESH:D008094'], 'Chemical', 'Lithium'),
      // Offsets sort as numbers, not strings: 9 before 10.
      mention(100, 110, ['MESH:D011141']),
      mention(9, 12, ['MESH:D011141']),
      // A composite mention mentions both of its concepts; an unnormalized one none.
      mention(40, 55, ['OMIM:123456', 'MESH:D008094', 'OMIM:123456'], 'Disease', 'lithium NDI'),
      mention(60, 70, [], 'Disease', 'weight loss'),
    ]),
    lookup,
  );
  assert.deepEqual(graph.mentions, [
    { concept: 'MESH:D008094', count: 2, spans: ['8-15', '40-55'] },
    { concept: 'MESH:D011141', count: 3, spans: ['9-12', '30-38', '100-110'] },
    { concept: 'OMIM:123456', count: 1, spans: ['40-55'] },
  ]);
  assert.equal(graph.model, 'bc5cdr@1.2.0');
  assert.equal(graph.articleVersion, 2);
  assert.deepEqual(graph.pairedConcepts, ['MESH:D008094', 'MESH:D011141', 'OMIM:123456']);
  assert.equal(graph.skippedPairs, 0);
});

test('concept names come from the lookup; unknown ids take their first mention in the text', () => {
  const graph = buildArticleGraph(
    article('1002', [
      mention(50, 58, ['MESH:D011141'], 'Disease', 'Polyurias'),
      mention(30, 38, ['MESH:D011141'], 'Disease', 'polyuria'),
      mention(8, 15, ['MESH:D008094'], 'Drug', 'lithium'),
    ]),
    lookup,
  );
  assert.deepEqual(graph.concepts, [
    { id: 'MESH:D008094', name: 'Lithium', type: 'Chemical', vocabulary: 'MESH', known: true },
    { id: 'MESH:D011141', name: 'polyuria', type: 'Disease', vocabulary: 'MESH', known: false },
  ]);
  // A dictionary concept without a type takes the mention's type.
  const untyped = buildArticleGraph(
    article('1003', [mention(0, 3, ['MESH:D1'], 'Chemical')]),
    () => ({
      name: 'Preferred',
      type: null,
    }),
  );
  assert.deepEqual(untyped.concepts[0], {
    id: 'MESH:D1',
    name: 'Preferred',
    type: 'Chemical',
    vocabulary: 'MESH',
    known: true,
  });
});

test('the vocabulary is the CURIE prefix; anything else is not a concept id', () => {
  assert.equal(conceptVocabulary('MESH:D003920'), 'MESH');
  assert.equal(conceptVocabulary('OMIM:222100'), 'OMIM');
  assert.equal(conceptVocabulary('NCBI.Gene:7157'), 'NCBI.Gene');
  for (const bad of ['D003920', ':D1', 'MESH:', 'MESH:D1 D2', 'MESH:D1;D2', 'MESH:D1|D2', '1X:a']) {
    assert.equal(conceptVocabulary(bad), undefined, bad);
  }
  assert.equal(conceptVocabulary(`MESH:${'D'.repeat(600)}`), undefined);
});

test('pairs: every unordered pair once, from the smaller id to the larger', () => {
  const ids = ['A:1', 'A:2', 'B:1', 'C:9'];
  const pairs = conceptPairs(ids);
  assert.equal(pairs.length, pairCount(ids.length));
  assert.equal(pairs.length, 6);
  for (const [start, end] of pairs) assert.ok(start < end);
  assert.equal(new Set(pairs.map((p) => p.join(' '))).size, 6);
  assert.deepEqual(conceptPairs(['A:1']), []);
});

test('the pair cap keeps the most-mentioned concepts, ties by id, and counts what it drops', () => {
  const rows = [
    { concept: 'X:5', count: 1, spans: ['0-1'] },
    { concept: 'X:1', count: 3, spans: ['0-1', '2-3', '4-5'] },
    { concept: 'X:4', count: 2, spans: ['0-1', '2-3'] },
    { concept: 'X:2', count: 1, spans: ['0-1'] },
    { concept: 'X:3', count: 2, spans: ['0-1', '2-3'] },
  ];
  assert.deepEqual(selectPairedConcepts(rows, 3), ['X:1', 'X:3', 'X:4']);
  assert.deepEqual(selectPairedConcepts(rows, 4), ['X:1', 'X:2', 'X:3', 'X:4']);
  assert.deepEqual(selectPairedConcepts(rows, 10), ['X:1', 'X:2', 'X:3', 'X:4', 'X:5']);
  assert.deepEqual(selectPairedConcepts(rows, 1), [], 'one concept forms no pair');
  assert.deepEqual(selectPairedConcepts(rows, 0), []);

  const mentions = rows.map((r, i) =>
    r.spans.map((_, j) => mention(100 * i + 10 * j, 100 * i + 10 * j + 5, [r.concept])),
  );
  const graph = buildArticleGraph(article('1004', mentions.flat()), lookup, 3);
  assert.deepEqual(graph.pairedConcepts, ['X:1', 'X:3', 'X:4']);
  assert.equal(graph.skippedPairs, 10 - 3);
});

test('input the graph cannot hold is rejected with SINK_REJECTED and the reason', () => {
  rejectedWith(() => buildArticleGraph(article('01', []), lookup), /positive decimal integer/);
  rejectedWith(() => buildArticleGraph(article('PMC1', []), lookup), /positive decimal integer/);
  rejectedWith(
    () => buildArticleGraph(article('5', [mention(0, 3, ['D003920'])]), lookup),
    /"D003920" is not a CURIE/,
  );
  rejectedWith(
    () => buildArticleGraph(article('5', [mention(4, 4, ['MESH:D1'])]), lookup),
    /offsets 4-4 are not a span/,
  );
  rejectedWith(
    () => buildArticleGraph(article('5', [mention(-1, 4, ['MESH:D1'])]), lookup),
    /not a span/,
  );
  const ok = article('77', []);
  rejectedWith(
    () => prepareRecord({ pmid: '78', article: ok, version: 1, origin: null }, lookup, 50),
    /PMID 78: the record's article has PMID 77/,
  );
  rejectedWith(
    () => prepareRecord({ pmid: '77', article: ok, version: 1.5, origin: null }, lookup, 50),
    /version 1.5 is not an integer/,
  );
  rejectedWith(
    () => prepareRecord({ pmid: 'x', article: null, version: 1, origin: null }, lookup, 50),
    /positive decimal integer/,
  );
  assert.equal(
    prepareRecord({ pmid: '77', article: null, version: 3, origin: null }, lookup, 50).graph,
    null,
  );
});

test('the dictionary lookup gives the preferred name and |-joined types, null when untyped', () => {
  const concepts: Record<string, { id: string; name: string; types: string[] }> = {
    'MESH:D003920': { id: 'MESH:D003920', name: 'Diabetes Mellitus', types: ['Disease'] },
    'MESH:D000001': { id: 'MESH:D000001', name: 'Calcimycin', types: ['Chemical', 'Disease'] },
    'MESH:D000002': { id: 'MESH:D000002', name: 'Temefos', types: [] },
  };
  const fromDictionary = conceptLookupFromDictionary({ concept: (id) => concepts[id] });
  assert.deepEqual(fromDictionary('MESH:D003920'), { name: 'Diabetes Mellitus', type: 'Disease' });
  assert.deepEqual(fromDictionary('MESH:D000001'), {
    name: 'Calcimycin',
    type: 'Chemical|Disease',
  });
  assert.deepEqual(fromDictionary('MESH:D000002'), { name: 'Temefos', type: null });
  assert.equal(fromDictionary('MESH:D999999'), undefined);
});
