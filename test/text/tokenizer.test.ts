import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { splitSentences } from '../../src/text/sentence-splitter.js';
import { TOKENIZER_VERSION, isWhitespaceCode, tokenize } from '../../src/text/tokenizer.js';
import type { Token } from '../../src/text/tokenizer.js';

const texts = (input: string): string[] => tokenize(input).map((t) => t.text);

/** mulberry32: a tiny seeded PRNG so every fuzz run sees the same cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POOLS: readonly (readonly string[])[] = [
  [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'],
  [...'0123456789'],
  [...'.,;:!?-/()[]{}+=<>\'"_*&^%$#@~`|\\'],
  [' ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u2003', '\u3000', '\u2028', '\u2029', '\ufeff'],
  [...'αβγδκΔΩµé°±×→–—‐’“”'],
  ['\u0301', '\u0308', '\u200b', '\u200d', '\u00ad', '\u0000', '\u001f', '\u007f'],
  ['😀', '🧬', '𝐀', '𝛂', '\u{20000}', '\ud83d', '\ude00', '\udc00\ud800'],
  [
    'e.g.',
    'i.v.',
    'et al.',
    'Fig. 2',
    '2.5 mg/kg',
    '10(-6)',
    'Ca(2+)',
    'IL-2',
    'BRCA1',
    '. ',
    '1.',
    '.5',
  ],
];

function randomText(next: () => number): string {
  const length = Math.floor(next() * next() * 120);
  let out = '';
  for (let k = 0; k < length; k += 1) {
    const pool = POOLS[Math.floor(next() * POOLS.length)];
    out += pool[Math.floor(next() * pool.length)];
  }
  return out;
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Every invariant the module comment promises, checked independently of the scanner. */
function checkInvariants(text: string, tokens: readonly Token[]): void {
  let covered = 0;
  let previousEnd = 0;
  for (const token of tokens) {
    assert.equal(
      text.slice(token.start, token.end),
      token.text,
      `slice of ${JSON.stringify(text)}`,
    );
    assert.ok(token.end > token.start, 'non-empty');
    assert.ok(token.start >= previousEnd, 'ordered and non-overlapping');
    assert.ok(!/\s/u.test(token.text), `no whitespace in ${JSON.stringify(token.text)}`);
    // Never between the halves of a surrogate pair.
    for (const edge of [token.start, token.end]) {
      assert.ok(
        !(isHigh(text.charCodeAt(edge - 1)) && isLow(text.charCodeAt(edge))),
        `surrogate pair split at ${edge} in ${JSON.stringify(text)}`,
      );
    }
    // What lies between tokens is whitespace only.
    assert.ok(/^\s*$/u.test(text.slice(previousEnd, token.start)), 'gap is whitespace');
    covered += token.end - token.start;
    previousEnd = token.end;
  }
  assert.ok(/^\s*$/u.test(text.slice(previousEnd)), 'tail is whitespace');
  assert.equal(covered, text.replace(/\s/gu, '').length, 'every non-whitespace unit covered');
}

describe('tokenizer invariants (fuzzed)', () => {
  test('slice, order, coverage, no whitespace, surrogates: 20,000 seeded random strings', () => {
    const next = prng(20240611);
    for (let n = 0; n < 20_000; n += 1) {
      const text = randomText(next);
      const tokens = tokenize(text);
      checkInvariants(text, tokens);
      // The sentence splitter partitions exactly these tokens.
      const sentences = splitSentences(text, { breaks: [Math.floor(text.length / 2)] });
      assert.deepEqual(
        sentences.flatMap((s) => s.tokens),
        tokens,
      );
      for (const s of sentences) {
        assert.ok(s.tokens.length > 0);
        assert.equal(s.start, s.tokens[0].start);
        assert.equal(s.end, s.tokens.at(-1)!.end);
      }
    }
  });

  test('every single BMP code unit alone and between letters', () => {
    for (let c = 0; c < 0x10000; c += 1) {
      const ch = String.fromCharCode(c);
      checkInvariants(ch, tokenize(ch));
      const framed = `a${ch}b .${ch}5`;
      checkInvariants(framed, tokenize(framed));
      assert.equal(isWhitespaceCode(c), /\s/u.test(ch), `whitespace class of U+${c.toString(16)}`);
    }
  });

  test('empty and whitespace-only input give no tokens and no sentences', () => {
    assert.deepEqual(tokenize(''), []);
    assert.deepEqual(tokenize(' \t\n\u00a0\u3000'), []);
    assert.deepEqual(splitSentences(''), []);
  });

  test('version is a non-empty string for model manifests', () => {
    assert.match(TOKENIZER_VERSION, /^medstream-tok-\d+$/);
  });
});

