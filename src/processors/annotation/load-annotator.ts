import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config/config.js';
import { MedStreamError } from '../../errors.js';
import type { ExecutionProvider } from '../../model/onnx-session.js';
import { buildDictionary } from '../normalization/dictionary-builder.js';
import { DICTIONARY_MANIFEST_FILE } from '../normalization/dictionary-data.js';
import { writeDictionary } from '../normalization/dictionary-store.js';
import { DictionaryMentionResolver } from '../normalization/mention-resolver.js';
import { CORPUS_NAMES } from '../../text/training-export.js';
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
  /** An already loaded resolver (its dictionary also serves concept names to the caller). */
  resolver?: DictionaryMentionResolver;
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
  log?: (line: string) => void;
}

/**
 * The normalization dictionary is derived from the vocabularies under the data root (never
 * committed): built once into the cache, reused afterwards.
 */
export async function ensureDictionary(
  config: Config,
  dir = join(config.cacheDir, 'dictionary'),
  log: (line: string) => void = () => undefined,
): Promise<string> {
  if (existsSync(join(dir, DICTIONARY_MANIFEST_FILE))) return dir;
  if (!existsSync(config.dataRoot)) {
    throw new MedStreamError(
      'CONFIG_INVALID',
      `no normalization dictionary in ${dir} and no data root at ${config.dataRoot} to build ` +
        'one from: set MEDSTREAM_DATA or run `medstream build-dictionary --out DIR`',
    );
  }
  log(`building the normalization dictionary from ${config.dataRoot} into ${dir}`);
  // Train and dev mentions only: test splits stay unseen for evaluation.
  await writeDictionary(
    dir,
    await buildDictionary({
      dataRoot: config.dataRoot,
      corpora: CORPUS_NAMES,
      splits: ['train', 'dev'],
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
          await ensureDictionary(config, choice.dictionaryDir, choice.log),
        )));
  return OnnxAnnotator.create({
    modelDir,
    session: {
      executionProvider: choice.executionProvider ?? 'cpu',
      ...(choice.intraOpThreads === undefined ? {} : { intraOpThreads: choice.intraOpThreads }),
    },
    ...(resolver === undefined ? {} : { resolver }),
  });
}
