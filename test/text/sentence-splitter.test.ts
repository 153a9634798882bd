import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sentencesFromTokens, splitSentences } from '../../src/text/sentence-splitter.js';
import type { SentenceOptions } from '../../src/text/sentence-splitter.js';
import { tokenize } from '../../src/text/tokenizer.js';

const sentences = (text: string, options?: SentenceOptions): string[] =>
  splitSentences(text, options).map((s) => text.slice(s.start, s.end));

const cases: [string, string, string[]][] = [
  [
    'plain periods',
    'Cisplatin was given to rats. Nephrotoxicity developed in 5 of 10 animals.',
    ['Cisplatin was given to rats.', 'Nephrotoxicity developed in 5 of 10 animals.'],
  ],
  [
    'et al. before a bracket',
    'As shown by Smith et al. (2001), the effect persisted.',
    ['As shown by Smith et al. (2001), the effect persisted.'],
  ],
  [
    'Fig. then a real end after the number',
    'See Fig. 2. The dose was 2.5 mg/kg.',
    ['See Fig. 2.', 'The dose was 2.5 mg/kg.'],
  ],
  ['vs. before a capital', 'Drug A vs. Drug B was compared.', ['Drug A vs. Drug B was compared.']],
  [
    'e.g. and i.e. never end a sentence',
    'Some agents, e.g. Aspirin, i.e. ASA, were used.',
    ['Some agents, e.g. Aspirin, i.e. ASA, were used.'],
  ],
  [
    'i.v. mid-sentence and sentence-final',
    'It was given i.v. to mice. Others received it i.v. Rats were untreated.',
    ['It was given i.v. to mice.', 'Others received it i.v.', 'Rats were untreated.'],
  ],
  [
    'U.S. before a name',
    'It was approved by the U.S. Food and Drug Administration.',
    ['It was approved by the U.S. Food and Drug Administration.'],
  ],
  [
    'bracket after p value',
    'The difference was significant (p < 0.05). Mice treated with it recovered.',
    ['The difference was significant (p < 0.05).', 'Mice treated with it recovered.'],
  ],
  [
    'gene symbol with a lower-case first letter starts a sentence',
    'Levels of p53 increased. p53 mutations were common. mRNA levels fell.',
    ['Levels of p53 increased.', 'p53 mutations were common.', 'mRNA levels fell.'],
  ],
  ['plain lower-case word does not', 'It was low. the next part.', ['It was low. the next part.']],
  ['question and exclamation', 'Was it toxic? Yes! It was.', ['Was it toxic?', 'Yes!', 'It was.']],
  [
    'closing quote glued to the period',
    'He said "it ends." Then he left.',
    ['He said "it ends."', 'Then he left.'],
  ],
  [
    'period glued to a bracket',
    'It rose (to 5 mM.) Then it fell.',
    ['It rose (to 5 mM.)', 'Then it fell.'],
  ],
  [
    'single capital: vitamin D ends, initials do not',
    'Low vitamin D. The cohort (Lee, J. K., Park, S. H.) was large.',
    ['Low vitamin D.', 'The cohort (Lee, J. K., Park, S. H.) was large.'],
  ],
  [
    'periods inside a bracket that closes soon',
    'Dehydrogenase (EC 1. 1. 1. 49) deficiency was found.',
    ['Dehydrogenase (EC 1. 1. 1. 49) deficiency was found.'],
  ],
  [
    'Greek letter starts a sentence',
    'It was bound. α-Synuclein aggregated.',
    ['It was bound.', 'α-Synuclein aggregated.'],
  ],
  ['no space after the period', 'See www.example.org.Then', ['See www.example.org.Then']],
  ['paragraph break', 'Results\n\nMethods were standard', ['Results', 'Methods were standard']],
  ['single line break is not a break', 'Results were\nstandard', ['Results were\nstandard']],
];

for (const [name, text, expected] of cases) {
  test(name, () => assert.deepEqual(sentences(text), expected));
}

test('breaks force a boundary, e.g. after a title without a final period', () => {
  const title = 'Lidocaine toxicity in the elderly';
  const text = `${title} A patient developed seizures.`;
  assert.deepEqual(sentences(text, { breaks: [title.length] }), [
    title,
    'A patient developed seizures.',
  ]);
  assert.equal(sentences(text).length, 1);
});

test('a break inside a token is ignored', () => {
  assert.deepEqual(sentences('IL-2 rose.', { breaks: [1] }), ['IL-2 rose.']);
});

test('sentencesFromTokens groups given tokens; offsets index the whole text', () => {
  const text = '  One. Two.';
  const result = sentencesFromTokens(text, tokenize(text));
  assert.deepEqual(
    result.map((s) => [s.start, s.end, s.tokens.map((t) => t.text)]),
    [
      [2, 6, ['One', '.']],
      [7, 11, ['Two', '.']],
    ],
  );
});
