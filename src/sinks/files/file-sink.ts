import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { MedStreamError, isMedStreamError } from '../../errors.js';
import type { AnnotatedArticle } from '../../codec/records.js';
import type { Sink, SinkRecord, SinkRejection, SinkWriteResult } from '../sink.js';
import type { FileFormat } from './file-format.js';
import type { FileSinkInstruments } from './file-sink-telemetry.js';
import {
  FORMAT_ATTRIBUTE,
  OUTCOME_ATTRIBUTE,
  createFileSinkInstruments,
} from './file-sink-telemetry.js';
import { recordProblem } from './record-check.js';

/**
 * The file sink: PubTator, BioC JSON or NDJSON files, written as a stream and published
 * atomically.
 *
 * **Files.** Output goes to `<name>.part`; a file gets its final name only once it is complete
 * (BioC closing brackets written, fsynced), by a hard link that fails rather than replace an
 * existing file, followed by an fsync of the directory. A reader listing final names therefore
 * never sees a partial file, and a crash leaves only `.part` files behind. Two targets:
 * - a directory with rotation: `<dir>/<prefix>-<seq>.<ext>` (`seq` 6+ digits, from 1, after
 *   the highest number already present), a new file every `rotateRecords` records or before
 *   `rotateBytes` would be exceeded (a single larger record gets a file of its own). Files
 *   appear in sequence order, so reading them in name order reproduces the stream.
 * - one file (`--out FILE`): replaced atomically at close (rename), so a rerun swaps the whole
 *   output at once and a failed run leaves the previous file untouched.
 *
 * **Durability.** `write()` resolves once the batch is on disk: the data is written with
 * positional writes, fsynced, then its length is appended to a small journal
 * (`<prefix>-<seq>.ack.part`) that is fsynced too. That is two fsyncs per batch and file (plus
 * one of the directory when files were created) — milliseconds on SSDs, tens on disks — which
 * is why durability is per batch, never per record: size batches (MEDSTREAM_SINK_BATCH_RECORDS)
 * so that this cost is small against the batch's annotation time.
 *
 * **Crash recovery** (directory target, at `start()`). For each `.part` group the journal's
 * last complete line says how much was acknowledged: the file is cut back to that length
 * (dropping a torn or unacknowledged tail, which the driver sends again because it was never
 * acknowledged), completed and published under its own name. A group without acknowledged
 * content is deleted. Nothing acknowledged is lost and no final file is overwritten; only the
 * batch in flight at the crash may appear twice (once recovered, once re-sent), which the
 * Sink contract allows: readers take a PMID's last occurrence. `.part` files of another format
 * sharing the prefix are left alone with a warning. One writer per directory and prefix: use
 * distinct prefixes for parallel writers (exclusive creation makes a collision fail loudly).
 * The single-file target has nothing worth recovering (a rerun rewrites the whole file), so
 * its stale `.part` files are removed at start.
 *
 * **Deletions.** NDJSON writes them in line. PubTator and BioC cannot express them: they go to
 * a sidecar published with the data file, `<prefix>-<seq>.deletions.txt` (or
 * `FILE.deletions.txt`), one `PMID<TAB>position` line per deletion, where `position` is the
 * number of documents of the data file written before it: the deletion removes that PMID's
 * documents at lower positions of this file and of all earlier files, and a document at a
 * higher position is a later re-addition. `cut -f1` gives the plain PMID list.
 *
 * **Rejections.** A record whose PMID could break the format, whose key and article PMID
 * differ, whose mention offsets do not address its text, or that the format cannot express
 * (record-check.ts, `FileFormat.problem`) is returned in `rejected` with RECORD_INVALID; the
 * rest of the batch is written.
 *
 * **Failures.** Any file-system error is OUTPUT_WRITE_FAILED (not retriable: a full disk or a
 * missing directory does not heal by waiting); after one, every later `write()` fails the same
 * way and `close()` publishes nothing, so no partial output gets a final name.
 */

export interface DirectoryTarget {
  readonly kind: 'directory';
  readonly dir: string;
  /** File name prefix (default `entities`). */
  readonly prefix?: string;
  /** Records (documents and deletions) per file; default {@link DEFAULT_ROTATE_RECORDS}. */
  readonly rotateRecords?: number;
  /** Most bytes per data file; default {@link DEFAULT_ROTATE_BYTES}. */
  readonly rotateBytes?: number;
}

