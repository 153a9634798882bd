import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { Option } from 'commander';
import { MedStreamError } from '../../errors.js';
import type { DeadLetterInput } from '../../codec/records.js';
import { DeadLetterFile } from '../../producers/dead-letter-file.js';
import { checkInputFiles, parsePubmedFiles } from '../../producers/pubmed-xml/parse-files.js';

/**
 * `medstream parse --input FILE… [--dead-letter FILE]`: PubMed XML (.xml / .xml.gz) → one
 * Article JSON per line on stdout (a deletion as `{"pmid":"…","deleted":true}`), without
 * Kafka. Rejected records go to the dead-letter NDJSON file when one is given, else a one-line
 * note each on stderr; either way they are counted in the summary printed on stderr, and they
 * do not change the exit status (0). A missing input fails before anything is read (exit 2).
 */

export interface ParseCommandOptions {
  input: string[];
  format: 'ndjson';
  deadLetter?: string;
}

export interface ParseSummary {
  files: number;
  articles: number;
  deletions: number;
  deadLetters: number;
  seconds: number;
}

/** Resolves on 'drain', or when the stream closes or fails (then nothing will drain). */
export function drained(stream: NodeJS.EventEmitter): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Batches lines and honours the pipe's backpressure; stops quietly when the reader goes away. */
class LineWriter {
  private buffer: string[] = [];
  private size = 0;
  private failure: Error | null = null;
  closedByReader = false;

  constructor(private readonly out: NodeJS.WriteStream) {
    out.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') this.closedByReader = true;
      else this.failure = error;
    });
  }

  async line(text: string): Promise<void> {
    if (this.failure !== null) {
      throw new MedStreamError(
        'OUTPUT_WRITE_FAILED',
        `Cannot write to stdout: ${this.failure.message}`,
        {
          cause: this.failure,
        },
      );
    }
    this.buffer.push(text, '\n');
    this.size += text.length + 1;
    if (this.size >= 64 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0 || this.closedByReader) return;
    const chunk = this.buffer.join('');
    this.buffer = [];
    this.size = 0;
    if (!this.out.write(chunk)) await drained(this.out);
  }
}

function describeDeadLetter(record: DeadLetterInput): string {
  const where =
    record.position === null
      ? ''
      : `:${record.position.line ?? '?'} (byte ${record.position.byteOffset})`;
  return `medstream parse: dead letter ${record.source ?? '?'}${where} [${record.errorCode}] ${record.message}\n`;
}

export async function runParse(options: ParseCommandOptions): Promise<ParseSummary> {
  const started = performance.now();
  const files = await checkInputFiles(options.input);
  const totalBytes = files.reduce((sum, file) => sum + file.bytes, 0);
  const deadLetterFile =
    options.deadLetter === undefined ? undefined : new DeadLetterFile(options.deadLetter);
  const out = new LineWriter(process.stdout);
  const summary: ParseSummary = {
    files: files.length,
    articles: 0,
    deletions: 0,
    deadLetters: 0,
    seconds: 0,
  };

  const bar =
    process.stderr.isTTY === true
      ? new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format:
              'parse [{bar}] {percentage}% | {value}/{total} MB | {articles} articles | {deadLetters} dead letters',
            hideCursor: true,
            clearOnComplete: true,
            fps: 5,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  let bytesRead = 0;
  const mb = (bytes: number): number => Math.round(bytes / 1e5) / 10;
  bar?.start(mb(totalBytes), 0, { articles: 0, deadLetters: 0 });

  try {
    const events = parsePubmedFiles(files, {
      onBytesRead: (bytes) => {
        bytesRead += bytes;
        bar?.update(mb(bytesRead), {
          articles: summary.articles,
          deadLetters: summary.deadLetters,
        });
      },
    });
    for await (const event of events) {
      if (out.closedByReader) break;
      switch (event.kind) {
        case 'article':
          summary.articles++;
          await out.line(JSON.stringify(event.article));
          break;
        case 'delete':
          summary.deletions++;
          await out.line(JSON.stringify({ pmid: event.pmid, deleted: true }));
          break;
        case 'dead-letter':
          summary.deadLetters++;
          if (deadLetterFile === undefined) {
            bar?.stop();
            process.stderr.write(describeDeadLetter(event.record));
          } else {
            await deadLetterFile.write(event.record);
          }
          break;
      }
    }
    await out.flush();
  } finally {
    bar?.stop();
    await deadLetterFile?.close();
  }
  summary.seconds = Math.round(performance.now() - started) / 1000;
  return summary;
}

export function registerParseCommand(program: Command): void {
  program
    .command('parse')
    .description(
      'Parse PubMed XML (.xml or .xml.gz) into Article records, one JSON per line, without Kafka.',
    )
    .requiredOption('-i, --input <file>', 'input file (repeat for several)', collect)
    .addOption(
      new Option('--format <format>', 'output format').choices(['ndjson']).default('ndjson'),
    )
    .option(
      '--dead-letter <file>',
      'append rejected records to this NDJSON file (raw bytes in base64)',
    )
    .action(async (options: ParseCommandOptions) => {
      const summary = await runParse(options);
      process.stderr.write(
        `medstream parse: ${summary.articles} articles, ${summary.deletions} deletions, ` +
          `${summary.deadLetters} dead letters from ${summary.files} file${summary.files === 1 ? '' : 's'} ` +
          `in ${summary.seconds.toFixed(1)} s${options.deadLetter === undefined || summary.deadLetters === 0 ? '' : ` (dead letters in ${options.deadLetter})`}\n`,
      );
    });
}
