import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { MedStreamError } from '../errors.js';

/**
 * Streaming reader of PubTator files:
 *
 * ```
 * PMID|t|title
 * PMID|a|abstract
 * PMID<TAB>start<TAB>end<TAB>mention<TAB>type<TAB>ids[<TAB>parts]
 * PMID<TAB>CID<TAB>chemical<TAB>disease          (BC5CDR relation lines)
 * <blank line between documents>
 * ```
 *
 * Offsets index `title + " " + abstract` in UTF-16 code units (the corpora are ASCII, where
 * code units, code points and bytes coincide). Quirks handled (shared/data/README.md):
 * - duplicate documents (PMID 8528200 twice in NCBI train) are yielded as they appear; callers
 *   that want unique PMIDs deduplicate (training-export does);
 * - IDs carry stray spaces or a `MESH:` prefix: normalized to CURIEs (`MESH:D008661`,
 *   `OMIM:106210`); `-1` (or empty) means no ID;
 * - composite IDs joined by `|` (BC5CDR, NCBI) or `+` (NCBI): split into `ids`, joiner kept;
 * - the optional 7th column of BC5CDR composite mentions: kept as `parts`;
 * - relation lines (`PMID\tCID\tD…\tD…`): kept separately in `relations`;
 * - `text.slice(start, end)` differing from the mention column: counted and flagged, never
 *   thrown (one NCBI train mention differs in whitespace only).
 * Structural damage (an annotation before its title, a PMID that changes inside a document,
 * offsets that are not integers or out of range) throws PUBTATOR_MALFORMED with the line number.
 */
export interface PubTatorMention {
  readonly start: number;
  readonly end: number;
  /** The mention column as written in the file. */
  readonly text: string;
  /** The type column as written (`Disease`, `Chemical`, `SpecificDisease`, `Modifier`, ...). */
  readonly type: string;
  /** Normalized CURIEs; empty when the file says `-1` or nothing. */
  readonly ids: readonly string[];
  /** The ID column as written. */
  readonly rawIds: string;
  /** How several IDs were joined (`|` alternatives/composite parts, `+` NCBI combination). */
  readonly idJoiner: '|' | '+' | null;
  /** BC5CDR composite mentions: the individual mentions of the 7th column. */
  readonly parts: readonly string[];
  /** Whether `document.text.slice(start, end) === text`. */
  readonly textMatches: boolean;
  /** 1-based line number in the source, for error messages and reports. */
  readonly line: number;
}

export interface PubTatorRelation {
  /** Relation type as written, e.g. `CID` (chemical-induced disease). */
  readonly type: string;
  /** The remaining columns, IDs normalized to CURIEs (`MESH:D008750`). */
  readonly args: readonly string[];
  readonly line: number;
}

export interface PubTatorDocument {
  readonly pmid: string;
  readonly title: string;
  readonly abstract: string;
  /** `title + " " + abstract`: what the offsets index. */
  readonly text: string;
  readonly mentions: readonly PubTatorMention[];
  readonly relations: readonly PubTatorRelation[];
  /** 1-based line of the title. */
  readonly line: number;
}

/** Normalizes one PubTator concept ID to a CURIE; undefined for "no ID" (`-1`, empty). */
export function normalizeConceptId(raw: string): string | undefined {
  const id = raw.replace(/\s+/g, '');
  if (id === '' || id === '-1' || id === '-') return undefined;
  const colon = id.indexOf(':');
  if (colon > 0) {
    const prefix = id.slice(0, colon).toUpperCase();
    const local = id.slice(colon + 1);
    if (local === '' || local === '-1') return undefined;
    return `${prefix === 'MESH' ? 'MESH' : prefix}:${local}`;
  }
  // Bare MeSH descriptors (D…) and supplementary concepts (C…) are MeSH; bare digits are OMIM.
  if (/^\d+$/.test(id)) return `OMIM:${id}`;
  return `MESH:${id}`;
}

