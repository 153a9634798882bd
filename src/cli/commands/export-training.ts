import { resolve } from 'node:path';
import { Option } from 'commander';
import type { Command } from 'commander';
import { loadConfig } from '../../config/config.js';
import { TAG_SCHEMES } from '../../text/tag-scheme.js';
import type { TagScheme } from '../../text/tag-scheme.js';
import { CORPUS_NAMES, SPLIT_NAMES, exportTraining } from '../../text/training-export.js';
import type { CorpusName, SplitName } from '../../text/training-export.js';

interface ExportTrainingOptions {
  corpus: CorpusName;
  split: SplitName | 'all';
  scheme: TagScheme;
  out: string;
}

/**
 * `medstream export-training`: corpus → token JSONL for the Python trainers (the only way
 * training data is tokenized; see src/text/training-export.ts for the format). Prints the
 * summary (also written to OUT/summary.json) as JSON on stdout.
 */
export function registerExportTrainingCommand(
  program: Command,
  stdout: Pick<NodeJS.WritableStream, 'write'> = process.stdout,
): void {
  program
    .command('export-training')
    .description('Export a PubTator corpus as token JSONL (tokens, offsets, BIO/BIOES tags).')
    .addOption(
      new Option('--corpus <name>', 'corpus under <data root>/corpora')
        .choices(CORPUS_NAMES)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--split <split>', 'split to export; all = one file per split')
        .choices([...SPLIT_NAMES, 'all'])
        .default('all'),
    )
    .addOption(new Option('--scheme <scheme>', 'tag scheme').choices(TAG_SCHEMES).default('bio'))
    .requiredOption('--out <dir>', 'output directory (created; keep it out of git)')
    .action(async (options: ExportTrainingOptions) => {
      const config = loadConfig();
      const summary = await exportTraining({
        dataRoot: config.dataRoot,
        corpus: options.corpus,
        splits: options.split === 'all' ? SPLIT_NAMES : [options.split],
        scheme: options.scheme,
        outDir: resolve(options.out),
      });
      stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    });
}
