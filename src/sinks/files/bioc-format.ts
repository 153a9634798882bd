import type { AnnotatedArticle } from '../../codec/records.js';
import { articleText } from '../../codec/records.js';
import { jsonOneLine } from './ndjson-format.js';

/**
 * BioC JSON, in the shape the `bioc` Python package (`bioc.biocjson`) reads and writes and
 * PubTator3's `biocjson` export uses:
 *
 * ```
 * {"source","date","key","infons":{},"documents":[
 *   {"id":PMID,"infons":{…},"passages":[
 *     {"offset":0,"infons":{"type":"title"},"text":…,"sentences":[],"annotations":[…],"relations":[]},
 *     {"offset":T+1,"infons":{"type":"abstract"},"text":…,"sentences":[],"annotations":[…],"relations":[]}],
 *    "annotations":[],"relations":[]},
 *   …]}
 * ```
 *
 * - Offsets are document offsets, as in PubTator3: the title passage starts at 0, the abstract
 *   passage one character after the title (the PubTator text `title + " " + abstract`), and an
 *   annotation's location is its offset in that text, not in its passage. An article without
 *   an abstract keeps an empty abstract passage, so every document has the same two passages
 *   and the text is always `title + " " + abstract`.
 * - Offsets and lengths count Unicode code points, not the UTF-16 code units of the
 *   AnnotatedArticle record: BioC readers index the passage text by character (Python's `str`,
 *   the reference implementation). For text without characters outside the Basic Multilingual
 *   Plane — nearly all of PubMed — the two coincide; otherwise they are converted here.
 * - Annotation infons: `type`; `identifier`, the mention's concept ids (CURIEs such as
 *   `MESH:D003920`) joined with `;` as PubTator exports several ids of one mention, `-` when
 *   the mention is not normalized (a reader splitting on `;` or `,` gets the CURIEs back);
 *   `score` and `source` (model | dictionary | abbreviation) of the mention.
 * - Document infons carry what produced the annotations (model and vocabulary versions, text
 *   hash, time), per document because one file may mix records of several model versions.
 * - A mention lies in one passage: the annotator splits sentences at the end of the title, so
 *   none spans the separator; a record where one does cannot be expressed and is refused
 *   (see {@link biocProblem}), as is a mention boundary inside a surrogate pair.
 *
 * Every infon value is a string (BioC infons are key/text pairs). Each document is written on
 * one line, so a file can be streamed: {@link biocCollectionOpening}, documents separated by
 * {@link BIOC_DOCUMENT_SEPARATOR}, then {@link BIOC_COLLECTION_CLOSING}.
 */

export interface BioCLocation {
  offset: number;
  length: number;
}

export interface BioCAnnotation {
  id: string;
  infons: Record<string, string>;
  text: string;
  locations: BioCLocation[];
}

export interface BioCNode {
  refid: string;
  role: string;
}

export interface BioCRelation {
  id: string;
  infons: Record<string, string>;
  nodes: BioCNode[];
}

export interface BioCSentence {
  offset: number;
  infons: Record<string, string>;
  text: string;
  annotations: BioCAnnotation[];
  relations: BioCRelation[];
}

export interface BioCPassage {
  offset: number;
  infons: Record<string, string>;
  text: string;
  sentences: BioCSentence[];
  annotations: BioCAnnotation[];
  relations: BioCRelation[];
}

export interface BioCDocument {
  id: string;
  infons: Record<string, string>;
  passages: BioCPassage[];
  annotations: BioCAnnotation[];
  relations: BioCRelation[];
}

export interface BioCCollectionInfo {
  source: string;
  /** `YYYY-MM-DD`: when the file was written. */
  date: string;
  key: string;
  infons: Record<string, string>;
}

export const BIOC_DOCUMENT_SEPARATOR = ',\n';
export const BIOC_COLLECTION_CLOSING = '\n]}\n';

/** The collection fields MedStream writes; `date` is the day the file is started (UTC). */
export function biocCollectionInfo(now: Date = new Date()): BioCCollectionInfo {
  return { source: 'MedStream', date: now.toISOString().slice(0, 10), key: 'BioC.key', infons: {} };
}

