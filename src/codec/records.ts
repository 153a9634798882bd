/**
 * TypeScript shapes of the Avro records in `schemas/`. They mirror the `.avsc` files field by
 * field (a test encodes values of these types with the schemas, so a drift fails there):
 * nullable unions are `T | null`, Avro `long` is `number` (PMID-scale counters and epoch
 * milliseconds stay far below 2^53), `bytes` is `Buffer`.
 */

/** One `AbstractText` part. */
export interface AbstractSection {
  label: string | null;
  category: string | null;
  text: string;
}

export interface Journal {
  title: string | null;
  isoAbbreviation: string | null;
  issn: string | null;
}

export interface MeshQualifier {
  ui: string | null;
  name: string;
  majorTopic: boolean;
}

export interface MeshHeading {
  descriptorUi: string | null;
  descriptorName: string;
  majorTopic: boolean;
  qualifiers: MeshQualifier[];
}

/** `org.medstream.Article` (schemas/article.avsc), keyed by PMID. */
export interface Article {
  pmid: string;
  version: number;
  title: string;
  /** Invariant: `sections.map((s) => s.text).join(' ')`. */
  abstract: string;
  sections: AbstractSection[];
  journal: Journal | null;
  /** `YYYY`, `YYYY-MM` or `YYYY-MM-DD`. */
  publicationDate: string | null;
  meshHeadings: MeshHeading[];
  /** `YYYY-MM-DD`. */
  dateRevised: string | null;
  /** `eutils` or the input file name. */
  source: string;
  /** Epoch milliseconds (Avro `timestamp-millis`). */
  ingestedAt: number;
}

export interface SourcePosition {
  /** Offset of the record's first byte in the decompressed input. */
  byteOffset: number;
  line: number | null;
  column: number | null;
}

/** `org.medstream.DeadLetter` (schemas/dead-letter.avsc). */
export interface DeadLetter {
  topic: string | null;
  partition: number | null;
  offset: number | null;
  key: Buffer | null;
  value: Buffer;
  valueTruncated: boolean;
  valueSize: number;
  stage: string;
  errorCode: string;
  message: string;
  at: number;
  source: string | null;
  position: SourcePosition | null;
}

/** What a stage knows about a bad record; the transport adds topic/partition/offset and time. */
export type DeadLetterInput = Omit<DeadLetter, 'topic' | 'partition' | 'offset' | 'at'>;

export interface DeadLetterTransportFields {
  topic?: string | null;
  partition?: number | null;
  offset?: number | null;
  at?: number;
}

export function toDeadLetter(
  input: DeadLetterInput,
  fields: DeadLetterTransportFields = {},
): DeadLetter {
  return {
    topic: fields.topic ?? null,
    partition: fields.partition ?? null,
    offset: fields.offset ?? null,
    at: fields.at ?? Date.now(),
    ...input,
  };
}

/**
 * The text every downstream stage annotates: `title + " " + abstract` (the PubTator
 * convention), always with the separating space so that abstract offsets are
 * `title.length + 1 + i` even when the abstract is empty. Mention offsets are UTF-16 code unit
 * offsets into this string. This is the only place the text is assembled.
 */
export function articleText(article: Pick<Article, 'title' | 'abstract'>): string {
  return `${article.title} ${article.abstract}`;
}

export type MentionSource = 'model' | 'dictionary' | 'abbreviation';

/** `org.medstream.Mention`: offsets are UTF-16 code units into {@link articleText}. */
export interface Mention {
  start: number;
  end: number;
  text: string;
  type: string;
  ids: string[];
  score: number;
  source: MentionSource;
}

export interface MeshTerm {
  ui: string | null;
  name: string;
  majorTopic: boolean;
}

/** `org.medstream.AnnotatedArticle` (schemas/annotated-article.avsc), keyed by PMID. */
export interface AnnotatedArticle {
  pmid: string;
  version: number;
  title: string;
  abstract: string;
  journal: string | null;
  publicationDate: string | null;
  meshHeadings: MeshTerm[];
  textSha256: string;
  modelName: string;
  modelVersion: string;
  vocabularyVersion: string;
  mentions: Mention[];
  /** Epoch milliseconds. */
  processedAt: number;
}
