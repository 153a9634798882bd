import { compareIds, conceptPairs } from './graph-model.js';
import type { ArticleGraph, ConceptRow, PreparedRecord } from './graph-model.js';

/**
 * What one graph transaction changes, computed in TypeScript from the batch and the stored
 * state of its PMIDs (read, under lock, in the same transaction). Pure, so the rules for
 * replays, regressions and deletions are tested without a server.
 *
 * Rules, per PMID:
 * - The stored version is the larger of `Article.version` and `DeletedArticle.version`.
 * - A record whose version is not larger than the stored version changes nothing (a replay or
 *   an older record arriving late); it still counts as written/deleted, because the state it
 *   asks for — or a newer one — is there.
 * - Of the newer records, only the newest matters (the graph is a function of each PMID's
 *   latest record): an upsert replaces the article and its MENTIONS, a tombstone removes them
 *   and leaves a DeletedArticle marker.
 * - CO_OCCURS counts move by the difference between the pairs the stored article contributed
 *   (its `pairedConcepts`, kept on the node so the decrement equals the earlier increment even
 *   after the pair cap changes) and the pairs of the new state, summed over the batch, so each
 *   pair is written once per transaction and a pair that an update keeps is not written at all.
 */

/** What the lock-and-read query returns for one PMID of the batch. */
export interface StoredArticleState {
  /** `Article.version`; null when no article is stored. */
  readonly version: number | null;
  /** `Article.pairedConcepts` (absent on the node when empty). */
  readonly pairedConcepts: readonly string[];
  /** `DeletedArticle.version`; null when the PMID has no deletion marker. */
  readonly deletedVersion: number | null;
}

export const NOTHING_STORED: StoredArticleState = Object.freeze({
  version: null,
  pairedConcepts: [],
  deletedVersion: null,
});

export interface ArticleUpsert {
  readonly pmid: string;
  readonly version: number;
  readonly graph: ArticleGraph;
}

export interface ArticleDeletion {
  readonly pmid: string;
  readonly version: number;
}

export interface PairDelta {
  /** The smaller concept id. */
  readonly start: string;
  readonly end: string;
  /** Non-zero change of `CO_OCCURS.articles`. */
  readonly delta: number;
}

export interface BatchPlan {
  /** Every PMID of the batch, ascending: the order article locks are taken in. */
  readonly pmids: readonly string[];
  /** Articles to (re)write, ascending by PMID. */
  readonly upserts: readonly ArticleUpsert[];
  /** PMIDs among the upserts that have a deletion marker to remove (a re-published article). */
  readonly unmarked: readonly string[];
  /** Articles to delete (and mark), ascending by PMID. */
  readonly deletions: readonly ArticleDeletion[];
  /** Concepts the upserts mention, ascending by id; name/type of their first occurrence. */
  readonly concepts: readonly ConceptRow[];
  /** CO_OCCURS changes, ascending by (start, end). */
  readonly pairs: readonly PairDelta[];
  /** Upsert records of the batch (applied or already superseded). */
  readonly written: number;
  /** Tombstones of the batch (applied or already superseded). */
  readonly deleted: number;
  /** Records that changed nothing: the stored version, or a later record of the batch, is newer. */
  readonly superseded: number;
  /** Pairs the cap left out of the applied upserts. */
  readonly skippedPairs: number;
}

const PAIR_SEPARATOR = ' '; // Concept ids contain no whitespace (graph-model.ts CURIE rule).

function storedVersion(state: StoredArticleState): number {
  return Math.max(state.version ?? -Infinity, state.deletedVersion ?? -Infinity);
}

export function planBatch(
  records: readonly PreparedRecord[],
  stored: ReadonlyMap<string, StoredArticleState>,
): BatchPlan {
  // The winner of each PMID: its newest record above the stored version. A later record of the
  // same version (the same Kafka offset, replayed within one batch) is the same record.
  const winners = new Map<string, PreparedRecord>();
  let written = 0;
  let deleted = 0;
  for (const prepared of records) {
    if (prepared.graph === null) deleted += 1;
    else written += 1;
    const { pmid, version } = prepared.record;
    if (version <= storedVersion(stored.get(pmid) ?? NOTHING_STORED)) continue;
    const current = winners.get(pmid);
    if (current === undefined || version >= current.record.version) winners.set(pmid, prepared);
  }

  const upserts: ArticleUpsert[] = [];
  const unmarked: string[] = [];
  const deletions: ArticleDeletion[] = [];
  const concepts = new Map<string, ConceptRow>();
  const deltas = new Map<string, number>();
  let skippedPairs = 0;
  const addPairs = (ids: readonly string[], sign: 1 | -1) => {
    for (const [start, end] of conceptPairs(ids)) {
      const key = `${start}${PAIR_SEPARATOR}${end}`;
      deltas.set(key, (deltas.get(key) ?? 0) + sign);
    }
  };
  // Record order, so that a concept's fallback name is that of its first article in the batch.
  for (const prepared of records) {
    const { pmid, version } = prepared.record;
    if (winners.get(pmid) !== prepared) continue;
    const state = stored.get(pmid) ?? NOTHING_STORED;
    if (state.version !== null) addPairs(state.pairedConcepts, -1);
    const graph = prepared.graph;
    if (graph === null) {
      deletions.push({ pmid, version });
      continue;
    }
    upserts.push({ pmid, version, graph });
    if (state.deletedVersion !== null) unmarked.push(pmid);
    for (const concept of graph.concepts) {
      if (!concepts.has(concept.id)) concepts.set(concept.id, concept);
    }
    addPairs(graph.pairedConcepts, 1);
    skippedPairs += graph.skippedPairs;
  }

  const pairs: PairDelta[] = [];
  for (const [key, delta] of deltas) {
    if (delta === 0) continue;
    const at = key.indexOf(PAIR_SEPARATOR);
    pairs.push({ start: key.slice(0, at), end: key.slice(at + 1), delta });
  }
  pairs.sort((a, b) => compareIds(a.start, b.start) || compareIds(a.end, b.end));
  const byPmid = <T extends { pmid: string }>(a: T, b: T) => compareIds(a.pmid, b.pmid);
  return {
    pmids: [...new Set(records.map((r) => r.record.pmid))].sort(compareIds),
    upserts: upserts.sort(byPmid),
    unmarked: unmarked.sort(compareIds),
    deletions: deletions.sort(byPmid),
    concepts: [...concepts.values()].sort((a, b) => compareIds(a.id, b.id)),
    pairs,
    written,
    deleted,
    superseded: records.length - winners.size,
    skippedPairs,
  };
}
