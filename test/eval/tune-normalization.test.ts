import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EvalDocument } from '../../src/eval/corpus-metrics.js';
import type { TuningDocument, TuningGrids } from '../../src/eval/tune-normalization.js';
import {
  keptLexiconEntries,
  selectRecognition,
  trainingIdForms,
  tuneNormalization,
} from '../../src/eval/tune-normalization.js';
import type { ArticleAnalysis, ProposedSpan } from '../../src/processors/annotation/recognition.js';
import { ConceptDictionary } from '../../src/processors/normalization/concept-dictionary.js';
import { DictionaryMentionResolver } from '../../src/processors/normalization/mention-resolver.js';
import { Normalizer } from '../../src/processors/normalization/normalizer.js';
import { smallDictionary } from '../processors/normalization/small-dictionary.js';

const TEXT = 'Aspirin caused gastritis and ulcer. Aspirin again, then aspirin.';

function span(needle: string, type: string, score = 0.9, nth = 0): ProposedSpan {
  let start = -1;
  for (let i = 0; i <= nth; i += 1) start = TEXT.indexOf(needle, start + 1);
  assert.ok(start >= 0, needle);
  return { start, end: start + needle.length, text: needle, type, score, candidates: [] };
}

const analysis: ArticleAnalysis = {
  text: TEXT,
  titleLength: 0,
  model: [span('Aspirin', 'Chemical'), span('gastritis', 'Disease')],
  // Only a wrong span: the marginal step must stay off.
  marginal: [span('caused', 'Disease', 0.6)],
  vocabulary: [],
  lexicon: [
    {
      ...span('ulcer', 'Disease'),
      entries: [{ key: 'ulcer', type: 'Disease', annotated: 8, occurrences: 10 }],
    },
  ],
};
const documents: TuningDocument[] = [{ pmid: '1', analysis }];
const gold: EvalDocument[] = [
  {
    pmid: '1',
    mentions: [
      { ...span('Aspirin', 'Chemical'), ids: ['MESH:D001241'] },
      { ...span('Aspirin', 'Chemical', 0.9, 1), ids: ['MESH:D001241'] },
      { ...span('aspirin', 'Chemical'), ids: ['MESH:D001241'] },
      { ...span('gastritis', 'Disease'), ids: ['MESH:D005756'] },
      { ...span('ulcer', 'Disease'), ids: ['MESH:D014456'] },
    ],
  },
];
const grids: TuningGrids = {
  lexiconRatios: [0.5, 0.9],
  lexiconCounts: [1, 9],
  vocabularyProbabilities: [0.1],
  marginalProbabilities: [0.5],
  thresholds: [0, 0.5, 1],
};

describe('selectRecognition: greedy forward selection on dev NER F1', () => {
  const lexicon = [
    { key: 'ulcer', type: 'Disease', annotated: 8, occurrences: 10 },
    { key: 'then', type: 'Disease', annotated: 1, occurrences: 50 },
  ];
  const { recognition, steps } = selectRecognition(documents, gold, {
    types: ['Chemical', 'Disease'],
    grids,
    lexicon,
    lexiconSource: 'toy train',
  });
  const step = (name: string) => steps.find((s) => s.step === name);

  test('a step is kept only when it raises F1, with its best value', () => {
    // Nothing to propagate through abbreviations: F1 unchanged, the step stays off.
    assert.equal(step('abbreviationPropagation')?.kept, false);
    assert.equal(recognition.abbreviationPropagation, false);
    // "aspirin" differs in case from the recognized "Aspirin": only ignore-case finds it.
    assert.equal(recognition.consistencyPropagation, 'ignore-case');
    assert.deepEqual(
      step('consistencyPropagation')?.trials.map((t) => [t.value, t.ner.tp]),
      [
        ['exact', 3],
        ['ignore-case', 4],
      ],
    );
    assert.equal(step('marginalSpans')?.kept, false);
    assert.equal(recognition.marginalSpans, null);
  });

  test('the lexicon keeps the first value that reaches the best F1, and only its entries', () => {
    assert.deepEqual(step('lexicon')?.chosen, {
      minRatio: 0.5,
      minAnnotated: 1,
      source: 'toy train',
    });
    assert.deepEqual(recognition.lexicon?.entries, [['ulcer', 'Disease', 8, 10]]);
    assert.equal(step('lexicon')?.after.f1, 1);
    assert.deepEqual(keptLexiconEntries(lexicon, 0.01, 1).length, 2);
  });

  test('the recorded scores chain: each step starts where the previous one ended', () => {
    for (let i = 1; i < steps.length; i += 1) assert.deepEqual(steps[i].before, steps[i - 1].after);
    assert.equal(steps[0].before.tp, 2);
  });
});

describe('ID forms', () => {
  const canonical = (id: string) => (id === 'OMIM:610102' ? 'MESH:C566443' : id);

  test('the most frequent written form of each concept; ties keep the primary ID', () => {
    const docs: EvalDocument[] = [
      {
        pmid: '1',
        mentions: [
          { start: 0, end: 1, type: 'Disease', ids: ['OMIM:610102'] },
          { start: 2, end: 3, type: 'Disease', ids: ['OMIM:610102|MESH:D000002'] },
          { start: 4, end: 5, type: 'Disease', ids: ['MESH:C566443'] },
          { start: 6, end: 7, type: 'Disease', ids: ['MESH:D000002'] },
        ],
      },
    ];
    assert.deepEqual(trainingIdForms(docs, canonical), { 'MESH:C566443': 'OMIM:610102' });
    const tied: EvalDocument[] = [
      {
        pmid: '1',
        mentions: [
          { start: 0, end: 1, type: 'Disease', ids: ['OMIM:610102'] },
          { start: 2, end: 3, type: 'Disease', ids: ['MESH:C566443'] },
        ],
      },
    ];
    assert.deepEqual(trainingIdForms(tied, canonical), {});
  });

  const text = 'C7 deficiency was found.';
  const resolver = new DictionaryMentionResolver(
    new Normalizer(
      new ConceptDictionary(
        smallDictionary([
          { id: 'MESH:C566443', name: 'C7 deficiency', type: 'Disease', alts: ['OMIM:610102'] },
        ]),
      ),
    ),
  );
  const docs: TuningDocument[] = [
    {
      pmid: '9',
      analysis: {
        text,
        titleLength: 0,
        model: [
          { start: 0, end: 13, text: 'C7 deficiency', type: 'Disease', score: 1, candidates: [] },
        ],
        marginal: [],
        vocabulary: [],
        lexicon: [],
      },
    },
  ];
  const goldWritten = (id: string): EvalDocument[] => [
    { pmid: '9', mentions: [{ start: 0, end: 13, type: 'Disease', ids: [id] }] },
  ];
  const forms = { 'MESH:C566443': 'OMIM:610102' };

  test('kept when the dev gold writes concepts that way', () => {
    const outcome = tuneNormalization(docs, goldWritten('OMIM:610102'), {
      types: ['Disease'],
      resolver,
      grids,
      idForms: forms,
    });
    assert.deepEqual(outcome.idForms, forms);
    assert.deepEqual(outcome.idFormsSelection, { primaryF1: 0, formsF1: 1 });
    assert.equal(outcome.nen?.overall.f1, 1);
  });

  test('left out when they do not help', () => {
    const outcome = tuneNormalization(docs, goldWritten('MESH:C566443'), {
      types: ['Disease'],
      resolver,
      grids,
      idForms: forms,
    });
    assert.equal(outcome.idForms, null);
    assert.equal(outcome.nen?.overall.f1, 1);
  });
});
