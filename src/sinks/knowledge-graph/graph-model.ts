import type { AnnotatedArticle } from '../../codec/records.js';
import { MedStreamError } from '../../errors.js';
import type { ConceptDictionary } from '../../processors/normalization/concept-dictionary.js';
import type { SinkRecord } from '../sink.js';

/**
 * The knowledge graph's data model and the pure functions that turn one AnnotatedArticle into
 * its graph rows. Both writers use these functions — the streaming sink
 * (knowledge-graph-sink.ts) and the bulk CSV export (csv-export.ts) — so the two build the same
 * graph from the same input. See README.md in this folder for the model and its invariants.
 *
 *   (:Article {pmid, version, articleVersion, title, modelName, modelVersion, publicationDate,
 *              pairedConcepts})
 *   (:Concept {id, name, type, vocabulary})
 *   (:Article)-[:MENTIONS {count, spans, model}]->(:Concept)
 *   (:Concept)-[:CO_OCCURS {articles}]->(:Concept)      one per unordered pair, start id < end id
 *   (:DeletedArticle {pmid, version})                    a deletion, kept against older replays
 */

/** Preferred name and entity type of a concept, from the normalization dictionary. */
export interface ConceptLabel {
  readonly name: string;
  /** Entity type(s), `|`-joined when a concept has several; null when the source has none. */
  readonly type: string | null;
}

/** Concept id (CURIE) → its label, or undefined when the vocabulary does not know the id. */
export type ConceptLookup = (id: string) => ConceptLabel | undefined;

/**
 * The production lookup: the normalization dictionary's preferred name and entity types (an
 * alternative id gets its primary concept's name). See concept-lookup.ts for loading it.
 */
export function conceptLookupFromDictionary(
  dictionary: Pick<ConceptDictionary, 'concept'>,
): ConceptLookup {
  return (id) => {
    const info = dictionary.concept(id);
    if (info === undefined) return undefined;
    return { name: info.name, type: info.types.length === 0 ? null : info.types.join('|') };
  };
}

/**
 * Articles with more distinct concepts than this contribute CO_OCCURS pairs only among their
 * this-many most-mentioned concepts (ties broken by id): 50 concepts are 1,225 pairs, while an
 * uncapped list of several hundred concepts (a gene-list or chemical-screen abstract) would add
 * tens of thousands of weak pairs in one transaction.
 */
export const DEFAULT_MAX_PAIRED_CONCEPTS = 50;

/** Longer concept ids are refused: they are not CURIEs, and index keys have a size limit. */
export const MAX_CONCEPT_ID_LENGTH = 512;

/**
 * `PREFIX:LOCAL`: the prefix is the vocabulary (MESH, OMIM, …); the local part has no
 * whitespace and none of `,;|"`, which are the CSV, array and id-list separators downstream.
 */
const CURIE = /^([A-Za-z][A-Za-z0-9_.-]*):[^\s,;|"]+$/;

/** PubMed identifiers are positive decimal integers; the string is the node key. */
const PMID = /^[1-9][0-9]{0,19}$/;

/** The vocabulary of a concept id (its CURIE prefix), or undefined when `id` is not a CURIE. */
export function conceptVocabulary(id: string): string | undefined {
  if (id.length > MAX_CONCEPT_ID_LENGTH) return undefined;
  return CURIE.exec(id)?.[1];
}

/** UTF-16 code unit order (JavaScript's `<`), the order of every sorted id list here. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface ConceptRow {
  readonly id: string;
  readonly name: string;
  readonly type: string | null;
  readonly vocabulary: string;
  /**
   * True when name and type come from the lookup: they then overwrite what a node has (the
   * dictionary is authoritative, and a dictionary update reaches old nodes). Otherwise they are
   * the first mention's text and type, set only when the node is created.
   */
  readonly known: boolean;
}

export interface MentionRow {
  readonly concept: string;
  /** Distinct spans of the concept in the article; always `spans.length`. */
  readonly count: number;
  /** `"start-end"` UTF-16 offsets into `title + " " + abstract`, ascending by start, then end. */
  readonly spans: readonly string[];
}

export interface ArticleGraph {
  readonly pmid: string;
  /** The PubMed article version (`AnnotatedArticle.version`), not the sink ordering version. */
  readonly articleVersion: number;
  readonly title: string;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly publicationDate: string | null;
  /** `modelName@modelVersion`, the MENTIONS relationship's `model`. */
  readonly model: string;
  /** One per concept, ascending by concept id. */
  readonly mentions: readonly MentionRow[];
  /** One per concept, ascending by id. */
  readonly concepts: readonly ConceptRow[];
  /** The concepts whose pairs this article counts in CO_OCCURS, ascending by id; [] if < 2. */
  readonly pairedConcepts: readonly string[];
  /** Pairs left out by the cap: C(concepts, 2) − C(pairedConcepts, 2). */
  readonly skippedPairs: number;
}

/** Unordered pairs among `n` items. */
export function pairCount(n: number): number {
  return n < 2 ? 0 : (n * (n - 1)) / 2;
}

/**
 * The concepts an article pairs: all of them when there are at most `maxPairedConcepts`,
 * otherwise the most-mentioned ones (more spans first, then smaller id). Returned ascending by
 * id, the order pairs are formed in; empty when fewer than two remain.
 */
