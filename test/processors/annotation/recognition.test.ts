import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MentionSource } from '../../../src/codec/records.js';
import type { LexiconEntry } from '../../../src/processors/annotation/mention-lexicon.js';
import type {
  ConceptCandidate,
  MentionResolver,
  MentionToResolve,
} from '../../../src/processors/annotation/onnx-annotator.js';
import type {
  ArticleAnalysis,
  ProposedSpan,
} from '../../../src/processors/annotation/recognition.js';
import {
  applyIdForms,
  decideMentions,
  recognizeSpans,
} from '../../../src/processors/annotation/recognition.js';
import type { RecognitionConfig } from '../../../src/processors/normalization/normalization-config.js';
import { VITERBI_ONLY } from '../../../src/processors/normalization/normalization-config.js';
import type { ThresholdsByType } from '../../../src/processors/normalization/normalization-config.js';

const TEXT =
  'Lithium toxicity and hypokalemia in rats. Lithium and digoxin were given; hypokalemia recurred.';

function span(needle: string, type: string, score: number, nth = 0, label = 'NIL'): ProposedSpan {
  let start = -1;
  for (let i = 0; i <= nth; i += 1) start = TEXT.indexOf(needle, start + 1);
  assert.ok(start >= 0, needle);
  return {
    start,
    end: start + needle.length,
    text: needle,
    type,
    score,
    candidates: [{ label, score: 0.9 }],
  };
}

const entry = (
  key: string,
  type: string,
  annotated: number,
  occurrences: number,
): LexiconEntry => ({
  key,
  type,
  annotated,
  occurrences,
});

const analysis: ArticleAnalysis = {
  text: TEXT,
  titleLength: 0,
  model: [span('Lithium toxicity', 'Disease', 0.95, 0, 'MESH:D000001')],
  marginal: [span('rats', 'Disease', 0.35)],
  vocabulary: [span('hypokalemia', 'Disease', 0.05), span('digoxin', 'Chemical', 0.3)],
  lexicon: [
    // Overlaps the model's mention: never added.
    { ...span('Lithium', 'Chemical', 0), entries: [entry('lithium', 'Chemical', 9, 10)] },
    { ...span('Lithium', 'Chemical', 0, 1), entries: [entry('lithium', 'Chemical', 9, 10)] },
    { ...span('digoxin', 'Chemical', 0), entries: [entry('digoxin', 'Chemical', 1, 4)] },
  ],
};

const texts = (config: RecognitionConfig) =>
  recognizeSpans(analysis, config).map((s) => `${s.text}/${s.origin}`);

describe('recognizeSpans: each step adds non-overlapping spans, in serving order', () => {
  test('Viterbi only: the model mentions', () => {
    assert.deepEqual(texts(VITERBI_ONLY), ['Lithium toxicity/model']);
  });

  test('lexicon: names at or above the ratio and count, nowhere the model already is', () => {
    const lexicon = { minRatio: 0.5, minAnnotated: 2, source: 'test', entries: [] };
    assert.deepEqual(texts({ ...VITERBI_ONLY, lexicon }), [
      'Lithium toxicity/model',
      'Lithium/lexicon',
    ]);
    // digoxin (1 of 4 annotated) passes a ratio of 0.25 with one annotation.
    const loose = { ...lexicon, minRatio: 0.25, minAnnotated: 1 };
    assert.deepEqual(texts({ ...VITERBI_ONLY, lexicon: loose }), [
      'Lithium toxicity/model',
      'Lithium/lexicon',
      'digoxin/lexicon',
    ]);
  });

  test('vocabulary spans need the CRF span score; an earlier step keeps its span', () => {
    const vocabularySpans = { minProbability: 0.1, maxTokens: 6 };
    assert.deepEqual(texts({ ...VITERBI_ONLY, vocabularySpans }), [
      'Lithium toxicity/model',
      'digoxin/vocabulary',
    ]);
    assert.deepEqual(
      texts({ ...VITERBI_ONLY, vocabularySpans: { minProbability: 0.01, maxTokens: 6 } }),
      ['Lithium toxicity/model', 'hypokalemia/vocabulary', 'digoxin/vocabulary'],
    );
    const lexicon = { minRatio: 0.25, minAnnotated: 1, source: 'test', entries: [] };
    const both = recognizeSpans(analysis, { ...VITERBI_ONLY, lexicon, vocabularySpans });
    assert.equal(both.find((s) => s.text === 'digoxin')?.origin, 'lexicon');
  });

  test('marginal spans only at or above their threshold', () => {
    assert.deepEqual(texts({ ...VITERBI_ONLY, marginalSpans: { minProbability: 0.4 } }), [
      'Lithium toxicity/model',
    ]);
    assert.deepEqual(texts({ ...VITERBI_ONLY, marginalSpans: { minProbability: 0.3 } }), [
      'Lithium toxicity/model',
      'rats/marginal',
    ]);
  });
});

