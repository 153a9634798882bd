import type { ErrorCode } from '../../errors.js';

/**
 * Byte-level framing of a PubMed XML stream into records, so that one bad record can be
 * dead-lettered whole and the next one parsed.
 *
 * Recovery model. The splitter understands only the document's outer structure: the prolog
 * (XML declaration, comments, PIs, DOCTYPE), the root element, and the root's children, which
 * are the records (`PubmedArticle`, `PubmedBookArticle`, `DeleteCitation`; `MedlineCitation`
 * in the older `MedlineCitationSet`). It holds the raw bytes of the current record only and
 * hands each complete record to the callback, which parses it on its own with a real XML
 * parser (saxes); a record that is not well-formed, not UTF-8 or too large is rejected
 * without disturbing its neighbours.
 *
 * Framing a record takes two passes at most:
 *
 * 1. Fast: the record ends at the first `</Name>` after its start tag (record elements never
 *    nest), found with one native substring search. The callback parses the span; if it is
 *    well-formed, that end tag was the record's own (any fake `</Name>` inside a comment,
 *    CDATA section or PI would have left that construct unterminated in the span).
 * 2. Careful, only when the callback rejects a fast span (returns `reframe`), at the end of
 *    input, or for an oversized record: the record's bytes are scanned again, skipping
 *    comments, CDATA and PIs, and the record ends at its own end tag, or — when that is
 *    missing — just before the next record's start tag or the root's end tag, where framing
 *    resumes. The span is handed over again and whatever is wrong with it is final.
 *
 * Memory is bounded by `maxRecordBytes`: a larger record is skipped to its end, keeping only
 * its first `maxRawBytes` for the dead letter.
 *
 * Everything outside records must be well-formed enough to frame: garbage before or after
 * the root, an unsupported root element, or input ending inside a record or before the root's
 * end tag ends the stream with one final (`fatal`) error segment, after all records before it.
 *
 * Record bytes are never decoded here: `<` and `>` are ASCII and never occur inside a
 * multi-byte UTF-8 sequence, so framing on them is encoding-safe wherever chunks are cut.
 *
 * Lines are counted as XML does (LF, CRLF and lone CR each end a line); the callback may
 * report a parsed record's line count so its bytes need not be scanned again for newlines.
 */

/** Root elements we frame, with the child elements that are records. */
export const RECORD_ELEMENTS: Readonly<Record<string, readonly string[]>> = {
  PubmedArticleSet: ['PubmedArticle', 'PubmedBookArticle', 'DeleteCitation'],
  MedlineCitationSet: ['MedlineCitation', 'DeleteCitation'],
  PubmedBookArticleSet: ['PubmedBookArticle', 'DeleteCitation'],
};

export interface SplitterLimits {
  /** A record larger than this is skipped and reported as XML_TOO_LARGE. */
  maxRecordBytes: number;
  /** Raw bytes kept in an error segment. */
  maxRawBytes: number;
}

export interface SegmentPosition {
  /** Absolute offset in the (decompressed) input. */
  byteOffset: number;
  /** 1-based line of `byteOffset`. */
  line: number;
}

export interface RecordSegment extends SegmentPosition {
  type: 'record';
  name: string;
  /** A view into the splitter's buffer: valid only during the callback. */
  bytes: Uint8Array;
  /** Framed by the fast pass: the callback may answer `reframe` instead of reporting errors. */
  fast: boolean;
}

export type Segment =
  | (SegmentPosition & {
      type: 'doctype';
      /** Names declared with `<!ENTITY` in the internal subset (never expanded). */
      entityNames: string[];
      raw: Buffer;
      size: number;
    })
  | { type: 'root'; name: string }
  | RecordSegment
  | (SegmentPosition & {
      type: 'error';
      code: ErrorCode;
      message: string;
      /** Copy of the offending bytes, at most `maxRawBytes`. */
      raw: Buffer;
      /** Size of the offending bytes before capping. */
      size: number;
      /** True when nothing after this can be framed; the splitter ignores further input. */
      fatal: boolean;
    });

/**
 * The callback's answer for a record: `reframe` (fast spans only) to have it framed carefully
 * and delivered again; `newlines`, the number of line ends in an accepted record.
 */
export type RecordVerdict = { reframe: true } | { reframe?: false; newlines?: number } | void;

