import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnnotatedArticle } from '../../../src/codec/records.js';
import { formatPubTator } from '../../../src/sinks/files/pubtator-format.js';
import { parsePubTator } from '../../../src/text/pubtator-reader.js';

const title = 'Lithium-induced polyuria in rats';
const abstract =
  'Chronic lithium carbonate caused nephrogenic diabetes insipidus (NDI) and weight loss.';
const text = `${title} ${abstract}`;
const span = (s: string, type: string, ids: string[]) => {
  const start = text.indexOf(s);
  return { start, end: start + s.length, text: s, type, ids, score: 0.9, source: 'model' as const };
};

const record: AnnotatedArticle = {
  pmid: '123',
  version: 1,
  title,
  abstract,
  journal: null,
  publicationDate: null,
  meshHeadings: [],
  textSha256: '',
  modelName: 'm',
  modelVersion: '1',
  vocabularyVersion: 'v',
  mentions: [
    span('Lithium', 'Chemical', ['MESH:D008094']),
    span('polyuria', 'Disease', ['MESH:D011141']),
    span('nephrogenic diabetes insipidus', 'Disease', ['MESH:D018500']),
    span('weight loss', 'Disease', []),
    span('lithium carbonate', 'Chemical', ['MESH:D016651', 'MESH:D008094']),
  ],
  processedAt: 0,
};

test('PubTator output round-trips through the project reader', () => {
  const [doc] = parsePubTator(formatPubTator(record));
  assert.ok(doc !== undefined);
  assert.equal(doc.pmid, '123');
  assert.equal(doc.text, text);
  assert.equal(doc.mentions.length, record.mentions.length);
  doc.mentions.forEach((m, i) => {
    const expected = record.mentions[i];
    assert.equal(m.textMatches, true);
    assert.deepEqual(
      [m.start, m.end, m.text, m.type],
      [expected.start, expected.end, expected.text, expected.type],
    );
    assert.deepEqual([...m.ids], expected.ids);
  });
});

test('tabs and newlines in the text become single spaces, keeping offsets', () => {
  const odd = { ...record, title: 'A\ttitle', mentions: [] };
  const out = formatPubTator(odd);
  assert.ok(out.startsWith('123|t|A title\n'));
  assert.equal(out.split('\n').length, 4);
});
