/**
 * Tokenizer throughput: `npx tsx bench/tokenizer.ts [seconds]`. Prints one JSON object.
 * Input: every title + abstract of the NCBI-disease and BC5CDR corpora under the configured data
 * root (read, never copied); falls back to project-written synthetic text when they are absent.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config/config.js';
import { readPubTatorFile } from '../src/text/pubtator-reader.js';
import { splitSentences } from '../src/text/sentence-splitter.js';
import { TOKENIZER_VERSION, tokenize } from '../src/text/tokenizer.js';
import { CORPUS_NAMES, SPLIT_NAMES, corpusFile } from '../src/text/training-export.js';

async function corpusTexts(dataRoot: string): Promise<string[]> {
  const texts: string[] = [];
  for (const corpus of CORPUS_NAMES) {
    for (const split of SPLIT_NAMES) {
      const path = corpusFile(dataRoot, corpus, split);
      if (!existsSync(path)) return [];
      for await (const doc of readPubTatorFile(path)) texts.push(doc.text);
    }
  }
  return texts;
}

function syntheticTexts(): string[] {
  const sentence =
    'Rats received cisplatin (7.5 mg/kg, i.p.) and N-acetylcysteine; IL-2 and TNF-α rose ' +
    '3.2-fold vs. controls (p < 0.001), e.g. in Ca(2+)-dependent BRCA1/2 pathways (Fig. 2). ';
  return Array.from({ length: 3000 }, (_, k) => `Title ${k}. ${sentence.repeat(8)}`);
}

function measure(texts: readonly string[], seconds: number, run: (text: string) => number) {
  for (const text of texts.slice(0, 200)) run(text); // warm-up (JIT, lazy character table)
  let tokens = 0;
  let chars = 0;
  let passes = 0;
  const started = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds || passes === 0) {
    for (const text of texts) {
      tokens += run(text);
      chars += text.length;
    }
    passes += 1;
    elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  }
  return {
    passes,
    seconds: Number(elapsed.toFixed(3)),
    tokens_per_s: Math.round(tokens / elapsed),
    mchars_per_s: Number((chars / elapsed / 1e6).toFixed(2)),
  };
}

const seconds = Number(process.argv[2] ?? '3');
const { dataRoot } = loadConfig();
let texts = await corpusTexts(dataRoot);
const input = texts.length > 0 ? `corpora under ${join(dataRoot, 'corpora')}` : 'synthetic';
if (texts.length === 0) texts = syntheticTexts();
const totalTokens = texts.reduce((n, t) => n + tokenize(t).length, 0);

process.stdout.write(
  `${JSON.stringify({
    bench: 'tokenizer',
    tokenizer_version: TOKENIZER_VERSION,
    node: process.version,
    input,
    documents: texts.length,
    chars: texts.reduce((n, t) => n + t.length, 0),
    tokens: totalTokens,
    tokenize: measure(texts, seconds, (t) => tokenize(t).length),
    split_sentences: measure(texts, seconds, (t) =>
      splitSentences(t).reduce((n, s) => n + s.tokens.length, 0),
    ),
  })}\n`,
);
