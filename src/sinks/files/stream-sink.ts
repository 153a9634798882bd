import { MedStreamError } from '../../errors.js';
import type { Sink, SinkRecord, SinkRejection, SinkWriteResult } from '../sink.js';
import type { FileFormat } from './file-format.js';
import { recordProblem } from './record-check.js';

/**
 * A file format written to a stream — stdout for `medstream annotate` without `--out` — as
 * one document with no rotation: the format's opening before the first write, its closing at
 * `close()` (an empty BioC collection when nothing was written), so the stream is always one
 * valid file. `write()` resolves once the batch is handed to the stream and the stream has
 * drained (the pipe's backpressure), which is all a pipe can acknowledge. The stream is not
 * ended (stdout stays open for the process).
 *
 * Deletions: NDJSON writes them in line; PubTator and BioC cannot express them and a stream
 * has no place for a sidecar, so they are returned as rejections (RECORD_INVALID, saying to
 * write to a file instead) rather than dropped unseen. Invalid records are rejected as by the
 * file sink (record-check.ts). A stream error (EPIPE when the reader went away, a full disk
 * behind a redirect) is OUTPUT_WRITE_FAILED for this and every later write.
 */
export class StreamSink implements Sink {
  readonly name: string;
  private opened = false;
  private closed = false;
  private documents = 0;
  private failure: Error | undefined;
  private readonly onError = (error: Error): void => {
    this.failure ??= error;
  };

  constructor(
    private readonly format: FileFormat,
    private readonly stream: NodeJS.WritableStream,
    private readonly description = 'stdout',
  ) {
    this.name = format.name;
  }

  start(): Promise<void> {
    this.stream.on('error', this.onError);
    return Promise.resolve();
  }

  async write(records: readonly SinkRecord[], signal: AbortSignal): Promise<SinkWriteResult> {
    if (this.closed) throw new MedStreamError('INTERNAL', `${this.name} stream sink is closed`);
    this.throwIfFailed();
    signal.throwIfAborted();
    const rejected: SinkRejection[] = [];
    const parts: string[] = [];
    let written = 0;
    let deleted = 0;
    for (const record of records) {
      const problem =
        recordProblem(record) ??
        (record.article === null ? undefined : this.format.problem(record.article));
      if (problem !== undefined) {
        rejected.push({
          record,
          errorCode: 'RECORD_INVALID',
          message: `${record.pmid}: ${problem}`,
        });
        continue;
      }
      if (record.article === null) {
        const line = this.format.deletion(record.pmid);
        if (line === undefined) {
          rejected.push({
            record,
            errorCode: 'RECORD_INVALID',
            message: `${record.pmid}: a deletion cannot be written as ${this.name} to ${this.description}; write to a file to get a deletions sidecar`,
          });
          continue;
        }
        parts.push(line);
        deleted += 1;
      } else {
        parts.push(this.format.document(record.article, this.documents === 0));
        this.documents += 1;
        written += 1;
      }
    }
    if (parts.length > 0) await this.send(this.openingOnce() + parts.join(''));
    return { written, deleted, rejected };
  }

  /** Writes the closing (and the opening if nothing was written); idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.failure === undefined) {
        const text = this.openingOnce() + this.format.closing();
        if (text !== '') await this.send(text);
      }
    } finally {
      this.stream.off('error', this.onError);
    }
  }

  private openingOnce(): string {
    if (this.opened) return '';
    this.opened = true;
    return this.format.opening();
  }

  private async send(text: string): Promise<void> {
    if (!this.stream.write(text)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.stream.off('drain', done);
          this.stream.off('close', done);
          this.stream.off('error', done);
          resolve();
        };
        this.stream.on('drain', done);
        this.stream.on('close', done);
        this.stream.on('error', done);
      });
    }
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) {
      throw new MedStreamError(
        'OUTPUT_WRITE_FAILED',
        `Writing ${this.name} to ${this.description} failed: ${this.failure.message}`,
        { cause: this.failure },
      );
    }
  }
}