const State = { Prolog: 0, Root: 1, Record: 2, Epilog: 3, Done: 4 } as const;
type State = (typeof State)[keyof typeof State];

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const LF = 0x0a;
const CR = 0x0d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

const COMMENT_OPEN = Buffer.from('<!--', 'latin1');
const COMMENT_CLOSE = Buffer.from('-->', 'latin1');
const CDATA_OPEN = Buffer.from('<![CDATA[', 'latin1');
const CDATA_CLOSE = Buffer.from(']]>', 'latin1');
const PI_CLOSE = Buffer.from('?>', 'latin1');
const DOCTYPE_OPEN = Buffer.from('<!DOCTYPE', 'latin1');
const ENTITY_DECL = Buffer.from('<!ENTITY', 'latin1');

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === LF || byte === CR || byte === 0x09;
}

/** Bytes that end an element name for framing purposes. */
function endsName(byte: number): boolean {
  return isSpace(byte) || byte === GT || byte === SLASH;
}

export class RecordSplitter {
  private buf: Buffer = Buffer.alloc(64 * 1024);
  /** buf[0, len). */
  private view: Buffer = this.buf.subarray(0, 0);
  /** Absolute offset of buf[0]. */
  private base = 0;
  /** Valid bytes in buf. */
  private len = 0;
  /** Absolute scan position: every byte before it has been classified. */
  private pos = 0;
  private state: State = State.Prolog;
  /** Terminator of the comment/CDATA/PI being skipped, if any. */
  private skipUntil: Buffer | null = null;

  private rootName = '';
  private rootNameBytes: Buffer = Buffer.alloc(0);
  private recordNames: Buffer[] = [];

  private recordStart = 0;
  /** First byte after the record's start tag. */
  private recordBodyStart = 0;
  private recordLine = 1;
  private recordName = '';
  private recordNameBytes: Buffer = Buffer.alloc(0);
  /** `</` + record name: the fast pass's needle. */
  private recordEndNeedle: Buffer = Buffer.alloc(0);
  private careful = false;
  /** Set while skipping a record larger than maxRecordBytes: its first bytes. */
  private oversizeHead: Buffer | null = null;

  /** Lines counted up to `lineAtOffset`. */
  private lineAtOffset = 0;
  private line = 1;

  constructor(
    private readonly limits: SplitterLimits,
    private readonly onSegment: (segment: Segment) => RecordVerdict,
  ) {}

  /** True once a fatal error or the end of the document was reached; input can stop. */
  get finished(): boolean {
    return this.state === State.Done;
  }

  push(chunk: Uint8Array): void {
    if (this.state === State.Done || chunk.length === 0) return;
    this.append(chunk);
    this.scan(false);
  }

  /** End of input: whatever is still open is truncated. */
  end(): void {
    if (this.finished) return;
    this.scan(true);
    if (this.state === State.Record && !this.careful) {
      // The fast pass never found the end tag: look for a missing one before giving up.
      this.beCareful();
      this.scan(true);
    }
    if (this.finished) return;
    this.finishWith('XML_TRUNCATED', this.truncationMessage());
  }

  /** The input failed underneath (e.g. a corrupt gzip stream): report the remainder. */
  abort(code: ErrorCode, message: string): void {
    if (this.state === State.Done) return;
    this.finishWith(code, `${message} ${this.truncationMessage()}`);
  }

  // ---- buffer management -------------------------------------------------------------------

  /** First absolute offset that must stay in the buffer. */
  private keepFrom(): number {
    if (this.state === State.Record && this.oversizeHead === null) return this.recordStart;
    return this.pos;
  }

