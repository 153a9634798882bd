import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { MedStreamError } from '../../errors.js';
import type { CombineThresholds } from './combine.js';

/**
 * The post-processing a served model is run with, chosen on its corpus's dev split and stored
 * next to it as `models/<name>/normalization.json` (written by `medstream eval --split dev
 * --tune`). The annotator loads it with the model, so the processor, the CLI and the
 * evaluation all apply the same steps with the same thresholds. Without the file the model is
 * served as trained: Viterbi mentions only, the default thresholds of combine.ts.
 *
 * - `thresholds`: τ_model, τ_tfidf, τ_fallback of the combination rule (combine.ts) per entity
 *   type; a type not listed keeps `thresholdsFor(type)`.
 * - `recognition`: the steps that add mentions to the model's Viterbi mentions (recognition.ts
 *   applies them in this order; each only where no mention overlaps yet; null/false = off):
 *   1. `lexicon`: training names with annotation ratio ≥ `minRatio` and at least
 *      `minAnnotated` training annotations (mention-lexicon.ts); `entries` are exactly the
 *      names kept, as [key, type, annotated, occurrences];
 *   2. `vocabularySpans`: spans of at most `maxTokens` tokens whose text is a dictionary name of
 *      a type (exact tier-1 key; concepts typed with that type) and whose CRF span score for
 *      that type (marginal-spans.ts) is ≥ `minProbability`: the dictionary proposes the
 *      boundaries, the model's marginals confirm the type;
 *   3. `marginalSpans`: spans from the CRF marginals alone with score ≥ `minProbability`;
 *   4. `abbreviationPropagation` and 5. `consistencyPropagation` (`exact` or `ignore-case`
 *      string matches; mention-propagation.ts).
 * - `idForms`: concept ID → the form the corpus's annotators write it in, where that differs
 *   from the dictionary's primary ID (NCBI-disease writes many MEDIC concepts by their OMIM
 *   alternative ID, e.g. `MESH:C566443` as `OMIM:610102`): the most frequent form of the
 *   concept's training annotations. Applied to every decided ID; null = primary IDs.
 * - `selection`: how the values were chosen (corpus, split, dictionary, grids, dev scores per
 *   step); informative, not read by the serving path.
 */
export const NORMALIZATION_FILE = 'normalization.json';
export const NORMALIZATION_FORMAT = 'medstream-normalization/1';

const probability = z.number().min(0).max(1);

const ThresholdsSchema = z.object({
  model: probability,
  tfidf: probability,
  fallback: probability,
});

const LexiconSchema = z.object({
  minRatio: probability,
  minAnnotated: z.number().int().min(1),
  /** Where the counts come from, e.g. `bc5cdr train`. */
  source: z.string(),
  entries: z.array(
    z.tuple([
      z.string().min(1),
      z.string().min(1),
      z.number().int().min(1),
      z.number().int().min(1),
    ]),
  ),
});

const RecognitionSchema = z.object({
  lexicon: LexiconSchema.nullable().default(null),
  vocabularySpans: z
    .object({ minProbability: probability, maxTokens: z.number().int().min(1).max(16) })
    .nullable()
    .default(null),
  marginalSpans: z.object({ minProbability: probability }).nullable().default(null),
  abbreviationPropagation: z.boolean().default(false),
  consistencyPropagation: z.enum(['off', 'exact', 'ignore-case']).default('off'),
});

const NormalizationSchema = z.object({
  format: z.literal(NORMALIZATION_FORMAT),
  model: z.object({ name: z.string(), version: z.string() }),
  thresholds: z.record(z.string(), ThresholdsSchema).default({}),
  recognition: RecognitionSchema.default({
    lexicon: null,
    vocabularySpans: null,
    marginalSpans: null,
    abbreviationPropagation: false,
    consistencyPropagation: 'off',
  }),
  idForms: z.record(z.string(), z.string()).nullable().default(null),
  selection: z.record(z.string(), z.unknown()).optional(),
});

export type RecognitionConfig = z.output<typeof RecognitionSchema>;
export type LexiconConfig = z.output<typeof LexiconSchema>;
export type NormalizationConfig = z.output<typeof NormalizationSchema>;
export type ThresholdsByType = Readonly<Record<string, CombineThresholds>>;

/** Recognition as the model was trained: Viterbi mentions only. */
export const VITERBI_ONLY: RecognitionConfig = Object.freeze({
  lexicon: null,
  vocabularySpans: null,
  marginalSpans: null,
  abbreviationPropagation: false,
  consistencyPropagation: 'off',
});

/** The configuration of a model directory without a normalization file. */
export function defaultNormalizationConfig(model: {
  name: string;
  version: string;
}): NormalizationConfig {
  return {
    format: NORMALIZATION_FORMAT,
    model: { name: model.name, version: model.version },
    thresholds: {},
    recognition: VITERBI_ONLY,
    idForms: null,
  };
}

/** Validates parsed JSON; MODEL_INVALID with the first problem otherwise. */
export function parseNormalizationConfig(value: unknown, path: string): NormalizationConfig {
  const parsed = NormalizationSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MedStreamError(
      'MODEL_INVALID',
      `${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}; regenerate it with ` +
        '`medstream eval --split dev --tune` or delete it to serve the model without it',
    );
  }
  for (const t of Object.values(parsed.data.thresholds)) {
    if (t.fallback > t.model) {
      throw new MedStreamError(
        'MODEL_INVALID',
        `${path}: τ_fallback ${t.fallback} above τ_model ${t.model} (step 4 of the rule would never apply)`,
      );
    }
  }
  return parsed.data;
}

/**
 * The normalization file of a model directory, checked against the model it belongs to
 * (values chosen for another model or version do not carry over: the model's probabilities
 * are what the thresholds cut). The default configuration when the file is absent.
 */
export async function loadNormalizationConfig(
  modelDir: string,
  model: { name: string; version: string },
): Promise<NormalizationConfig> {
  const path = join(modelDir, NORMALIZATION_FILE);
  if (!existsSync(path)) return defaultNormalizationConfig(model);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new MedStreamError('MODEL_INVALID', `${path} is not readable JSON`, { cause: error });
  }
  const config = parseNormalizationConfig(json, path);
  if (config.model.name !== model.name || config.model.version !== model.version) {
    throw new MedStreamError(
      'MODEL_INVALID',
      `${path} was chosen for ${config.model.name}@${config.model.version}, the model is ` +
        `${model.name}@${model.version}: re-run \`medstream eval --split dev --tune\``,
    );
  }
  return config;
}

/** Writes the file atomically (temporary name, then rename), pretty-printed. */
export async function writeNormalizationConfig(
  path: string,
  config: NormalizationConfig,
): Promise<void> {
  const checked = parseNormalizationConfig(config, path);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${formatConfig(checked)}\n`);
  await rename(tmp, path);
}

/** JSON with two-space indentation, except that each lexicon entry stays on one line. */
function formatConfig(config: NormalizationConfig): string {
  const entries = config.recognition.lexicon?.entries;
  if (entries === undefined) return JSON.stringify(config, null, 2);
  const marker = '\u0000lexicon-entries\u0000';
  const withMarker = {
    ...config,
    recognition: {
      ...config.recognition,
      lexicon: { ...config.recognition.lexicon, entries: marker },
    },
  };
  const text = JSON.stringify(withMarker, null, 2);
  const lines = entries.map((e) => `        ${JSON.stringify(e)}`).join(',\n');
  return text.replace(JSON.stringify(marker), entries.length === 0 ? '[]' : `[\n${lines}\n      ]`);
}
