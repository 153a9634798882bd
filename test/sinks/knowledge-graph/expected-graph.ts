import type { AnnotatedArticle } from '../../../src/codec/records.js';
import type { SinkRecord } from '../../../src/sinks/sink.js';
import type { GeneratedConcept } from '../generated-articles.js';

/**
 * The graph the loader must produce, computed independently of its code: the final record of
 * each PMID by a plain fold over everything written, then nested loops over the surviving
 * articles' mentions. Tests compare this with what Neo4j holds (graph-snapshot.ts).
 */

export interface ArticleProperties {
  readonly version: number;
  readonly articleVersion: number;
  readonly title: string;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly publicationDate: string | null;
  readonly pairedConcepts: readonly string[];
}

export interface ConceptProperties {
  readonly name: string;
  readonly type: string | null;
  readonly vocabulary: string;
}

export interface MentionProperties {
  readonly count: number;
  readonly spans: readonly string[];
  readonly model: string;
}

/** Keys: PMID; concept id; `pmid concept`; `start end`. */
export interface GraphSnapshot {
  readonly articles: Map<string, ArticleProperties>;
  readonly concepts: Map<string, ConceptProperties>;
  readonly mentions: Map<string, MentionProperties>;
  readonly coOccurs: Map<string, number>;
  readonly deleted: Map<string, number>;
}

/** The newest record of each PMID among everything written (a tombstone is `article: null`). */
export function finalRecords(written: readonly SinkRecord[]): Map<string, SinkRecord> {
  const latest = new Map<string, SinkRecord>();
  for (const record of written) {
    const current = latest.get(record.pmid);
    if (current === undefined || record.version > current.version) {
      latest.set(record.pmid, record);
    }
  }
  return latest;
}

/**
 * The concepts an article pairs, by the documented rule: all distinct concepts when there are
 * at most `cap`, else the `cap` with the most distinct spans (ties: smaller id).
 */
function pairedConcepts(spansByConcept: Map<string, Set<string>>, cap: number): string[] {
  const ids = [...spansByConcept.keys()];
  let chosen = ids;
  if (ids.length > cap) {
    chosen = [...ids]
      .sort((a, b) => {
        const byCount = (spansByConcept.get(b)?.size ?? 0) - (spansByConcept.get(a)?.size ?? 0);
        if (byCount !== 0) return byCount;
        return a < b ? -1 : 1;
      })
      .slice(0, cap);
  }
  return chosen.sort();
}

export interface ExpectedGraphInput {
  /** Every record written, in any order. */
  readonly written: readonly SinkRecord[];
  /** The records that were the newest of their PMID when written: their concepts exist. */
  readonly applied: readonly AnnotatedArticle[];
  readonly concepts: readonly GeneratedConcept[];
  /** Concept ids the lookup knows, with the name it gives. */
  readonly knownNames: ReadonlyMap<string, string>;
  readonly cap: number;
}

export function expectedGraph(input: ExpectedGraphInput): GraphSnapshot {
  const articles = new Map<string, ArticleProperties>();
  const mentions = new Map<string, MentionProperties>();
  const coOccurs = new Map<string, number>();
  const deleted = new Map<string, number>();
  for (const [pmid, record] of finalRecords(input.written)) {
    const article = record.article;
    if (article === null) {
      deleted.set(pmid, record.version);
      continue;
    }
    const spansByConcept = new Map<string, Set<string>>();
    for (const mention of article.mentions) {
      for (const id of mention.ids) {
        const spans = spansByConcept.get(id) ?? new Set<string>();
        spans.add(`${mention.start}-${mention.end}`);
        spansByConcept.set(id, spans);
      }
    }
    for (const [id, spans] of spansByConcept) {
      const ordered = [...spans].sort((a, b) => {
        const [as, ae] = a.split('-').map(Number);
        const [bs, be] = b.split('-').map(Number);
        return as - bs || ae - be;
      });
      mentions.set(`${pmid} ${id}`, {
        count: spans.size,
        spans: ordered,
        model: `${article.modelName}@${article.modelVersion}`,
      });
    }
    const paired = pairedConcepts(spansByConcept, input.cap);
    for (const a of paired) {
      for (const b of paired) {
        if (a < b) coOccurs.set(`${a} ${b}`, (coOccurs.get(`${a} ${b}`) ?? 0) + 1);
      }
    }
    articles.set(pmid, {
      version: record.version,
      articleVersion: article.version,
      title: article.title,
      modelName: article.modelName,
      modelVersion: article.modelVersion,
      publicationDate: article.publicationDate,
      pairedConcepts: paired.length < 2 ? [] : paired,
    });
  }
  // Concept nodes stay after their articles go: every concept an applied record mentioned.
  const mentioned = new Set<string>();
  for (const article of input.applied) {
    for (const mention of article.mentions) for (const id of mention.ids) mentioned.add(id);
  }
  const concepts = new Map<string, ConceptProperties>();
  for (const concept of input.concepts) {
    if (!mentioned.has(concept.id)) continue;
    concepts.set(concept.id, {
      // Unknown to the lookup: the mention text, which the generator takes from the name.
      name: input.knownNames.get(concept.id) ?? concept.name,
      type: concept.type,
      vocabulary: concept.id.slice(0, concept.id.indexOf(':')),
    });
  }
  return { articles, concepts, mentions, coOccurs, deleted };
}
