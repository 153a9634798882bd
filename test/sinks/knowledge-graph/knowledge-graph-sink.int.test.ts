import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMedStreamError } from '../../../src/errors.js';
import { LOCK_AND_READ } from '../../../src/sinks/knowledge-graph/cypher.js';
import type { ConceptLookup } from '../../../src/sinks/knowledge-graph/graph-model.js';
import { createKnowledgeGraphSink } from '../../../src/sinks/knowledge-graph/knowledge-graph-sink.js';
import type { KnowledgeGraphSink } from '../../../src/sinks/knowledge-graph/knowledge-graph-sink.js';
import type { SinkRecord } from '../../../src/sinks/sink.js';
import { optionalServiceEnv, requireServiceEnv, runId } from '../../services/service-env.js';
import { asSinkRecords, generateArticles, generatedConcepts } from '../generated-articles.js';
import { expectedGraph } from './expected-graph.js';
import { assertSameGraph, deleteRunData, readGraph, testDriver } from './graph-snapshot.js';
import { appliedArticles, buildScenario } from './scenario.js';

function sinkFor(lookup: ConceptLookup, cap: number, log: string[]): KnowledgeGraphSink {
  return createKnowledgeGraphSink({
    uri: requireServiceEnv('NEO4J_URI'),
    user: optionalServiceEnv('NEO4J_USER') ?? 'neo4j',
    password: optionalServiceEnv('NEO4J_PASSWORD'),
    database: 'neo4j',
    batchRecords: 400,
    conceptLookup: lookup,
    maxPairedConcepts: cap,
    log: (line) => log.push(line),
  });
}

test('neo4j sink: replays, updates, late older versions and deletions end in the expected graph', async () => {
  const scenario = buildScenario({ size: 2_500 });
  const driver = testDriver();
  const log: string[] = [];
  const sink = sinkFor(scenario.lookup, scenario.cap, log);
  const signal = new AbortController().signal;
  try {
    await sink.start();
    let firstVersions;
    for (const { step, records } of scenario.writes) {
      if (step === 'replay' && firstVersions === undefined) {
        firstVersions = await readGraph(driver, scenario.pmids, scenario.conceptPrefix);
      }
      const result = await sink.write(records, signal);
      assert.deepEqual(result.rejected, [], step);
      assert.equal(result.written, records.filter((r) => r.article !== null).length, step);
      assert.equal(result.deleted, records.filter((r) => r.article === null).length, step);
    }
    const replayed = scenario.writes.findIndex((w) => w.step === 'newer versions');
    assert.ok(firstVersions !== undefined && replayed > 0);

    const final = await readGraph(driver, scenario.pmids, scenario.conceptPrefix);
    const expected = expectedGraph({
      written: scenario.writes.flatMap((w) => w.records),
      applied: appliedArticles(scenario.writes),
      concepts: scenario.concepts,
      knownNames: scenario.knownNames,
      cap: scenario.cap,
    });
    assertSameGraph(final, expected);

    // The replay alone changed nothing: the graph after it equals the first versions' graph.
    const afterReplay = expectedGraph({
      written: scenario.writes.slice(0, replayed).flatMap((w) => w.records),
      applied: appliedArticles(scenario.writes.slice(0, replayed)),
      concepts: scenario.concepts,
      knownNames: scenario.knownNames,
      cap: scenario.cap,
    });
    assertSameGraph(firstVersions, afterReplay);

    assert.ok(expected.deleted.size > 400, 'deletions are part of the scenario');
    assert.ok(expected.coOccurs.size > 1_000, 'a real co-occurrence graph');
    assert.ok(
      [...expected.articles.values()].some((a) => a.modelVersion === '3.1.0'),
      'the newest of several records per batch won',
    );
    const stats = sink.stats();
    assert.ok(
      stats.superseded >= 2_600,
      `replays and late versions were superseded (${stats.superseded})`,
    );
    assert.ok(stats.skippedPairs > 0, 'dense articles hit the pair cap');
    assert.equal(stats.rejected, 0);
    assert.equal(stats.retries, 0, log.join('\n'));
  } finally {
    await sink.close();
    await sink.close();
    try {
      await deleteRunData(driver, scenario.pmids, scenario.conceptPrefix);
    } finally {
      await driver.close();
    }
  }
});

