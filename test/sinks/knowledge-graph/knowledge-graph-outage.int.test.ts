import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKnowledgeGraphSink } from '../../../src/sinks/knowledge-graph/knowledge-graph-sink.js';
import { startService, stopService } from '../../services/outage.js';
import { optionalServiceEnv, requireServiceEnv } from '../../services/service-env.js';
import { expectedGraph } from './expected-graph.js';
import { assertSameGraph, deleteRunData, readGraph, testDriver } from './graph-snapshot.js';
import { appliedArticles, buildScenario } from './scenario.js';

/**
 * A real outage in the middle of a load: Neo4j is stopped for about a minute while the sink
 * writes, then started again on its kept data. The write in flight backs off and resumes (no
 * batch is dropped, none is applied twice), and the final graph is the expected one.
 */
const OUTAGE_MS = 60_000;

test('neo4j sink: a one-minute outage mid-load is ridden out and the graph ends as expected', async (t) => {
  const scenario = buildScenario({ size: 4_000 });
  const log: string[] = [];
  const sink = createKnowledgeGraphSink({
    uri: requireServiceEnv('NEO4J_URI'),
    user: optionalServiceEnv('NEO4J_USER') ?? 'neo4j',
    password: optionalServiceEnv('NEO4J_PASSWORD'),
    database: 'neo4j',
    batchRecords: 250,
    conceptLookup: scenario.lookup,
    maxPairedConcepts: scenario.cap,
    // Short backoff cap: the test waits for the restart, not for a 30 s sleep after it.
    retry: { baseDelayMs: 250, maxDelayMs: 4_000 },
    log: (line) => log.push(`${new Date().toISOString()} ${line}`),
  });
  let stopped = false;
  let restarted = false;
  try {
    await sink.start();
    let firstWrite: () => void = () => undefined;
    const firstWritten = new Promise<void>((resolve) => {
      firstWrite = resolve;
    });
    const outage = (async () => {
      await firstWritten;
      await stopService('neo4j');
      stopped = true;
      const down = performance.now();
      await sleep(OUTAGE_MS);
      await startService('neo4j', { keepData: true });
      restarted = true;
      return (performance.now() - down) / 1000;
    })();
    // The loader keeps writing; the outage lands in whichever write is in flight.
    const signal = new AbortController().signal;
    let slowest = 0;
    for (const [i, { step, records }] of scenario.writes.entries()) {
      const began = performance.now();
      const result = await sink.write(records, signal);
      slowest = Math.max(slowest, performance.now() - began);
      if (i === 0) firstWrite();
      assert.deepEqual(result.rejected, [], step);
      assert.equal(result.written + result.deleted, records.length, step);
    }
    const downSeconds = await outage;
    assert.ok(downSeconds * 1000 >= OUTAGE_MS);
    const retries = log.filter((line) => / retry \d+ in \d+ ms$/.test(line));
    assert.ok(sink.stats().retries > 0, 'the outage hit a write');
    assert.equal(sink.stats().retries, retries.length, 'each retry is logged');
    t.diagnostic(
      `down ${downSeconds.toFixed(1)} s; ${retries.length} retries; slowest write ` +
        `${(slowest / 1000).toFixed(1)} s; first retry: ${retries[0] ?? 'none'}; ` +
        `last: ${retries.at(-1) ?? 'none'}`,
    );
    assert.ok(
      slowest >= OUTAGE_MS / 2,
      `a write waited out the outage (slowest ${Math.round(slowest)} ms); log:\n${log.join('\n')}`,
    );
  } finally {
    await sink.close();
    if (stopped && !restarted) await startService('neo4j', { keepData: true });
  }

  const driver = testDriver();
  try {
    const expected = expectedGraph({
      written: scenario.writes.flatMap((w) => w.records),
      applied: appliedArticles(scenario.writes),
      concepts: scenario.concepts,
      knownNames: scenario.knownNames,
      cap: scenario.cap,
    });
    assertSameGraph(await readGraph(driver, scenario.pmids, scenario.conceptPrefix), expected);
  } finally {
    try {
      await deleteRunData(driver, scenario.pmids, scenario.conceptPrefix);
    } finally {
      await driver.close();
    }
  }
});