export interface SingleFileTarget {
  readonly kind: 'file';
  readonly path: string;
}

/**
 * About 360 files for all of PubMed (~36M abstracts). 100k abstracts make about 170 MB of
 * PubTator and 300 MB of BioC JSON (measured on a MEDLINE update file); the byte limit is a
 * ceiling for unusually long records rather than the usual reason to rotate.
 */
export const DEFAULT_ROTATE_RECORDS = 100_000;
export const DEFAULT_ROTATE_BYTES = 512 * 1024 * 1024;
export const DEFAULT_FILE_PREFIX = 'entities';

export interface FileSinkOptions {
  readonly format: FileFormat;
  readonly target: DirectoryTarget | SingleFileTarget;
  /** Warnings and recovery notes (one line each). */
  readonly log?: (line: string) => void;
  readonly instruments?: FileSinkInstruments;
}

const PREFIX_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const DELETIONS_EXTENSION = 'deletions.txt';
const JOURNAL_EXTENSION = 'ack';

interface SegmentPaths {
  readonly data: string;
  readonly deletions: string;
  readonly journal: string;
}

/** What a journal line acknowledges: byte lengths and record counts of both files. */
interface Acknowledged {
  dataBytes: number;
  dataRecords: number;
  sideBytes: number;
  sideRecords: number;
}

/** One output file (and its deletions sidecar) from creation to publication. */
class Segment {
  /** Records of any kind assigned to this segment (rotation counts these). */
  records = 0;
  /** Documents in the data file (positions of sidecar deletions; BioC separators). */
  documents = 0;
  /** Bytes of the data file including pending text (rotation by size). */
  dataBytes = 0;
  sideBytes = 0;
  dataRecords = 0;
  sideRecords = 0;
  pendingData: string[] = [];
  pendingSide: string[] = [];
  data: FileHandle | undefined;
  side: FileHandle | undefined;
  journal: FileHandle | undefined;
  dataWritten = 0;
  sideWritten = 0;
  journalWritten = 0;

  constructor(
    readonly seq: number,
    readonly paths: SegmentPaths,
  ) {}

  acknowledged(): Acknowledged {
    return {
      dataBytes: this.dataWritten,
      dataRecords: this.dataRecords,
      sideBytes: this.sideWritten,
      sideRecords: this.sideRecords,
    };
  }

  async release(): Promise<void> {
    for (const handle of [this.data, this.side, this.journal]) {
      await handle?.close().catch(() => undefined);
    }
    this.data = this.side = this.journal = undefined;
  }
}

export class FileSink implements Sink {
  readonly name: string;
  private readonly format: FileFormat;
  private readonly target: DirectoryTarget | SingleFileTarget;
  private readonly log: (line: string) => void;
  private readonly instruments: FileSinkInstruments;
  private readonly dir: string;
  private readonly prefix: string;
  private readonly rotateRecords: number;
  private readonly rotateBytes: number;
  private nextSeq = 1;
  private current: Segment | undefined;
  /** Full segments of the batch being written, published once the batch is durable. */
  private sealed: Segment[] = [];
  private readonly published: string[] = [];
  private started = false;
  private closed = false;
  private writing = false;
  private failure: MedStreamError | undefined;

  constructor(options: FileSinkOptions) {
    this.format = options.format;
    this.target = options.target;
    this.name = options.format.name;
    this.log = options.log ?? (() => undefined);
    this.instruments = options.instruments ?? createFileSinkInstruments();
    if (this.target.kind === 'directory') {
      this.dir = resolve(this.target.dir);
      this.prefix = this.target.prefix ?? DEFAULT_FILE_PREFIX;
      this.rotateRecords = this.target.rotateRecords ?? DEFAULT_ROTATE_RECORDS;
      this.rotateBytes = this.target.rotateBytes ?? DEFAULT_ROTATE_BYTES;
      if (!PREFIX_RE.test(this.prefix)) {
        throw new MedStreamError(
          'CONFIG_INVALID',
          `File prefix ${JSON.stringify(this.prefix)} must start with a letter or digit and contain only letters, digits, '.', '_' and '-'.`,
        );
      }
      for (const [label, value] of [
        ['rotateRecords', this.rotateRecords],
        ['rotateBytes', this.rotateBytes],
      ] as const) {
        if (!Number.isSafeInteger(value) || value < 1) {
          throw new MedStreamError('CONFIG_INVALID', `${label} must be a positive integer.`);
        }
      }
    } else {
      this.dir = dirname(resolve(this.target.path));
      this.prefix = basename(this.target.path);
      this.rotateRecords = Number.POSITIVE_INFINITY;
      this.rotateBytes = Number.POSITIVE_INFINITY;
    }
  }

