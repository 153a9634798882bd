import { isUtf8 } from 'node:buffer';
import { MedStreamError } from '../../errors.js';
import type { ErrorCode } from '../../errors.js';
import type { Article, DeadLetterInput } from '../../codec/records.js';
import { decodedBytes } from './input-bytes.js';
import type { ByteInput } from './input-bytes.js';
import { PubmedRecordParser } from './record-parser.js';
import type { RecordOutcome } from './record-parser.js';
import { RecordSplitter } from './record-splitter.js';
import type { RecordSegment, RecordVerdict } from './record-splitter.js';

/**
 * Streaming PubMed XML → Article / delete / dead-letter events.
 *
 * Accepts `PubmedArticleSet` (efetch, current update files; `PubmedBookArticle` records
 * included), the older `MedlineCitationSet`, plain or gzip (detected by magic bytes). Memory
 * is one input chunk plus the current record (bounded by `maxRecordBytes`), whatever the size
 * of the file.
 *
 * Nothing in the input stops the stream: a record that is not well-formed, not UTF-8, too
 * large or lacks its PMID becomes a `dead-letter` event carrying its raw bytes (capped at
 * `maxRawBytes`) and parsing goes on with the next record. When the document itself breaks
 * (truncated gzip, input ending inside a record or before the root's end tag, content outside
 * the root, an unsupported root) one final dead letter (GZIP_CORRUPT, XML_TRUNCATED,
 * XML_STREAM_MALFORMED, XML_UNEXPECTED_ROOT) covers the remainder, after every record before it.
 * An error of the input itself (a failed read, a reset connection) is rethrown unchanged after
 * the records already parsed, so the caller can retry it.
 *
 * Security: no DTD is read and no entity is expanded. A DOCTYPE whose internal subset declares
 * entities is reported (XML_FORBIDDEN) and otherwise ignored; records referring to any entity
 * other than the XML predefined ones are rejected (XML_FORBIDDEN for entities the DOCTYPE
 * declared, XML_MALFORMED otherwise).
 *
 * Positions: `byteOffset` is the record's first byte in the decompressed input, `line` its
 * 1-based line (or the line of the error inside it).
 */

export type PubmedEvent =
  | { kind: 'article'; article: Article }
  | { kind: 'delete'; pmid: string; source: string }
  | { kind: 'dead-letter'; record: DeadLetterInput };

export interface ParsePubmedXmlOptions {
  /** `eutils` or the input file name; copied to every record. */
  source: string;
  /** Records larger than this (bytes) are dead-lettered unparsed. Default 4 MiB. */
  maxRecordBytes?: number;
  /** Title + abstract characters allowed per record. Default 1,000,000. */
  maxTextChars?: number;
  /** Raw bytes kept in a dead letter. Default 64 KiB. */
  maxRawBytes?: number;
  /** Clock for `ingestedAt` (epoch ms). Default Date.now. */
  now?: () => number;
}

export const PUBMED_XML_STAGE = 'producer.pubmed-xml';
export const DEFAULT_MAX_RECORD_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_TEXT_CHARS = 1_000_000;
export const DEFAULT_MAX_RAW_BYTES = 64 * 1024;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new MedStreamError('CONFIG_INVALID', `${name} must be a positive integer, got ${value}.`);
  }
  return value;
}

/** Offset of the first byte that is not valid UTF-8 (diagnostics only). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i];
    let extra: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      extra = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      extra = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      extra = 3;
      min = 0x10000;
    } else {
      return i;
    }
    if (i + extra >= n) return i;
    let cp = b & (0x3f >> extra);
    for (let k = 1; k <= extra; k++) {
      const c = bytes[i + k];
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += extra + 1;
  }
  return -1;
}

/** Best-effort PMID of a rejected record, for the dead letter's key (diagnostics only). */
function sniffPmid(bytes: Uint8Array): string | null {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 8192)).toString(
    'latin1',
  );
  const tag = head.indexOf('<PMID');
  if (tag < 0) return null;
  const gt = head.indexOf('>', tag);
  if (gt < 0) return null;
  let end = gt + 1;
  while (end < head.length && head.charCodeAt(end) >= 0x30 && head.charCodeAt(end) <= 0x39) end++;
  return end > gt + 1 ? head.slice(gt + 1, end) : null;
}

