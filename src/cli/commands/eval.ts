import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { oneOf } from '../option-parsers.js';
import type { Config } from '../../config/config.js';
import { loadConfig } from '../../config/config.js';
import { MedStreamError } from '../../errors.js';
import type { EvalDocument } from '../../eval/corpus-metrics.js';
import type { AnnotatorEvaluation } from '../../eval/evaluate-annotator.js';
import { documentAsArticle, evaluateAnnotator } from '../../eval/evaluate-annotator.js';
import { metricsMarkdown } from '../../eval/metrics-markdown.js';
import type { Prf } from '../../eval/prf.js';
import type { TuningOutcome } from '../../eval/tune-normalization.js';
import {
  DEFAULT_TUNING_GRIDS,
  trainingIdForms,
  tuneNormalization,
} from '../../eval/tune-normalization.js';
import { ensureDictionary, loadAnnotator } from '../../processors/annotation/load-annotator.js';
import { buildLexicon, MentionLexicon } from '../../processors/annotation/mention-lexicon.js';
import { DEFAULT_VOCABULARY_MAX_TOKENS } from '../../processors/annotation/onnx-annotator.js';
import type { ArticleAnalysis } from '../../processors/annotation/recognition.js';
import { DictionaryMentionResolver } from '../../processors/normalization/mention-resolver.js';
import type { NormalizationConfig } from '../../processors/normalization/normalization-config.js';
import {
  NORMALIZATION_FILE,
  NORMALIZATION_FORMAT,
  defaultNormalizationConfig,
  parseNormalizationConfig,
  writeNormalizationConfig,
} from '../../processors/normalization/normalization-config.js';
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
  normalization?: string;
  tune?: boolean;
  tuneOut?: string;
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

/**
 * The corpus splits whose mentions the normalization dictionary may hold when scoring `split`:
 * train and dev for test (what the served dictionary holds), train only for dev and train.
 */
export function dictionarySplitsFor(split: SplitName): SplitName[] {
  return split === 'test' ? ['train', 'dev'] : ['train'];
}

function dictionaryDirFor(config: Config, split: SplitName): string {
  return join(config.cacheDir, split === 'test' ? 'dictionary' : 'dictionary-train');
}

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

/** Distinct documents of a split (NCBI's training file repeats one PMID: scored once). */
async function readSplit(
  config: Config,
  corpus: CorpusName,
  split: SplitName,
): Promise<PubTatorDocument[]> {
  const documents: PubTatorDocument[] = [];
  const seen = new Set<string>();
  for await (const doc of readPubTatorFile(corpusFile(config.dataRoot, corpus, split))) {
    if (!seen.has(doc.pmid)) documents.push(doc);
    seen.add(doc.pmid);
  }
  return documents;
}

/** `--normalization`: a file, `none` (the model as trained), or the model directory's file. */
async function chosenNormalization(
  value: string | undefined,
  model: { name: string; version: string },
): Promise<NormalizationConfig | undefined> {
  if (value === undefined) return undefined;
  if (value === 'none') return defaultNormalizationConfig(model);
  const path = resolve(value);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new MedStreamError('INPUT_NOT_FOUND', `cannot read ${path} as JSON`, { cause: error });
  }
  const config = parseNormalizationConfig(json, path);
  // The same model check as the serving path applies to the model directory's file.
  if (config.model.name !== model.name || config.model.version !== model.version) {
    throw new MedStreamError(
      'MODEL_INVALID',
      `${path} was chosen for ${config.model.name}@${config.model.version}, the model is ` +
        `${model.name}@${model.version}`,
    );
  }
  return config;
}

