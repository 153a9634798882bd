import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  abbreviationMap,
  abbreviationMentions,
  bestLongFormStart,
  findAbbreviations,
} from '../../../src/processors/normalization/abbreviations.js';

const pairs = (text: string) => findAbbreviations(text).map((a) => [a.short, a.long]);

describe('findAbbreviations (Schwartz–Hearst)', () => {
  test('long form (short form), with exact offsets', () => {
    const text = 'Boys with Duchenne muscular dystrophy (DMD) lose ambulation. DMD is X-linked.';
    const [a] = findAbbreviations(text);
    assert.ok(a);
    assert.equal(a.short, 'DMD');
    assert.equal(a.long, 'Duchenne muscular dystrophy');
    assert.equal(text.slice(a.shortStart, a.shortEnd), 'DMD');
    assert.equal(text.slice(a.longStart, a.longEnd), 'Duchenne muscular dystrophy');
    assert.equal(a.shortStart, text.indexOf('(DMD)') + 1);
  });

  test('the shortest long form whose first letter starts a word', () => {
    assert.deepEqual(pairs('Rats with streptozotocin-induced acute kidney injury (AKI) died.'), [
      ['AKI', 'acute kidney injury'],
    ]);
    // `c` of CM must start a word, `m` may sit inside one.
    assert.deepEqual(pairs('All had a dilated cardiomyopathy (CM) at entry.'), [
      ['CM', 'cardiomyopathy'],
    ]);
    assert.deepEqual(pairs('We measured 5-fluorouracil (5-FU) levels.'), [
      ['5-FU', '5-fluorouracil'],
    ]);
    assert.deepEqual(pairs('Levels of Wiskott-Aldrich syndrome protein (WASP) fell.'), [
      ['WASP', 'Wiskott-Aldrich syndrome protein'],
    ]);
  });

  test('short form (long form) when the bracket holds more than two words', () => {
    const text = 'Serum TNF (tumour necrosis factor) rose.';
    const [a] = findAbbreviations(text);
    assert.deepEqual([a?.short, a?.long], ['TNF', 'tumour necrosis factor']);
    assert.equal(text.slice(a?.longStart, a?.longEnd), 'tumour necrosis factor');
    assert.equal(text.slice(a?.shortStart, a?.shortEnd), 'TNF');
  });

  test('the bracket is cut at "; " and ", "; several definitions per sentence', () => {
    assert.deepEqual(
      pairs('In type 2 diabetes mellitus (T2DM; n = 40) and heart failure (HF, 12 cases) alike.'),
      [
        ['T2DM', 'type 2 diabetes mellitus'],
        ['HF', 'heart failure'],
      ],
    );
  });

  test('no definition in brackets that are not abbreviations', () => {
    assert.deepEqual(pairs('This was significant (p < 0.05) in all (n = 12) groups (Fig. 2).'), []);
    assert.deepEqual(pairs('Patients (all adults) were treated (twice).'), []);
    assert.deepEqual(pairs('No bracket here.'), []);
    assert.deepEqual(pairs('An unclosed (ABC bracket.'), []);
  });

  test('rejections: no match, the short form itself, too many words, bad short forms', () => {
    // No word starts with x.
    assert.deepEqual(pairs('The renal failure (XRF) was mild.'), []);
    // The long form would be 6 words for a 2-letter short form (limit min(2 + 5, 2 * 2) = 4).
    assert.deepEqual(pairs('An alpha one two three four five (AF) case.'), []);
    // The shortest match is the short form itself, which a long form may not end with.
    assert.deepEqual(pairs('The ABC virus ABC (ABC) spread.'), []);
    // More than 10 characters is no short form.
    assert.deepEqual(pairs('The acute kidney injury (ACUTEKIDNEYI) set.'), []);
    // A short form must start with a letter or digit and contain a letter.
    assert.deepEqual(pairs('In the cohort (-ABC) and the group (123) alike.'), []);
  });

  test('definitions stay inside their sentence', () => {
    assert.deepEqual(pairs('Heart disease was common. Fatality (HD) was low.'), []);
  });

  test('bestLongFormStart scans backwards', () => {
    const candidate = 'levels of heart failure';
    assert.equal(candidate.slice(bestLongFormStart('HF', candidate)), 'heart failure');
    assert.equal(bestLongFormStart('QZ', candidate), -1);
  });

  test('abbreviationMap keeps the first definition of a short form', () => {
    const map = abbreviationMap(
      findAbbreviations('Acute renal failure (ARF) is common. Acute rheumatic fever (ARF) is not.'),
    );
    assert.equal(map.get('ARF'), 'Acute renal failure');
  });
});

describe('abbreviationMentions', () => {
  const text =
    'Duchenne muscular dystrophy (DMD) is fatal. In DMD, the heart fails; DMDX is unrelated. DMD.';
  const abbreviations = findAbbreviations(text);
  const longMention = { start: 0, end: 27, type: 'Disease', id: 'MESH:D020388' };

  test('short-form occurrences of a recognized long form become mentions', () => {
    const added = abbreviationMentions(text, [longMention], abbreviations);
    const expected = [...text.matchAll(/\bDMD\b/g)].map((m) => m.index);
    assert.deepEqual(
      added.map((m) => m.start),
      expected,
    );
    for (const m of added) {
      assert.equal(text.slice(m.start, m.end), 'DMD');
      assert.equal(m.type, 'Disease');
      assert.equal(m.longForm, longMention);
    }
  });

  test('occurrences already covered by a mention are not added twice', () => {
    const covered = {
      start: text.indexOf('In DMD') + 3,
      end: text.indexOf('In DMD') + 6,
      type: 'Disease',
      id: 'x',
    };
    const added = abbreviationMentions(text, [longMention, covered], abbreviations);
    assert.ok(added.every((m) => m.start !== covered.start));
    assert.equal(added.length, 2);
  });

  test('nothing is added when the long form is not a recognized mention', () => {
    assert.deepEqual(abbreviationMentions(text, [], abbreviations), []);
  });
});
