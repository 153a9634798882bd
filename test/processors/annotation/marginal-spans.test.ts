import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  bioLabelIndices,
  marginalSpans,
  scoredSpans,
  spanScore,
} from '../../../src/processors/annotation/marginal-spans.js';

const LABELS = ['O', 'B-Chemical', 'I-Chemical', 'B-Disease', 'I-Disease'];

/** Row-major marginals from per-token {label: p} (the rest goes to O). */
function marginals(rows: readonly Record<string, number>[]): Float64Array {
  const out = new Float64Array(rows.length * LABELS.length);
  rows.forEach((row, t) => {
    let rest = 1;
    for (const [label, p] of Object.entries(row)) {
      out[t * LABELS.length + LABELS.indexOf(label)] = p;
      rest -= p;
    }
    out[t * LABELS.length] = rest;
  });
  return out;
}

describe('marginal spans', () => {
  test('label indices pair each B-X with its I-X', () => {
    assert.deepEqual(bioLabelIndices(LABELS), [
      { type: 'Chemical', begin: 1, inside: 2 },
      { type: 'Disease', begin: 3, inside: 4 },
    ]);
  });

  // "acute renal failure was seen": a Disease span of 3 tokens Viterbi may have dropped.
  const m = marginals([
    { 'B-Disease': 0.8 },
    { 'I-Disease': 0.7 },
    { 'I-Disease': 0.6 },
    { 'I-Disease': 0.05 },
    {},
  ]);
  const disease = { begin: 3, inside: 4 };

  test('a span is proposed with the minimum of the probabilities it needs', () => {
    const spans = marginalSpans(m, 5, LABELS, 0.5);
    assert.deepEqual(spans, [{ start: 0, end: 3, label: 'Disease', score: 0.6 }]);
    assert.equal(spanScore(m, 5, LABELS.length, disease, 0, 3), 0.6);
  });

  test('no span when one needed probability is below the threshold', () => {
    assert.deepEqual(marginalSpans(m, 5, LABELS, 0.61), []);
    // I-Disease at the next token makes stopping early unlikely: [0, 1) scores 1 − 0.7.
    assert.ok(Math.abs(spanScore(m, 5, LABELS.length, disease, 0, 1) - 0.3) < 1e-12);
  });

  test('the best end is kept when the span could stop at several tokens', () => {
    const two = marginals([{ 'B-Chemical': 0.9 }, { 'I-Chemical': 0.3 }, {}]);
    // Stopping after token 0: min(0.9, 1 − 0.3) = 0.7; going on: min(0.9, 0.3, 1) = 0.3.
    assert.deepEqual(marginalSpans(two, 3, LABELS, 0.2), [
      { start: 0, end: 1, label: 'Chemical', score: 0.7 },
    ]);
  });

  test('scoredSpans lists every end above the floor, limited in length', () => {
    const spans = scoredSpans(m, 5, LABELS, 0.3, 6);
    // [0,1): min(.8, 1−.7) = .3; [0,2): min(.8, .7, 1−.6) = .4; [0,3): .6; no B elsewhere.
    assert.deepEqual(
      spans.map((s) => [s.label, s.start, s.end, Number(s.score.toFixed(2))]),
      [
        ['Disease', 0, 1, 0.3],
        ['Disease', 0, 2, 0.4],
        ['Disease', 0, 3, 0.6],
      ],
    );
    assert.deepEqual(
      scoredSpans(m, 5, LABELS, 0.35, 2).map((s) => s.end),
      [2],
    );
  });

  test('the last token of a sentence may end a span (nothing follows it)', () => {
    const last = marginals([{}, { 'B-Chemical': 0.6 }]);
    assert.deepEqual(marginalSpans(last, 2, LABELS, 0.5), [
      { start: 1, end: 2, label: 'Chemical', score: 0.6 },
    ]);
  });
});
