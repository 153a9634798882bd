import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  conceptAccuracy,
  evaluateConcepts,
  evaluateMentions,
  mentionConceptIds,
} from '../../src/eval/corpus-metrics.js';
import type { EvalDocument } from '../../src/eval/corpus-metrics.js';
import { metricsMarkdown } from '../../src/eval/metrics-markdown.js';
import { prf } from '../../src/eval/prf.js';
import { parsePubTator } from '../../src/text/pubtator-reader.js';

const close = (actual: number, expected: number) =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} ≠ ${expected}`);

// Hand-made gold and predictions with known counts (worked out in the comments).
const GOLD: EvalDocument[] = [
  {
    pmid: '1',
    mentions: [
      { start: 0, end: 5, type: 'Disease', ids: ['MESH:D000001'] },
      // Composite: two IDs.
      { start: 10, end: 15, type: 'Disease', ids: ['MESH:D000002', 'MESH:D000003'] },
      { start: 20, end: 25, type: 'Chemical', ids: ['MESH:C000001'] },
      // NIL: a mention without ID counts for NER, never for NEN.
      { start: 30, end: 35, type: 'Disease', ids: [] },
    ],
  },
  // NCBI-style `+` composite with an OMIM part, as raw text.
  { pmid: '2', mentions: [{ start: 0, end: 4, type: 'Disease', ids: ['D000004+OMIM:123456'] }] },
];

const PRED: EvalDocument[] = [
  {
    pmid: '1',
    mentions: [
      { start: 0, end: 5, type: 'Disease', ids: ['D000001'] }, // bare ID: MESH: is added
      { start: 10, end: 15, type: 'Disease', ids: ['MESH:D000002'] }, // half the composite
      { start: 20, end: 26, type: 'Chemical', ids: ['MESH:C000001'] }, // wrong end, right ID
      { start: 40, end: 45, type: 'Disease', ids: ['MESH:D000009'] }, // spurious
    ],
  },
  { pmid: '2', mentions: [{ start: 0, end: 4, type: 'Disease', ids: [' MESH: D000004 '] }] },
  // Not a gold document: ignored, as the kit does.
  { pmid: '3', mentions: [{ start: 0, end: 4, type: 'Disease', ids: ['MESH:D000005'] }] },
];

describe('evaluateMentions (NER, strict)', () => {
  test('micro and per-type P/R/F1', () => {
    const { overall, byType } = evaluateMentions(GOLD, PRED);
    // gold 5 spans, pred 5 (doc 3 ignored); TP (0,5) (10,15) (2:0,4) = 3.
    assert.deepEqual([overall.tp, overall.fp, overall.fn], [3, 2, 2]);
    close(overall.f1, 0.6);
    assert.deepEqual([byType.Disease.tp, byType.Disease.fp, byType.Disease.fn], [3, 1, 1]);
    close(byType.Disease.precision, 0.75);
    assert.deepEqual([byType.Chemical.tp, byType.Chemical.fp, byType.Chemical.fn], [0, 1, 1]);
    assert.equal(byType.Chemical.f1, 0);
  });

  test('types are mapped with typeOf and filtered with types', () => {
    const gold: EvalDocument[] = [
      { pmid: '1', mentions: [{ start: 0, end: 3, type: 'SpecificDisease', ids: [] }] },
    ];
    const pred: EvalDocument[] = [
      { pmid: '1', mentions: [{ start: 0, end: 3, type: 'Disease', ids: [] }] },
    ];
    assert.equal(evaluateMentions(gold, pred).overall.tp, 0);
    const mapped = evaluateMentions(gold, pred, {
      typeOf: (t) => (t.endsWith('Disease') ? 'Disease' : t),
    });
    assert.equal(mapped.overall.f1, 1);
    assert.deepEqual(Object.keys(evaluateMentions(GOLD, PRED, { types: ['Chemical'] }).byType), [
      'Chemical',
    ]);
  });
});

describe('evaluateConcepts (NEN, document level, BC5CDR kit)', () => {
  test('micro and per-type P/R/F1 with composites, NIL and ID normalization', () => {
    const { overall, byType } = evaluateConcepts(GOLD, PRED);
    // gold: 1/D1 1/D2 1/D3 1/C1 2/D4 2/OMIM:123456 = 6; pred: 1/D1 1/D2 1/D9 1/C1 2/D4 = 5.
    assert.deepEqual([overall.tp, overall.fp, overall.fn], [4, 1, 2]);
    close(overall.precision, 0.8);
    close(overall.recall, 4 / 6);
    close(overall.f1, (2 * 0.8 * (4 / 6)) / (0.8 + 4 / 6));
    assert.deepEqual([byType.Disease.tp, byType.Disease.fp, byType.Disease.fn], [3, 1, 2]);
    assert.deepEqual([byType.Chemical.tp, byType.Chemical.fp, byType.Chemical.fn], [1, 0, 0]);
  });

  test('a concept counts once per document, whatever the number of mentions', () => {
    const gold: EvalDocument[] = [
      {
        pmid: '7',
        mentions: [
          { start: 0, end: 2, type: 'Disease', ids: ['MESH:D1'] },
          { start: 5, end: 7, type: 'Disease', ids: ['MESH:D1'] },
        ],
      },
    ];
    const pred: EvalDocument[] = [
      { pmid: '7', mentions: [{ start: 9, end: 11, type: 'Disease', ids: ['MESH:D1'] }] },
    ];
    assert.equal(evaluateConcepts(gold, pred).overall.f1, 1);
  });

  test('documents without a gold ID of the type are skipped, unless told otherwise', () => {
    const gold: EvalDocument[] = [
      { pmid: '1', mentions: [{ start: 0, end: 2, type: 'Disease', ids: ['MESH:D1'] }] },
      { pmid: '4', mentions: [{ start: 0, end: 3, type: 'Disease', ids: ['-1'] }] },
    ];
    const pred: EvalDocument[] = [
      { pmid: '1', mentions: [{ start: 0, end: 2, type: 'Disease', ids: ['MESH:D1'] }] },
      { pmid: '4', mentions: [{ start: 0, end: 3, type: 'Disease', ids: ['MESH:D5'] }] },
    ];
    assert.equal(evaluateConcepts(gold, pred).overall.fp, 0);
    assert.equal(evaluateConcepts(gold, pred, { restrictToGoldDocuments: false }).overall.fp, 1);
  });

  test('canonicalId maps IDs on both sides', () => {
    const gold: EvalDocument[] = [
      { pmid: '1', mentions: [{ start: 0, end: 2, type: 'Disease', ids: ['OMIM:125853'] }] },
    ];
    const pred: EvalDocument[] = [
      { pmid: '1', mentions: [{ start: 0, end: 2, type: 'Disease', ids: ['MESH:D003924'] }] },
    ];
    assert.equal(evaluateConcepts(gold, pred).overall.f1, 0);
    const canonicalId = (id: string) => (id === 'OMIM:125853' ? 'MESH:D003924' : id);
    assert.equal(evaluateConcepts(gold, pred, { canonicalId }).overall.f1, 1);
  });

  test('works on PubTator documents from the reader', () => {
    const text = [
      '11|t|Gold title',
      '11|a|Some aspirin induced asthma.',
      '11\t16\t23\taspirin\tChemical\tD001241',
      '11\t32\t38\tasthma\tDisease\tD001249|-1',
      '',
    ].join('\n');
    const gold = parsePubTator(text);
    assert.equal(evaluateConcepts(gold, gold).overall.f1, 1);
    assert.equal(evaluateConcepts(gold, gold).overall.tp, 2);
  });

  test('mentionConceptIds splits, prefixes, trims and drops NIL', () => {
    assert.deepEqual(mentionConceptIds(['D1|D2', ' MESH:D3 ', '-1', '', '123456']), [
      'MESH:D1',
      'MESH:D2',
      'MESH:D3',
      'OMIM:123456',
    ]);
  });
});

describe('conceptAccuracy (oracle spans)', () => {
  test('a mention is right only with exactly its ID set; NIL gold mentions are not scored', () => {
    const acc = conceptAccuracy(GOLD, PRED);
    // scored: 1/(0,5) ok, 1/(10,15) half composite = wrong, 1/(20,25) no pred there, 2/(0,4) wrong.
    assert.equal(acc.mentions, 4);
    assert.equal(acc.correct, 1);
    close(acc.accuracy, 0.25);
    assert.deepEqual(acc.byType.Chemical, { mentions: 1, correct: 0, accuracy: 0 });
  });
});

describe('prf and metricsMarkdown', () => {
  test('zero denominators give 0, not NaN', () => {
    assert.deepEqual(prf(0, 0, 0), { tp: 0, fp: 0, fn: 0, precision: 0, recall: 0, f1: 0 });
  });

  test('a table that names the metric next to every number', () => {
    const md = metricsMarkdown({
      title: 'Hand-made test set',
      ner: evaluateMentions(GOLD, PRED),
      nen: evaluateConcepts(GOLD, PRED),
      notes: ['oracle spans'],
    });
    const lines = md.trimEnd().split('\n');
    assert.equal(lines[0], '### Hand-made test set');
    assert.equal(lines[2], '| Metric | Type | P | R | F1 | TP | FP | FN |');
    assert.ok(
      lines.includes(
        '| NER mention-level strict micro | all (micro) | 0.6000 | 0.6000 | 0.6000 | 3 | 2 | 2 |',
      ),
    );
    assert.ok(
      lines.includes(
        '| NEN document-level concept (BC5CDR kit) | all (micro) | 0.8000 | 0.6667 | 0.7273 | 4 | 1 | 2 |',
      ),
    );
    assert.ok(
      lines.includes(
        '| NEN document-level concept (BC5CDR kit) | Chemical | 1.0000 | 1.0000 | 1.0000 | 1 | 0 | 0 |',
      ),
    );
    assert.equal(lines.at(-1), '- oracle spans');
  });
});
