import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { AnnotatedArticle } from '../../codec/records.js';
import { loadConfig } from '../../config/config.js';
import { MedStreamError } from '../../errors.js';
import { loadConceptLookup } from '../../sinks/knowledge-graph/concept-lookup.js';
import { exportKnowledgeGraphCsv } from '../../sinks/knowledge-graph/csv-export.js';
import { checkInputFiles } from '../../producers/pubmed-xml/parse-files.js';

/**
 * `medstream export-graph`: annotated articles (NDJSON as `annotate --format ndjson` writes)
 * → CSV files for `neo4j-admin database import full`, the fast path for a back-fill. Deletion
 * lines are skipped (a bulk import starts from an empty database); stream later updates and
 * deletions through `medstream sink neo4j` after the import.
 */

interface ExportGraphOptions {
  input: string[];
  outDir: string;
  tempDir?: string;
}

async function* readAnnotated(
  paths: readonly string[],
  counts: { deletions: number },
): AsyncGenerator<AnnotatedArticle> {
  for (const file of await checkInputFiles(paths)) {
    const lines = createInterface({ input: createReadStream(file.path), crlfDelay: Infinity });
    let line = 0;
    for await (const text of lines) {
      line += 1;
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new MedStreamError('RECORD_INVALID', `${file.path}:${line}: not JSON`, {
          cause: error,
        });
      }
      if (typeof value !== 'object' || value === null || !('pmid' in value)) {
        throw new MedStreamError(
          'RECORD_INVALID',
          `${file.path}:${line}: not an annotated article`,
        );
      }
      if ('deleted' in value && value.deleted === true) {
        counts.deletions += 1;
        continue;
      }
      yield value as AnnotatedArticle;
    }
  }
}

export function registerExportGraphCommand(program: Command): void {
  program
    .command('export-graph')
    .description('Annotated NDJSON → CSV files for neo4j-admin database import (back-fills).')
    .requiredOption('--input <file...>', 'NDJSON files of annotated articles')
    .requiredOption('--out-dir <dir>', 'where the CSV files go')
    .option('--temp-dir <dir>', 'scratch space for counting concept pairs (default: --out-dir)')
    .action(async (options: ExportGraphOptions) => {
      const config = loadConfig();
      const log = (line: string): void => {
        process.stderr.write(`medstream export-graph: ${line}\n`);
      };
      const counts = { deletions: 0 };
      let rejected = 0;
      const summary = await exportKnowledgeGraphCsv(readAnnotated(options.input, counts), {
        dir: options.outDir,
        conceptLookup: await loadConceptLookup(config, log),
        ...(options.tempDir === undefined ? {} : { tempDir: options.tempDir }),
        onRejected: (pmid, error) => {
          rejected += 1;
          log(`left out PMID ${pmid}: ${error.message} [${error.code}]`);
        },
      });
      log(
        `${summary.articles} articles, ${summary.concepts} concepts, ${summary.mentions} MENTIONS, ` +
          `${summary.coOccurrences} CO_OCCURS (${summary.skippedPairs} pairs over the per-article cap), ` +
          `${rejected} left out, ${counts.deletions} deletion lines skipped`,
      );
      process.stdout.write(`neo4j-admin ${summary.importArguments.join(' ')}\n`);
    });
}