  /** Final paths of the files published so far, in order. */
  get publishedFiles(): readonly string[] {
    return this.published;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.guard(`prepare ${this.dir}`, async () => {
      if (this.target.kind === 'file') {
        const info = await stat(this.target.path).catch(() => undefined);
        if (info?.isDirectory() === true) {
          throw new MedStreamError(
            'OUTPUT_WRITE_FAILED',
            `Output ${this.target.path} is a directory; give a file name (or use an output directory option).`,
          );
        }
      }
      await mkdir(this.dir, { recursive: true });
      if (this.target.kind === 'directory') await this.recover();
      else await this.removeStaleParts();
    });
  }

  async write(records: readonly SinkRecord[], signal: AbortSignal): Promise<SinkWriteResult> {
    if (!this.started || this.closed) {
      throw new MedStreamError('INTERNAL', `${this.name} sink written before start or after close`);
    }
    if (this.failure !== undefined) throw this.failure;
    if (this.writing) {
      // Batches are ordered: a second write while one is in flight is a driver bug.
      throw new MedStreamError(
        'INTERNAL',
        `${this.name} sink: write() called while one is running`,
      );
    }
    signal.throwIfAborted();
    this.writing = true;
    try {
      return await this.writeBatch(records);
    } finally {
      this.writing = false;
    }
  }

