import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PropagatedMention } from '../../../src/processors/annotation/mention-propagation.js';
import {
  propagateAbbreviations,
  propagateConsistency,
  wholeWordOccurrences,
} from '../../../src/processors/annotation/mention-propagation.js';
import { findAbbreviations } from '../../../src/processors/normalization/abbreviations.js';

function mention(
  text: string,
  needle: string,
  fields: Partial<PropagatedMention> = {},
  nth = 0,
): PropagatedMention {
  let start = -1;
  for (let i = 0; i <= nth; i += 1) start = text.indexOf(needle, start + 1);
  assert.ok(start >= 0);
  return {
    start,
    end: start + needle.length,
    text: needle,
    type: 'Disease',
    ids: ['MESH:D000001'],
    score: 0.9,
    source: 'model',
    ...fields,
  };
}

const spans = (list: readonly PropagatedMention[]) => list.map((m) => [m.start, m.end, m.text]);

describe('wholeWordOccurrences', () => {
  test('never inside a longer word; a needle ending in a symbol needs no boundary there', () => {
    const text = 'DMD, DMDX, xDMD and DMD.';
    assert.deepEqual(wholeWordOccurrences(text, 'DMD'), [0, 20]);
    assert.deepEqual(wholeWordOccurrences('Ca(2+) and Ca(2+)x', 'Ca(2+)'), [0, 11]);
  });
});

describe('abbreviation propagation', () => {
  const text =
    'Neuroleptic malignant syndrome (NMS) is rare. NMS was fatal in one case; NMSX is not NMS.';
  const abbreviations = findAbbreviations(text);

  test('a recognized long form makes every whole-word short form a mention with its ids', () => {
    const long = mention(text, 'Neuroleptic malignant syndrome', { ids: ['MESH:D009459'] });
    const added = propagateAbbreviations(text, [long], abbreviations);
    assert.deepEqual(
      added.map((m) => m.start),
      [...text.matchAll(/\bNMS\b/g)].map((m) => m.index),
    );
    for (const m of added) {
      assert.deepEqual(
        [m.text, m.type, m.ids, m.source],
        ['NMS', 'Disease', ['MESH:D009459'], 'abbreviation'],
      );
    }
  });

  test('a recognized short form makes the unrecognized long form a mention (vice versa)', () => {
    const short = mention(text, 'NMS', { ids: ['MESH:D009459'], type: 'Disease' }, 1);
    const added = propagateAbbreviations(text, [short], abbreviations);
    assert.deepEqual(spans(added)[0], [0, 30, 'Neuroleptic malignant syndrome']);
    assert.equal(added[0].source, 'abbreviation');
    assert.deepEqual(added[0].ids, ['MESH:D009459']);
  });

  test('nothing fires without a recognized long or short form, or over existing mentions', () => {
    assert.deepEqual(propagateAbbreviations(text, [], abbreviations), []);
    const other = mention(text, 'rare', { type: 'Disease' });
    assert.deepEqual(propagateAbbreviations(text, [other], abbreviations), []);
    // The long form is partly covered ("malignant syndrome"): it is not replaced or added.
    const partial = mention(text, 'malignant syndrome');
    const inBrackets = mention(text, 'NMS');
    const added = propagateAbbreviations(text, [partial, inBrackets], abbreviations);
    assert.ok(added.every((m) => m.text === 'NMS'));
  });
});

describe('consistency propagation', () => {
  const text =
    'Amlodipine lowers pressure. We gave amlodipine; amlodipine-treated rats and amlodipines.';

  test('other same-case whole-word occurrences get the type, ids, score and source', () => {
    const first = mention(text, 'amlodipine', {
      type: 'Chemical',
      ids: ['MESH:D017311'],
      source: 'dictionary',
      score: 0.7,
    });
    const added = propagateConsistency(text, [first]);
    // "amlodipine-treated" counts (a hyphen ends the word); "amlodipines" and "Amlodipine" do not.
    assert.deepEqual(
      added.map((m) => m.start),
      [text.indexOf('amlodipine-')],
    );
    assert.deepEqual(
      [added[0].type, added[0].ids, added[0].source, added[0].score],
      ['Chemical', ['MESH:D017311'], 'dictionary', 0.7],
    );
  });

  test('ignoreCase also takes occurrences in another case and keeps their own text', () => {
    const first = mention(text, 'amlodipine', { type: 'Chemical' });
    const added = propagateConsistency(text, [first], { ignoreCase: true });
    assert.deepEqual(
      spans(added).map(([, , t]) => t),
      ['Amlodipine', 'amlodipine'],
    );
  });

  test('longer strings claim their occurrences first; existing mentions are never overlapped', () => {
    const t = 'renal failure and acute renal failure; acute renal failure again, renal failure.';
    const short = mention(t, 'renal failure');
    const long = mention(t, 'acute renal failure');
    const added = propagateConsistency(t, [short, long]);
    assert.deepEqual(spans(added), [
      [t.indexOf('acute renal failure again'), t.indexOf(' again'), 'acute renal failure'],
      [t.lastIndexOf('renal failure'), t.lastIndexOf('renal failure') + 13, 'renal failure'],
    ]);
  });

  test('no mentions, nothing added', () => {
    assert.deepEqual(propagateConsistency(text, []), []);
  });
});
