import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnnotatedArticle } from '../../../src/codec/records.js';
import { NOTHING_STORED, planBatch } from '../../../src/sinks/knowledge-graph/batch-plan.js';
import type {
  BatchPlan,
  StoredArticleState,
} from '../../../src/sinks/knowledge-graph/batch-plan.js';
import { prepareRecord } from '../../../src/sinks/knowledge-graph/graph-model.js';
import type {
  ConceptLookup,
  PreparedRecord,
} from '../../../src/sinks/knowledge-graph/graph-model.js';
import type { SinkRecord } from '../../../src/sinks/sink.js';
import { deletion, generateArticles, generatedConcepts, prng } from '../generated-articles.js';
import { expectedGraph } from './expected-graph.js';

const lookup: ConceptLookup = () => undefined;

function withConcepts(pmid: string, ids: string[], modelVersion = '1'): AnnotatedArticle {
  return {
    pmid,
    version: 1,
    title: `Title ${pmid}`,
    abstract: '',
    journal: null,
    publicationDate: null,
    meshHeadings: [],
    textSha256: '',
    modelName: 'm',
    modelVersion,
    vocabularyVersion: 'v',
    mentions: ids.map((id, i) => ({
      start: 10 * i,
      end: 10 * i + 5,
      text: `name of ${id}`,
      type: 'Disease',
      ids: [id],
      score: 1,
      source: 'model',
    })),
    processedAt: 0,
  };
}

const upsert = (article: AnnotatedArticle, version: number): PreparedRecord =>
  prepareRecord({ pmid: article.pmid, article, version, origin: null }, lookup, 50);
const tombstone = (pmid: string, version: number): PreparedRecord =>
  prepareRecord(deletion(pmid, version), lookup, 50);
const stored = (
  entries: Record<string, Partial<StoredArticleState>>,
): Map<string, StoredArticleState> =>
  new Map(Object.entries(entries).map(([pmid, s]) => [pmid, { ...NOTHING_STORED, ...s }]));
const deltas = (plan: BatchPlan) => plan.pairs.map((p) => `${p.start} ${p.end} ${p.delta}`);

test('a new article is written with its pairs counted once each', () => {
  const plan = planBatch([upsert(withConcepts('10', ['C:3', 'C:1', 'C:2']), 5)], new Map());
  assert.deepEqual(
    plan.upserts.map((u) => [u.pmid, u.version]),
    [['10', 5]],
  );
  assert.deepEqual(deltas(plan), ['C:1 C:2 1', 'C:1 C:3 1', 'C:2 C:3 1']);
  assert.deepEqual(
    plan.concepts.map((c) => c.id),
    ['C:1', 'C:2', 'C:3'],
  );
  assert.equal(plan.written, 1);
  assert.equal(plan.superseded, 0);
});

test('a replay (same version) or an older record changes nothing but still counts as written', () => {
  const records = [upsert(withConcepts('10', ['C:1', 'C:2']), 5)];
  for (const version of [5, 9]) {
    const plan = planBatch(records, stored({ '10': { version, pairedConcepts: ['C:1', 'C:2'] } }));
    assert.deepEqual(plan.upserts, []);
    assert.deepEqual(plan.pairs, []);
    assert.deepEqual(plan.concepts, []);
    assert.equal(plan.written, 1);
    assert.equal(plan.superseded, 1);
  }
});

test('an update moves pair counts by the difference; kept pairs are not written', () => {
  const plan = planBatch(
    [upsert(withConcepts('10', ['C:1', 'C:2', 'C:4']), 8)],
    stored({ '10': { version: 5, pairedConcepts: ['C:1', 'C:2', 'C:3'] } }),
  );
  assert.deepEqual(deltas(plan), ['C:1 C:3 -1', 'C:1 C:4 1', 'C:2 C:3 -1', 'C:2 C:4 1']);
  assert.deepEqual(plan.deletions, []);
});

test('a tombstone removes the stored pairs and marks the PMID, even one never stored', () => {
  const plan = planBatch(
    [tombstone('10', 8), tombstone('11', 3)],
    stored({ '10': { version: 5, pairedConcepts: ['C:1', 'C:2'] } }),
  );
  assert.deepEqual(plan.deletions, [
    { pmid: '10', version: 8 },
    { pmid: '11', version: 3 },
  ]);
  assert.deepEqual(deltas(plan), ['C:1 C:2 -1']);
  assert.equal(plan.deleted, 2);
});

test('a deletion stays: older upserts are ignored, a newer one re-publishes and unmarks', () => {
  const older = planBatch(
    [upsert(withConcepts('10', ['C:1', 'C:2']), 4)],
    stored({ '10': { deletedVersion: 6 } }),
  );
  assert.deepEqual(older.upserts, []);
  assert.equal(older.superseded, 1);
  const newer = planBatch(
    [upsert(withConcepts('10', ['C:1', 'C:2']), 7)],
    stored({ '10': { deletedVersion: 6 } }),
  );
  assert.deepEqual(
    newer.upserts.map((u) => u.pmid),
    ['10'],
  );
  assert.deepEqual(newer.unmarked, ['10']);
  assert.deepEqual(deltas(newer), ['C:1 C:2 1']);
});

