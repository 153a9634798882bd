import { createGunzip } from 'node:zlib';
import { MedStreamError } from '../../errors.js';

/**
 * Byte sources for the parser: any async iterable of bytes (a file stream, an HTTP body), gzip
 * detected by its magic bytes (1F 8B) and inflated as a stream. Only the current chunk and
 * its inflated output are held.
 */

export type ByteInput = AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/** Normalizes a stream that may yield strings (setEncoding was called) to bytes. */
export async function* byteChunks(input: ByteInput): AsyncGenerator<Uint8Array, void, undefined> {
  for await (const chunk of input as AsyncIterable<Uint8Array | string>) {
    yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
  }
}

export function isGzipMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1;
}

/** Errors raised by node:zlib carry `Z_*` codes (Z_DATA_ERROR, Z_BUF_ERROR, …). */
function isZlibError(error: unknown): error is Error & { code: string } {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * Yields the input's bytes, inflated when it starts with the gzip magic. Corrupt or truncated
 * gzip data raises GZIP_CORRUPT after every byte inflated before the damage has been yielded;
 * errors of the underlying input propagate unchanged.
 */
export async function* decodedBytes(input: ByteInput): AsyncGenerator<Uint8Array, void, undefined> {
  const iterator = byteChunks(input)[Symbol.asyncIterator]();
  try {
    // Peek until the two magic bytes are known.
    const head: Uint8Array[] = [];
    let headBytes = 0;
    while (headBytes < 2) {
      const next = await iterator.next();
      if (next.done === true) break;
      head.push(next.value);
      headBytes += next.value.length;
    }
    const first = head.length <= 1 ? (head[0] ?? new Uint8Array(0)) : Buffer.concat(head);
    const rest: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => iterator,
    };
    if (isGzipMagic(first)) {
      yield* gunzip(first, rest);
    } else {
      if (first.length > 0) yield first;
      for await (const chunk of rest) yield chunk;
    }
  } finally {
    await iterator.return?.();
  }
}

/**
 * Inflates chunk by chunk: each compressed chunk is written, its output collected from 'data'
 * events and yielded before the next chunk is read, so memory stays at one chunk's output
 * and nothing inflated before an error is lost (a stream iterator would drop its buffer when
 * zlib destroys the stream on error).
 */
async function* gunzip(
  first: Uint8Array,
  rest: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  const inflater = createGunzip({ chunkSize: 64 * 1024 });
  // Mutated by the event handlers below; an object so the reads in the loop are not narrowed.
  const state: {
    output: Buffer[];
    failure: Error | null;
    ended: boolean;
    wake: (() => void) | null;
  } = { output: [], failure: null, ended: false, wake: null };
  const notify = (): void => {
    const resolve = state.wake;
    state.wake = null;
    resolve?.();
  };
  inflater.on('data', (chunk: Buffer) => state.output.push(chunk));
  inflater.on('error', (error: Error) => {
    state.failure = error;
    notify();
  });
  inflater.on('end', () => {
    state.ended = true;
    notify();
  });
  const settled = (): Promise<void> =>
    new Promise<void>((resolve) => {
      state.wake = resolve;
    });
  const corrupt = (error: Error): MedStreamError =>
    new MedStreamError(
      'GZIP_CORRUPT',
      `The gzip stream is corrupt or truncated (${error.message}).`,
      {
        cause: error,
      },
    );

  try {
    const feed = async function* (): AsyncGenerator<Uint8Array> {
      yield first;
      yield* rest;
    };
    for await (const chunk of feed()) {
      const written = settled();
      inflater.write(chunk, () => notify());
      await written;
      while (state.output.length > 0) yield state.output.shift() as Buffer;
      if (state.failure !== null) throw corrupt(state.failure);
    }
    if (!state.ended) {
      const finished = settled();
      inflater.end();
      await finished;
    }
    while (state.output.length > 0) yield state.output.shift() as Buffer;
    if (state.failure !== null) throw corrupt(state.failure);
  } catch (error) {
    if (isZlibError(error)) throw corrupt(error);
    throw error;
  } finally {
    inflater.destroy();
  }
}