  private async writeBatch(records: readonly SinkRecord[]): Promise<SinkWriteResult> {
    const started = performance.now();
    const rejected: SinkRejection[] = [];
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
        this.addDeletion(record.pmid);
        deleted += 1;
      } else {
        this.addDocument(record.article);
        written += 1;
      }
    }
    const bytes = await this.guard('write', () => this.commit());
    const attributes = { [FORMAT_ATTRIBUTE]: this.name };
    this.instruments.records.add(written, { ...attributes, [OUTCOME_ATTRIBUTE]: 'written' });
    this.instruments.records.add(deleted, { ...attributes, [OUTCOME_ATTRIBUTE]: 'deleted' });
    this.instruments.records.add(rejected.length, {
      ...attributes,
      [OUTCOME_ATTRIBUTE]: 'rejected',
    });
    this.instruments.bytes.add(bytes, attributes);
    this.instruments.commitDuration.record((performance.now() - started) / 1000, attributes);
    return { written, deleted, rejected };
  }

  /** Completes and publishes the current file; idempotent. After a failure it publishes nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.started) return;
    if (this.failure !== undefined) {
      await this.abandon();
      return;
    }
    await this.guard('close', async () => {
      const segment = this.current;
      this.current = undefined;
      if (this.target.kind === 'file') {
        await this.publish(segment ?? this.newSegment(), true);
      } else if (segment !== undefined) {
        await this.publish(segment, false);
      }
    });
  }

  /**
   * Releases the open files without publishing them (a run that failed elsewhere): what was
   * acknowledged stays in `.part` files, which the next start in the same directory recovers.
   */
  async abandon(): Promise<void> {
    this.closed = true;
    for (const segment of [...this.sealed, this.current]) await segment?.release();
    this.sealed = [];
    this.current = undefined;
  }

  private addDocument(article: AnnotatedArticle): void {
    let segment = this.current;
    if (segment !== undefined && segment.records >= this.rotateRecords) segment = this.rotate();
    segment ??= this.current = this.newSegment();
    let text = this.documentText(segment, article);
    const closing = byteLength(this.format.closing());
    if (segment.records > 0 && segment.dataBytes + byteLength(text) + closing > this.rotateBytes) {
      segment = this.rotate();
      text = this.documentText(segment, article);
    }
    this.appendData(segment, text);
    segment.documents += 1;
  }

  private addDeletion(pmid: string): void {
    let segment = this.current;
    if (segment !== undefined && segment.records >= this.rotateRecords) segment = this.rotate();
    segment ??= this.current = this.newSegment();
    const inline = this.format.deletion(pmid);
    if (inline !== undefined) {
      this.appendData(segment, (segment.dataBytes === 0 ? this.format.opening() : '') + inline);
      return;
    }
    const line = `${pmid}\t${segment.documents}\n`;
    segment.pendingSide.push(line);
    segment.sideBytes += byteLength(line);
    segment.sideRecords += 1;
    segment.records += 1;
  }

  private documentText(segment: Segment, article: AnnotatedArticle): string {
    const opening = segment.dataBytes === 0 ? this.format.opening() : '';
    return opening + this.format.document(article, segment.documents === 0);
  }

  /** `text` starts with the format's opening when it is the first text of the file. */
  private appendData(segment: Segment, text: string): void {
    segment.pendingData.push(text);
    segment.dataBytes += byteLength(text);
    segment.dataRecords += 1;
    segment.records += 1;
  }

  private rotate(): Segment {
    if (this.current !== undefined) this.sealed.push(this.current);
    this.current = this.newSegment();
    return this.current;
  }

  private newSegment(): Segment {
    const seq = this.nextSeq;
    this.nextSeq += 1;
    return new Segment(seq, this.segmentPaths(seq));
  }

  private segmentPaths(seq: number): SegmentPaths {
    if (this.target.kind === 'file') {
      const path = resolve(this.target.path);
      return {
        data: path,
        deletions: `${path}.${DELETIONS_EXTENSION}`,
        journal: `${path}.${JOURNAL_EXTENSION}.part`,
      };
    }
    const base = join(this.dir, `${this.prefix}-${String(seq).padStart(6, '0')}`);
    return {
      data: `${base}.${this.format.extension}`,
      deletions: `${base}.${DELETIONS_EXTENSION}`,
      journal: `${base}.${JOURNAL_EXTENSION}.part`,
    };
  }

  /**
   * Makes the batch durable: every touched segment's pending text written and fsynced, its
   * journal line appended and fsynced, the directory fsynced when files were created; then the
   * segments that filled up are completed and published, in order. Returns bytes written.
   */
  private async commit(): Promise<number> {
    const segments = this.current === undefined ? this.sealed : [...this.sealed, this.current];
    let bytes = 0;
    let created = false;
    for (const segment of segments) {
      const flushed = await this.flush(segment);
      bytes += flushed.bytes;
      created ||= flushed.created;
    }
    if (created) await syncDirectory(this.dir);
    const full = this.sealed;
    this.sealed = [];
    for (const segment of full) await this.publish(segment, false);
    return bytes;
  }

  private async flush(segment: Segment): Promise<{ bytes: number; created: boolean }> {
    let bytes = 0;
    let created = false;
    if (segment.pendingData.length > 0) {
      if (segment.data === undefined) {
        segment.data = await open(partPath(segment.paths.data), 'wx');
        created = true;
      }
      const n = await writeAll(segment.data, segment.pendingData.join(''), segment.dataWritten);
      segment.pendingData = [];
      segment.dataWritten += n;
      bytes += n;
      await segment.data.sync();
      await assertLinked(segment.data, partPath(segment.paths.data));
    }
    if (segment.pendingSide.length > 0) {
      if (segment.side === undefined) {
        segment.side = await open(partPath(segment.paths.deletions), 'wx');
        created = true;
      }
      const n = await writeAll(segment.side, segment.pendingSide.join(''), segment.sideWritten);
      segment.pendingSide = [];
      segment.sideWritten += n;
      bytes += n;
      await segment.side.sync();
      await assertLinked(segment.side, partPath(segment.paths.deletions));
    }
    if (bytes > 0) {
      if (segment.journal === undefined) {
        segment.journal = await open(segment.paths.journal, 'wx');
        created = true;
      }
      const ack = segment.acknowledged();
      const line = `${ack.dataBytes} ${ack.dataRecords} ${ack.sideBytes} ${ack.sideRecords}\n`;
      segment.journalWritten += await writeAll(segment.journal, line, segment.journalWritten);
      await segment.journal.sync();
    }
    return { bytes, created };
  }

  /**
   * Completes a segment whose content is durable and gives it its final name(s). `replace`:
   * the single-file target, where the final file is swapped atomically (and a deletions
   * sidecar left from an earlier run is removed, since it described the replaced file).
   */
  private async publish(segment: Segment, replace: boolean): Promise<void> {
    if (replace && segment.data === undefined) {
      // The single-file target always produces its file, even without documents.
      segment.data = await open(partPath(segment.paths.data), 'wx');
    }
    if (segment.data !== undefined) {
      const closing = this.format.closing();
      const opening = segment.dataWritten === 0 ? this.format.opening() : '';
      if (opening + closing !== '') {
        await writeAll(segment.data, opening + closing, segment.dataWritten);
      }
      await segment.data.sync();
      await segment.data.close();
      segment.data = undefined;
      await publishFile(partPath(segment.paths.data), segment.paths.data, replace);
      this.published.push(segment.paths.data);
    }
    if (segment.side !== undefined) {
      await segment.side.close();
      segment.side = undefined;
      await publishFile(partPath(segment.paths.deletions), segment.paths.deletions, replace);
      this.published.push(segment.paths.deletions);
    } else if (replace) {
      await unlinkIfExists(segment.paths.deletions);
    }
    await segment.release();
    await unlinkIfExists(segment.paths.journal);
    await syncDirectory(this.dir);
    this.instruments.files.add(1, { [FORMAT_ATTRIBUTE]: this.name });
  }

  /** Single-file target: `.part` files of an earlier run are not worth keeping (see above). */
  private async removeStaleParts(): Promise<void> {
    const paths = this.segmentPaths(1);
    for (const path of [partPath(paths.data), partPath(paths.deletions), paths.journal]) {
      if (await unlinkIfExists(path)) this.log(`removed ${path} left by an earlier run`);
    }
  }

  /** Directory target: numbering after every existing file, then each `.part` group recovered. */
  private async recover(): Promise<void> {
    const namePattern = new RegExp(`^${escapeRegExp(this.prefix)}-(\\d+)\\.(.+)$`);
    const groups = new Map<number, string[]>();
    let highest = 0;
    for (const name of await readdir(this.dir)) {
      const match = namePattern.exec(name);
      if (match === null) continue;
      const seq = Number(match[1]);
      highest = Math.max(highest, seq);
      const rest = match[2] ?? '';
      if (rest.endsWith('.part')) groups.set(seq, [...(groups.get(seq) ?? []), rest]);
    }
    this.nextSeq = highest + 1;
    for (const [seq, parts] of [...groups].sort((a, b) => a[0] - b[0])) {
      await this.recoverSegment(seq, parts);
    }
  }

  private async recoverSegment(seq: number, parts: readonly string[]): Promise<void> {
    const known = new Set([
      `${this.format.extension}.part`,
      `${DELETIONS_EXTENSION}.part`,
      `${JOURNAL_EXTENSION}.part`,
    ]);
    const paths = this.segmentPaths(seq);
    const foreign = parts.filter((p) => !known.has(p));
    if (foreign.length > 0) {
      this.log(
        `left ${foreign.map((p) => `${this.prefix}-${seq}.${p}`).join(', ')} alone: ` +
          `not written as ${this.name}; finish or remove them with a writer of that format`,
      );
      return;
    }
    const ack = await readJournal(paths.journal);
    const dataOk = await this.recoverFile(paths.data, ack.dataBytes, this.format.closing());
    const sideOk = await this.recoverFile(paths.deletions, ack.sideBytes, '');
    await unlinkIfExists(paths.journal);
    await syncDirectory(this.dir);
    const published = [dataOk, sideOk].filter((p): p is string => p !== undefined);
    this.published.push(...published);
    this.log(
      published.length === 0
        ? `removed .part files of ${basename(paths.data)} left by a crash (nothing in them was acknowledged and unpublished)`
        : `recovered ${published.map((p) => basename(p)).join(', ')} from a crash ` +
            `(${ack.dataRecords + ack.sideRecords} acknowledged records kept, the unacknowledged rest dropped)`,
    );
  }

  /**
   * Cuts a `.part` file back to its acknowledged length, completes and publishes it; removes
   * it when nothing in it was acknowledged. Returns the final path when published.
   */
  private async recoverFile(
    finalPath: string,
    acknowledged: number,
    closing: string,
  ): Promise<string | undefined> {
    const part = partPath(finalPath);
    const info = await stat(part).catch(() => undefined);
    if (info === undefined) return undefined;
    if (acknowledged === 0) {
      await unlink(part);
      return undefined;
    }
    if (info.size < acknowledged) {
      throw new MedStreamError(
        'OUTPUT_WRITE_FAILED',
        `${part} is shorter (${info.size} bytes) than its journal acknowledges (${acknowledged}); ` +
          'the file system lost fsynced data. Move the file away after checking it, then restart.',
      );
    }
    const handle = await open(part, 'r+');
    try {
      await handle.truncate(acknowledged);
      if (closing !== '') await writeAll(handle, closing, acknowledged);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await publishFile(part, finalPath, false);
    return finalPath;
  }

  private async guard<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const failure = isMedStreamError(error)
        ? error
        : new MedStreamError(
            'OUTPUT_WRITE_FAILED',
            `${this.name} output in ${this.dir}: ${action} failed: ${(error as Error).message}`,
            { cause: error },
          );
      this.failure ??= failure;
      throw failure;
    }
  }
}

