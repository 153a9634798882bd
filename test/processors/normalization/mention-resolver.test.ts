import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { thresholdsFor } from '../../../src/processors/normalization/combine.js';
import { ConceptDictionary } from '../../../src/processors/normalization/concept-dictionary.js';
import { DictionaryMentionResolver } from '../../../src/processors/normalization/mention-resolver.js';
import { Normalizer } from '../../../src/processors/normalization/normalizer.js';
import { DIABETES_CONCEPTS, smallDictionary } from './small-dictionary.js';

const normalizer = new Normalizer(new ConceptDictionary(smallDictionary(DIABETES_CONCEPTS)));
const TEXT = 'Hypokalemia and lithium. Duchenne muscular dystrophy (DMD) patients; DMD.';
const at = (needle: string, type: string, nth = 0) => {
  let start = -1;
  for (let i = 0; i <= nth; i += 1) start = TEXT.indexOf(needle, start + 1);
  return { start, end: start + needle.length, text: needle, type };
};

describe('DictionaryMentionResolver', () => {
  test('isTypedName: exact names of concepts of that type only', () => {
    const resolver = new DictionaryMentionResolver(normalizer);
    assert.equal(resolver.isTypedName('hypokalaemia', 'Disease'), true);
    assert.equal(resolver.isTypedName('Hypokalemia', 'Chemical'), false);
    // An untyped MeSH descriptor is a chemical candidate for normalization, not a typed name.
    assert.equal(resolver.isTypedName('lithium', 'Chemical'), false);
    assert.equal(resolver.isTypedName('hypokalemia', 'Gene'), false);
    assert.equal(resolver.isTypedName('hypokalemias and more', 'Disease'), false);
  });

  test('per-call thresholds of the type win over the constructor’s, which win over defaults', () => {
    const plain = new DictionaryMentionResolver(normalizer);
    const strict = new DictionaryMentionResolver(normalizer, { model: 0.95 });
    const served = { Disease: { model: 0.3, tfidf: 0.6, fallback: 0.2 } };
    assert.deepEqual(plain.thresholdsOf('Disease'), thresholdsFor('Disease'));
    assert.equal(strict.thresholdsOf('Disease').model, 0.95);
    assert.deepEqual(strict.thresholdsOf('Disease', served), served.Disease);
    assert.equal(strict.thresholdsOf('Chemical', served).model, 0.95);
  });

  test('resolve applies the per-call thresholds: a model concept wins only above τ_model', () => {
    const resolver = new DictionaryMentionResolver(normalizer);
    const mention = {
      mention: at('Hypokalemia', 'Disease'),
      candidates: [{ label: 'MESH:D003920', score: 0.6 }],
    };
    const loose = { Disease: { model: 0.5, tfidf: 0.8, fallback: 0.1 } };
    const tight = { Disease: { model: 0.7, tfidf: 0.8, fallback: 0.1 } };
    assert.deepEqual(resolver.resolve(TEXT, [mention], loose), [
      { ids: ['MESH:D003920'], source: 'model' },
    ]);
    assert.deepEqual(resolver.resolve(TEXT, [mention], tight), [
      { ids: ['MESH:D007008'], source: 'dictionary' },
    ]);
  });

  test('candidates + decide is resolve; a short form resolved through its long form', () => {
    const resolver = new DictionaryMentionResolver(normalizer);
    const mentions = [{ mention: at('DMD', 'Disease', 1), candidates: [] }];
    const [c] = resolver.candidates(TEXT, mentions);
    const decided = resolver.decide(c, resolver.thresholdsOf('Disease'));
    assert.deepEqual(decided, { ids: ['MESH:D020388'], source: 'abbreviation' });
    assert.deepEqual(resolver.resolve(TEXT, mentions), [decided]);
  });
});
