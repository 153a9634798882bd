import assert from 'node:assert/strict';
import neo4j from 'neo4j-driver';
import type { Driver } from 'neo4j-driver';
import { optionalServiceEnv, requireServiceEnv } from '../../services/service-env.js';
import type { GraphSnapshot } from './expected-graph.js';

/**
 * Reads back the part of the graph one test run owns (its PMIDs, its concept-id prefix) into
 * the shape of expected-graph.ts, failing on duplicate nodes or relationships and on CO_OCCURS
 * stored against the direction rule. Plain Cypher reads: nothing of the loader's code.
 */

export function testDriver(): Driver {
  const password = optionalServiceEnv('NEO4J_PASSWORD');
  return neo4j.driver(
    requireServiceEnv('NEO4J_URI'),
    password === undefined
      ? undefined
      : neo4j.auth.basic(optionalServiceEnv('NEO4J_USER') ?? 'neo4j', password),
    { disableLosslessIntegers: true },
  );
}

function setOnce<V>(map: Map<string, V>, key: string, value: V, what: string): void {
  assert.ok(!map.has(key), `duplicate ${what} ${key}`);
  map.set(key, value);
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export async function readGraph(
  driver: Driver,
  pmids: readonly string[],
  conceptPrefix: string,
): Promise<GraphSnapshot> {
  const snapshot: GraphSnapshot = {
    articles: new Map(),
    concepts: new Map(),
    mentions: new Map(),
    coOccurs: new Map(),
    deleted: new Map(),
  };
  const articles = await driver.executeQuery(
    'MATCH (a:Article) WHERE a.pmid IN $pmids RETURN a.pmid AS pmid, properties(a) AS p',
    { pmids },
  );
  for (const row of articles.records) {
    const p = row.get('p') as Record<string, unknown>;
    setOnce(
      snapshot.articles,
      row.get('pmid') as string,
      {
        version: p.version as number,
        articleVersion: p.articleVersion as number,
        title: p.title as string,
        modelName: p.modelName as string,
        modelVersion: p.modelVersion as string,
        publicationDate: text(p.publicationDate),
        pairedConcepts: (p.pairedConcepts as string[] | undefined) ?? [],
      },
      'Article',
    );
    const extra = Object.keys(p).filter(
      (k) =>
        ![
          'pmid',
          'version',
          'articleVersion',
          'title',
          'modelName',
          'modelVersion',
          'publicationDate',
          'pairedConcepts',
        ].includes(k),
    );
    assert.deepEqual(extra, [], `unexpected Article properties (PMID ${String(row.get('pmid'))})`);
  }
  const concepts = await driver.executeQuery(
    'MATCH (c:Concept) WHERE c.id STARTS WITH $prefix RETURN c.id AS id, properties(c) AS p',
    { prefix: conceptPrefix },
  );
  for (const row of concepts.records) {
    const p = row.get('p') as Record<string, unknown>;
    setOnce(
      snapshot.concepts,
      row.get('id') as string,
      { name: p.name as string, type: text(p.type), vocabulary: p.vocabulary as string },
      'Concept',
    );
  }
  const mentions = await driver.executeQuery(
    `MATCH (a:Article)-[m]->(c) WHERE a.pmid IN $pmids
     RETURN a.pmid AS pmid, type(m) AS type, labels(c) AS labels, c.id AS id,
            m.count AS count, m.spans AS spans, m.model AS model`,
    { pmids },
  );
  for (const row of mentions.records) {
    assert.equal(row.get('type'), 'MENTIONS');
    assert.deepEqual(row.get('labels'), ['Concept']);
    setOnce(
      snapshot.mentions,
      `${row.get('pmid') as string} ${row.get('id') as string}`,
      {
        count: row.get('count') as number,
        spans: row.get('spans') as string[],
        model: row.get('model') as string,
      },
      'MENTIONS',
    );
  }
  const pairs = await driver.executeQuery(
    `MATCH (x:Concept)-[r:CO_OCCURS]->(y:Concept)
     WHERE x.id STARTS WITH $prefix OR y.id STARTS WITH $prefix
     RETURN x.id AS start, y.id AS end, r.articles AS articles`,
    { prefix: conceptPrefix },
  );
  for (const row of pairs.records) {
    const start = row.get('start') as string;
    const end = row.get('end') as string;
    assert.ok(start < end, `CO_OCCURS ${start} → ${end} breaks the direction rule`);
    setOnce(snapshot.coOccurs, `${start} ${end}`, row.get('articles') as number, 'CO_OCCURS');
  }
  const deleted = await driver.executeQuery(
    'MATCH (d:DeletedArticle) WHERE d.pmid IN $pmids RETURN d.pmid AS pmid, d.version AS version',
    { pmids },
  );
  for (const row of deleted.records) {
    setOnce(
      snapshot.deleted,
      row.get('pmid') as string,
      row.get('version') as number,
      'DeletedArticle',
    );
  }
  return snapshot;
}

/** Compares section by section, so a failure names what differs. */
export function assertSameGraph(actual: GraphSnapshot, expected: GraphSnapshot): void {
  const sorted = <V>(map: Map<string, V>) =>
    [...map.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  assert.equal(actual.articles.size, expected.articles.size, 'Article count');
  assert.deepEqual(sorted(actual.articles), sorted(expected.articles), 'Article nodes');
  assert.deepEqual(sorted(actual.deleted), sorted(expected.deleted), 'DeletedArticle markers');
  assert.deepEqual(sorted(actual.concepts), sorted(expected.concepts), 'Concept nodes');
  assert.equal(actual.mentions.size, expected.mentions.size, 'MENTIONS count');
  assert.deepEqual(sorted(actual.mentions), sorted(expected.mentions), 'MENTIONS');
  assert.equal(actual.coOccurs.size, expected.coOccurs.size, 'CO_OCCURS count');
  assert.deepEqual(sorted(actual.coOccurs), sorted(expected.coOccurs), 'CO_OCCURS articles');
}

/** Removes everything a run created: its articles, markers, and concepts (with CO_OCCURS). */
export async function deleteRunData(
  driver: Driver,
  pmids: readonly string[],
  conceptPrefix: string,
): Promise<void> {
  await driver.executeQuery('MATCH (a:Article) WHERE a.pmid IN $pmids DETACH DELETE a', { pmids });
  await driver.executeQuery('MATCH (d:DeletedArticle) WHERE d.pmid IN $pmids DELETE d', { pmids });
  await driver.executeQuery('MATCH (c:Concept) WHERE c.id STARTS WITH $prefix DETACH DELETE c', {
    prefix: conceptPrefix,
  });
  const left = await driver.executeQuery(
    `CALL { MATCH (a:Article) WHERE a.pmid IN $pmids RETURN count(a) AS articles }
     CALL { MATCH (c:Concept) WHERE c.id STARTS WITH $prefix RETURN count(c) AS concepts }
     RETURN articles + concepts AS n`,
    { pmids, prefix: conceptPrefix },
  );
  assert.equal(left.records[0]?.get('n'), 0, 'test data left behind');
}