function partPath(finalPath: string): string {
  return `${finalPath}.part`;
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Positional write of all of `text` at `position` (a short write is continued, not lost). */
async function writeAll(handle: FileHandle, text: string, position: number): Promise<number> {
  const buffer = Buffer.from(text, 'utf8');
  let done = 0;
  while (done < buffer.length) {
    const { bytesWritten } = await handle.write(
      buffer,
      done,
      buffer.length - done,
      position + done,
    );
    if (bytesWritten === 0) throw new Error('the file system accepted no bytes');
    done += bytesWritten;
  }
  return buffer.length;
}

/** The journal's last complete line; all zeros when there is none (nothing acknowledged). */
async function readJournal(path: string): Promise<Acknowledged> {
  const none = { dataBytes: 0, dataRecords: 0, sideBytes: 0, sideRecords: 0 };
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  // A line is complete only with its line break: a torn last line was never acknowledged.
  const lines = text.split('\n').slice(0, -1);
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    const fields = (lines[i] ?? '').split(' ').map(Number);
    if (fields.length === 4 && fields.every((n) => Number.isSafeInteger(n) && n >= 0)) {
      const [dataBytes = 0, dataRecords = 0, sideBytes = 0, sideRecords = 0] = fields;
      return { dataBytes, dataRecords, sideBytes, sideRecords };
    }
  }
  return none;
}

