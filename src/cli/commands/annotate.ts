import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Command } from 'commander';
import { oneOf } from '../option-parsers.js';
import cliProgress from 'cli-progress';
import { loadConfig } from '../../config/config.js';
import { documentAsArticle } from '../../eval/evaluate-annotator.js';
import { loadAnnotator } from '../../processors/annotation/load-annotator.js';
import type { AnnotatedEvent } from '../../processors/in-process.js';
import { annotateInProcess } from '../../processors/in-process.js';
import { checkInputFiles, parsePubmedFiles } from '../../producers/pubmed-xml/parse-files.js';
import type { PubmedEvent } from '../../producers/pubmed-xml/parse-pubmed-xml.js';
import { formatPubTator } from '../../sinks/files/pubtator-format.js';
import { toDeadLetter } from '../../codec/records.js';
import { deadLetterToJson } from '../../producers/dead-letter-file.js';
import { readPubTatorFile } from '../../text/pubtator-reader.js';

const FORMATS = ['pubtator', 'ndjson'] as const;
type OutputFormat = (typeof FORMATS)[number];

interface AnnotateOptions {
  input: string[];
  format: OutputFormat;
  out?: string;
  model?: string;
  dictionary: boolean;
}

/** PubMed XML (plain or gzip) starts with `<` or the gzip magic; anything else is PubTator. */
async function isXml(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(64), 0, 64, 0);
    const head = buffer.subarray(0, bytesRead);
    if (head[0] === 0x1f && head[1] === 0x8b) return true;
    return head.toString('utf8').trimStart().startsWith('<');
  } finally {
    await handle.close();
  }
}

async function* readInputs(paths: readonly string[]): AsyncGenerator<PubmedEvent> {
  for (const file of await checkInputFiles(paths)) {
    if (await isXml(file.path)) {
      yield* parsePubmedFiles([file]);
    } else {
      for await (const doc of readPubTatorFile(file.path)) {
        yield { kind: 'article', article: { ...documentAsArticle(doc), source: file.path } };
      }
    }
  }
}

function render(event: AnnotatedEvent, format: OutputFormat): string {
  if (format === 'pubtator') return event.kind === 'annotated' ? formatPubTator(event.record) : '';
  if (event.kind === 'annotated') return `${JSON.stringify(event.record)}\n`;
  if (event.kind === 'delete') return `${JSON.stringify({ pmid: event.pmid, deleted: true })}\n`;
  return `${JSON.stringify({ deadLetter: deadLetterToJson(toDeadLetter(event.record)) })}\n`;
}

export function registerAnnotateCommand(program: Command): void {
  program
    .command('annotate')
    .description('Annotate PubTator or PubMed XML files in-process and write PubTator or NDJSON.')
    .requiredOption('--input <file...>', 'PubTator text or PubMed XML (.xml, .xml.gz) files')
    .option('--format <format>', FORMATS.join(' | '), oneOf(FORMATS), 'pubtator')
    .option('--out <file>', 'output file (default: stdout)')
    .option('--model <dir>', 'served model directory (default: models/bc5cdr-mtl)')
    .option('--no-dictionary', "use the model's concepts only, without the dictionary normalizer")
    .action(async (options: AnnotateOptions) => {
      const config = loadConfig();
      const log = (line: string) => process.stderr.write(`medstream: ${line}\n`);
      const annotator = await loadAnnotator(config, {
        ...(options.model === undefined ? {} : { modelDir: options.model }),
        dictionary: options.dictionary,
        log,
      });
      const out = options.out === undefined ? process.stdout : createWriteStream(options.out);
      const bar =
        process.stderr.isTTY === true
          ? new cliProgress.SingleBar(
              { stream: process.stderr, format: '{value} articles | {mentions} mentions', fps: 5 },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
      bar?.start(0, 0, { mentions: 0 });
      const counts = { articles: 0, mentions: 0, deletes: 0, deadLetters: 0 };
      const started = performance.now();
      try {
        for await (const event of annotateInProcess(readInputs(options.input), annotator)) {
          if (event.kind === 'annotated') {
            counts.articles += 1;
            counts.mentions += event.record.mentions.length;
          } else if (event.kind === 'delete') counts.deletes += 1;
          else counts.deadLetters += 1;
          const text = render(event, options.format);
          if (text.length > 0 && !out.write(text)) await once(out, 'drain');
          bar?.update(counts.articles, { mentions: counts.mentions });
        }
      } finally {
        bar?.stop();
        await annotator.close();
        if (out !== process.stdout) {
          out.end();
          await once(out, 'finish');
        }
      }
      const seconds = (performance.now() - started) / 1000;
      log(
        `${counts.articles} articles annotated (${counts.mentions} mentions), ${counts.deletes} deletions, ` +
          `${counts.deadLetters} dead letters in ${seconds.toFixed(1)} s ` +
          `(${(counts.articles / seconds).toFixed(1)} articles/s)`,
      );
    });
}