async function readManifestIdentity(modelDir: string): Promise<{ name: string; version: string }> {
  try {
    const manifest = JSON.parse(await readFile(join(modelDir, 'manifest.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    return { name: manifest.name, version: manifest.version };
  } catch (error) {
    throw new MedStreamError('MODEL_INVALID', `${modelDir}: unreadable manifest.json`, {
      cause: error,
    });
  }
}

function prfJson(s: Prf) {
  return {
    p: round(s.precision),
    r: round(s.recall),
    f1: round(s.f1),
    tp: s.tp,
    fp: s.fp,
    fn: s.fn,
  };
}

/** The `selection` record of normalization.json: how every value was chosen. */
function selectionRecord(
  options: EvalOptions,
  outcome: TuningOutcome,
  context: { documents: number; trainDocuments: number; vocabularyVersion: string },
) {
  return {
    command: `medstream eval --corpus ${options.corpus} --split ${options.split} --tune`,
    corpus: options.corpus,
    split: options.split,
    documents: context.documents,
    dictionary: `${context.vocabularyVersion} (mentions of train only: dev stays unseen)`,
    lexiconCounts: `${options.corpus} train, ${context.trainDocuments} documents`,
    recognitionObjective:
      'dev NER strict mention micro F1; greedy forward selection in serving order, a step kept ' +
      'only if it raises F1',
    thresholdObjective:
      'dev NEN document-level concept F1 per type (BC5CDR kit), recognized mentions of the chosen recognition',
    grids: DEFAULT_TUNING_GRIDS,
    steps: outcome.steps.map((s) => ({
      step: s.step,
      kept: s.kept,
      chosen: s.chosen,
      nerBefore: prfJson(s.before),
      nerAfter: prfJson(s.after),
      trials: s.trials.map((t) => ({ value: t.value, f1: round(t.ner.f1) })),
    })),
    thresholds: outcome.thresholdSelections.map((t) => ({
      type: t.type,
      defaultF1: round(t.defaultF1),
      f1: round(t.f1),
    })),
    ...(outcome.idFormsSelection === undefined
      ? {}
      : {
          idForms: {
            objective: 'dev NEN F1 (micro) with the thresholds chosen for each variant',
            primaryF1: round(outcome.idFormsSelection.primaryF1),
            formsF1: round(outcome.idFormsSelection.formsF1),
          },
        }),
    dev: {
      ner: prfJson(outcome.ner.overall),
      ...(outcome.nen === undefined ? {} : { nen: prfJson(outcome.nen.overall) }),
      byType: Object.fromEntries(
        Object.entries(outcome.ner.byType).map(([type, ner]) => [
          type,
          {
            ner: prfJson(ner),
            ...(outcome.nen?.byType[type] === undefined
              ? {}
              : { nen: prfJson(outcome.nen.byType[type]) }),
          },
        ]),
      ),
    },
  };
}

/**
 * `--tune`: the model runs once over the dev split with the loosest settings of the grids;
 * the recognition steps and thresholds are chosen in memory (tune-normalization.ts) and
 * written to the model's normalization.json.
 */
async function tune(
  config: Config,
  options: EvalOptions,
  modelDir: string,
  log: (line: string) => void,
) {
  if (options.split !== 'dev') {
    throw new MedStreamError(
      'CONFIG_INVALID',
      `--tune chooses values on the dev split only (got --split ${options.split}); score the ` +
        'result on test with a separate run without --tune',
    );
  }
  if (!options.dictionary) {
    throw new MedStreamError(
      'CONFIG_INVALID',
      '--tune needs the dictionary (drop --no-dictionary)',
    );
  }
  const identity = await readManifestIdentity(modelDir);
  const types = CORPUS_TYPES[options.corpus];
  const typeOf = (type: string) => entityTypeOf(options.corpus, type);
  const train = await readSplit(config, options.corpus, 'train');
  const lexiconEntries = buildLexicon(
    train.map((d) => ({
      text: d.text,
      mentions: d.mentions.map((m) => ({ start: m.start, end: m.end, type: typeOf(m.type) })),
    })),
  ).filter((e) => types.includes(e.type));
  const resolver = await DictionaryMentionResolver.load(
    await ensureDictionary(
      config,
      dictionaryDirFor(config, options.split),
      log,
      dictionarySplitsFor(options.split),
    ),
  );
  const annotator = await loadAnnotator(config, {
    modelDir,
    resolver,
    normalization: defaultNormalizationConfig(identity),
    log,
  });
  const documents = await readSplit(config, options.corpus, options.split);
  const grids = DEFAULT_TUNING_GRIDS;
  const analyses: ArticleAnalysis[] = [];
  try {
    const settings = {
      lexicon: new MentionLexicon(lexiconEntries),
      marginalFloor: Math.min(...grids.marginalProbabilities),
      vocabularyFloor: Math.min(...grids.vocabularyProbabilities),
      vocabularyMaxTokens: DEFAULT_VOCABULARY_MAX_TOKENS,
    };
    for (let i = 0; i < documents.length; i += 64) {
      const batch = documents.slice(i, i + 64).map(documentAsArticle);
      analyses.push(...(await annotator.analyze(batch, settings)));
    }
  } finally {
    await annotator.close();
  }
  log(`model outputs computed for ${documents.length} documents; searching`);
  const gold: EvalDocument[] = documents.map((d) => ({
    pmid: d.pmid,
    mentions: d.mentions.map((m) => ({ ...m, type: typeOf(m.type) })),
  }));
  const idForms = trainingIdForms(
    train.map((d) => ({
      pmid: d.pmid,
      mentions: d.mentions
        .map((m) => ({ ...m, type: typeOf(m.type) }))
        .filter((m) => types.includes(m.type)),
    })),
    (id) => resolver.dictionary.canonicalId(id),
  );
  const outcome = tuneNormalization(
    documents.map((d, i) => ({ pmid: d.pmid, analysis: analyses[i] })),
    gold,
    {
      types,
      resolver,
      grids,
      lexicon: lexiconEntries,
      lexiconSource: `${options.corpus} train`,
      idForms,
    },
  );
  const out = resolve(options.tuneOut ?? join(modelDir, NORMALIZATION_FILE));
  const normalization: NormalizationConfig = {
    format: NORMALIZATION_FORMAT,
    model: identity,
    thresholds: outcome.thresholds,
    recognition: outcome.recognition,
    idForms: outcome.idForms === null ? null : { ...outcome.idForms },
    selection: selectionRecord(options, outcome, {
      documents: documents.length,
      trainDocuments: train.length,
      vocabularyVersion: resolver.vocabularyVersion,
    }),
  };
  await writeNormalizationConfig(out, normalization);
  log(`wrote ${relative(process.cwd(), out) || out}`);
  const summary = {
    model: `${identity.name}@${identity.version}`,
    corpus: options.corpus,
    split: options.split,
    written: out,
    steps: outcome.steps.map((s) => ({
      step: s.step,
      kept: s.kept,
      chosen: s.chosen,
      ner_before: short(s.before),
      ner_after: short(s.after),
    })),
    thresholds: outcome.thresholdSelections.map((t) => ({
      type: t.type,
      ...t.thresholds,
      nen_f1_default: round(t.defaultF1),
      nen_f1: round(t.f1),
    })),
    id_forms:
      outcome.idFormsSelection === undefined
        ? null
        : {
            kept: outcome.idForms !== null,
            nen_f1_primary: round(outcome.idFormsSelection.primaryF1),
            nen_f1_forms: round(outcome.idFormsSelection.formsF1),
          },
    ner: short(outcome.ner.overall),
    ...(outcome.nen === undefined ? {} : { nen: short(outcome.nen.overall) }),
  };
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const lines = [
    `${summary.model} tuned on ${options.corpus} dev (${documents.length} documents) → ${out}`,
    ...summary.steps.map(
      (s) =>
        `  ${s.step.padEnd(24)} ${s.kept ? `on  ${JSON.stringify(s.chosen)}` : 'off'}  NER F1 ${s.ner_before.f1.toFixed(4)} → ${s.ner_after.f1.toFixed(4)}`,
    ),
    ...summary.thresholds.map(
      (t) =>
        `  thresholds ${t.type.padEnd(13)} τ_model ${t.model} τ_tfidf ${t.tfidf} τ_fallback ${t.fallback}  NEN F1 ${t.nen_f1_default.toFixed(4)} → ${t.nen_f1.toFixed(4)}`,
    ),
    ...(summary.id_forms === null
      ? []
      : [
          `  training ID forms        ${summary.id_forms.kept ? 'on ' : 'off'}  NEN F1 ${summary.id_forms.nen_f1_primary.toFixed(4)} (primary IDs) vs ${summary.id_forms.nen_f1_forms.toFixed(4)} (forms)`,
        ]),
    `  dev NER F1 ${summary.ner.f1.toFixed(4)}${summary.nen === undefined ? '' : `, NEN F1 ${summary.nen.f1.toFixed(4)}`}`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description(
      'Score the served model (TypeScript inference path) on a corpus split, or choose its ' +
        'normalization.json on dev (--tune).',
    )
    .requiredOption('--corpus <name>', CORPUS_NAMES.join(' | '), oneOf(CORPUS_NAMES))
    .option('--split <name>', SPLIT_NAMES.join(' | '), oneOf(SPLIT_NAMES), 'test')
    .option('--model <dir>', 'served model directory (default: models/<corpus>-mtl)')
    .option('--no-dictionary', "use the model's concepts only, without the dictionary normalizer")
    .option(
      '--normalization <file>',
      "recognition steps and thresholds to score instead of the model's normalization.json; " +
        '`none` = the model as trained (Viterbi mentions, default thresholds)',
    )
    .option(
      '--tune',
      'choose recognition steps and thresholds on the dev split and write normalization.json',
    )
    .option('--tune-out <file>', 'where --tune writes (default: <model dir>/normalization.json)')
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
      if (options.tune === true) {
        await tune(config, options, modelDir, log);
        return;
      }
      const normalization = await chosenNormalization(
        options.normalization,
        await readManifestIdentity(modelDir),
      );
      const annotator = await loadAnnotator(config, {
        modelDir,
        dictionary: options.dictionary,
        dictionaryDir: dictionaryDirFor(config, options.split),
        dictionarySplits: dictionarySplitsFor(options.split),
        ...(normalization === undefined ? {} : { normalization }),
        log,
      });
      const documents = await readSplit(config, options.corpus, options.split);
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
        const steps = describeRecognition(annotator.normalization);
        await writeMetricsSection(
          options.metrics,
          `${options.corpus}:${options.split}:${variant}`,
          metricsMarkdown({
            title: `${options.corpus} ${options.split} — ${model}, normalization: ${variant}`,
            ner: result.ner,
            nen: result.nen,
            notes: [
              `${result.documents} documents; served ONNX model through the TypeScript inference path (${relative(process.cwd(), modelDir)}).`,
              `Post-processing: ${steps}.`,
              `Dictionary: ${annotator.resolver?.vocabularyVersion ?? 'none (model concepts only)'}.`,
              `Command: medstream eval --corpus ${options.corpus} --split ${options.split}${options.model === undefined ? '' : ` --model ${relative(process.cwd(), modelDir)}`}${options.dictionary ? '' : ' --no-dictionary'}${options.normalization === undefined ? '' : ` --normalization ${options.normalization}`}`,
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

/** One line naming the recognition steps and thresholds an evaluation ran with. */
export function describeRecognition(config: NormalizationConfig): string {
  const r = config.recognition;
  const steps: string[] = [];
  if (r.lexicon !== null) {
    steps.push(
      `training lexicon (ratio ≥ ${r.lexicon.minRatio}, ≥ ${r.lexicon.minAnnotated} annotations, ${r.lexicon.entries.length} names)`,
    );
  }
  if (r.vocabularySpans !== null) {
    steps.push(`vocabulary spans (CRF span score ≥ ${r.vocabularySpans.minProbability})`);
  }
  if (r.marginalSpans !== null) {
    steps.push(`marginal spans (score ≥ ${r.marginalSpans.minProbability})`);
  }
  if (r.abbreviationPropagation) steps.push('abbreviation propagation');
  if (r.consistencyPropagation !== 'off') {
    steps.push(`consistency propagation (${r.consistencyPropagation})`);
  }
  const thresholds = Object.entries(config.thresholds)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([type, t]) => `${type} τ_model ${t.model}/τ_tfidf ${t.tfidf}/τ_fallback ${t.fallback}`);
  return (
    `${steps.length === 0 ? 'Viterbi mentions only' : `Viterbi mentions + ${steps.join(' + ')}`}; ` +
    `thresholds ${thresholds.length === 0 ? 'default (combine.ts)' : thresholds.join(', ')} ` +
    `(${config.selection === undefined ? 'no normalization.json' : `${NORMALIZATION_FILE}, chosen on dev`})`
  );
}
