import type { AnnotatedArticle, MentionSource } from '../../codec/records.js';

/**
 * The document the search index stores per PMID (`_id` = PMID). Fields are copied one by one
 * from the {@link AnnotatedArticle} instead of spreading the record: the index mapping is
 * `dynamic: strict`, so a field added to the Avro schema later must not reach the index before
 * the mapping knows it (it would reject every document).
 */
export interface SearchMeshHeading {
  ui: string | null;
  name: string;
  majorTopic: boolean;
}

export interface SearchMention {
  /** UTF-16 code unit offsets into `title + " " + abstract` (see `articleText`). */
  start: number;
  end: number;
  text: string;
  type: string;
  ids: string[];
  score: number;
  source: MentionSource;
}

export interface SearchDocument {
  pmid: string;
  /** The PubMed article version (`<PMID Version="2">`), not the sink record's version. */
  version: number;
  title: string;
  abstract: string;
  journal: string | null;
  /** `YYYY`, `YYYY-MM` or `YYYY-MM-DD`. */
  publicationDate: string | null;
  meshHeadings: SearchMeshHeading[];
  textSha256: string;
  modelName: string;
  modelVersion: string;
  vocabularyVersion: string;
  /** Epoch milliseconds. */
  processedAt: number;
  mentions: SearchMention[];
  /**
   * Every concept id of every mention, deduplicated and sorted: a top-level keyword array, so
   * "articles per concept" is a plain terms aggregation instead of a nested one.
   */
  conceptIds: string[];
  /** Every mention type (Disease, Chemical, …), deduplicated and sorted. */
  mentionTypes: string[];
}

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

export function toSearchDocument(article: AnnotatedArticle): SearchDocument {
  const mentions: SearchMention[] = article.mentions.map((m) => ({
    start: m.start,
    end: m.end,
    text: m.text,
    type: m.type,
    ids: [...m.ids],
    score: m.score,
    source: m.source,
  }));
  return {
    pmid: article.pmid,
    version: article.version,
    title: article.title,
    abstract: article.abstract,
    journal: article.journal,
    publicationDate: article.publicationDate,
    meshHeadings: article.meshHeadings.map((h) => ({
      ui: h.ui,
      name: h.name,
      majorTopic: h.majorTopic,
    })),
    textSha256: article.textSha256,
    modelName: article.modelName,
    modelVersion: article.modelVersion,
    vocabularyVersion: article.vocabularyVersion,
    processedAt: article.processedAt,
    mentions,
    conceptIds: sortedUnique(mentions.flatMap((m) => m.ids)),
    mentionTypes: sortedUnique(mentions.map((m) => m.type)),
  };
}
