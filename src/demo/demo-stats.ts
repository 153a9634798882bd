import type { AnnotatedArticle } from '../codec/records.js';

/**
 * Figures the demo prints and the HTML report shows, computed in one place from the annotated
 * records so that the two can never disagree.
 */

export interface MentionCounts {
  mentions: number;
  /** Mentions with at least one concept id. */
  normalized: number;
  /** Entity type → mentions; most frequent type first, ties by name. */
  byType: Record<string, number>;
}

export interface TopConcept {
  /** CURIE, e.g. `MESH:D003920`. */
  id: string;
  /** Preferred name from the normalization dictionary; null when it does not know the id. */
  name: string | null;
  /** Entity type of the first mention that carried the id. */
  type: string;
  /** Articles mentioning the concept. */
  articles: number;
  mentions: number;
}

export function countMentions(records: readonly AnnotatedArticle[]): MentionCounts {
  const counts = new Map<string, number>();
  let mentions = 0;
  let normalized = 0;
  for (const record of records) {
    for (const m of record.mentions) {
      mentions += 1;
      if (m.ids.length > 0) normalized += 1;
      counts.set(m.type, (counts.get(m.type) ?? 0) + 1);
    }
  }
  const byType: Record<string, number> = {};
  for (const [type, n] of [...counts].sort((a, b) => b[1] - a[1] || compare(a[0], b[0]))) {
    byType[type] = n;
  }
  return { mentions, normalized, byType };
}

/** Concepts mentioned in the most articles (then most mentions, then by id). */
export function topConcepts(
  records: readonly AnnotatedArticle[],
  conceptName: (id: string) => string | undefined,
  limit = 10,
): TopConcept[] {
  const concepts = new Map<string, { type: string; pmids: Set<string>; mentions: number }>();
  for (const record of records) {
    for (const m of record.mentions) {
      for (const id of m.ids) {
        const entry = concepts.get(id) ?? { type: m.type, pmids: new Set<string>(), mentions: 0 };
        entry.pmids.add(record.pmid);
        entry.mentions += 1;
        concepts.set(id, entry);
      }
    }
  }
  return [...concepts]
    .sort(
      (a, b) =>
        b[1].pmids.size - a[1].pmids.size || b[1].mentions - a[1].mentions || compare(a[0], b[0]),
    )
    .slice(0, limit)
    .map(([id, c]) => ({
      id,
      name: conceptName(id) ?? null,
      type: c.type,
      articles: c.pmids.size,
      mentions: c.mentions,
    }));
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