test('neo4j sink: a record the server refuses is isolated by bisection; the rest is written', async () => {
  const namespace = runId();
  const concepts = generatedConcepts(namespace, 10);
  const first = 2_000_000_000 + Math.floor(Math.random() * 90_000) * 100;
  const articles = generateArticles({ firstPmid: first, count: 20, concepts, seed: 3 });
  const prefix = `MESH:T${namespace}`;
  const pmids = articles.map((a) => a.pmid).concat(String(first + 50), String(first + 51));
  const driver = testDriver();
  const log: string[] = [];
  const sink = sinkFor(() => undefined, 50, log);
  // A constraint this run adds for the test: article titles must be unique.
  const constraint = `medstream_test_title_${namespace}`;
  try {
    await sink.start();
    await driver.executeQuery(
      `CREATE CONSTRAINT ${constraint} FOR (a:Article) REQUIRE a.title IS UNIQUE`,
    );
    const records: SinkRecord[] = asSinkRecords(articles, 1);
    const clash = { ...articles[0], pmid: String(first + 50) };
    const badId = {
      ...articles[1],
      pmid: String(first + 51),
      title: 'A different title',
      mentions: [
        {
          start: 0,
          end: 5,
          text: 'Study',
          type: 'Disease',
          ids: ['not-a-curie'],
          score: 0.5,
          source: 'model' as const,
        },
      ],
    };
    records.splice(13, 0, { pmid: clash.pmid, article: clash, version: 100, origin: null });
    records.splice(5, 0, { pmid: badId.pmid, article: badId, version: 101, origin: null });

    const result = await sink.write(records, new AbortController().signal);
    assert.equal(result.written, 20);
    assert.deepEqual(
      result.rejected.map((r) => [r.record.pmid, r.errorCode]),
      [
        [badId.pmid, 'SINK_REJECTED'],
        [clash.pmid, 'SINK_REJECTED'],
      ],
    );
    assert.match(result.rejected[0].message, /not a CURIE/);
    assert.match(result.rejected[1].message, /ConstraintValidationFailed/);
    const graph = await readGraph(driver, pmids, prefix);
    assert.deepEqual(
      [...graph.articles.keys()].sort(),
      articles.map((a) => a.pmid).sort(),
      'every other record is in the graph',
    );
    assert.ok(log.some((line) => line.includes(`rejected PMID ${clash.pmid}`)));
  } finally {
    await driver.executeQuery(`DROP CONSTRAINT ${constraint} IF EXISTS`);
    await sink.close();
    try {
      await deleteRunData(driver, pmids, prefix);
    } finally {
      await driver.close();
    }
  }
});

test('neo4j sink: start is idempotent and creates the constraints; an aborted write writes nothing', async () => {
  const driver = testDriver();
  const sink = sinkFor(() => undefined, 50, []);
  const namespace = runId();
  const first = 2_100_000_000 + Math.floor(Math.random() * 90_000) * 100;
  const articles = generateArticles({
    firstPmid: first,
    count: 3,
    concepts: generatedConcepts(namespace, 5),
    seed: 4,
  });
  try {
    await Promise.all([sink.start(), sink.start()]);
    await sink.start();
    const constraints = await driver.executeQuery(
      'SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties RETURN *',
    );
    const found = constraints.records.map(
      (r) =>
        `${(r.get('labelsOrTypes') as string[]).join()}.${(r.get('properties') as string[]).join()}:${r.get('type') as string}`,
    );
    for (const expected of ['Article.pmid', 'Concept.id', 'DeletedArticle.pmid']) {
      assert.ok(found.includes(`${expected}:UNIQUENESS`), `${expected} in ${found.join(' ')}`);
    }
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    await assert.rejects(sink.write(asSinkRecords(articles), controller.signal), /shutting down/);
    const graph = await readGraph(
      driver,
      articles.map((a) => a.pmid),
      `MESH:T${namespace}`,
    );
    assert.equal(graph.articles.size, 0);
  } finally {
    await sink.close();
    await sink.close();
    await assert.rejects(
      sink.write([], new AbortController().signal),
      (error) => isMedStreamError(error) && /after close/.test(error.message),
    );
    await driver.close();
  }
});