  private append(chunk: Uint8Array): void {
    const keep = this.keepFrom();
    const drop = keep - this.base;
    this.countLines(keep);
    const live = this.len - drop;
    const needed = live + chunk.length;
    if (needed > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(needed, this.buf.length * 2));
      this.buf.copy(next, 0, drop, this.len);
      this.buf = next;
    } else if (drop > 0) {
      this.buf.copyWithin(0, drop, this.len);
    }
    this.base = keep;
    this.len = live;
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
    this.view = this.buf.subarray(0, this.len);
  }

  /** Advances the line counter to absolute offset `to` (bytes from lineAtOffset buffered). */
  private countLines(to: number): number {
    if (to > this.lineAtOffset) {
      const { buf } = this;
      let line = this.line;
      for (
        let i = Math.max(this.lineAtOffset, this.base) - this.base, end = to - this.base;
        i < end;
        i++
      ) {
        const byte = buf[i];
        // A CR at the very end of the buffer is taken as the first half of a CRLF.
        if (byte === LF || (byte === CR && i + 1 < this.len && buf[i + 1] !== LF)) line++;
      }
      this.line = line;
      this.lineAtOffset = to;
    }
    return this.line;
  }

  private copyRaw(from: number, to: number): { raw: Buffer; size: number } {
    const size = Math.max(0, to - from);
    const start = Math.max(from, this.base) - this.base;
    const end = Math.min(start + this.limits.maxRawBytes, to - this.base, this.len);
    return { raw: Buffer.from(this.buf.subarray(start, Math.max(start, end))), size };
  }

  /** Whether `bytes` occur at `i`: 'maybe' when the buffer ends while they still could. */
  private prefixAt(i: number, bytes: Buffer): 'yes' | 'no' | 'maybe' {
    const { buf, len } = this;
    for (let k = 0; k < bytes.length; k++) {
      if (i + k >= len) return 'maybe';
      if (buf[i + k] !== bytes[k]) return 'no';
    }
    return 'yes';
  }

  /** Index just past the element name starting at `i`, or -1 if the buffer ends first. */
  private nameEnd(i: number): number {
    const { buf, len } = this;
    while (i < len && !endsName(buf[i])) i++;
    return i < len ? i : -1;
  }

  private nameEquals(i: number, end: number, name: Buffer): boolean {
    if (end - i !== name.length) return false;
    for (let k = 0; k < name.length; k++) if (this.buf[i + k] !== name[k]) return false;
    return true;
  }

  /** Index of the `>` ending the start tag that begins at `i` (quote-aware), or -1. */
  private startTagEnd(i: number): number {
    const { buf, len } = this;
    let quote = 0;
    for (let k = i + 1; k < len; k++) {
      const byte = buf[k];
      if (quote !== 0) {
        if (byte === quote) quote = 0;
      } else if (byte === DQUOTE || byte === SQUOTE) {
        quote = byte;
      } else if (byte === GT) {
        return k;
      } else if (byte === LT) {
        // `<` cannot occur inside a tag: end the tag here and let the record parser reject
        // the damage, rather than let a lost quote swallow the stream.
        return k - 1;
      }
    }
    return -1;
  }

  /** Index of the first non-space byte from `i` (the `>` of an end tag), or -1. */
  private indexAfterSpaces(i: number): number {
    const { buf, len } = this;
    while (i < len && isSpace(buf[i])) i++;
    return i < len ? i : -1;
  }

  /** Index of the next `<` from `i`, or `len`. */
  private nextLt(i: number): number {
    const found = this.view.indexOf(LT, i);
    return found < 0 ? this.len : found;
  }

  private nonSpaceIn(from: number, to: number): number {
    for (let k = from; k < to; k++) if (!isSpace(this.buf[k])) return k;
    return -1;
  }

  // ---- scanning ----------------------------------------------------------------------------

  private scan(eof: boolean): void {
    for (;;) {
      if (this.skipUntil !== null && !this.skipMarkup()) break;
      let progressed: boolean;
      switch (this.state) {
        case State.Prolog:
          progressed = this.scanProlog(eof);
          break;
        case State.Root:
          progressed = this.scanRoot();
          break;
        case State.Record:
          progressed = this.careful ? this.scanRecordCarefully() : this.scanRecordFast();
          break;
        case State.Epilog:
          progressed = this.scanEpilog();
          break;
        default:
          return;
      }
      if (!progressed) break;
    }
    this.checkSizes();
  }

  /** Skips to the end of the current comment/CDATA/PI; false when the buffer ends first. */
  private skipMarkup(): boolean {
    const terminator = this.skipUntil as Buffer;
    const from = this.pos - this.base;
    const found = this.view.indexOf(terminator, from);
    if (found < 0) {
      // The terminator may straddle the chunk boundary: keep its possible first bytes.
      this.pos = this.base + Math.max(from, this.len - (terminator.length - 1));
      return false;
    }
    this.pos = this.base + found + terminator.length;
    this.skipUntil = null;
    return true;
  }

  /**
   * At a `<`: starts skipping a comment, CDATA section or PI. Returns 'skip' when one started,
   * 'wait' when the buffer ends before it can tell, 'other' otherwise (including `<!DOCTYPE`,
   * which the caller handles).
   */
  private markupAt(i: number): 'skip' | 'wait' | 'other' {
    const { buf, len } = this;
    if (i + 1 >= len) return 'wait';
    const next = buf[i + 1];
    if (next === QUESTION) {
      this.skipUntil = PI_CLOSE;
      this.pos = this.base + i + 2;
      return 'skip';
    }
    if (next !== BANG) return 'other';
    const comment = this.prefixAt(i, COMMENT_OPEN);
    if (comment === 'yes') {
      this.skipUntil = COMMENT_CLOSE;
      this.pos = this.base + i + COMMENT_OPEN.length;
      return 'skip';
    }
    const cdata = this.prefixAt(i, CDATA_OPEN);
    if (cdata === 'yes') {
      this.skipUntil = CDATA_CLOSE;
      this.pos = this.base + i + CDATA_OPEN.length;
      return 'skip';
    }
    if (comment === 'maybe' || cdata === 'maybe' || this.prefixAt(i, DOCTYPE_OPEN) === 'maybe') {
      return 'wait';
    }
    return 'other';
  }

  private scanProlog(eof: boolean): boolean {
    let from = this.pos - this.base;
    if (this.pos === 0) {
      if (this.len < 3 && !eof) return false;
      if (this.buf[0] === 0xef && this.buf[1] === 0xbb && this.buf[2] === 0xbf) from = 3;
    }
    const lt = this.nextLt(from);
    const text = this.nonSpaceIn(from, lt);
    if (text >= 0) {
      this.fatalAt(
        this.base + text,
        'XML_STREAM_MALFORMED',
        'Content before the root element: the input is not a PubMed XML document.',
      );
      return false;
    }
    this.pos = this.base + lt;
    if (lt >= this.len) return false;
    const markup = this.markupAt(lt);
    if (markup === 'skip') return true;
    if (markup === 'wait') return false;
    if (this.prefixAt(lt, DOCTYPE_OPEN) === 'yes') return this.scanDoctype(lt);
    const next = this.buf[lt + 1];
    if (next === BANG || next === SLASH) {
      this.fatalAt(
        this.base + lt,
        'XML_STREAM_MALFORMED',
        'Unexpected markup before the root element.',
      );
      return false;
    }
    const nameEnd = this.nameEnd(lt + 1);
    const tagEnd = nameEnd < 0 ? -1 : this.startTagEnd(lt);
    if (tagEnd < 0) return false;
    const name = this.buf.toString('latin1', lt + 1, nameEnd);
    const records = Object.hasOwn(RECORD_ELEMENTS, name) ? RECORD_ELEMENTS[name] : undefined;
    if (records === undefined) {
      this.fatalAt(
        this.base + lt,
        'XML_UNEXPECTED_ROOT',
        `Root element <${name}> is not a PubMed article set (expected ${Object.keys(RECORD_ELEMENTS).join(', ')}).`,
      );
      return false;
    }
    this.rootName = name;
    this.rootNameBytes = Buffer.from(name, 'latin1');
    this.recordNames = records.map((r) => Buffer.from(r, 'latin1'));
    this.onSegment({ type: 'root', name });
    this.pos = this.base + tagEnd + 1;
    this.state = this.buf[tagEnd - 1] === SLASH ? State.Epilog : State.Root;
    return true;
  }

  /**
   * The DOCTYPE is framed (quotes, internal subset brackets, comments in the subset) but never
   * interpreted: its external DTD is not fetched and its entity declarations are not expanded.
   * Declared entity names are reported so the caller can name them when records use them.
   */
  private scanDoctype(start: number): boolean {
    const { buf, len } = this;
    let quote = 0;
    let depth = 0;
    for (let k = start + DOCTYPE_OPEN.length; k < len; k++) {
      const byte = buf[k];
      if (quote !== 0) {
        if (byte === quote) quote = 0;
      } else if (byte === DQUOTE || byte === SQUOTE) {
        quote = byte;
      } else if (byte === LBRACKET) {
        depth++;
      } else if (byte === RBRACKET) {
        depth--;
      } else if (depth > 0 && byte === LT && this.prefixAt(k, COMMENT_OPEN) === 'yes') {
        const close = this.view.indexOf(COMMENT_CLOSE, k + COMMENT_OPEN.length);
        if (close < 0) return false;
        k = close + COMMENT_CLOSE.length - 1;
      } else if (byte === GT && depth <= 0) {
        const byteOffset = this.base + start;
        const line = this.countLines(byteOffset);
        const { raw, size } = this.copyRaw(byteOffset, this.base + k + 1);
        this.onSegment({
          type: 'doctype',
          entityNames: this.entityNames(start, k),
          raw,
          size,
          byteOffset,
          line,
        });
        this.pos = this.base + k + 1;
        return true;
      }
    }
    return false;
  }

  private entityNames(start: number, end: number): string[] {
    const names: string[] = [];
    const subset = this.buf.subarray(0, end);
    let at = subset.indexOf(ENTITY_DECL, start);
    while (at >= 0) {
      let k = at + ENTITY_DECL.length;
      while (k < end && isSpace(this.buf[k])) k++;
      if (this.buf[k] === 0x25 /* % parameter entity */) {
        k++;
        while (k < end && isSpace(this.buf[k])) k++;
      }
      let e = k;
      while (e < end && !isSpace(this.buf[e]) && this.buf[e] !== GT) e++;
      names.push(this.buf.toString('latin1', k, e));
      at = subset.indexOf(ENTITY_DECL, e);
    }
    return names;
  }

  private scanRoot(): boolean {
    const lt = this.nextLt(this.pos - this.base);
    // Text between records (indentation, stray characters) carries nothing; it is skipped.
    this.pos = this.base + lt;
    if (lt >= this.len) return false;
    const markup = this.markupAt(lt);
    if (markup === 'skip') return true;
    if (markup === 'wait') return false;
    const { buf } = this;
    if (buf[lt + 1] === SLASH) {
      const nameEnd = this.nameEnd(lt + 2);
      if (nameEnd < 0) return false;
      const close = this.indexAfterSpaces(nameEnd);
      if (close < 0) return false;
      if (this.nameEquals(lt + 2, nameEnd, this.rootNameBytes)) {
        this.pos = this.base + close + 1;
        this.state = State.Epilog;
        return true;
      }
      const name = buf.toString('latin1', lt + 2, nameEnd);
      this.errorAt(
        this.base + lt,
        this.base + close + 1,
        `Stray end tag </${name}> between records.`,
      );
      this.pos = this.base + close + 1;
      return true;
    }
    if (buf[lt + 1] === BANG) {
      // `<!DOCTYPE`/`<!ELEMENT` inside the root: not well-formed; skip to its `>`.
      const gt = this.startTagEnd(lt);
      if (gt < 0) return false;
      this.errorAt(
        this.base + lt,
        this.base + gt + 1,
        'Markup declaration inside the root element.',
      );
      this.pos = this.base + gt + 1;
      return true;
    }
    const nameEnd = this.nameEnd(lt + 1);
    if (nameEnd < 0) return false;
    const tagEnd = this.startTagEnd(lt);
    if (tagEnd < 0) return false;
    this.recordStart = this.base + lt;
    this.recordBodyStart = this.base + tagEnd + 1;
    this.recordLine = this.countLines(this.recordStart);
    if (!this.nameEquals(lt + 1, nameEnd, this.recordNameBytes)) {
      this.recordNameBytes = Buffer.from(buf.subarray(lt + 1, nameEnd));
      this.recordName = this.recordNameBytes.toString('latin1');
      this.recordEndNeedle = Buffer.from(`</${this.recordName}`, 'latin1');
    }
    this.careful = false;
    this.oversizeHead = null;
    this.pos = this.recordBodyStart;
    if (buf[tagEnd - 1] === SLASH) {
      // An empty record cannot be framed differently: its verdict is final.
      this.careful = true;
      this.emitRecord(this.pos);
    } else {
      this.state = State.Record;
    }
    return true;
  }

  /** Pass 1: the first `</Name>` ends the record; the callback's parse checks the guess. */
  private scanRecordFast(): boolean {
    const needle = this.recordEndNeedle;
    let from = this.pos - this.base;
    for (;;) {
      const at = this.view.indexOf(needle, from);
      if (at < 0) {
        this.pos = this.base + Math.max(from, this.len - (needle.length - 1));
        return false;
      }
      const after = at + needle.length;
      if (after >= this.len) {
        this.pos = this.base + at;
        return false;
      }
      if (!endsName(this.buf[after])) {
        from = at + 1; // e.g. `</PubmedArticleSet`
        continue;
      }
      const gt = this.indexAfterSpaces(after);
      if (gt < 0) {
        this.pos = this.base + at;
        return false;
      }
      // A damaged end tag (`</PubmedArticle x`) still ends the span; the parse rejects it.
      this.finishRecord(this.base + (this.buf[gt] === GT ? gt + 1 : gt));
      return true;
    }
  }

  /** Pass 2: skips comments/CDATA/PIs; a missing end tag ends the record at the next record. */
  private scanRecordCarefully(): boolean {
    const { buf, len } = this;
    let i = this.pos - this.base;
    for (;;) {
      i = this.nextLt(i);
      if (i >= len) {
        this.pos = this.base + len;
        return false;
      }
      this.pos = this.base + i;
      const markup = this.markupAt(i);
      if (markup === 'skip') return true;
      if (markup === 'wait') return false;
      const next = buf[i + 1];
      if (next === SLASH) {
        const nameEnd = this.nameEnd(i + 2);
        if (nameEnd < 0) return false;
        if (this.nameEquals(i + 2, nameEnd, this.recordNameBytes)) {
          const gt = this.indexAfterSpaces(nameEnd);
          if (gt < 0) return false;
          this.finishRecord(this.base + (buf[gt] === GT ? gt + 1 : gt));
          return true;
        }
        if (this.nameEquals(i + 2, nameEnd, this.rootNameBytes)) {
          this.rejectOpenRecord(i, 'its end tag is missing before the root end tag');
          return true;
        }
        i = nameEnd;
        continue;
      }
      if (next !== BANG && next !== QUESTION) {
        const nameEnd = this.nameEnd(i + 1);
        if (nameEnd < 0) return false;
        for (const name of this.recordNames) {
          if (this.nameEquals(i + 1, nameEnd, name)) {
            this.rejectOpenRecord(
              i,
              `its end tag is missing before the next <${name.toString('latin1')}>`,
            );
            return true;
          }
        }
        i = nameEnd;
        continue;
      }
      i += 2;
    }
  }

  private beCareful(): void {
    this.careful = true;
    this.skipUntil = null;
    this.pos = this.recordBodyStart;
  }

  /** The open record spans [recordStart, end): deliver it, or reframe it when asked to. */
  private finishRecord(end: number): void {
    if (this.emitRecord(end) === 'reframe') {
      this.beCareful();
      return;
    }
    this.pos = end;
    this.state = State.Root;
  }

  private scanEpilog(): boolean {
    const from = this.pos - this.base;
    const lt = this.nextLt(from);
    const text = this.nonSpaceIn(from, lt);
    if (text >= 0) {
      this.fatalAt(
        this.base + text,
        'XML_STREAM_MALFORMED',
        `Content after the end of <${this.rootName}>.`,
      );
      return false;
    }
    this.pos = this.base + lt;
    if (lt >= this.len) return false;
    const markup = this.markupAt(lt);
    if (markup === 'skip') return true;
    if (markup === 'wait') return false;
    this.fatalAt(
      this.base + lt,
      'XML_STREAM_MALFORMED',
      `Markup after the end of <${this.rootName}>.`,
    );
    return false;
  }

  // ---- output ------------------------------------------------------------------------------

  private emitRecord(end: number): 'reframe' | 'done' {
    if (this.oversizeHead === null && end - this.recordStart > this.limits.maxRecordBytes) {
      // Whole in one large chunk, never seen growing: frame it carefully, then refuse it.
      if (!this.careful) return 'reframe';
      this.oversizeHead = this.copyRaw(this.recordStart, end).raw;
    }
    if (this.oversizeHead !== null) {
      const size = end - this.recordStart;
      this.onSegment({
        type: 'error',
        code: 'XML_TOO_LARGE',
        message: `Record <${this.recordName}> is ${size} bytes, more than maxRecordBytes (${this.limits.maxRecordBytes}); skipped.`,
        raw: this.oversizeHead,
        size,
        byteOffset: this.recordStart,
        line: this.recordLine,
        fatal: false,
      });
      this.oversizeHead = null;
      return 'done';
    }
    const fast = !this.careful;
    const verdict = this.onSegment({
      type: 'record',
      name: this.recordName,
      bytes: this.buf.subarray(this.recordStart - this.base, end - this.base),
      byteOffset: this.recordStart,
      line: this.recordLine,
      fast,
    });
    if (verdict === undefined) return 'done';
    if (verdict.reframe === true) return fast ? 'reframe' : 'done';
    if (verdict.newlines !== undefined && this.lineAtOffset <= this.recordStart) {
      // The parser counted the record's lines already: skip our own pass over its bytes.
      this.line = this.recordLine + verdict.newlines;
      this.lineAtOffset = end;
    }
    return 'done';
  }

  /** The open record ends at `i` without its end tag: reject it and rescan from `i`. */
  private rejectOpenRecord(i: number, reason: string): void {
    const end = this.base + i;
    const { raw, size } =
      this.oversizeHead === null
        ? this.copyRaw(this.recordStart, end)
        : { raw: this.oversizeHead, size: end - this.recordStart };
    this.onSegment({
      type: 'error',
      code: 'XML_MALFORMED',
      message: `Record <${this.recordName}> is not well-formed: ${reason}.`,
      raw,
      size,
      byteOffset: this.recordStart,
      line: this.recordLine,
      fatal: false,
    });
    this.oversizeHead = null;
    this.pos = end;
    this.state = State.Root;
  }

  /** Enforces maxRecordBytes on the open record and on anything else held in the buffer. */
  private checkSizes(): void {
    const { maxRecordBytes } = this.limits;
    if (this.state === State.Record) {
      if (this.oversizeHead === null && this.base + this.len - this.recordStart > maxRecordBytes) {
        this.countLines(this.pos);
        this.oversizeHead = this.copyRaw(this.recordStart, this.base + this.len).raw;
        // From here on the record's bytes are dropped as they are scanned, which only the
        // careful pass can do (it knows where comments and the next record start).
        if (!this.careful) this.beCareful();
      }
      return;
    }
    if (this.state !== State.Done && this.base + this.len - this.pos > maxRecordBytes) {
      this.fatalAt(
        this.pos,
        'XML_TOO_LARGE',
        `More than maxRecordBytes (${maxRecordBytes}) of markup outside any record.`,
      );
    }
  }

  private errorAt(from: number, to: number, message: string): void {
    const { raw, size } = this.copyRaw(from, to);
    this.onSegment({
      type: 'error',
      code: 'XML_MALFORMED',
      message,
      raw,
      size,
      byteOffset: from,
      line: this.countLines(from),
      fatal: false,
    });
  }

  /** Reports [from, end of buffer) and stops: nothing after it can be framed. */
  private fatalAt(from: number, code: ErrorCode, message: string): void {
    const { raw, size } = this.copyRaw(from, this.base + this.len);
    this.onSegment({
      type: 'error',
      code,
      message,
      raw,
      size,
      byteOffset: from,
      line: this.countLines(from),
      fatal: true,
    });
    this.state = State.Done;
  }

  private truncationMessage(): string {
    switch (this.state) {
      case State.Prolog:
        return 'The input ended before the root element.';
      case State.Root:
        return `The input ended before </${this.rootName}>.`;
      case State.Record:
        return `The input ended inside <${this.recordName}> (record not closed).`;
      default:
        return 'The input ended.';
    }
  }

  /** Ends the stream: reports what is still open (nothing, in the epilog) and stops. */
  private finishWith(code: ErrorCode, message: string): void {
    if (this.state === State.Epilog && this.skipUntil === null && code === 'XML_TRUNCATED') {
      this.state = State.Done;
      return;
    }
    if (this.state === State.Record) {
      const end = this.base + this.len;
      const { raw, size } =
        this.oversizeHead === null
          ? this.copyRaw(this.recordStart, end)
          : { raw: this.oversizeHead, size: end - this.recordStart };
      this.onSegment({
        type: 'error',
        code,
        message,
        raw,
        size,
        byteOffset: this.recordStart,
        line: this.recordLine,
        fatal: true,
      });
      this.state = State.Done;
      return;
    }
    this.fatalAt(this.pos, code, message);
  }
}