export async function* parsePubmedXml(
  input: ByteInput,
  options: ParsePubmedXmlOptions,
): AsyncIterable<PubmedEvent> {
  const source = options.source;
  const maxRecordBytes = positiveInteger(
    'maxRecordBytes',
    options.maxRecordBytes,
    DEFAULT_MAX_RECORD_BYTES,
  );
  const maxTextChars = positiveInteger(
    'maxTextChars',
    options.maxTextChars,
    DEFAULT_MAX_TEXT_CHARS,
  );
  const maxRawBytes = positiveInteger('maxRawBytes', options.maxRawBytes, DEFAULT_MAX_RAW_BYTES);
  const now = options.now ?? Date.now;
  const recordParser = new PubmedRecordParser({ source, maxTextChars, now });
  /** Entities declared in the DOCTYPE: references to them are XML_FORBIDDEN. */
  let declaredEntities: string[] = [];
  // Filled synchronously by the splitter's callback during push(); drained after each chunk.
  const pending: PubmedEvent[] = [];

  const deadLetter = (
    code: ErrorCode,
    message: string,
    raw: Uint8Array,
    size: number,
    byteOffset: number,
    line: number | null,
    column: number | null,
    pmid: string | null,
  ): void => {
    const value = Buffer.from(raw.subarray(0, maxRawBytes));
    pending.push({
      kind: 'dead-letter',
      record: {
        key: pmid === null ? null : Buffer.from(pmid, 'utf8'),
        value,
        valueTruncated: value.length < size,
        valueSize: size,
        stage: PUBMED_XML_STAGE,
        errorCode: code,
        message,
        source,
        position: { byteOffset, line, column },
      },
    });
  };

  /**
   * A fast-framed span that fails is handed back for careful framing (it may hold two records
   * run together by a missing end tag); only a carefully framed span is dead-lettered.
   */
  const onRecord = (segment: RecordSegment): RecordVerdict => {
    const { bytes, byteOffset, line, name } = segment;
    if (!isUtf8(bytes)) {
      if (segment.fast) return { reframe: true };
      const bad = firstInvalidUtf8(bytes);
      deadLetter(
        'ENCODING_INVALID',
        `Record <${name}> is not valid UTF-8 (first invalid byte at offset ${byteOffset + Math.max(bad, 0)}).`,
        bytes,
        bytes.length,
        byteOffset,
        line,
        null,
        sniffPmid(bytes),
      );
      return undefined;
    }
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
    const outcome: RecordOutcome = recordParser.parse(text, name);
    if (outcome.error !== null && segment.fast) return { reframe: true };
    if (outcome.article !== null) pending.push({ kind: 'article', article: outcome.article });
    for (const pmid of outcome.deletes) pending.push({ kind: 'delete', pmid, source });
    const error = outcome.error;
    if (error !== null) {
      let { code, message } = error;
      if (
        code === 'XML_MALFORMED' &&
        declaredEntities.length > 0 &&
        /undefined entity/.test(message)
      ) {
        const used = declaredEntities.filter((entity) => text.includes(`&${entity};`));
        if (used.length > 0) {
          code = 'XML_FORBIDDEN';
          message = `Record refers to DTD-declared entit${used.length > 1 ? 'ies' : 'y'} ${used
            .map((e) => `&${e};`)
            .join(', ')}; DTD entities are never expanded.`;
        }
      }
      deadLetter(
        code,
        message,
        bytes,
        bytes.length,
        byteOffset,
        error.line === null ? line : line + error.line - 1,
        error.line === null || error.line === 1 ? null : error.column,
        outcome.pmid ?? sniffPmid(bytes),
      );
    }
    return outcome.newlines === null ? undefined : { newlines: outcome.newlines };
  };

  const splitter = new RecordSplitter({ maxRecordBytes, maxRawBytes }, (segment) => {
    switch (segment.type) {
      case 'record':
        return onRecord(segment);
      case 'doctype':
        if (segment.entityNames.length > 0) {
          declaredEntities = segment.entityNames;
          deadLetter(
            'XML_FORBIDDEN',
            `DOCTYPE internal subset declares entities (${segment.entityNames.join(', ')}); they are not expanded and records using them are rejected.`,
            segment.raw,
            segment.size,
            segment.byteOffset,
            segment.line,
            null,
            null,
          );
        }
        break;
      case 'error':
        deadLetter(
          segment.code,
          segment.message,
          segment.raw,
          segment.size,
          segment.byteOffset,
          segment.line,
          null,
          sniffPmid(segment.raw),
        );
        break;
      case 'root':
        break;
    }
    return undefined;
  });

  try {
    for await (const chunk of decodedBytes(input)) {
      splitter.push(chunk);
      if (pending.length > 0) yield* pending.splice(0);
      if (splitter.finished) break;
    }
    splitter.end();
  } catch (error) {
    if (!(error instanceof MedStreamError && error.code === 'GZIP_CORRUPT')) {
      if (pending.length > 0) yield* pending.splice(0);
      throw error;
    }
    splitter.abort('GZIP_CORRUPT', error.message);
  }
  if (pending.length > 0) yield* pending.splice(0);
}
