import { open } from 'node:fs/promises';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { DeadLetterInput } from '../../codec/records.js';
import { loadConfig } from '../../config/config.js';
import { MedStreamError } from '../../errors.js';
import { documentAsArticle } from '../../eval/evaluate-annotator.js';
import type { Annotator } from '../../processors/annotation/annotator.js';
import { loadAnnotator } from '../../processors/annotation/load-annotator.js';
import type { AnnotatedEvent } from '../../processors/in-process.js';
import { annotateInProcess } from '../../processors/in-process.js';
import { DeadLetterFile } from '../../producers/dead-letter-file.js';
import { checkInputFiles, parsePubmedFiles } from '../../producers/pubmed-xml/parse-files.js';
import type { InputFile } from '../../producers/pubmed-xml/parse-files.js';
import type { PubmedEvent } from '../../producers/pubmed-xml/parse-pubmed-xml.js';
import type { FileFormatName } from '../../sinks/files/file-format.js';
import { FILE_FORMAT_NAMES, fileFormat } from '../../sinks/files/file-format.js';
import type { DirectoryTarget, SingleFileTarget } from '../../sinks/files/file-sink.js';
import {
  DEFAULT_FILE_PREFIX,
  DEFAULT_ROTATE_BYTES,
  DEFAULT_ROTATE_RECORDS,
  FileSink,
} from '../../sinks/files/file-sink.js';
import { StreamSink } from '../../sinks/files/stream-sink.js';
import type { InProcessSinkStats } from '../../sinks/in-process-sink-driver.js';
import { throughSinks } from '../../sinks/in-process-sink-driver.js';
import type { SinkRejection } from '../../sinks/sink.js';
import { readPubTatorFile } from '../../text/pubtator-reader.js';
import { byteSize, oneOf, positiveInt } from '../option-parsers.js';

/**
 * `medstream annotate --input FILE… [--format pubtator|bioc|ndjson] [--out FILE | --out-dir DIR]`:
 * PubTator or PubMed XML in, annotated in-process, written through the file sinks
 * (src/sinks/files):
 * - no output option (or `--out -`): one document on stdout;
 * - `--out FILE`: one file, written as `FILE.part` and renamed over FILE when complete, so a
 *   failed run leaves any previous FILE as it was; deletions (PubMed update files) that the
 *   format cannot express go to `FILE.deletions.txt`;
 * - `--out-dir DIR`: rotating files `DIR/<prefix>-<seq>.<ext>` (`--rotate-records`,
 *   `--rotate-bytes`), each published complete; numbering continues after files already there,
 *   and `.part` files of a crashed run are recovered first.
 * Records are written in batches of MEDSTREAM_SINK_BATCH_RECORDS, each fsynced (file targets).
 * Dead letters (records the annotator or the writer refused) go to `--dead-letter FILE` when
 * given, else a note each on stderr; they are counted in the summary and do not change the
 * exit status. Option mistakes and missing inputs fail before the model is loaded (exit 2).
 */

export interface AnnotateOptions {
  input: string[];
  format: FileFormatName;
  out?: string;
  outDir?: string;
  filePrefix?: string;
  rotateRecords?: number;
  rotateBytes?: number;
  deadLetter?: string;
  model?: string;
  dictionary: boolean;
}

export type AnnotateOutput =
  { readonly kind: 'stdout' } | SingleFileTarget | Required<DirectoryTarget>;