/** Looks ids up by mention text and records the thresholds it was given. */
class TableResolver implements MentionResolver {
  readonly vocabularyVersion = 'table';
  readonly calls: { mentions: string[]; thresholds: ThresholdsByType | undefined }[] = [];
  constructor(private readonly table: Readonly<Record<string, string[]>>) {}
  resolve(
    _text: string,
    mentions: readonly { mention: MentionToResolve; candidates: readonly ConceptCandidate[] }[],
    thresholds?: ThresholdsByType,
  ): { ids: string[]; source: MentionSource }[] {
    this.calls.push({ mentions: mentions.map((m) => m.mention.text), thresholds });
    return mentions.map((m) => ({
      ids: this.table[m.mention.text] ?? [],
      source: 'dictionary' as const,
    }));
  }
}

describe('decideMentions', () => {
  const thresholds = { Disease: { model: 0.6, tfidf: 0.9, fallback: 0.2 } };
  const hypo = { ...span('hypokalemia', 'Disease', 0.9), candidates: [] };
  const withHypo: ArticleAnalysis = { ...analysis, model: [...analysis.model, hypo] };

  test('resolved ids in the configured forms; propagated copies carry them', () => {
    const resolver = new TableResolver({
      'Lithium toxicity': ['MESH:D000001'],
      hypokalemia: ['MESH:C000002'],
    });
    const mentions = decideMentions(
      withHypo,
      {
        recognition: { ...VITERBI_ONLY, consistencyPropagation: 'exact' },
        thresholds,
        idForms: { 'MESH:C000002': 'OMIM:123456' },
      },
      resolver,
    );
    assert.deepEqual(resolver.calls, [
      { mentions: ['Lithium toxicity', 'hypokalemia'], thresholds },
    ]);
    assert.deepEqual(
      mentions.map((m) => [m.text, m.start, m.ids, m.source]),
      [
        ['Lithium toxicity', 0, ['MESH:D000001'], 'dictionary'],
        ['hypokalemia', TEXT.indexOf('hypokalemia'), ['OMIM:123456'], 'dictionary'],
        ['hypokalemia', TEXT.lastIndexOf('hypokalemia'), ['OMIM:123456'], 'dictionary'],
      ],
    );
  });

  test("without a resolver: the model's best label, as written, and no ID forms", () => {
    const mentions = decideMentions(analysis, {
      recognition: VITERBI_ONLY,
      thresholds: {},
      idForms: { 'MESH:D000001': 'OMIM:1' },
    });
    assert.deepEqual(
      mentions.map((m) => [m.text, m.ids, m.source, m.score]),
      [['Lithium toxicity', ['MESH:D000001'], 'model', 0.95]],
    );
  });

  test('applyIdForms maps and deduplicates, and is the identity without forms', () => {
    assert.deepEqual(applyIdForms(['A', 'B', 'C'], { A: 'X', B: 'X' }), ['X', 'C']);
    assert.deepEqual(applyIdForms(['A'], null), ['A']);
  });
});
