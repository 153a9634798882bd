import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { oneOf } from '../option-parsers.js';
import { loadConfig } from '../../config/config.js';
import type { AnnotatorEvaluation } from '../../eval/evaluate-annotator.js';
import { evaluateAnnotator } from '../../eval/evaluate-annotator.js';
import { metricsMarkdown } from '../../eval/metrics-markdown.js';
import type { Prf } from '../../eval/prf.js';
import { loadAnnotator } from '../../processors/annotation/load-annotator.js';
import type { PubTatorDocument } from '../../text/pubtator-reader.js';
import { readPubTatorFile } from '../../text/pubtator-reader.js';
import type { CorpusName, SplitName } from '../../text/training-export.js';
import { CORPUS_NAMES, corpusFile, entityTypeOf, SPLIT_NAMES } from '../../text/training-export.js';

interface EvalOptions {
  corpus: CorpusName;
  split: SplitName;
  model?: string;
  dictionary: boolean;
  json?: boolean;
  metrics?: string;
}

const CORPUS_TYPES: Record<CorpusName, string[]> = {
  'ncbi-disease': ['Disease'],
  bc5cdr: ['Chemical', 'Disease'],
};

const MODEL_FOR_CORPUS: Record<CorpusName, string> = {
  'ncbi-disease': 'ncbi-disease-mtl',
  bc5cdr: 'bc5cdr-mtl',
};

const round = (x: number): number => Math.round(x * 10_000) / 10_000;
const short = (s: Prf) => ({ p: round(s.precision), r: round(s.recall), f1: round(s.f1) });

export function evaluationJson(
  model: string,
  options: Pick<EvalOptions, 'corpus' | 'split' | 'dictionary'>,
  result: AnnotatorEvaluation,
) {
  const perType: Record<string, { ner: ReturnType<typeof short>; nen: ReturnType<typeof short> }> =
    {};
  for (const type of CORPUS_TYPES[options.corpus]) {
    const ner = result.ner.byType[type];
    const nen = result.nen.byType[type];
    if (ner !== undefined && nen !== undefined)
      perType[type] = { ner: short(ner), nen: short(nen) };
  }
  return {
    model,
    corpus: options.corpus,
    split: options.split,
    normalization: options.dictionary ? 'model+dictionary' : 'model',
    documents: result.documents,
    ner: short(result.ner.overall),
    nen: short(result.nen.overall),
    per_type: perType,
    abstracts_per_s: round(result.documents / result.seconds),
  };
}

/** Replaces (or appends) this evaluation's section of a METRICS.md file. */
async function writeMetricsSection(path: string, key: string, section: string): Promise<void> {
  const begin = `<!-- eval:${key} -->`;
  const end = `<!-- /eval:${key} -->`;
  const block = `${begin}\n${section}${end}\n`;
  let text = existsSync(path)
    ? await readFile(path, 'utf8')
    : '# Metrics\n\nWritten by `medstream eval --metrics`; do not edit by hand.\n\n';
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  text =
    from >= 0 && to > from
      ? `${text.slice(0, from)}${block}${text.slice(to + end.length + 1)}`
      : `${text}${block}\n`;
  await writeFile(path, text);
}

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('Score the served model (TypeScript inference path) on a corpus split.')
    .requiredOption('--corpus <name>', CORPUS_NAMES.join(' | '), oneOf(CORPUS_NAMES))
    .option('--split <name>', SPLIT_NAMES.join(' | '), oneOf(SPLIT_NAMES), 'test')
    .option('--model <dir>', 'served model directory (default: models/<corpus>-mtl)')
    .option('--no-dictionary', "use the model's concepts only, without the dictionary normalizer")
    .option('--json', 'print one JSON object')
    .option('--metrics <file>', "write this evaluation's section of a METRICS.md file")
    .action(async (options: EvalOptions) => {
      const config = loadConfig();
      const modelDir = resolve(
        options.model ??
          fileURLToPath(
            new URL(`../../../models/${MODEL_FOR_CORPUS[options.corpus]}/`, import.meta.url),
          ),
      );
      const log = (line: string) => process.stderr.write(`medstream: ${line}\n`);
      const annotator = await loadAnnotator(config, {
        modelDir,
        dictionary: options.dictionary,
        log,
      });
      const documents: PubTatorDocument[] = [];
      const seen = new Set<string>();
      for await (const doc of readPubTatorFile(
        corpusFile(config.dataRoot, options.corpus, options.split),
      )) {
        // NCBI's training file repeats one PMID; score each document once.
        if (!seen.has(doc.pmid)) documents.push(doc);
        seen.add(doc.pmid);
      }
      let result: AnnotatorEvaluation;
      try {
        result = await evaluateAnnotator(annotator, documents, {
          types: CORPUS_TYPES[options.corpus],
          typeOf: (type) => entityTypeOf(options.corpus, type),
        });
      } finally {
        await annotator.close();
      }
      const model = `${annotator.modelName}@${annotator.modelVersion}`;
      const json = evaluationJson(model, options, result);
      if (options.metrics !== undefined) {
        const variant = options.dictionary ? 'model+dictionary' : 'model';
        await writeMetricsSection(
          options.metrics,
          `${options.corpus}:${options.split}:${variant}`,
          metricsMarkdown({
            title: `${options.corpus} ${options.split} — ${model}, normalization: ${variant}`,
            ner: result.ner,
            nen: result.nen,
            notes: [
              `${result.documents} documents; served ONNX model through the TypeScript inference path (${join('models', MODEL_FOR_CORPUS[options.corpus])}).`,
              `Command: medstream eval --corpus ${options.corpus} --split ${options.split}${options.dictionary ? '' : ' --no-dictionary'}`,
            ],
          }),
        );
      }
      if (options.json === true) {
        process.stdout.write(`${JSON.stringify(json)}\n`);
        return;
      }
      const line = (name: string, s: { p: number; r: number; f1: number }) =>
        `  ${name.padEnd(22)} P ${s.p.toFixed(4)}  R ${s.r.toFixed(4)}  F1 ${s.f1.toFixed(4)}`;
      process.stdout.write(
        [
          `${model} on ${options.corpus} ${options.split} (${json.documents} documents, ${json.normalization})`,
          line('NER (strict)', json.ner),
          line('NEN (doc concepts)', json.nen),
          ...Object.entries(json.per_type).flatMap(([type, s]) => [
            line(`${type} NER`, s.ner),
            line(`${type} NEN`, s.nen),
          ]),
          '',
        ].join('\n'),
      );
    });
}