export function selectPairedConcepts(
  mentions: readonly MentionRow[],
  maxPairedConcepts: number,
): string[] {
  const chosen =
    mentions.length <= maxPairedConcepts
      ? mentions
      : [...mentions]
          .sort((a, b) => b.count - a.count || compareIds(a.concept, b.concept))
          .slice(0, maxPairedConcepts);
  // A single concept forms no pair; an empty list keeps `Article.pairedConcepts` absent.
  return chosen.length < 2 ? [] : chosen.map((m) => m.concept).sort(compareIds);
}

/**
 * Every unordered pair of `sortedIds` (ascending, distinct) once, as `[start, end]` with
 * start < end: the CO_OCCURS direction rule.
 */
export function conceptPairs(sortedIds: readonly string[]): Array<readonly [string, string]> {
  const pairs: Array<readonly [string, string]> = [];
  for (let i = 0; i < sortedIds.length; i += 1) {
    for (let j = i + 1; j < sortedIds.length; j += 1) {
      pairs.push([sortedIds[i], sortedIds[j]]);
    }
  }
  return pairs;
}

function rejected(pmid: string, message: string): MedStreamError {
  return new MedStreamError('SINK_REJECTED', `PMID ${pmid}: ${message}`, { details: { pmid } });
}

/**
 * The graph rows of one article. Mentions without ids (unnormalized) add nothing; a mention
 * with several ids (a composite mention) mentions each of them. Throws SINK_REJECTED for input
 * the graph cannot hold: a PMID that is not a positive integer, an id that is not a CURIE,
 * offsets that are not a span.
 */
export function buildArticleGraph(
  article: AnnotatedArticle,
  lookup: ConceptLookup,
  maxPairedConcepts: number = DEFAULT_MAX_PAIRED_CONCEPTS,
): ArticleGraph {
  if (!PMID.test(article.pmid)) {
    throw rejected(article.pmid, 'a PMID must be a positive decimal integer');
  }
  const byConcept = new Map<string, { spans: Set<string>; ordered: [number, number][] }>();
  const firstMention = new Map<string, { text: string; type: string; start: number }>();
  for (const mention of article.mentions) {
    const { start, end } = mention;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start) {
      throw rejected(article.pmid, `mention offsets ${start}-${end} are not a span`);
    }
    const span = `${start}-${end}`;
    for (const id of new Set(mention.ids)) {
      if (conceptVocabulary(id) === undefined) {
        throw rejected(
          article.pmid,
          `concept id ${JSON.stringify(id.slice(0, 80))} is not a CURIE (PREFIX:LOCAL, at most ` +
            `${MAX_CONCEPT_ID_LENGTH} characters, no whitespace or ,;|")`,
        );
      }
      let entry = byConcept.get(id);
      if (entry === undefined) {
        entry = { spans: new Set(), ordered: [] };
        byConcept.set(id, entry);
      }
      if (!entry.spans.has(span)) {
        entry.spans.add(span);
        entry.ordered.push([start, end]);
      }
      const first = firstMention.get(id);
      if (first === undefined || start < first.start) {
        firstMention.set(id, { text: mention.text, type: mention.type, start });
      }
    }
  }
  const ids = [...byConcept.keys()].sort(compareIds);
  const mentions: MentionRow[] = ids.map((concept) => {
    const ordered = byConcept.get(concept)?.ordered ?? [];
    ordered.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    return { concept, count: ordered.length, spans: ordered.map(([s, e]) => `${s}-${e}`) };
  });
  const concepts: ConceptRow[] = ids.map((id) => {
    const vocabulary = conceptVocabulary(id) ?? '';
    const label = lookup(id);
    const first = firstMention.get(id);
    if (label !== undefined) {
      return {
        id,
        name: label.name,
        type: label.type ?? first?.type ?? null,
        vocabulary,
        known: true,
      };
    }
    return { id, name: first?.text ?? id, type: first?.type ?? null, vocabulary, known: false };
  });
  const pairedConcepts = selectPairedConcepts(mentions, maxPairedConcepts);
  return {
    pmid: article.pmid,
    articleVersion: article.version,
    title: article.title,
    modelName: article.modelName,
    modelVersion: article.modelVersion,
    publicationDate: article.publicationDate,
    model: `${article.modelName}@${article.modelVersion}`,
    mentions,
    concepts,
    pairedConcepts,
    skippedPairs: pairCount(ids.length) - pairCount(pairedConcepts.length),
  };
}

/** A validated sink record with its graph rows (null for a deletion). */
export interface PreparedRecord {
  readonly record: SinkRecord;
  readonly graph: ArticleGraph | null;
}

/**
 * Validates one sink record and builds its rows; throws SINK_REJECTED for a record the graph
 * cannot hold (its key and value disagree, a version that cannot order, see buildArticleGraph).
 */
export function prepareRecord(
  record: SinkRecord,
  lookup: ConceptLookup,
  maxPairedConcepts: number,
): PreparedRecord {
  if (!Number.isSafeInteger(record.version)) {
    throw rejected(record.pmid, `version ${record.version} is not an integer`);
  }
  if (record.article === null) {
    if (!PMID.test(record.pmid)) {
      throw rejected(record.pmid, 'a PMID must be a positive decimal integer');
    }
    return { record, graph: null };
  }
  if (record.article.pmid !== record.pmid) {
    throw rejected(record.pmid, `the record's article has PMID ${record.article.pmid}`);
  }
  return { record, graph: buildArticleGraph(record.article, lookup, maxPairedConcepts) };
}
