import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_THRESHOLDS,
  combineCandidates,
  modelCandidates,
  scoreThresholds,
  thresholdScorer,
  thresholdsFor,
  tuneThresholds,
} from '../../../src/processors/normalization/combine.js';
import type { EvalDocument, EvalMention } from '../../../src/eval/corpus-metrics.js';
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

describe('threshold scoring against gold documents (predicted spans)', () => {
  // A deterministic pseudo-random set: several documents and types, composite and alternative
  // IDs, NIL model labels, documents without gold of a type.
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const ids = ['MESH:A', 'MESH:B', 'MESH:C', 'OMIM:1', 'MESH:A|MESH:B', 'MESH:C+OMIM:1'];
  const pick = () => ids[Math.floor(random() * ids.length)];
  const examples: TuningExample[] = [];
  const gold: EvalDocument[] = [];
  for (let d = 0; d < 12; d += 1) {
    const pmid = String(100 + d);
    const goldMentions: EvalMention[] = [];
    for (let k = 0; k < 4; k += 1) {
      const type = random() < 0.5 ? 'Disease' : 'Chemical';
      if (d % 5 !== 0) goldMentions.push({ start: k * 10, end: k * 10 + 5, type, ids: [pick()] });
      const methods = ['exact', 'bag', 'tfidf', 'tfidf'] as const;
      examples.push({
        pmid,
        type,
        start: k * 10,
        end: k * 10 + 5,
        model: random() < 0.8 ? [model(random() < 0.1 ? 'NIL' : pick(), random())] : [],
        dictionary:
          random() < 0.7
            ? [dict(pick(), random(), methods[Math.floor(random() * methods.length)])]
            : [],
      });
    }
    gold.push({ pmid, mentions: goldMentions });
  }

  test('the compiled scorer gives exactly evaluateConcepts’ F1 for every threshold', () => {
    const canonicalId = (id: string) => (id === 'OMIM:1' ? 'MESH:C' : id);
    const seen = new Set<number>();
    for (const options of [
      { gold },
      { gold, types: ['Disease'] },
      { gold, types: ['Chemical'], canonicalId },
      {},
    ]) {
      const fast = thresholdScorer(examples, options);
      for (const model of [0, 0.3, 0.7, 1]) {
        for (const fallback of [0, 0.2, 0.6]) {
          for (const tfidf of [0, 0.5, 0.95]) {
            const t = { model, tfidf, fallback };
            const f1 = fast(t);
            assert.equal(f1, scoreThresholds(examples, t, options), JSON.stringify(t));
            seen.add(f1);
          }
        }
      }
    }
    // The thresholds matter on this data: the comparison is not between constants.
    assert.ok(seen.size >= 10, `only ${seen.size} distinct scores`);
  });

  test('gold concepts of mentions the recognizer missed stay false negatives', () => {
    const one: TuningExample[] = [
      {
        pmid: '1',
        type: 'Disease',
        start: 0,
        end: 3,
        model: [],
        dictionary: [dict('MESH:A', 1, 'exact')],
      },
    ];
    const goldDocs = [
      {
        pmid: '1',
        mentions: [
          { start: 0, end: 3, type: 'Disease', ids: ['MESH:A'] },
          { start: 9, end: 12, type: 'Disease', ids: ['MESH:B'] },
        ],
      },
    ];
    // P = 1, R = 1/2 with the gold documents; the examples alone have no gold IDs at all.
    assert.ok(Math.abs(tuneThresholds(one, { gold: goldDocs }).f1 - 2 / 3) < 1e-12);
    assert.equal(scoreThresholds(one, T), 0);
  });
});
