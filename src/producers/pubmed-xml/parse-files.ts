import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { MedStreamError } from '../../errors.js';
import { parsePubmedXml } from './parse-pubmed-xml.js';
import type { ParsePubmedXmlOptions, PubmedEvent } from './parse-pubmed-xml.js';

/**
 * Local PubMed XML files (`.xml`, `.xml.gz`, any name: gzip is detected by content) parsed
 * one after the other into one event stream. Each record's `source` is the file's base name.
 */

export interface InputFile {
  path: string;
  /** Size on disk (compressed size for .gz), for progress reporting. */
  bytes: number;
}

/** Checks every path before any is read, so a typo fails fast with INPUT_NOT_FOUND. */
export async function checkInputFiles(paths: readonly string[]): Promise<InputFile[]> {
  const files: InputFile[] = [];
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      throw new MedStreamError('INPUT_NOT_FOUND', `Input file not found or unreadable: ${path}`, {
        cause: error,
      });
    }
    if (!info.isFile()) {
      throw new MedStreamError('INPUT_NOT_FOUND', `Input is not a regular file: ${path}`);
    }
    files.push({ path, bytes: info.size });
  }
  return files;
}

export interface ParseFilesOptions extends Omit<ParsePubmedXmlOptions, 'source'> {
  /** Called with the number of bytes read from disk, as they are read. */
  onBytesRead?: (bytes: number) => void;
}

export async function* parsePubmedFiles(
  files: readonly InputFile[],
  options: ParseFilesOptions = {},
): AsyncGenerator<PubmedEvent, void, undefined> {
  const { onBytesRead, ...parseOptions } = options;
  for (const file of files) {
    const stream = createReadStream(file.path, { highWaterMark: 256 * 1024 });
    const counted = onBytesRead === undefined ? stream : countBytes(stream, onBytesRead);
    yield* parsePubmedXml(counted, { ...parseOptions, source: basename(file.path) });
  }
}

async function* countBytes(
  input: AsyncIterable<Uint8Array>,
  onBytesRead: (bytes: number) => void,
): AsyncGenerator<Uint8Array, void, undefined> {
  for await (const chunk of input) {
    onBytesRead(chunk.length);
    yield chunk;
  }
}
