import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConceptDictionary } from '../../../src/processors/normalization/concept-dictionary.js';
import { bagKey, nameKey } from '../../../src/processors/normalization/name-keys.js';
import {
  Normalizer,
  expandAbbreviations,
} from '../../../src/processors/normalization/normalizer.js';
import { DIABETES_CONCEPTS, smallDictionary } from './small-dictionary.js';

const dictionary = new ConceptDictionary(
  smallDictionary(DIABETES_CONCEPTS, [
    // A training mention outranks a vocabulary synonym of another concept with the same key.
    { name: 'breast carcinoma', ids: ['MESH:D001943'], source: 'training', count: 3 },
    { name: 'breast carcinoma', ids: ['MESH:D000230'], source: 'medicSynonym' },
    { name: 'Li', ids: ['MESH:D008094'], source: 'training', count: 2 },
  ]),
);
const normalizer = new Normalizer(dictionary);
const exactOnly = new Normalizer(dictionary, { tfidf: false });
const top = (mention: string, type = 'Disease') => normalizer.normalize(mention, type)[0];

describe('name keys', () => {
  test('case, punctuation, hyphens, plurals, possessives and British spelling are folded', () => {
    assert.equal(nameKey('Diabetes-Mellitus, Type 2'), nameKey('diabetes mellitus type 2'));
    assert.equal(nameKey("Alzheimer's disease"), 'alzheimer disease');
    assert.equal(nameKey('Breast Cancers'), nameKey('breast cancer'));
    assert.equal(nameKey('hypokalaemia'), nameKey('Hypokalemia'));
    assert.equal(nameKey('renal tumours'), nameKey('renal tumor'));
    assert.equal(nameKey('TNF-α'), 'tnf alpha');
    assert.equal(nameKey('ＡＢＣ'), 'abc'); // NFKC full-width
    assert.equal(nameKey(' (--) '), '');
  });

  test('the bag key ignores word order and function words', () => {
    assert.equal(bagKey('cancer of the breast'), bagKey('Breast cancer'));
    assert.equal(bagKey('diabetes mellitus, type 2'), bagKey('type 2 diabetes mellitus'));
    assert.notEqual(bagKey('breast and ovarian cancer'), bagKey('breast ovarian cancer'));
  });
});

describe('Normalizer', () => {
  test('"Type 2 diabetes" and "diabetes mellitus, type 2" normalize to the same concept', () => {
    const variants = [
      'diabetes mellitus, type 2',
      'Diabetes Mellitus Type 2',
      'type 2 diabetes mellitus',
      'Type 2 diabetes',
      'type-2 diabetes',
    ];
    for (const mention of variants) {
      assert.deepEqual(top(mention)?.ids, ['MESH:D003924'], mention);
    }
    assert.equal(top('diabetes mellitus, type 2')?.method, 'exact');
    assert.equal(top('type 2 diabetes mellitus')?.method, 'bag');
    assert.equal(top('Type 2 diabetes')?.method, 'tfidf');
    // ... and type 1 stays type 1.
    assert.deepEqual(top('Type 1 diabetes')?.ids, ['MESH:D003922']);
  });

  test('exact matches score 1 and rank by source and training counts', () => {
    const candidates = normalizer.normalize('breast carcinomas', 'Disease');
    assert.deepEqual(
      candidates.map((c) => c.ids[0]),
      ['MESH:D001943', 'MESH:D000230'],
    );
    assert.equal(candidates[0].score, 1);
    assert.ok(candidates[1].score < 1);
    assert.deepEqual(top('hypokalaemia')?.ids, ['MESH:D007008']);
  });

  test('candidates are restricted to the entity type; chemicals may be untyped MeSH', () => {
    assert.deepEqual(top('lithium', 'Chemical')?.ids, ['MESH:D008094']);
    assert.deepEqual(top('Li', 'Chemical')?.ids, ['MESH:D008094']);
    assert.equal(exactOnly.normalize('lithium', 'Disease').length, 0);
    // An untyped descriptor (anatomy) is not a disease.
    assert.notDeepEqual(top('liver', 'Disease')?.ids, ['MESH:D008099']);
    // Unknown types see everything.
    assert.deepEqual(normalizer.normalize('liver', 'Anatomy')[0]?.ids, ['MESH:D008099']);
  });

  test('exact-only mode never retrieves by n-grams', () => {
    assert.deepEqual(exactOnly.normalize('Type 2 diabetes', 'Disease'), []);
    assert.equal(exactOnly.normalize('Diabetes Mellitus, Type 2', 'Disease').length, 1);
  });

  test('a coordinated mention becomes one composite candidate', () => {
    const [c] = normalizer.normalize('breast and ovarian cancers', 'Disease');
    assert.deepEqual(c?.ids, ['MESH:D001943', 'MESH:D010051']);
    assert.equal(c?.method, 'exact');
  });

  test('a defined short form is normalized through its long form', () => {
    const abbreviations = new Map([['DMD', 'Duchenne muscular dystrophy']]);
    assert.deepEqual(normalizer.normalize('DMD', 'Disease'), []);
    const [c] = normalizer.normalize('DMD', 'Disease', { abbreviations });
    assert.deepEqual(c?.ids, ['MESH:D020388']);
    assert.equal(c?.viaAbbreviation, true);
  });

  test('short forms are substituted as whole words only, in one pass', () => {
    const abbreviations = new Map([
      ['DM', 'diabetes mellitus'],
      ['T2DM', 'type 2 diabetes mellitus'],
    ]);
    assert.equal(expandAbbreviations('T2DM', abbreviations), 'type 2 diabetes mellitus');
    assert.equal(expandAbbreviations('DM patients', abbreviations), 'diabetes mellitus patients');
    assert.equal(expandAbbreviations('ADM', abbreviations), undefined);
    assert.equal(
      expandAbbreviations('T2DM and DM', abbreviations),
      'type 2 diabetes mellitus and diabetes mellitus',
    );
  });

  test('concept lookups: preferred name, types, alternative IDs', () => {
    assert.equal(dictionary.conceptName('MESH:D003924'), 'Diabetes Mellitus, Type 2');
    assert.equal(dictionary.canonicalId('OMIM:125853'), 'MESH:D003924');
    assert.equal(dictionary.canonicalId('MESH:D999999'), 'MESH:D999999');
    assert.deepEqual(dictionary.concept('OMIM:125853'), {
      id: 'MESH:D003924',
      name: 'Diabetes Mellitus, Type 2',
      types: ['Disease'],
    });
    assert.deepEqual(dictionary.concept('MESH:D008094')?.types, []);
    assert.equal(dictionary.conceptName('MESH:D999999'), undefined);
  });

  test('an empty or punctuation-only mention has no candidates', () => {
    assert.deepEqual(normalizer.normalize('', 'Disease'), []);
    assert.deepEqual(normalizer.normalize(' - ', 'Disease'), []);
  });
});
