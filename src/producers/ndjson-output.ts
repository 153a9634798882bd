import { once } from 'node:events';
import { mkdir, open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { MedStreamError } from '../errors.js';
import { toDeadLetter } from '../codec/records.js';
import { deadLetterToJson } from './dead-letter-file.js';
import type { IngestOutput } from './ingest-output.js';
import type { PubmedEvent } from './pubmed-xml/parse-pubmed-xml.js';

/**
 * NDJSON writer whose flush() means "handed over for good": fsync for a file, drained into
 * the pipe for stdout. Write failures (disk full, a closed pipe) are OUTPUT_WRITE_FAILED, so
 * the checkpoint is never committed past records that were not written.
 */
export class NdjsonOutput implements IngestOutput {
  private pending: string[] = [];
  private pendingBytes = 0;
  private closed = false;
  private streamError: Error | undefined;
  private readonly onStreamError = (error: Error): void => {
    this.streamError ??= error;
  };

  private constructor(
    private readonly target: string,
    private readonly file: FileHandle | undefined,
    private readonly stream: NodeJS.WritableStream,
  ) {
    // A pipe closed by the reader (EPIPE) is reported here, not thrown by write().
    if (file === undefined) stream.on('error', this.onStreamError);
  }

  static async open(path: string | undefined): Promise<NdjsonOutput> {
    if (path === undefined || path === '-') {
      return new NdjsonOutput('stdout', undefined, process.stdout);
    }
    try {
      await mkdir(dirname(resolve(path)), { recursive: true });
      return new NdjsonOutput(path, await open(path, 'a'), process.stdout);
    } catch (error) {
      throw new MedStreamError('OUTPUT_WRITE_FAILED', `Cannot open ${path} for writing`, {
        cause: error,
      });
    }
  }

  async write(event: PubmedEvent): Promise<void> {
    const line = `${JSON.stringify(toJsonEvent(event))}\n`;
    if (this.file === undefined) {
      this.throwIfFailed();
      // Respect the pipe's backpressure instead of buffering without bound.
      if (!this.stream.write(line)) await this.guard(once(this.stream, 'drain'));
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= 1 << 20) await this.drainToFile();
  }

  /** NDJSON keeps no unit markers: a unit re-sent after a crash is appended again. */
  isCommitted(): boolean {
    return false;
  }

  async commitUnit(): Promise<void> {
    await this.flush();
  }

  async flush(): Promise<void> {
    if (this.file === undefined) {
      const stream = this.stream as NodeJS.WritableStream & { writableNeedDrain?: boolean };
      if (stream.writableNeedDrain === true) await this.guard(once(stream, 'drain'));
      this.throwIfFailed();
      return;
    }
    await this.drainToFile();
    await this.guard(this.file.sync());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.file === undefined) {
      this.stream.off('error', this.onStreamError);
      return;
    }
    try {
      await this.flush();
    } finally {
      await this.file.close();
    }
  }

  private async drainToFile(): Promise<void> {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    await this.guard(this.file!.write(text, null, 'utf8'));
  }

  private throwIfFailed(): void {
    if (this.streamError !== undefined) {
      throw new MedStreamError('OUTPUT_WRITE_FAILED', `Writing to ${this.target} failed`, {
        cause: this.streamError,
      });
    }
  }

  private async guard<T>(operation: Promise<T>): Promise<T> {
    try {
      return await operation;
    } catch (error) {
      throw new MedStreamError('OUTPUT_WRITE_FAILED', `Writing to ${this.target} failed`, {
        cause: error,
      });
    }
  }
}

/** Dead letters in the same JSON form as the dead-letter file (schema field names, base64). */
function toJsonEvent(event: PubmedEvent): unknown {
  if (event.kind !== 'dead-letter') return event;
  return { kind: 'dead-letter', record: deadLetterToJson(toDeadLetter(event.record)) };
}