/** Splits an ID column into CURIEs (composites on `|` or `+`), keeping the joiner. */
export function parseConceptIds(raw: string): { ids: string[]; joiner: '|' | '+' | null } {
  const joiner = raw.includes('|') ? '|' : raw.includes('+') ? '+' : null;
  const pieces = joiner === null ? [raw] : raw.split(joiner);
  const ids: string[] = [];
  for (const piece of pieces) {
    const id = normalizeConceptId(piece);
    if (id !== undefined && !ids.includes(id)) ids.push(id);
  }
  return { ids, joiner: ids.length > 1 ? joiner : null };
}

function malformed(message: string, line: number, source: string | undefined): MedStreamError {
  const where = source === undefined ? `line ${line}` : `${source}:${line}`;
  return new MedStreamError('PUBTATOR_MALFORMED', `PubTator ${where}: ${message}`, {
    details: { line, ...(source === undefined ? {} : { source }) },
  });
}

const OFFSET_RE = /^\d+$/;

interface Pending {
  pmid: string;
  title: string;
  abstract: string | undefined;
  line: number;
  annotations: { cols: string[]; line: number }[];
}

/**
 * Line-fed PubTator state machine: `push` each line (without its line break), `end` once.
 * Both return the documents completed by that call. The sync and streaming readers wrap it.
 */
export class PubTatorParser {
  private pending: Pending | undefined;
  private lineNo = 0;

  /** `source` (a file name) only decorates error messages. */
  constructor(private readonly source?: string) {}

  push(rawLine: string): PubTatorDocument[] {
    this.lineNo += 1;
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === '') return this.flush();
    const bar = line.indexOf('|');
    const tab = line.indexOf('\t');
    if (bar > 0 && (tab < 0 || bar < tab) && line.charAt(bar + 2) === '|') {
      return this.textLine(line, bar);
    }
    if (tab > 0) {
      if (this.pending === undefined) {
        throw malformed('annotation line before any title line', this.lineNo, this.source);
      }
      const cols = line.split('\t');
      if (cols[0] !== this.pending.pmid) {
        throw malformed(
          `annotation PMID ${cols[0]} inside document ${this.pending.pmid}`,
          this.lineNo,
          this.source,
        );
      }
      this.pending.annotations.push({ cols, line: this.lineNo });
      return [];
    }
    throw malformed(
      'neither a text line (PMID|t|…) nor an annotation line',
      this.lineNo,
      this.source,
    );
  }

  end(): PubTatorDocument[] {
    return this.flush();
  }

  private textLine(line: string, bar: number): PubTatorDocument[] {
    const pmid = line.slice(0, bar);
    const kind = line.charAt(bar + 1);
    const body = line.slice(bar + 3);
    if (kind === 't') {
      // A new title closes the previous document even without the blank separator line.
      const done = this.flush();
      this.pending = { pmid, title: body, abstract: undefined, line: this.lineNo, annotations: [] };
      return done;
    }
    if (kind === 'a') {
      if (this.pending === undefined || this.pending.pmid !== pmid) {
        throw malformed(`abstract of ${pmid} without its title`, this.lineNo, this.source);
      }
      if (this.pending.abstract !== undefined) {
        throw malformed(`second abstract line for ${pmid}`, this.lineNo, this.source);
      }
      this.pending.abstract = body;
      return [];
    }
    throw malformed(`unknown text line kind '${kind}'`, this.lineNo, this.source);
  }

  private flush(): PubTatorDocument[] {
    const p = this.pending;
    if (p === undefined) return [];
    this.pending = undefined;
    const abstract = p.abstract ?? '';
    const text = p.abstract === undefined ? p.title : `${p.title} ${abstract}`;
    const mentions: PubTatorMention[] = [];
    const relations: PubTatorRelation[] = [];
    for (const { cols, line } of p.annotations) {
      if (OFFSET_RE.test(cols[1] ?? '')) {
        mentions.push(this.mention(cols, line, text));
      } else {
        relations.push({
          type: cols[1] ?? '',
          args: cols.slice(2).map((a) => normalizeConceptId(a) ?? a.trim()),
          line,
        });
      }
    }
    return [{ pmid: p.pmid, title: p.title, abstract, text, mentions, relations, line: p.line }];
  }

  private mention(cols: string[], line: number, text: string): PubTatorMention {
    if (cols.length < 5) throw malformed('annotation with fewer than 5 columns', line, this.source);
    if (!OFFSET_RE.test(cols[2] ?? ''))
      throw malformed('end offset is not an integer', line, this.source);
    const start = Number(cols[1]);
    const end = Number(cols[2]);
    if (!(start < end && end <= text.length)) {
      throw malformed(
        `offsets ${start}-${end} outside text of length ${text.length}`,
        line,
        this.source,
      );
    }
    const mentionText = cols[3];
    const rawIds = cols[5] ?? '';
    const { ids, joiner } = parseConceptIds(rawIds);
    const partsCol = (cols[6] ?? '').trim();
    return {
      start,
      end,
      text: mentionText,
      type: cols[4].trim(),
      ids,
      rawIds,
      idJoiner: joiner,
      parts: partsCol === '' ? [] : partsCol.split('|'),
      textMatches: text.slice(start, end) === mentionText,
      line,
    };
  }
}

