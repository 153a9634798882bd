import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Client } from '@opensearch-project/opensearch';
import type { AnnotatedArticle } from '../../src/codec/records.js';
import { loadConfig } from '../../src/config/config.js';
import { runDemo } from '../../src/demo/run-demo.js';
import { SAMPLE_ARTICLES } from '../../src/demo/sample-articles.js';
import { createKafka } from '../../src/transport/kafka/client.js';
import { requireServiceEnv, runId } from '../services/service-env.js';
import { testDriver } from '../sinks/knowledge-graph/graph-snapshot.js';
import { removeAliasIndices } from '../sinks/search-index/index-state.js';

/**
 * `medstream demo --kafka --opensearch --neo4j`: the same citations through a real broker
 * (producer → processor → sink runner) give exactly the in-process demo's annotations, and the
 * search index and the graph receive every article.
 */

const work = mkdtempSync(join(tmpdir(), 'medstream-demo-services-'));
after(() => rmSync(work, { recursive: true, force: true }));

function readNdjson(dir: string): AnnotatedArticle[] {
  return readFileSync(join(dir, 'annotations.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as AnnotatedArticle);
}

/**
 * What must agree between two runs: everything but the processing time; scores crossed Kafka
 * as Avro floats (32 bits).
 */
function comparable(records: readonly AnnotatedArticle[]): unknown[] {
  return records.map((record) => ({
    ...record,
    processedAt: 0,
    mentions: record.mentions.map((m) => ({ ...m, score: Math.fround(m.score) })),
  }));
}

test('demo through Kafka into OpenSearch and Neo4j equals the in-process demo', async () => {
  const alias = `medstream-demo-${runId()}`;
  const config = loadConfig({ ...process.env, OPENSEARCH_INDEX_ALIAS: alias });
  const brokers = requireServiceEnv('KAFKA_BROKERS');
  const opensearch = requireServiceEnv('OPENSEARCH_URL');
  const neo4j = requireServiceEnv('NEO4J_URI');
  const pmids = SAMPLE_ARTICLES.map((a) => a.pmid);
  const client = new Client({ node: opensearch });
  const driver = testDriver();
  try {
    const local = join(work, 'in-process');
    await runDemo(config, { outDir: local, progress: false, log: () => undefined, live: false });

    const lines: string[] = [];
    const viaKafka = join(work, 'kafka');
    const summary = await runDemo(config, {
      outDir: viaKafka,
      progress: false,
      log: (line) => lines.push(line),
      live: false,
      kafka: brokers.split(','),
      opensearch,
      neo4j,
    });
    assert.equal(summary.articles, SAMPLE_ARTICLES.length);
    assert.ok(
      lines.some((l) => /12 records read back from medstream-demo-.*\.pubmed\.entities/.test(l)),
      lines.join('\n'),
    );
    assert.deepEqual(comparable(readNdjson(viaKafka)), comparable(readNdjson(local)));

    const count = await client.count({ index: alias });
    assert.equal(count.body.count, SAMPLE_ARTICLES.length, 'every article indexed');
    const articles = await driver.executeQuery(
      'MATCH (a:Article) WHERE a.pmid IN $pmids RETURN count(a) AS n',
      { pmids },
    );
    assert.equal(
      articles.records[0]?.get('n'),
      SAMPLE_ARTICLES.length,
      'every article in the graph',
    );

    // The run's topics are gone: a demo leaves nothing on a shared broker.
    const admin = createKafka({ brokers: brokers.split(','), clientId: 'medstream-test' }).admin();
    await admin.connect();
    try {
      const left = (await admin.listTopics()).filter((t) => t.startsWith('medstream-demo-'));
      assert.deepEqual(left, []);
    } finally {
      await admin.disconnect();
    }
  } finally {
    await removeAliasIndices(client, alias);
    await client.close();
    await driver.executeQuery('MATCH (a:Article) WHERE a.pmid IN $pmids DETACH DELETE a', {
      pmids,
    });
    await driver.executeQuery('MATCH (c:Concept) WHERE NOT (c)--() DELETE c');
    await driver.close();
  }
});