/** Checks the output options together and fills in defaults; CONFIG_INVALID says what to change. */
export function annotateOutput(
  options: Omit<AnnotateOptions, 'input' | 'dictionary'>,
): AnnotateOutput {
  const invalid = (message: string) => new MedStreamError('CONFIG_INVALID', message);
  if (options.out !== undefined && options.outDir !== undefined) {
    throw invalid(
      '--out (one file) and --out-dir (a directory of rotating files) exclude each other; give one.',
    );
  }
  if (options.outDir === undefined) {
    const rotation = [
      options.rotateRecords === undefined ? undefined : '--rotate-records',
      options.rotateBytes === undefined ? undefined : '--rotate-bytes',
      options.filePrefix === undefined ? undefined : '--file-prefix',
    ].filter((o) => o !== undefined);
    if (rotation.length > 0) {
      throw invalid(
        `${rotation.join(' and ')} ${rotation.length === 1 ? 'applies' : 'apply'} only with --out-dir DIR.`,
      );
    }
    if (options.out === undefined || options.out === '-') return { kind: 'stdout' };
    if (options.out.trim() === '') throw invalid('--out needs a file name (or - for stdout).');
    return { kind: 'file', path: options.out };
  }
  if (options.outDir.trim() === '') throw invalid('--out-dir needs a directory name.');
  return {
    kind: 'directory',
    dir: options.outDir,
    prefix: options.filePrefix ?? DEFAULT_FILE_PREFIX,
    rotateRecords: options.rotateRecords ?? DEFAULT_ROTATE_RECORDS,
    rotateBytes: options.rotateBytes ?? DEFAULT_ROTATE_BYTES,
  };
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

async function* readInputs(files: readonly InputFile[]): AsyncGenerator<PubmedEvent> {
  for (const file of files) {
    if (await isXml(file.path)) {
      yield* parsePubmedFiles([file]);
    } else {
      for await (const doc of readPubTatorFile(file.path)) {
        yield { kind: 'article', article: { ...documentAsArticle(doc), source: file.path } };
      }
    }
  }
}

/** Dead letters keep at most this much of the refused record. */
const DEAD_LETTER_VALUE_BYTES = 64 * 1024;

/** A record the writer refused, as a dead letter (the article as JSON, truncated). */
export function rejectionDeadLetter(sinkName: string, rejection: SinkRejection): DeadLetterInput {
  const original = Buffer.from(
    JSON.stringify(rejection.record.article ?? { pmid: rejection.record.pmid }),
  );
  const value = original.subarray(0, DEAD_LETTER_VALUE_BYTES);
  return {
    key: Buffer.from(rejection.record.pmid),
    value,
    valueTruncated: value.length < original.length,
    valueSize: original.length,
    stage: `sink:${sinkName}`,
    errorCode: rejection.errorCode,
    message: rejection.message,
    source: null,
    position: null,
  };
}

function describeOutput(output: AnnotateOutput, sink: FileSink | StreamSink): string {
  if (output.kind === 'stdout' || !(sink instanceof FileSink)) return 'stdout';
  if (output.kind === 'file') return output.path;
  const files = sink.publishedFiles.length;
  return `${files} file${files === 1 ? '' : 's'} in ${output.dir}`;
}

export function registerAnnotateCommand(program: Command): void {
  program
    .command('annotate')
    .description(
      'Annotate PubTator or PubMed XML files in-process and write PubTator, BioC JSON or NDJSON.',
    )
    .requiredOption('--input <file...>', 'PubTator text or PubMed XML (.xml, .xml.gz) files')
    .option(
      '--format <format>',
      FILE_FORMAT_NAMES.join(' | '),
      oneOf(FILE_FORMAT_NAMES),
      'pubtator',
    )
    .option('--out <file>', 'one output file, replaced when complete (default: stdout)')
    .option('--out-dir <dir>', 'a directory of rotating output files, each published complete')
    .option(
      '--file-prefix <name>',
      `file name prefix with --out-dir (default: ${DEFAULT_FILE_PREFIX})`,
    )
    .option(
      '--rotate-records <n>',
      `records per file with --out-dir (default: ${DEFAULT_ROTATE_RECORDS})`,
      positiveInt,
    )
    .option(
      '--rotate-bytes <size>',
      `most bytes per file with --out-dir, e.g. 256M (default: ${DEFAULT_ROTATE_BYTES / 1024 ** 2}M)`,
      byteSize,
    )
    .option(
      '--dead-letter <file>',
      'append dead letters to this NDJSON file (default: stderr notes)',
    )
    .option('--model <dir>', 'served model directory (default: models/bc5cdr-mtl)')
    .option('--no-dictionary', "use the model's concepts only, without the dictionary normalizer")
    .action(async (options: AnnotateOptions) => {
      const config = loadConfig();
      const log = (line: string) => process.stderr.write(`medstream: ${line}\n`);
      const output = annotateOutput(options);
      const files = await checkInputFiles(options.input);
      const format = fileFormat(options.format);
      const sink =
        output.kind === 'stdout'
          ? new StreamSink(format, process.stdout)
          : new FileSink({ format, target: output, log });
      await sink.start();
      const deadLetterFile =
        options.deadLetter === undefined ? undefined : new DeadLetterFile(options.deadLetter);
      const rejections: { sink: string; rejection: SinkRejection }[] = [];
      const stats: InProcessSinkStats = { written: {}, deleted: {}, rejected: {} };
      const counts = { articles: 0, mentions: 0, deletes: 0, deadLetters: 0 };
      const deadLetter = async (record: DeadLetterInput): Promise<void> => {
        counts.deadLetters += 1;
        if (deadLetterFile !== undefined) await deadLetterFile.write(record);
        else
          log(
            `dead letter ${record.source ?? record.key?.toString() ?? '?'} [${record.errorCode}] ${record.message}`,
          );
      };
      const bar =
        process.stderr.isTTY === true
          ? new cliProgress.SingleBar(
              { stream: process.stderr, format: '{value} articles | {mentions} mentions', fps: 5 },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
      let annotator: Annotator | undefined;
      let started = performance.now();
      try {
        annotator = await loadAnnotator(config, {
          ...(options.model === undefined ? {} : { modelDir: options.model }),
          dictionary: options.dictionary,
          log,
        });
        started = performance.now();
        bar?.start(0, 0, { mentions: 0 });
        // Counted as they leave the annotator, so the progress bar moves per article while the
        // sink stores whole batches (MEDSTREAM_SINK_BATCH_RECORDS, one fsync each).
        const annotated = async function* (source: AsyncIterable<AnnotatedEvent>) {
          for await (const event of source) {
            if (event.kind === 'annotated') {
              counts.articles += 1;
              counts.mentions += event.record.mentions.length;
            } else if (event.kind === 'delete') counts.deletes += 1;
            bar?.update(counts.articles, { mentions: counts.mentions });
            yield event;
          }
        };
        const stored = throughSinks(
          annotated(annotateInProcess(readInputs(files), annotator)),
          [sink],
          {
            maxRecords: config.MEDSTREAM_SINK_BATCH_RECORDS,
            onRejected: (name, rejection) => rejections.push({ sink: name, rejection }),
          },
          stats,
        );
        for await (const event of stored) {
          for (const { sink: name, rejection } of rejections.splice(0)) {
            await deadLetter(rejectionDeadLetter(name, rejection));
          }
          if (event.kind === 'dead-letter') await deadLetter(event.record);
        }
        for (const { sink: name, rejection } of rejections.splice(0)) {
          await deadLetter(rejectionDeadLetter(name, rejection));
        }
        await sink.close();
      } catch (error) {
        // The file in progress keeps its .part name (the next run in the directory recovers
        // its acknowledged batches); `--out FILE` is left as it was before the run.
        if (sink instanceof FileSink) await sink.abandon();
        throw error;
      } finally {
        bar?.stop();
        await annotator?.close();
        await deadLetterFile?.close();
      }
      const seconds = (performance.now() - started) / 1000;
      const refused = stats.rejected[sink.name] ?? 0;
      log(
        `${counts.articles} articles annotated (${counts.mentions} mentions), ${counts.deletes} deletions, ` +
          `${counts.deadLetters} dead letters${refused > 0 ? ` (${refused} refused by the ${sink.name} writer)` : ''} ` +
          `in ${seconds.toFixed(1)} s (${(counts.articles / seconds).toFixed(1)} articles/s) → ${describeOutput(output, sink)}`,
      );
    });
}
