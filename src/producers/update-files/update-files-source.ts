import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { MedStreamError } from '../../errors.js';
import type { Clock } from '../http/clock.js';
import { systemClock } from '../http/clock.js';
import type { HttpClient } from '../http/http-client.js';
import { assertMd5, md5OfFile, parseMd5File } from './md5-file.js';
import type { UpdateFileEntry } from './update-file-listing.js';
import { compareUpdateFileNames, isRemote, listUpdateFiles } from './update-file-listing.js';
import { UpdateFilesCheckpoint } from './update-files-checkpoint.js';

/**
 * The update-file source: PubMed baseline/update files (`pubmed*.xml.gz`, `medline*.xml.gz`)
 * from a folder or an HTTP(S) mirror, in name order, one at a time.
 *
 * Consumer contract:
 *   for await (const file of updateFilesSource(options)) {
 *     produce(parsePubmedXml(file.xml, { source: file.name }));
 *     await flush();
 *     await file.commit();
 *   }
 *
 * Invariants:
 * - A file whose `.md5` is published is verified *before* any of its bytes are yielded: a
 *   mirror file is downloaded to `cacheDir` (hashing while streaming) and checked; a local
 *   file is hashed in a first pass. A mismatch throws CHECKSUM_MISMATCH, the file yields
 *   nothing and is not checkpointed.
 * - The checkpoint lists a file only after the consumer's commit(), which is accepted only
 *   once the file's XML was read to its end without error.
 * - Files are applied strictly in order (a later file revises and deletes records of earlier
 *   ones): the next file is not opened until the previous one is committed, and a failure
 *   stops the run, so a restart resumes at the first uncommitted file.
 */

export interface UpdateFilesSourceOptions {
  /** A folder, or the http(s) URL of a directory listing. */
  from: string;
  /** JSON checkpoint file; omit for a run without resume. */
  checkpointPath?: string;
  /** Where mirror files are downloaded and verified before use. */
  cacheDir: string;
  /** Required for a URL. */
  http?: HttpClient;
  /** Refuse files without a published `.md5` (default: verify when present). */
  requireMd5?: boolean;
  clock?: Clock;
  signal?: AbortSignal;
  onEvent?: (event: UpdateFilesSourceEvent) => void;
}

export type UpdateFilesSourceEvent =
  | { kind: 'listed'; total: number; pending: number; committed: number }
  | { kind: 'download'; name: string }
  | { kind: 'verified'; name: string; md5: string }
  | { kind: 'reused-download'; name: string }
  | { kind: 'out-of-order'; name: string; after: string };

export interface UpdateFileItem {
  kind: 'file';
  name: string;
  /** 0-based position among this run's pending files. */
  index: number;
  /** Pending files in this run. */
  total: number;
  /** Size of the .gz file. */
  bytes: number;
  md5: string;
  /** True when the MD5 was checked against a published .md5 file. */
  verified: boolean;
  /** The decompressed XML; can be read once. */
  xml: AsyncIterable<Uint8Array>;
  /** Declare every record of this file durable; only after `xml` was read to its end. */
  commit(): Promise<void>;
}

type ReadState = 'unread' | 'reading' | 'done' | 'failed';

export async function* updateFilesSource(
  options: UpdateFilesSourceOptions,
): AsyncGenerator<UpdateFileItem> {
  const clock = options.clock ?? systemClock;
  const { signal } = options;
  const emit = options.onEvent ?? (() => undefined);
  if (isRemote(options.from) && options.http === undefined) {
    throw new MedStreamError('INTERNAL', 'updateFilesSource: an HttpClient is required for URLs');
  }
  const checkpoint =
    options.checkpointPath === undefined
      ? undefined
      : await UpdateFilesCheckpoint.open(options.checkpointPath, () => clock.now());
  const listed = await listUpdateFiles(options.from, {
    ...(options.http === undefined ? {} : { http: options.http }),
    ...(signal === undefined ? {} : { signal }),
  });
  const pending = listed.filter((entry) => checkpoint?.has(entry.name) !== true);
  emit({
    kind: 'listed',
    total: listed.length,
    pending: pending.length,
    committed: listed.length - pending.length,
  });
  const last = checkpoint?.last;
  if (last !== undefined) {
    for (const entry of pending) {
      if (compareUpdateFileNames(entry.name, last) < 0) {
        emit({ kind: 'out-of-order', name: entry.name, after: last });
      }
    }
  }
  const downloadDir = join(options.cacheDir, 'update-files');

  for (let index = 0; index < pending.length; index += 1) {
    const entry = pending[index];
    signal?.throwIfAborted();
    const expected = await publishedMd5(entry, options.http, signal);
    if (expected === undefined && options.requireMd5 === true) {
      throw new MedStreamError(
        'CHECKSUM_MISMATCH',
        `${entry.name}: no .md5 published and --require-md5 is set`,
        {
          details: { file: entry.name },
        },
      );
    }
    const local = entry.remote
      ? await fetchVerified(entry, expected, downloadDir, options.http!, emit, signal)
      : await verifyLocal(entry, expected, signal);
    if (expected !== undefined) emit({ kind: 'verified', name: entry.name, md5: local.md5 });

    let state: ReadState = 'unread';
    let committed = false;
    const name = entry.name;
    const item: UpdateFileItem = {
      kind: 'file',
      name,
      index,
      total: pending.length,
      bytes: local.bytes,
      md5: local.md5,
      verified: expected !== undefined,
      xml: {
        [Symbol.asyncIterator]: () => {
          if (state !== 'unread') {
            throw new MedStreamError('INTERNAL', `${name}: the XML stream can be read only once`);
          }
          state = 'reading';
          return gunzipFile(local.path, name, signal, (ok) => {
            state = ok ? 'done' : 'failed';
          })[Symbol.asyncIterator]();
        },
      },
      commit: async () => {
        if (committed) return;
        if (state !== 'done') {
          throw new MedStreamError(
            'INTERNAL',
            `${name}: commit() called before its XML was read to the end (state: ${state})`,
          );
        }
        await checkpoint?.commit({
          name,
          bytes: local.bytes,
          md5: local.md5,
          verified: expected !== undefined,
        });
        committed = true;
      },
    };
    try {
      yield item;
      if (!committed) {
        throw new MedStreamError(
          'INTERNAL',
          `${name} was not committed; update files must be committed in order before the next one is read`,
        );
      }
    } finally {
      // An uncommitted download is kept: after a crash or a consumer failure, the next run
      // reuses it if its published MD5 still matches instead of downloading it again.
      if (entry.remote && committed) await rm(local.path, { force: true });
    }
  }
}