/** Everything before the first document: `{"source":…,"documents":[` and a line break. */
export function biocCollectionOpening(info: BioCCollectionInfo): string {
  const head = jsonOneLine({ ...info, documents: [] });
  // The serialized collection ends with `"documents":[]}`; drop `]}` to leave the array open.
  return `${head.slice(0, -2)}\n`;
}

/** A whole collection in one string (small outputs and tests); files stream instead. */
export function formatBioCCollection(
  articles: readonly AnnotatedArticle[],
  info: BioCCollectionInfo = biocCollectionInfo(),
): string {
  return (
    biocCollectionOpening(info) +
    articles.map(formatBioCDocument).join(BIOC_DOCUMENT_SEPARATOR) +
    BIOC_COLLECTION_CLOSING
  );
}

/** One document as a single line of JSON (no separator, no line break). */
export function formatBioCDocument(article: AnnotatedArticle): string {
  return jsonOneLine(toBioCDocument(article));
}

/**
 * Why `article` cannot be written as BioC (a mention across the title/abstract boundary, or a
 * boundary between the halves of a surrogate pair), or undefined. Offsets are assumed to be
 * valid otherwise (record-check.ts runs first).
 */
export function biocProblem(article: AnnotatedArticle): string | undefined {
  const text = articleText(article);
  const titleEnd = article.title.length;
  for (const [i, m] of article.mentions.entries()) {
    if (m.start < titleEnd + 1 && m.end > titleEnd) {
      return `mention ${i} (${m.start}-${m.end}) spans the title and the abstract passages`;
    }
    if (splitsSurrogatePair(text, m.start) || splitsSurrogatePair(text, m.end)) {
      return `mention ${i} (${m.start}-${m.end}) starts or ends inside a surrogate pair`;
    }
  }
  return undefined;
}

export function toBioCDocument(article: AnnotatedArticle): BioCDocument {
  const text = articleText(article);
  const toChar = codePointIndex(text);
  const titleEnd = article.title.length;
  const passage = (offset: number, type: string, passageText: string): BioCPassage => ({
    offset,
    infons: { type },
    text: passageText,
    sentences: [],
    annotations: [],
    relations: [],
  });
  const title = passage(0, 'title', article.title);
  const abstract = passage(toChar(titleEnd + 1), 'abstract', article.abstract);
  for (const [i, m] of article.mentions.entries()) {
    const start = toChar(m.start);
    (m.end <= titleEnd ? title : abstract).annotations.push({
      id: String(i),
      infons: {
        identifier: m.ids.length === 0 ? '-' : m.ids.join(';'),
        type: m.type,
        score: String(m.score),
        source: m.source,
      },
      text: m.text,
      locations: [{ offset: start, length: toChar(m.end) - start }],
    });
  }
  const infons: Record<string, string> = {
    article_version: String(article.version),
    model: article.modelName,
    model_version: article.modelVersion,
    vocabulary_version: article.vocabularyVersion,
    text_sha256: article.textSha256,
    processed_at: new Date(article.processedAt).toISOString(),
  };
  if (article.journal !== null) infons.journal = article.journal;
  if (article.publicationDate !== null) infons.publication_date = article.publicationDate;
  return {
    id: article.pmid,
    infons,
    passages: [title, abstract],
    annotations: [],
    relations: [],
  };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function splitsSurrogatePair(text: string, index: number): boolean {
  return (
    index > 0 &&
    index < text.length &&
    isHighSurrogate(text.charCodeAt(index - 1)) &&
    isLowSurrogate(text.charCodeAt(index))
  );
}

/**
 * Maps UTF-16 offsets of `text` to code point offsets. The identity for text without
 * surrogates (the common case costs one regex test); otherwise a table built once per text.
 */
export function codePointIndex(text: string): (utf16Offset: number) => number {
  if (!/[\ud800-\udfff]/.test(text)) return (offset) => offset;
  const table = new Int32Array(text.length + 1);
  let chars = 0;
  for (let i = 0; i < text.length; i += 1) {
    table[i] = chars;
    const pair = isHighSurrogate(text.charCodeAt(i)) && isLowSurrogate(text.charCodeAt(i + 1));
    if (pair) {
      table[i + 1] = chars;
      i += 1;
    }
    chars += 1;
  }
  table[text.length] = chars;
  return (offset) => table[offset] ?? chars;
}
