import { createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { readPubTatorFile } from '../../text/pubtator-reader.js';
import { splitSentences } from '../../text/sentence-splitter.js';
import { TOKENIZER_VERSION, tokenize } from '../../text/tokenizer.js';
import { corpusFile } from '../../text/training-export.js';

/**
 * `medstream export-text`: unlabelled text for training word vectors, tokenized by OUR
 * tokenizer (architecture.md, "One tokenizer"). One sentence per line, tokens joined by a single
 * space (tokens never contain whitespace). Tokens are written as they are; lower-casing and digit
 * normalization are the word-vocabulary rule of the model (models/README.md) and applied by the
 * trainer.
 *
 * Sources (relative to the data root), never a reported test split:
 * - NCBI-disease and BC5CDR PubTator train + dev (title + " " + abstract, split into sentences);
 * - JNLPBA standoff `.txt` (train and test: not a test set MedStream reports);
 * - the Crichton et al. IOB datasets' train/devel/test sentences, re-joined with spaces and
 *   re-tokenized, EXCEPT `NCBI-disease-IOB` and `BC5CDR*-IOB` (copies of the PubTator corpora,
 *   whose train/dev text is already included and whose test split must stay unseen).
 *
 * A sentence whose token sequence was already written is skipped (counted as a duplicate).
 */
export interface ExportTextSummary {
  readonly tokenizer_version: string;
  readonly out: string;
  readonly sentences: number;
  readonly tokens: number;
  /** Sentences skipped because the same token sequence was already written. */
  readonly duplicates: number;
  readonly sources: Readonly<Record<string, number>>;
  readonly excluded: readonly string[];
}

const PUBTATOR_SOURCES = [
  ['ncbi-disease', 'train'],
  ['ncbi-disease', 'dev'],
  ['bc5cdr', 'train'],
  ['bc5cdr', 'dev'],
] as const;

const JNLPBA_DIRS = ['corpora/jnlpba/standoff/train', 'corpora/jnlpba/standoff/test'];
const CRICHTON_DIR = 'corpora/crichton-iob';
const CRICHTON_FILES = ['train.tsv', 'devel.tsv', 'test.tsv'];

/** Crichton datasets that copy a corpus MedStream evaluates on (skipped entirely). */
export function isExcludedCrichtonDataset(name: string): boolean {
  return name === 'NCBI-disease-IOB' || name.startsWith('BC5CDR');
}

/** Sentences of a Crichton IOB file: each one's tokens re-joined with single spaces. */
export function crichtonSentences(content: string): string[] {
  const sentences: string[] = [];
  let current: string[] = [];
  for (const line of content.split(/\r?\n/)) {
    if (line.trim() === '') {
      if (current.length > 0) sentences.push(current.join(' '));
      current = [];
      continue;
    }
    const token = line.split('\t')[0];
    if (token !== undefined && token.trim() !== '') current.push(token.trim());
  }
  if (current.length > 0) sentences.push(current.join(' '));
  return sentences;
}

export async function exportText(dataRoot: string, outFile: string): Promise<ExportTextSummary> {
  await mkdir(dirname(outFile), { recursive: true });
  const out = createWriteStream(outFile, { encoding: 'utf8' });
  const sources: Record<string, number> = {};
  let sentences = 0;
  let tokens = 0;
  let duplicates = 0;
  // Several Crichton datasets share their text (BioNLP11ID and its -chem/-ggp/-species).
  const seen = new Set<string>();
  const write = async (source: string, words: readonly string[]): Promise<void> => {
    if (words.length === 0) return;
    const line = words.join(' ');
    if (seen.has(line)) {
      duplicates += 1;
      return;
    }
    seen.add(line);
    sentences += 1;
    tokens += words.length;
    sources[source] = (sources[source] ?? 0) + 1;
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  };

  for (const [corpus, split] of PUBTATOR_SOURCES) {
    for await (const doc of readPubTatorFile(corpusFile(dataRoot, corpus, split))) {
      for (const sentence of splitSentences(doc.text)) {
        await write(
          `${corpus}/${split}`,
          sentence.tokens.map((t) => t.text),
        );
      }
    }
  }
  for (const dir of JNLPBA_DIRS) {
    const names = (await readdir(join(dataRoot, dir))).filter((n) => n.endsWith('.txt')).sort();
    for (const name of names) {
      const text = await readFile(join(dataRoot, dir, name), 'utf8');
      for (const sentence of splitSentences(text)) {
        await write(
          dir,
          sentence.tokens.map((t) => t.text),
        );
      }
    }
  }
  const excluded: string[] = [];
  const datasets = (await readdir(join(dataRoot, CRICHTON_DIR), { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  for (const dataset of datasets) {
    if (isExcludedCrichtonDataset(dataset)) {
      excluded.push(`${CRICHTON_DIR}/${dataset}`);
      continue;
    }
    for (const file of CRICHTON_FILES) {
      const content = await readFile(join(dataRoot, CRICHTON_DIR, dataset, file), 'utf8');
      for (const sentence of crichtonSentences(content)) {
        await write(
          `${CRICHTON_DIR}/${dataset}`,
          tokenize(sentence).map((t) => t.text),
        );
      }
    }
  }
  out.end();
  await once(out, 'finish');
  return {
    tokenizer_version: TOKENIZER_VERSION,
    out: outFile,
    sentences,
    tokens,
    duplicates,
    sources,
    excluded,
  };
}

export function registerExportTextCommand(
  program: Command,
  stdout: Pick<NodeJS.WritableStream, 'write'> = process.stdout,
): void {
  program
    .command('export-text')
    .description('Write tokenized sentences (one per line) for training word vectors.')
    .requiredOption('--out <file>', 'output text file (keep it out of git, e.g. under .cache/)')
    .action(async (options: { out: string }) => {
      const config = loadConfig();
      const summary = await exportText(config.dataRoot, resolve(options.out));
      stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    });
}