async function publishedMd5(
  entry: UpdateFileEntry,
  http: HttpClient | undefined,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  if (entry.md5Location === undefined) return undefined;
  let text: string;
  if (entry.remote) {
    const response = await http!.get(entry.md5Location, signal === undefined ? {} : { signal });
    text = response.body.toString('utf8');
  } else {
    try {
      text = await readFile(entry.md5Location, 'utf8');
    } catch (error) {
      throw new MedStreamError('INPUT_NOT_FOUND', `Cannot read ${entry.md5Location}`, {
        cause: error,
      });
    }
  }
  return parseMd5File(text, entry.name);
}

interface LocalFile {
  path: string;
  bytes: number;
  md5: string;
}

async function verifyLocal(
  entry: UpdateFileEntry,
  expected: string | undefined,
  signal: AbortSignal | undefined,
): Promise<LocalFile> {
  let bytes: number;
  try {
    bytes = (await stat(entry.location)).size;
  } catch (error) {
    throw new MedStreamError('INPUT_NOT_FOUND', `Cannot read ${entry.location}`, { cause: error });
  }
  // The first pass costs one sequential read of a ~30 MB file; it is what keeps a corrupt
  // file's records from ever reaching the consumer.
  const md5 = await md5OfFile(entry.location, signal);
  if (expected !== undefined) assertMd5(entry.name, expected, md5);
  return { path: entry.location, bytes, md5 };
}

async function fetchVerified(
  entry: UpdateFileEntry,
  expected: string | undefined,
  dir: string,
  http: HttpClient,
  emit: (event: UpdateFilesSourceEvent) => void,
  signal: AbortSignal | undefined,
): Promise<LocalFile> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, entry.name);
  // A verified download survives a crash between download and commit: reuse it only when a
  // published checksum proves it is the right file.
  if (expected !== undefined) {
    try {
      const bytes = (await stat(path)).size;
      const md5 = await md5OfFile(path, signal);
      if (md5 === expected) {
        emit({ kind: 'reused-download', name: entry.name });
        return { path, bytes, md5 };
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  emit({ kind: 'download', name: entry.name });
  const partial = `${path}.part`;
  try {
    const result = await http.download(
      entry.location,
      partial,
      signal === undefined ? {} : { signal },
    );
    if (expected !== undefined) assertMd5(entry.name, expected, result.md5);
    await rename(partial, path);
    return { path, bytes: result.bytes, md5: result.md5 };
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/** Decompressed bytes of a .gz file; reports whether it was read to its end without error. */
async function* gunzipFile(
  path: string,
  name: string,
  signal: AbortSignal | undefined,
  settled: (ok: boolean) => void,
): AsyncGenerator<Uint8Array> {
  const source = createReadStream(path, signal === undefined ? {} : { signal });
  const output = pipeline(source, createGunzip(), () => undefined);
  let ok = false;
  try {
    for await (const chunk of output as AsyncIterable<Buffer>) yield chunk;
    ok = true;
  } catch (error) {
    if (signal?.aborted === true) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_') || code === 'ERR_ZLIB_INITIALIZATION_FAILED') {
      throw new MedStreamError(
        'GZIP_CORRUPT',
        `${name}: gzip data is corrupt or truncated (${code})`,
        {
          cause: error,
          details: { file: name },
        },
      );
    }
    throw new MedStreamError('INPUT_NOT_FOUND', `${name}: cannot read ${path}`, { cause: error });
  } finally {
    if (!ok) output.destroy();
    settled(ok);
  }
}
