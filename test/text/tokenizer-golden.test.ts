import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { splitSentences } from '../../src/text/sentence-splitter.js';
import { TOKENIZER_VERSION } from '../../src/text/tokenizer.js';

/**
 * Pins the tokenizer and sentence splitter on project-written abstracts (not corpus text).
 * A diff here changes what every trained model sees: bump TOKENIZER_VERSION, then regenerate
 * with MEDSTREAM_UPDATE_GOLDEN=1 (then `npx prettier --write` the JSON) and review the diff.
 */
const GOLDEN = new URL('./tokenizer.golden.json', import.meta.url);

interface GoldenCase {
  title: string;
  text: string;
  /** Per sentence: [token, start, end] triples. */
  sentences: [string, number, number][][];
}

interface GoldenFile {
  tokenizer_version: string;
  cases: GoldenCase[];
}

const INPUTS: { title: string; abstract: string }[] = [
  {
    title: 'Cisplatin-induced nephrotoxicity is attenuated by N-acetylcysteine in rats',
    abstract:
      'Rats received cisplatin (7.5 mg/kg, i.p.) with or without N-acetylcysteine (NAC; 150 mg/kg/day). ' +
      'Serum creatinine rose 3.2-fold vs. controls (p < 0.001). NAC reduced tubular necrosis, e.g. in the ' +
      'outer medulla (Fig. 2).',
  },
  {
    title: 'BRCA1 and BRCA2 germline variants in early-onset breast/ovarian cancer.',
    abstract:
      'We screened 212 women for BRCA1/2 mutations. Truncating variants (e.g., c.68_69delAG) were ' +
      'found in 9.4% of cases. Carriers of IL-2-responsive haplotypes had no excess risk (OR 1.1; ' +
      '95% CI 0.8-1.5).',
  },
  {
    title: 'Exposure to 2,3,7,8-tetrachlorodibenzo-p-dioxin and NF-kappaB activation',
    abstract:
      'TCDD (10(-9) M) increased NF-kappaB binding in hepatocytes. Intracellular Ca(2+) and ' +
      '[3H]-thymidine uptake were measured as described by Lee et al. Both effects were blocked by ' +
      'an AhR antagonist.',
  },
  {
    title: "α-Synuclein and TNF-α in Parkinson's disease",
    abstract:
      'Levels of TNF-α were 2.5 ± 0.4 pg/ml at 37 °C. p53 expression rose in β-cells; mRNA levels ' +
      'fell. Was the effect dose-dependent? Yes: IC50 = 4.1 µM.',
  },
  {
    title: 'A randomized trial of lidocaine given i.v. after surgery',
    abstract:
      'Patients were enrolled through the U.S. Food and Drug Administration network. Lidocaine was ' +
      'given i.v. Pain scores fell ' +
      '(see Table 1). Adverse events ("dizziness", "tinnitus") were mild.',
  },
];

function render(): GoldenFile {
  return {
    tokenizer_version: TOKENIZER_VERSION,
    cases: INPUTS.map(({ title, abstract }) => {
      const text = `${title} ${abstract}`;
      return {
        title,
        text,
        sentences: splitSentences(text, { breaks: [title.length] }).map((s) =>
          s.tokens.map((t): [string, number, number] => [t.text, t.start, t.end]),
        ),
      };
    }),
  };
}

test('tokenizer output matches the golden file', () => {
  const actual = render();
  if (process.env.MEDSTREAM_UPDATE_GOLDEN === '1') {
    writeFileSync(GOLDEN, `${JSON.stringify(actual, null, 1)}\n`);
  }
  const expected = JSON.parse(readFileSync(GOLDEN, 'utf8')) as GoldenFile;
  assert.deepEqual(actual, expected);
});