/**
 * Gives `part` the name `finalPath`. Without `replace`, by a hard link, which fails when the
 * final name exists — unless it already is this very file (a publication interrupted between
 * link and unlink, finished by recovery) — so nothing is ever overwritten; on file systems
 * without hard links, a rename after checking that the name is free.
 */
async function publishFile(part: string, finalPath: string, replace: boolean): Promise<void> {
  if (replace) {
    await rename(part, finalPath);
    return;
  }
  try {
    await link(part, finalPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      const [a, b] = await Promise.all([stat(part), stat(finalPath)]);
      if (a.ino !== b.ino || a.dev !== b.dev) {
        throw new MedStreamError(
          'OUTPUT_WRITE_FAILED',
          `${finalPath} already exists; not overwriting it with ${part} (another writer using the same prefix?)`,
        );
      }
    } else if (
      code === 'EPERM' ||
      code === 'ENOTSUP' ||
      code === 'EOPNOTSUPP' ||
      code === 'ENOSYS'
    ) {
      if ((await stat(finalPath).catch(() => undefined)) !== undefined) {
        throw new MedStreamError(
          'OUTPUT_WRITE_FAILED',
          `${finalPath} already exists; not overwriting it`,
        );
      }
      await rename(part, finalPath);
      return;
    } else {
      throw error;
    }
  }
  await unlink(part);
}

/**
 * Writes to a file that was removed (its directory deleted, a cleanup job) succeed into an
 * unlinked inode and would be lost at close: fail the batch instead of acknowledging it.
 */
async function assertLinked(handle: FileHandle, path: string): Promise<void> {
  if ((await handle.stat()).nlink === 0) {
    throw new MedStreamError(
      'OUTPUT_WRITE_FAILED',
      `${path} was removed while being written (was its directory deleted?)`,
    );
  }
}

async function unlinkIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Makes created, renamed and removed names durable. Windows cannot open a directory for
 * fsync (its metadata updates are journaled), so that one error is ignored there.
 */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    if (process.platform !== 'win32') throw error;
  } finally {
    await handle?.close();
  }
}
