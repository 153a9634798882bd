import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config/config.js';
import { MedStreamError } from '../../errors.js';
import type { ExecutionProvider } from '../../model/onnx-session.js';
import { buildDictionary } from '../normalization/dictionary-builder.js';
import { DICTIONARY_MANIFEST_FILE } from '../normalization/dictionary-data.js';
import { readDictionaryManifest, writeDictionary } from '../normalization/dictionary-store.js';
import { DictionaryMentionResolver } from '../normalization/mention-resolver.js';
import type { NormalizationConfig } from '../normalization/normalization-config.js';
import { CORPUS_NAMES } from '../../text/training-export.js';
import type { SplitName } from '../../text/training-export.js';
import { OnnxAnnotator } from './onnx-annotator.js';

/** The served model the product uses by default (diseases + chemicals). */
export const DEFAULT_MODEL_DIR = fileURLToPath(
  new URL('../../../models/bc5cdr-mtl/', import.meta.url),
);

export interface AnnotatorChoice {
  modelDir?: string;
  /** false: the model's concepts only, no dictionary. */
  dictionary?: boolean;
  dictionaryDir?: string;
  /** Corpus splits whose mentions the dictionary holds (default train and dev). */
  dictionarySplits?: readonly SplitName[];
  /** Post-processing of the model; default: the model directory's normalization.json. */
  normalization?: NormalizationConfig;
  /** An already loaded resolver (its dictionary also serves concept names to the caller). */
  resolver?: DictionaryMentionResolver;
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
  log?: (line: string) => void;
}

/**
 * The normalization dictionary is derived from the vocabularies under the data root (never
 * committed): built once into the cache, reused afterwards. `splits` are the corpus splits whose
 * mentions it holds: train and dev for serving and for scores on test; train only for scores on
 * dev (a dictionary holding the dev mentions would make dev scores optimistic and thresholds
 * chosen on them too trusting of the dictionary). A directory built from other splits is an
 * error, never silently reused.
 */
export async function ensureDictionary(
  config: Config,
  dir = join(config.cacheDir, 'dictionary'),
  log: (line: string) => void = () => undefined,
  splits: readonly SplitName[] = ['train', 'dev'],
): Promise<string> {
  if (existsSync(join(dir, DICTIONARY_MANIFEST_FILE))) {
    const built = (await readDictionaryManifest(dir)).splits;
    if ([...built].sort().join(',') !== [...splits].sort().join(',')) {
      throw new MedStreamError(
        'CONFIG_INVALID',
        `the dictionary in ${dir} holds the mentions of ${built.join('+')}, ${splits.join('+')} ` +
          `was asked for: delete ${dir} or build one with medstream build-dictionary --splits ` +
          `${splits.join(',')} --out DIR`,
      );
    }
    return dir;
  }
  if (!existsSync(config.dataRoot)) {
    throw new MedStreamError(
      'CONFIG_INVALID',
      `no normalization dictionary in ${dir} and no data root at ${config.dataRoot} to build ` +
        'one from: set MEDSTREAM_DATA or run `medstream build-dictionary --out DIR`',
    );
  }
  log(
    `building the normalization dictionary (${splits.join('+')}) from ${config.dataRoot} into ${dir}`,
  );
  // Never the test split: it stays unseen for evaluation.
  await writeDictionary(
    dir,
    await buildDictionary({
      dataRoot: config.dataRoot,
      corpora: CORPUS_NAMES,
      splits: splits.filter((split) => split !== 'test'),
    }),
  );
  return dir;
}

export async function loadAnnotator(
  config: Config,
  choice: AnnotatorChoice = {},
): Promise<OnnxAnnotator> {
  const modelDir = resolve(choice.modelDir ?? DEFAULT_MODEL_DIR);
  const resolver =
    choice.dictionary === false
      ? undefined
      : (choice.resolver ??
        (await DictionaryMentionResolver.load(
          await ensureDictionary(config, choice.dictionaryDir, choice.log, choice.dictionarySplits),
        )));
  return OnnxAnnotator.create({
    modelDir,
    session: {
      executionProvider: choice.executionProvider ?? 'cpu',
      ...(choice.intraOpThreads === undefined ? {} : { intraOpThreads: choice.intraOpThreads }),
    },
    ...(resolver === undefined ? {} : { resolver }),
    ...(choice.normalization === undefined ? {} : { normalization: choice.normalization }),
  });
}