test('neo4j sink: sinks writing the same records at the same time neither lose nor double-count', async (t) => {
  const scenario = buildScenario({ size: 600 });
  const driver = testDriver();
  const log: string[] = [];
  const sinks = Array.from({ length: 4 }, () => sinkFor(scenario.lookup, scenario.cap, log));
  const signal = new AbortController().signal;
  try {
    await Promise.all(sinks.map((sink) => sink.start()));
    const [first, ...rest] = scenario.writes;
    await sinks[0].write(first.records, signal);
    // Then all of them consume the rest of the stream at once, as consumers of one partition
    // would for a moment during a rebalance: every update reaches the same stored articles
    // from four transactions.
    await Promise.all(
      sinks.map(async (sink) => {
        for (const { records } of rest) await sink.write(records, signal);
      }),
    );
    const expected = expectedGraph({
      written: scenario.writes.flatMap((w) => w.records),
      applied: appliedArticles(scenario.writes),
      concepts: scenario.concepts,
      knownNames: scenario.knownNames,
      cap: scenario.cap,
    });
    assertSameGraph(await readGraph(driver, scenario.pmids, scenario.conceptPrefix), expected);
    const retries = sinks.reduce((n, sink) => n + sink.stats().retries, 0);
    t.diagnostic(`sink-level retries after transient failures (deadlocks): ${retries}`);
  } finally {
    await Promise.all(sinks.map((sink) => sink.close()));
    try {
      await deleteRunData(driver, scenario.pmids, scenario.conceptPrefix);
    } finally {
      await driver.close();
    }
  }
});

test("neo4j sink: reading a PMID's state waits for a concurrent transaction on it to commit", async () => {
  const driver = testDriver();
  const pmid = String(2_200_000_000 + Math.floor(Math.random() * 90_000_000));
  // A marker as well: the lock must come from the Article node itself, not from the index
  // lock a lookup of a missing DeletedArticle happens to take.
  await driver.executeQuery(
    'CREATE (:Article {pmid: $pmid, version: 1}), (:DeletedArticle {pmid: $pmid, version: 0})',
    { pmid },
  );
  const first = driver.session();
  const second = driver.session();
  try {
    const tx1 = await first.beginTransaction();
    const tx2 = await second.beginTransaction();
    const read1 = await tx1.run(LOCK_AND_READ, { pmids: [pmid] });
    assert.equal(read1.records[0]?.get('version'), 1);
    let secondRead: number | undefined;
    const pending = tx2.run(LOCK_AND_READ, { pmids: [pmid] }).then((result) => {
      secondRead = result.records[0]?.get('version') as number;
    });
    await sleep(1_000);
    assert.equal(secondRead, undefined, 'the second reader waits for the lock');
    await tx1.run('MATCH (a:Article {pmid: $pmid}) SET a.version = 2', { pmid });
    await tx1.commit();
    await pending;
    assert.equal(secondRead, 2, 'and then reads the committed state, not a stale one');
    await tx2.rollback();
  } finally {
    await first.close();
    await second.close();
    await driver.executeQuery('MATCH (a:Article|DeletedArticle) WHERE a.pmid = $pmid DELETE a', {
      pmid,
    });
    await driver.close();
  }
});
