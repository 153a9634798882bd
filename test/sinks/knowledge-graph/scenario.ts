import type { AnnotatedArticle } from '../../../src/codec/records.js';
import type { ConceptLookup } from '../../../src/sinks/knowledge-graph/graph-model.js';
import type { SinkRecord } from '../../../src/sinks/sink.js';
import {
  asSinkRecords,
  deletion,
  generateArticles,
  generatedConcepts,
} from '../generated-articles.js';
import type { GeneratedConcept } from '../generated-articles.js';
import { runId } from '../../services/service-env.js';

/**
 * The record stream the integration tests load: a first version of every article, a full
 * replay, newer versions with other concepts, older versions arriving late, deletions (also of
 * a PMID never written), older versions after their deletion, several records of one PMID in
 * one batch, and re-published deleted articles. Deterministic for a given run id; PMIDs and
 * concept ids are unique to the run.
 */
export interface Scenario {
  readonly namespace: string;
  readonly conceptPrefix: string;
  readonly concepts: readonly GeneratedConcept[];
  readonly lookup: ConceptLookup;
  /** Concept ids the lookup knows, with the name it gives. */
  readonly knownNames: ReadonlyMap<string, string>;
  /** Every PMID the scenario touches (for reads and clean-up). */
  readonly pmids: readonly string[];
  /** The writes, in order; each is one `sink.write` call. */
  readonly writes: ReadonlyArray<{ readonly step: string; readonly records: SinkRecord[] }>;
  readonly cap: number;
}

/** Unnormalized and composite mentions on some articles, as the processor emits them. */
function withOddMentions(articles: AnnotatedArticle[], concepts: readonly GeneratedConcept[]) {
  return articles.map((article, i) => {
    if (i % 40 !== 0) return article;
    // Concepts the dictionary knows (index not a multiple of 5), so that this mention's text
    // never becomes a concept's name.
    const a = concepts[((i / 40) % 15) * 5 + 1];
    const b = concepts[((i / 40) % 15) * 5 + 2];
    return {
      ...article,
      mentions: [
        ...article.mentions,
        { start: 0, end: 5, text: 'Study', type: 'Disease', ids: [], score: 0.3, source: 'model' },
        {
          start: 6,
          end: 10,
          text: article.pmid.slice(0, 4),
          type: a.type,
          ids: [a.id, b.id],
          score: 0.8,
          source: 'dictionary',
        },
      ],
    } satisfies AnnotatedArticle;
  });
}

