import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeTags, encodeSpans } from '../../src/text/tag-scheme.js';

const spans = [
  { start: 0, end: 1, label: 'Chemical' },
  { start: 2, end: 5, label: 'MESH:D058186|MESH:D017093' },
];

test('BIO encoding', () => {
  assert.deepEqual(encodeSpans(6, spans, 'bio'), [
    'B-Chemical',
    'O',
    'B-MESH:D058186|MESH:D017093',
    'I-MESH:D058186|MESH:D017093',
    'I-MESH:D058186|MESH:D017093',
    'O',
  ]);
});

test('BIOES encoding', () => {
  assert.deepEqual(encodeSpans(6, spans, 'bioes'), [
    'S-Chemical',
    'O',
    'B-MESH:D058186|MESH:D017093',
    'I-MESH:D058186|MESH:D017093',
    'E-MESH:D058186|MESH:D017093',
    'O',
  ]);
});

test('decode inverts encode for both schemes; adjacent same-label spans stay apart', () => {
  const adjacent = [
    { start: 0, end: 2, label: 'Disease' },
    { start: 2, end: 3, label: 'Disease' },
    { start: 4, end: 6, label: 'Chemical' },
  ];
  for (const scheme of ['bio', 'bioes'] as const) {
    assert.deepEqual(decodeTags(encodeSpans(6, adjacent, scheme)), adjacent);
  }
});

test('decode is lenient with ill-formed model output', () => {
  assert.deepEqual(decodeTags(['I-Disease', 'I-Disease', 'O', 'E-Chemical', 'I-Disease', 'junk']), [
    { start: 0, end: 2, label: 'Disease' },
    { start: 3, end: 4, label: 'Chemical' },
    { start: 4, end: 5, label: 'Disease' },
  ]);
});

test('overlapping or out-of-range spans are programmer errors', () => {
  assert.throws(() => encodeSpans(3, [{ start: 1, end: 4, label: 'X' }], 'bio'), RangeError);
  assert.throws(
    () =>
      encodeSpans(
        3,
        [
          { start: 0, end: 2, label: 'X' },
          { start: 1, end: 3, label: 'Y' },
        ],
        'bio',
      ),
    RangeError,
  );
});