/** Parses a whole PubTator string (tests, small inputs). */
export function parsePubTator(content: string, source?: string): PubTatorDocument[] {
  const parser = new PubTatorParser(source);
  const docs: PubTatorDocument[] = [];
  for (const line of content.split('\n')) docs.push(...parser.push(line));
  docs.push(...parser.end());
  return docs;
}

/** Streams documents from lines (any async or sync iterable of lines without line breaks). */
export async function* readPubTatorLines(
  lines: AsyncIterable<string> | Iterable<string>,
  source?: string,
): AsyncGenerator<PubTatorDocument> {
  const parser = new PubTatorParser(source);
  for await (const line of lines) yield* parser.push(line);
  yield* parser.end();
}

/** Streams documents from a PubTator file; INPUT_NOT_FOUND when it cannot be opened. */
export async function* readPubTatorFile(path: string): AsyncGenerator<PubTatorDocument> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (error) =>
      reject(
        new MedStreamError(
          'INPUT_NOT_FOUND',
          `cannot read PubTator file ${path}: ${error.message}`,
          {
            cause: error,
          },
        ),
      ),
    );
  });
  await opened;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    yield* readPubTatorLines(lines, path);
  } finally {
    lines.close();
    stream.destroy();
  }
}

/** Mention-level integrity counts over documents (what the export summary reports). */
export interface PubTatorStats {
  documents: number;
  uniquePmids: number;
  mentions: number;
  mentionsByType: Record<string, number>;
  /** `text.slice(start, end) !== mention` */
  textMismatches: number;
  /** ... of which differ only in whitespace. */
  whitespaceOnlyMismatches: number;
  mentionsWithoutId: number;
  compositeIdMentions: number;
  relations: number;
}

export function emptyPubTatorStats(): PubTatorStats {
  return {
    documents: 0,
    uniquePmids: 0,
    mentions: 0,
    mentionsByType: {},
    textMismatches: 0,
    whitespaceOnlyMismatches: 0,
    mentionsWithoutId: 0,
    compositeIdMentions: 0,
    relations: 0,
  };
}

/** Adds one document to `stats`; `seen` tracks PMIDs for `uniquePmids`. */
export function addPubTatorStats(
  stats: PubTatorStats,
  doc: PubTatorDocument,
  seen: Set<string>,
): void {
  stats.documents += 1;
  if (!seen.has(doc.pmid)) {
    seen.add(doc.pmid);
    stats.uniquePmids += 1;
  }
  stats.relations += doc.relations.length;
  for (const m of doc.mentions) {
    stats.mentions += 1;
    stats.mentionsByType[m.type] = (stats.mentionsByType[m.type] ?? 0) + 1;
    if (!m.textMatches) {
      stats.textMismatches += 1;
      const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();
      if (squash(doc.text.slice(m.start, m.end)) === squash(m.text))
        stats.whitespaceOnlyMismatches += 1;
    }
    if (m.ids.length === 0) stats.mentionsWithoutId += 1;
    if (m.ids.length > 1) stats.compositeIdMentions += 1;
  }
}
