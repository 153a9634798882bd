import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_THRESHOLDS,
  combineCandidates,
  modelCandidates,
  thresholdsFor,
  tuneThresholds,
} from '../../../src/processors/normalization/combine.js';
import type { TuningExample } from '../../../src/processors/normalization/combine.js';
import { ConceptDictionary } from '../../../src/processors/normalization/concept-dictionary.js';
import type { Candidate } from '../../../src/processors/normalization/normalizer.js';
import { DIABETES_CONCEPTS, smallDictionary } from './small-dictionary.js';

const model = (id: string, score: number): Candidate => ({
  ids: id === 'NIL' ? [] : [id],
  score,
  method: 'model',
});
const dict = (id: string, score: number, method: Candidate['method']): Candidate => ({
  ids: [id],
  score,
  method,
});
const T = { model: 0.5, tfidf: 0.8, fallback: 0.1 };

describe('combineCandidates: the documented rule', () => {
  test('1. a confident model wins', () => {
    const d = combineCandidates([model('MESH:A', 0.9)], [dict('MESH:B', 1, 'exact')], T);
    assert.deepEqual([d.ids, d.source, d.step], [['MESH:A'], 'model', 1]);
  });

  test('2. else an exact (or bag) dictionary match', () => {
    const d = combineCandidates([model('MESH:A', 0.3)], [dict('MESH:B', 0.9, 'bag')], T);
    assert.deepEqual([d.ids, d.source, d.step], [['MESH:B'], 'dictionary', 2]);
  });

  test('3. else TF-IDF top-1 above τ_tfidf', () => {
    const d = combineCandidates([model('MESH:A', 0.3)], [dict('MESH:B', 0.85, 'tfidf')], T);
    assert.deepEqual([d.ids, d.step], [['MESH:B'], 3]);
  });

  test('4. else a weak model guess above τ_fallback', () => {
    const d = combineCandidates([model('MESH:A', 0.3)], [dict('MESH:B', 0.5, 'tfidf')], T);
    assert.deepEqual([d.ids, d.source, d.step], [['MESH:A'], 'model', 4]);
  });

  test('5. else NIL; the model NIL label never wins by itself', () => {
    assert.deepEqual(combineCandidates([], [dict('MESH:B', 0.5, 'tfidf')], T).step, 5);
    const d = combineCandidates([model('NIL', 0.99)], [dict('MESH:B', 1, 'exact')], T);
    assert.deepEqual([d.ids, d.step], [['MESH:B'], 2]);
    assert.deepEqual(combineCandidates([model('NIL', 0.99)], [], T).ids, []);
  });

  test('thresholdsFor uses the dev-chosen τ_tfidf of the type', () => {
    assert.equal(thresholdsFor('Chemical').tfidf, 0.9);
    assert.equal(thresholdsFor('Gene').tfidf, DEFAULT_THRESHOLDS.tfidf);
  });
});

describe('modelCandidates', () => {
  test('parses MEN labels (composites, NIL), sorts, maps alternative IDs to primary', () => {
    const dictionary = new ConceptDictionary(smallDictionary(DIABETES_CONCEPTS));
    const candidates = modelCandidates(
      [
        { label: 'NIL', probability: 0.1 },
        { label: 'OMIM:125853', probability: 0.6 },
        { label: 'MESH:D001943|MESH:D010051', probability: 0.3 },
      ],
      dictionary,
    );
    assert.deepEqual(
      candidates.map((c) => [c.ids, c.score]),
      [
        [['MESH:D003924'], 0.6],
        [['MESH:D001943', 'MESH:D010051'], 0.3],
        [[], 0.1],
      ],
    );
  });
});

describe('tuneThresholds', () => {
  test('finds the τ_tfidf that keeps good retrievals and drops bad ones', () => {
    // Doc-level: good hits score ≥ 0.7, wrong ones ≤ 0.55.
    const examples: TuningExample[] = [
      ['1', 'MESH:A', 'MESH:A', 0.9],
      ['2', 'MESH:B', 'MESH:B', 0.7],
      ['3', 'MESH:C', 'MESH:X', 0.55],
      ['4', 'MESH:D', 'MESH:Y', 0.4],
    ].map(([pmid, gold, got, score]) => ({
      pmid: pmid as string,
      type: 'Disease',
      start: 0,
      end: 3,
      goldIds: [gold as string],
      model: [],
      dictionary: [dict(got as string, score as number, 'tfidf')],
    }));
    const { thresholds, f1 } = tuneThresholds(examples);
    assert.ok(thresholds.tfidf > 0.55 && thresholds.tfidf <= 0.7, String(thresholds.tfidf));
    assert.equal(thresholds.model, DEFAULT_THRESHOLDS.model);
    // P = 2/2, R = 2/4.
    assert.ok(Math.abs(f1 - 2 / 3) < 1e-9);
  });
});