export function buildScenario(options: { size: number; namespace?: string }): Scenario {
  const namespace = options.namespace ?? runId();
  const concepts = generatedConcepts(namespace, 80);
  // Every fifth concept is unknown to the dictionary: its name is its first mention's text.
  const knownNames = new Map(
    concepts.filter((_, i) => i % 5 !== 0).map((c) => [c.id, `${c.name} (preferred)`]),
  );
  const types = new Map(concepts.map((c) => [c.id, c.type]));
  const lookup: ConceptLookup = (id) => {
    const name = knownNames.get(id);
    return name === undefined ? undefined : { name, type: types.get(id) ?? null };
  };
  const n = options.size;
  const first = 1_000_000_000 + Math.floor(Math.random() * 90_000) * 10_000;
  const dense = Math.max(10, Math.floor(n / 25));
  const v1 = withOddMentions(
    [
      ...generateArticles({ firstPmid: first, count: n, concepts, seed: 11, maxMentions: 8 }),
      ...generateArticles({
        firstPmid: first + n,
        count: dense,
        concepts,
        seed: 12,
        maxMentions: 40,
      }),
    ],
    concepts,
  );
  const v1Records = asSinkRecords(v1, 1);
  const chunk = (records: SinkRecord[], size: number) =>
    Array.from({ length: Math.ceil(records.length / size) }, (_, i) =>
      records.slice(i * size, (i + 1) * size),
    );
  const q = (fraction: number) => Math.floor(n * fraction);
  const writes: Array<{ step: string; records: SinkRecord[] }> = [];
  for (const records of chunk(v1Records, 1_000)) writes.push({ step: 'first versions', records });
  for (const records of chunk(v1Records, 700)) writes.push({ step: 'replay', records });

  const updated = withOddMentions(
    generateArticles({
      firstPmid: first,
      count: q(0.3),
      concepts,
      seed: 21,
      modelVersion: '2.0.0',
      maxMentions: 8,
    }),
    concepts,
  );
  writes.push({ step: 'newer versions', records: asSinkRecords(updated, 10_000_000) });
  writes.push({ step: 'late older versions', records: v1Records.slice(0, q(0.15)) });

  const deletions: SinkRecord[] = [];
  let version = 20_000_000;
  for (let i = q(0.1); i < q(0.25); i += 1) deletions.push(deletion(String(first + i), version++));
  for (let i = q(0.8); i < q(0.85); i += 1) deletions.push(deletion(String(first + i), version++));
  const neverWritten = String(first + n + dense + 1);
  deletions.push(deletion(neverWritten, version++));
  writes.push({ step: 'deletions', records: deletions });
  writes.push({ step: 'older after deletion', records: v1Records.slice(q(0.8), q(0.85)) });

  // One write with three records per PMID: upsert, tombstone, newer upsert.
  const mixedFrom = q(0.4);
  const mixedCount = Math.max(5, q(0.02));
  const mixedA = generateArticles({
    firstPmid: first + mixedFrom,
    count: mixedCount,
    concepts,
    seed: 31,
    modelVersion: '3.0.0',
  });
  const mixedB = generateArticles({
    firstPmid: first + mixedFrom,
    count: mixedCount,
    concepts,
    seed: 32,
    modelVersion: '3.1.0',
  });
  const mixed: SinkRecord[] = [];
  mixedA.forEach((article, i) => {
    mixed.push({ pmid: article.pmid, article, version: 30_000_000 + 3 * i, origin: null });
    mixed.push(deletion(article.pmid, 30_000_000 + 3 * i + 1));
    const later = mixedB[i];
    mixed.push({ pmid: later.pmid, article: later, version: 30_000_000 + 3 * i + 2, origin: null });
  });
  writes.push({ step: 'several records per PMID in one batch', records: mixed });

  const republished = generateArticles({
    firstPmid: first + q(0.1),
    count: Math.max(3, q(0.01)),
    concepts,
    seed: 41,
    modelVersion: '4.0.0',
  });
  writes.push({
    step: 'deleted articles published again',
    records: asSinkRecords(republished, 40_000_000),
  });

  const pmids = Array.from({ length: n + dense + 2 }, (_, i) => String(first + i));
  return {
    namespace,
    conceptPrefix: `MESH:T${namespace}`,
    concepts,
    lookup,
    knownNames,
    pmids,
    writes,
    cap: 10,
  };
}

/**
 * The records that became the newest of their PMID when written, by the documented rule (of a
 * PMID's records in one write, only the newest applies, if newer than what is stored): their
 * concepts are the Concept nodes that must exist.
 */
export function appliedArticles(
  writes: ReadonlyArray<{ readonly records: readonly SinkRecord[] }>,
): AnnotatedArticle[] {
  const stored = new Map<string, number>();
  const applied: AnnotatedArticle[] = [];
  for (const { records } of writes) {
    const newest = new Map<string, SinkRecord>();
    for (const r of records) {
      const current = newest.get(r.pmid);
      if (current === undefined || r.version >= current.version) newest.set(r.pmid, r);
    }
    for (const [pmid, record] of newest) {
      if (record.version <= (stored.get(pmid) ?? -Infinity)) continue;
      stored.set(pmid, record.version);
      if (record.article !== null) applied.push(record.article);
    }
  }
  return applied;
}
