import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MentionLexicon,
  annotationRatio,
  buildLexicon,
  lexiconKey,
  selectLeftmostLongest,
} from '../../../src/processors/annotation/mention-lexicon.js';
import type { LexiconEntry } from '../../../src/processors/annotation/mention-lexicon.js';
import { tokenize } from '../../../src/text/tokenizer.js';

/** A mention of `text` at its `nth` occurrence (0-based) in `doc`. */
function at(doc: string, text: string, type: string, nth = 0) {
  let start = -1;
  for (let i = 0; i <= nth; i += 1) start = doc.indexOf(text, start + 1);
  assert.ok(start >= 0, `${text} #${nth} not in the document`);
  return { start, end: start + text.length, type };
}

describe('buildLexicon: annotation ratios from training text', () => {
  const doc1 = 'Cocaine caused seizures. The cocaine users had no seizures before cocaine.';
  const doc2 = "Lead poisoning follows lead exposure; we lead the study. Parkinson's disease too.";
  const entries = buildLexicon([
    {
      text: doc1,
      mentions: [
        at(doc1, 'Cocaine', 'Chemical'),
        at(doc1, 'seizures', 'Disease'),
        at(doc1, 'cocaine', 'Chemical', 0),
        at(doc1, 'seizures', 'Disease', 1),
        at(doc1, 'cocaine', 'Chemical', 1),
      ],
    },
    {
      text: doc2,
      mentions: [
        at(doc2, 'Lead poisoning', 'Disease'),
        at(doc2, 'lead', 'Chemical', 0),
        at(doc2, "Parkinson's disease", 'Disease'),
        // Not aligned to tokens ("ead"): skipped.
        { start: doc2.indexOf('ead'), end: doc2.indexOf('ead') + 3, type: 'Chemical' },
      ],
    },
  ]);
  const find = (key: string, type: string) => entries.find((e) => e.key === key && e.type === type);

  test('every occurrence counts, annotated or not, case-insensitively', () => {
    assert.deepEqual(find('cocaine', 'Chemical'), {
      key: 'cocaine',
      type: 'Chemical',
      annotated: 3,
      occurrences: 3,
    });
    // "lead" occurs 3 times (poisoning, exposure, the verb), annotated once as Chemical.
    const lead = find('lead', 'Chemical');
    assert.ok(lead !== undefined);
    assert.equal(lead.annotated, 1);
    assert.equal(lead.occurrences, 3);
    assert.equal(annotationRatio(lead), 1 / 3);
  });

  test('multi-token keys join token texts, so spacing around punctuation does not matter', () => {
    assert.equal(lexiconKey(tokenize("Parkinson's  disease")), "parkinson ' s disease");
    assert.equal(find("parkinson ' s disease", 'Disease')?.annotated, 1);
    assert.equal(find('lead poisoning', 'Disease')?.occurrences, 1);
  });

  test('mentions not aligned to token boundaries are left out', () => {
    assert.equal(
      entries.some((e) => e.key === 'ead'),
      false,
    );
  });
});

describe('MentionLexicon matching', () => {
  const entry = (key: string, annotated: number, occurrences: number, type = 'Chemical') => ({
    key,
    type,
    annotated,
    occurrences,
  });
  const lexicon = new MentionLexicon([
    entry('sodium', 9, 10),
    entry('sodium nitroprusside', 2, 2),
    entry('nitroprusside', 5, 5),
    entry('ht', 1, 10, 'Disease'),
    entry('ht', 6, 10, 'Chemical'),
  ]);
  const tokens = tokenize('Sodium nitroprusside and sodium; 5-HT and HT.');

  test('leftmost-longest, non-overlapping', () => {
    const matches = lexicon.match(tokens).map((m) => [m.entry.key, m.start, m.end]);
    assert.deepEqual(matches, [
      ['sodium nitroprusside', 0, 2],
      ['sodium', 3, 4],
      ['ht', 7, 8],
      ['ht', 9, 10],
    ]);
  });

  test('a rejected longer name lets an accepted shorter one inside it match', () => {
    const accept = (e: LexiconEntry) => e.annotated >= 5;
    assert.deepEqual(
      lexicon.match(tokens, accept).map((m) => m.entry.key),
      ['sodium', 'nitroprusside', 'sodium', 'ht', 'ht'],
    );
  });

  test('of several types of one key, the best ratio that is accepted', () => {
    const [first] = lexicon.match(tokenize('HT'));
    assert.equal(first.entry.type, 'Chemical');
    const diseaseOnly = lexicon.match(tokenize('HT'), (e) => e.type === 'Disease');
    assert.equal(diseaseOnly[0].entry.type, 'Disease');
    assert.deepEqual(
      lexicon.match(tokenize('HT'), () => false),
      [],
    );
  });

  test('selectLeftmostLongest works on any coordinates (character offsets here)', () => {
    const e = entry('x', 1, 1);
    const hits = [
      { start: 10, end: 14, entries: [e] },
      { start: 0, end: 12, entries: [e] },
      { start: 0, end: 5, entries: [e] },
      { start: 12, end: 20, entries: [e] },
    ];
    assert.deepEqual(
      selectLeftmostLongest(hits, () => true).map(({ hit }) => [hit.start, hit.end]),
      [
        [0, 12],
        [12, 20],
      ],
    );
  });
});
