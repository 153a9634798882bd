/**
 * Knowledge-graph loader throughput against the Neo4j at NEO4J_URI:
 *
 *   node --import tsx bench/knowledge-graph-sink.ts [--articles 5000] [--concepts 400]
 *        [--max-mentions 12] [--seed 7] [--batch-records N]
 *
 * Writes generated annotated articles (concept ids unique to this run) through the sink in
 * writes of `batch-records` records (default MEDSTREAM_SINK_BATCH_RECORDS), one transaction
 * each, and prints one JSON object: {articles, seconds, articles_per_s, batch_records,
 * relationships, …}. `relationships` counts MENTIONS and CO_OCCURS the run created. The run's
 * data is deleted afterwards; the time excludes start-up and clean-up.
 */
import { parseArgs } from 'node:util';
import neo4j from 'neo4j-driver';
import { loadConfig } from '../src/config/config.js';
import type { ConceptLookup } from '../src/sinks/knowledge-graph/graph-model.js';
import {
  createKnowledgeGraphSink,
  knowledgeGraphSinkOptionsFromConfig,
} from '../src/sinks/knowledge-graph/knowledge-graph-sink.js';
import {
  asSinkRecords,
  generateArticles,
  generatedConcepts,
} from '../test/sinks/generated-articles.js';

const { values } = parseArgs({
  options: {
    articles: { type: 'string', default: '5000' },
    concepts: { type: 'string', default: '400' },
    'max-mentions': { type: 'string', default: '12' },
    seed: { type: 'string', default: '7' },
    'batch-records': { type: 'string' },
  },
});

function positive(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
}

const config = loadConfig();
const connection = knowledgeGraphSinkOptionsFromConfig(config);
const count = positive('articles', values.articles);
const batchRecords =
  values['batch-records'] === undefined
    ? connection.batchRecords
    : positive('batch-records', values['batch-records']);
const namespace = `b${Date.now().toString(36)}`;
const concepts = generatedConcepts(namespace, positive('concepts', values.concepts));
const names = new Map(concepts.map((c) => [c.id, { name: c.name, type: c.type }]));
const lookup: ConceptLookup = (id) => names.get(id);
const firstPmid = 3_000_000_000 + Math.floor(Math.random() * 1_000_000) * 1_000;
const articles = generateArticles({
  firstPmid,
  count,
  concepts,
  seed: positive('seed', values.seed),
  maxMentions: positive('max-mentions', values['max-mentions']),
});
const records = asSinkRecords(articles);
const pmids = articles.map((a) => a.pmid);
const prefix = `MESH:T${namespace}`;

const sink = createKnowledgeGraphSink({
  ...connection,
  batchRecords,
  conceptLookup: lookup,
  log: (line) => console.error(line),
});
const driver = neo4j.driver(
  connection.uri,
  connection.password === undefined
    ? undefined
    : neo4j.auth.basic(connection.user, connection.password),
  { disableLosslessIntegers: true },
);
try {
  await sink.start();
  const signal = new AbortController().signal;
  const began = performance.now();
  for (let from = 0; from < records.length; from += batchRecords) {
    await sink.write(records.slice(from, from + batchRecords), signal);
  }
  const seconds = (performance.now() - began) / 1000;
  const rels = await driver.executeQuery(
    `MATCH (a:Article)-[m:MENTIONS]->() WHERE a.pmid IN $pmids
     WITH count(m) AS mentions
     OPTIONAL MATCH (x:Concept)-[r:CO_OCCURS]->() WHERE x.id STARTS WITH $prefix
     RETURN mentions, count(r) AS coOccurs`,
    { pmids, prefix },
    { database: connection.database },
  );
  const mentions = rels.records[0]?.get('mentions') as number;
  const coOccurs = rels.records[0]?.get('coOccurs') as number;
  console.log(
    JSON.stringify({
      articles: count,
      seconds: Math.round(seconds * 100) / 100,
      articles_per_s: Math.round(count / seconds),
      batch_records: batchRecords,
      relationships: mentions + coOccurs,
      mentions,
      co_occurs: coOccurs,
      concepts: concepts.length,
      transactions: sink.stats().transactions,
      retries: sink.stats().retries,
    }),
  );
} finally {
  await sink.close();
  await driver.executeQuery('MATCH (a:Article) WHERE a.pmid IN $pmids DETACH DELETE a', { pmids });
  await driver.executeQuery('MATCH (c:Concept) WHERE c.id STARTS WITH $prefix DETACH DELETE c', {
    prefix,
  });
  await driver.close();
}