describe('biomedical tokenization', () => {
  const cases: [string, string[]][] = [
    ['2.5 mg/kg', ['2.5', 'mg', '/', 'kg']],
    ['10(-6) M', ['10', '(', '-', '6', ')', 'M']],
    [
      '2,3,7,8-tetrachlorodibenzo-p-dioxin',
      ['2', ',', '3', ',', '7', ',', '8', '-', 'tetrachlorodibenzo', '-', 'p', '-', 'dioxin'],
    ],
    ['N-acetylcysteine', ['N', '-', 'acetylcysteine']],
    ['Ca(2+)', ['Ca', '(', '2', '+', ')']],
    ['BRCA1 and IL-2', ['BRCA1', 'and', 'IL', '-', '2']],
    ['NF-kappaB', ['NF', '-', 'kappaB']],
    ['cisplatin-induced', ['cisplatin', '-', 'induced']],
    ['[3H]-dopamine', ['[', '3H', ']', '-', 'dopamine']],
    ['Na+/K+-ATPase', ['Na', '+', '/', 'K', '+', '-', 'ATPase']],
    ['TNF-α and β2-microglobulin', ['TNF', '-', 'α', 'and', 'β2', '-', 'microglobulin']],
    ['p < 0.05.', ['p', '<', '0.05', '.']],
    ['1,000 mice', ['1', ',', '000', 'mice']],
    ['EC 3.1.1.7', ['EC', '3.1.1.7']],
    ['in 2005.', ['in', '2005', '.']],
    ['.5 ml', ['.', '5', 'ml']],
    ['e.g. rats', ['e.g.', 'rats']],
    ['i.e., mice', ['i.e.', ',', 'mice']],
    ['given i.v. daily', ['given', 'i.v.', 'daily']],
    ['the U.S.A.', ['the', 'U.S.A.']],
    ['Smith et al. (2001)', ['Smith', 'et', 'al', '.', '(', '2001', ')']],
    ['vs. placebo', ['vs', '.', 'placebo']],
    ['Fig. 2', ['Fig', '.', '2']],
    ['E. coli', ['E', '.', 'coli']],
    ['S.aureus', ['S', '.', 'aureus']],
    ["Alzheimer's disease", ['Alzheimer', "'", 's', 'disease']],
    ['37°C ± 2', ['37', '°', 'C', '±', '2']],
    ['5 µg/ml', ['5', 'µg', '/', 'ml']],
    ['c.695T>A', ['c', '.', '695T', '>', 'A']],
    ['IL-2-induced', ['IL', '-', '2', '-', 'induced']],
    ['café\u0301 😀x 𝐀𝐁', ['café\u0301', '😀', 'x', '𝐀𝐁']],
    ['a\u00a0b\u2003c', ['a', 'b', 'c']],
    ['\ud800x\udc00', ['\ud800', 'x', '\udc00']],
  ];
  for (const [input, expected] of cases) {
    test(JSON.stringify(input), () => {
      assert.deepEqual(texts(input), expected);
      checkInvariants(input, tokenize(input));
    });
  }

  test('offsets are UTF-16 code units', () => {
    assert.deepEqual(tokenize('😀 β-actin'), [
      { text: '😀', start: 0, end: 2 },
      { text: 'β', start: 3, end: 4 },
      { text: '-', start: 4, end: 5 },
      { text: 'actin', start: 5, end: 10 },
    ]);
  });
});
