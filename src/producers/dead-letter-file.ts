import { createReadStream, createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { MedStreamError } from '../errors.js';
import { toDeadLetter } from '../codec/records.js';
import type { DeadLetter, DeadLetterInput } from '../codec/records.js';

/**
 * The in-process dead-letter sink: DeadLetter records appended to an NDJSON file, one JSON
 * object per line with the schema's field names; `key` and `value` (bytes) are base64. The
 * file is opened for appending, so reruns add to it; every line is complete before the next
 * is written, and `close()` resolves once everything is on disk (as far as the OS reports).
 */

/** The JSON form of a DeadLetter (bytes as base64). */
export type DeadLetterJson = Omit<DeadLetter, 'key' | 'value'> & {
  key: string | null;
  value: string;
};

export function deadLetterToJson(record: DeadLetter): DeadLetterJson {
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    key: record.key === null ? null : record.key.toString('base64'),
    value: record.value.toString('base64'),
    valueTruncated: record.valueTruncated,
    valueSize: record.valueSize,
    stage: record.stage,
    errorCode: record.errorCode,
    message: record.message,
    at: record.at,
    source: record.source,
    position: record.position,
  };
}

export function deadLetterFromJson(json: DeadLetterJson): DeadLetter {
  return {
    ...json,
    key: json.key === null ? null : Buffer.from(json.key, 'base64'),
    value: Buffer.from(json.value, 'base64'),
  };
}

function isComplete(record: DeadLetterInput | DeadLetter): record is DeadLetter {
  return 'at' in record && typeof record.at === 'number';
}

export class DeadLetterFile {
  private readonly stream: WriteStream;
  private failure: Error | null = null;
  private closed = false;
  private written = 0;
  private readonly perCode = new Map<string, number>();

  constructor(
    readonly path: string,
    private readonly now: () => number = Date.now,
  ) {
    this.stream = createWriteStream(path, { flags: 'a' });
    this.stream.on('error', (error) => {
      this.failure = error;
    });
  }

  /** Records written so far. */
  get count(): number {
    return this.written;
  }

  /** Records written so far, by error code. */
  get countsByCode(): ReadonlyMap<string, number> {
    return this.perCode;
  }

  /** Appends one record; a DeadLetterInput gets null topic/partition/offset and `at` = now. */
  async write(record: DeadLetterInput | DeadLetter): Promise<void> {
    this.check();
    if (this.closed) {
      throw new MedStreamError('INTERNAL', `Dead-letter file ${this.path} is closed.`);
    }
    const complete = isComplete(record) ? record : toDeadLetter(record, { at: this.now() });
    const line = `${JSON.stringify(deadLetterToJson(complete))}\n`;
    this.written++;
    this.perCode.set(complete.errorCode, (this.perCode.get(complete.errorCode) ?? 0) + 1);
    if (!this.stream.write(line)) {
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
    this.check();
  }

  /** Flushes and closes the file; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.failure === null && !this.stream.destroyed) {
      await new Promise<void>((resolve) => {
        this.stream.once('error', () => resolve());
        this.stream.end(() => resolve());
      });
    }
    this.check();
  }

  private check(): void {
    if (this.failure !== null) {
      throw new MedStreamError(
        'OUTPUT_WRITE_FAILED',
        `Cannot write dead letters to ${this.path}: ${this.failure.message}`,
        { cause: this.failure },
      );
    }
  }
}

/** Reads a dead-letter NDJSON file back (for replay tools and tests). */
export async function* readDeadLetterFile(
  path: string,
): AsyncGenerator<DeadLetter, void, undefined> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    yield deadLetterFromJson(JSON.parse(line) as DeadLetterJson);
  }
}
