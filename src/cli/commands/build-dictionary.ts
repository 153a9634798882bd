import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { MedStreamError } from '../../errors.js';
import { buildDictionary } from '../../processors/normalization/dictionary-builder.js';
import { writeDictionary } from '../../processors/normalization/dictionary-store.js';
import { CORPUS_NAMES, SPLIT_NAMES } from '../../text/training-export.js';
import type { CorpusName, SplitName } from '../../text/training-export.js';

interface BuildDictionaryCliOptions {
  out: string;
  corpora: string;
  splits: string;
}

function parseList<T extends string>(value: string, allowed: readonly T[], what: string): T[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const item of items) {
    if (!allowed.includes(item as T)) {
      throw new MedStreamError(
        'CONFIG_INVALID',
        `unknown ${what} '${item}' (choose from ${allowed.join(', ')})`,
      );
    }
  }
  return items as T[];
}

/**
 * `medstream build-dictionary`: compiles the normalization dictionary (vocabularies under the
 * data root + training mentions of the chosen corpus splits) into OUT/dictionary.json.gz and
 * OUT/dictionary-manifest.json, and prints the manifest as JSON. The default splits are train
 * and dev (what the final model is trained on); never include test when evaluating on it.
 */
export function registerBuildDictionaryCommand(
  program: Command,
  stdout: Pick<NodeJS.WritableStream, 'write'> = process.stdout,
): void {
  program
    .command('build-dictionary')
    .description('Compile the concept dictionary (CTD MEDIC, MeSH, DisMaNET, training mentions).')
    .requiredOption('--out <dir>', 'output directory (created; keep it out of git, e.g. .cache/)')
    .option(
      '--corpora <list>',
      `comma-separated corpora whose mentions are added (${CORPUS_NAMES.join(', ')}; empty = none)`,
      CORPUS_NAMES.join(','),
    )
    .option(
      '--splits <list>',
      `comma-separated splits of those corpora (${SPLIT_NAMES.join(', ')})`,
      'train,dev',
    )
    .action(async (options: BuildDictionaryCliOptions) => {
      const corpora = parseList<CorpusName>(options.corpora, CORPUS_NAMES, 'corpus');
      const splits = parseList<SplitName>(options.splits, SPLIT_NAMES, 'split');
      const config = loadConfig();
      const built = await buildDictionary({ dataRoot: config.dataRoot, corpora, splits });
      const manifest = await writeDictionary(resolve(options.out), built);
      stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
    });
}