test('several records of one PMID in a batch: only the newest applies, all are counted', () => {
  const plan = planBatch(
    [
      upsert(withConcepts('10', ['C:1', 'C:2']), 20),
      tombstone('10', 22),
      upsert(withConcepts('10', ['C:3', 'C:4']), 21),
    ],
    stored({ '10': { version: 5, pairedConcepts: ['C:1', 'C:9'] } }),
  );
  assert.deepEqual(plan.upserts, []);
  assert.deepEqual(plan.deletions, [{ pmid: '10', version: 22 }]);
  assert.deepEqual(deltas(plan), ['C:1 C:9 -1']);
  assert.equal(plan.written, 2);
  assert.equal(plan.deleted, 1);
  assert.equal(plan.superseded, 2);
});

test('rows come sorted by key, and a concept keeps the name of its first article in the batch', () => {
  const first = withConcepts('30', ['C:2', 'C:1']);
  const second = withConcepts('20', ['C:1']);
  second.mentions[0].text = 'another name';
  const plan = planBatch([upsert(first, 1), upsert(second, 2), tombstone('25', 3)], new Map());
  assert.deepEqual(plan.pmids, ['20', '25', '30']);
  assert.deepEqual(
    plan.upserts.map((u) => u.pmid),
    ['20', '30'],
  );
  assert.equal(plan.concepts.find((c) => c.id === 'C:1')?.name, 'name of C:1');
});

/**
 * The store as the Cypher statements change it, in memory: applying plans batch after batch
 * must end where expected-graph.ts (a fold over all records, then nested loops) says.
 */
class MemoryGraph {
  readonly articles = new Map<string, { version: number; paired: string[] }>();
  readonly markers = new Map<string, number>();
  readonly pairs = new Map<string, number>();

  state(pmid: string): StoredArticleState {
    const article = this.articles.get(pmid);
    return {
      version: article?.version ?? null,
      pairedConcepts: article?.paired ?? [],
      deletedVersion: this.markers.get(pmid) ?? null,
    };
  }

  apply(plan: BatchPlan): void {
    for (const { pmid, version, graph } of plan.upserts) {
      this.articles.set(pmid, { version, paired: [...graph.pairedConcepts] });
    }
    for (const pmid of plan.unmarked) this.markers.delete(pmid);
    for (const { pmid, version } of plan.deletions) {
      this.articles.delete(pmid);
      this.markers.set(pmid, version);
    }
    for (const { start, end, delta } of plan.pairs) {
      const n = (this.pairs.get(`${start} ${end}`) ?? 0) + delta;
      assert.ok(n >= 0, `negative count for ${start} ${end}`);
      if (n === 0) this.pairs.delete(`${start} ${end}`);
      else this.pairs.set(`${start} ${end}`, n);
    }
  }
}

test('random replays, updates, regressions and deletions in random batches end in the expected graph', () => {
  const random = prng(42);
  const concepts = generatedConcepts('plan', 30);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const generations = [1, 2, 3].map((seed) =>
    generateArticles({ firstPmid: 500, count: 60, concepts, seed, maxMentions: 9 }),
  );
  const cap = 5;
  const stream: SinkRecord[] = [];
  let version = 0;
  for (let i = 0; i < 600; i += 1) {
    const roll = random();
    const pmid = String(500 + Math.floor(random() * 60));
    if (roll < 0.1 && stream.length > 0) {
      stream.push(pick(stream)); // a replay of an earlier record, version and all
    } else if (roll < 0.25) {
      version += 1;
      stream.push(deletion(pmid, version));
    } else {
      version += 1;
      const article = pick(generations)[Number(pmid) - 500];
      stream.push({ pmid, article, version, origin: null });
    }
  }
  // Late arrivals: older versions after newer ones.
  const shuffled = [...stream];
  for (let i = 0; i < 80; i += 1) {
    const a = Math.floor(random() * shuffled.length);
    const b = Math.floor(random() * shuffled.length);
    [shuffled[a], shuffled[b]] = [shuffled[b], shuffled[a]];
  }

  const graph = new MemoryGraph();
  const applied: AnnotatedArticle[] = [];
  for (let from = 0; from < shuffled.length;) {
    const size = 1 + Math.floor(random() * 40);
    const batch = shuffled.slice(from, from + size).map((r) => prepareRecord(r, lookup, cap));
    from += size;
    const states = new Map(batch.map((p) => [p.record.pmid, graph.state(p.record.pmid)]));
    const plan = planBatch(batch, states);
    for (const u of plan.upserts) {
      const record = batch.find((p) => p.record.pmid === u.pmid && p.record.version === u.version);
      if (record?.record.article) applied.push(record.record.article);
    }
    graph.apply(plan);
  }

  const expected = expectedGraph({
    written: stream,
    applied,
    concepts,
    knownNames: new Map(),
    cap,
  });
  assert.deepEqual(
    new Map([...graph.articles].map(([pmid, a]) => [pmid, a.version])),
    new Map([...expected.articles].map(([pmid, a]) => [pmid, a.version])),
  );
  assert.deepEqual(
    new Map([...graph.articles].map(([pmid, a]) => [pmid, a.paired])),
    new Map([...expected.articles].map(([pmid, a]) => [pmid, [...a.pairedConcepts]])),
  );
  assert.deepEqual(graph.markers, expected.deleted);
  assert.deepEqual(graph.pairs, expected.coOccurs);
  assert.ok(expected.coOccurs.size > 50, 'the scenario produces a real co-occurrence graph');
  assert.ok(expected.deleted.size > 5 && expected.articles.size > 20);
});
