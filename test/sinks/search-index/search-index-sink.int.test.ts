import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client } from '@opensearch-project/opensearch';
import {
  ensureModelIndex,
  listAliasIndices,
  switchAlias,
} from '../../../src/sinks/search-index/index-admin.js';
import { defaultIndexSettings } from '../../../src/sinks/search-index/index-template.js';
import type { SearchIndexRetryEvent } from '../../../src/sinks/search-index/request-retry.js';
import type {
  SearchIndexSinkOptions,
  SearchIndexWriteResult,
} from '../../../src/sinks/search-index/search-index-sink.js';
import { createSearchIndexSink } from '../../../src/sinks/search-index/search-index-sink.js';
import type { SinkRecord } from '../../../src/sinks/sink.js';
import { requireServiceEnv, runId } from '../../services/service-env.js';
import {
  asSinkRecords,
  deletion,
  generateArticles,
  generatedConcepts,
  prng,
} from '../generated-articles.js';
import {
  assertIndexHolds,
  expectedEntries,
  fetchEntries,
  removeAliasIndices,
} from './index-state.js';

const BATCH = 500;

function sinkOptions(alias: string, extra: Partial<SearchIndexSinkOptions> = {}) {
  return {
    url: requireServiceEnv('OPENSEARCH_URL'),
    alias,
    model: { name: 'generated', version: '1.0.0' },
    batchRecords: BATCH,
    retry: { baseDelayMs: 100, maxDelayMs: 1000 },
    ...extra,
  } satisfies SearchIndexSinkOptions;
}

/** Writes `records` in driver-sized batches and sums the results. */
async function writeAll(
  sink: ReturnType<typeof createSearchIndexSink>,
  records: readonly SinkRecord[],
): Promise<{
  written: number;
  deleted: number;
  rejected: number;
  superseded: number;
  absent: number;
  bulkRequests: number;
}> {
  const total = { written: 0, deleted: 0, rejected: 0, superseded: 0, absent: 0, bulkRequests: 0 };
  for (let i = 0; i < records.length; i += BATCH) {
    const result: SearchIndexWriteResult = await sink.write(
      records.slice(i, i + BATCH),
      AbortSignal.timeout(120_000),
    );
    total.written += result.written;
    total.deleted += result.deleted;
    total.rejected += result.rejected.length;
    total.superseded += result.stats.superseded;
    total.absent += result.stats.absent;
    total.bulkRequests += result.stats.bulkRequests;
  }
  return total;
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = prng(seed);
  return items
    .map((item) => ({ item, key: random() }))
    .sort((a, b) => a.key - b.key)
    .map(({ item }) => item);
}

describe('search-index sink against OpenSearch', () => {
  test('replays, older versions and tombstones leave exactly the newest state', async () => {
    const id = runId();
    const alias = `medstream-test-${id}`;
    const client = new Client({ node: requireServiceEnv('OPENSEARCH_URL') });
    const sink = createSearchIndexSink(sinkOptions(alias, { batchBytes: 400_000 }));
    try {
      await sink.start();
      const concepts = generatedConcepts(id);
      const first = 50_000_000;
      const v1 = asSinkRecords(
        generateArticles({ firstPmid: first, count: 3000, concepts, seed: 1 }),
        1,
      );
      // Re-annotated versions of the first 600 PMIDs, at later offsets.
      const v2 = asSinkRecords(
        generateArticles({
          firstPmid: first,
          count: 600,
          concepts,
          seed: 2,
          modelVersion: '1.1.0',
        }),
        10_001,
      );
      const tombstones = Array.from({ length: 300 }, (_, i) =>
        deletion(String(first + 2500 + i), 20_001 + i),
      );
      const neverIndexed = Array.from({ length: 10 }, (_, i) =>
        deletion(String(first + 9000 + i), 30_001 + i),
      );

      const initial = await writeAll(sink, v1);
      assert.deepEqual([initial.written, initial.rejected, initial.superseded], [3000, 0, 0]);
      assert.ok(initial.bulkRequests > 6, 'the byte limit split batches of 500');
      const newer = await writeAll(sink, v2);
      assert.deepEqual([newer.written, newer.superseded], [600, 0]);

      // A replay of everything so far: every item is already at this or a newer version.
      const replay = await writeAll(sink, [...v1, ...v2]);
      assert.deepEqual([replay.written, replay.rejected, replay.superseded], [3600, 0, 3600]);

      const deletes = await writeAll(sink, [...tombstones, ...neverIndexed]);
      assert.deepEqual([deletes.deleted, deletes.absent, deletes.superseded], [310, 10, 0]);

      // Older upserts after the tombstones, replayed tombstones, and a batch mixing old and new
      // versions of the same PMIDs in random order: none of it may change the state.
      const late = await writeAll(sink, [
        ...v1.slice(2500, 2800),
        ...tombstones,
        ...shuffled([...v1.slice(0, 400), ...v2.slice(0, 400)], 9),
      ]);
      assert.deepEqual([late.written, late.deleted, late.superseded], [1100, 300, 1400]);

      const expected = expectedEntries([...v1, ...v2, ...tombstones, ...neverIndexed]);
      assert.equal(expected.length, 2700);
      await assertIndexHolds(client, alias, expected);
      const fetched = await fetchEntries(client, alias);
      assert.equal(fetched.filter((e) => e.modelVersion === '1.1.0').length, 600);
    } finally {
      await sink.close();
      await removeAliasIndices(client, alias);
      await client.close();
    }
  });

  test('mapping violations are rejected with reasons, cluster blocks are waited out', async () => {
    const id = runId();
    const alias = `medstream-test-${id}`;
    const client = new Client({ node: requireServiceEnv('OPENSEARCH_URL') });
    const retries: SearchIndexRetryEvent[] = [];
    const sink = createSearchIndexSink(
      sinkOptions(alias, { onRetry: (event) => retries.push(event) }),
    );
    try {
      await sink.start();
      const index = sink.index ?? '';
      const concepts = generatedConcepts(id);
      const articles = generateArticles({ firstPmid: 1_000, count: 400, concepts, seed: 4 });
      const badDates = ['2021-13-01', '2020-02-30', '1999-00', 'Spring 2001'];
      badDates.forEach((date, i) => {
        const article = articles[10 + i * 50];
        assert.ok(article !== undefined);
        article.publicationDate = date;
      });
      const records = asSinkRecords(articles, 1);
      const bad = new Set(badDates.map((_, i) => records[10 + i * 50]));

      const first = await sink.write(records.slice(0, 200), AbortSignal.timeout(60_000));
      assert.equal(first.written, 200 - badDates.length);
      assert.deepEqual(new Set(first.rejected.map((r) => r.record)), bad);
      for (const rejection of first.rejected) {
        assert.equal(rejection.errorCode, 'SINK_REJECTED');
        assert.match(
          rejection.message,
          /^400 mapper_parsing_exception: failed to parse field \[publicationDate\]/,
        );
        assert.match(
          rejection.message,
          new RegExp(rejection.record.article?.publicationDate ?? '-'),
        );
      }
      assert.equal(retries.length, 0);

      // Flood-stage block (429 per item), lifted while the sink is retrying.
      await client.indices.putSettings({
        index,
        body: { 'index.blocks.read_only_allow_delete': true },
      });
      const unblock = setTimeout(() => {
        void client.indices.putSettings({
          index,
          body: { 'index.blocks.read_only_allow_delete': null },
        });
      }, 3000);
      const tombstones = records
        .slice(0, 20)
        .map((r) => deletion(r.pmid, 1000 + Number(r.version)));
      const blocked = await sink
        .write([...records.slice(200, 300), ...tombstones], AbortSignal.timeout(60_000))
        .finally(() => clearTimeout(unblock));
      assert.deepEqual([blocked.written, blocked.deleted, blocked.rejected.length], [100, 20, 0]);
      const floodRetries = retries.filter((r) => r.scope === 'items');
      assert.ok(floodRetries.length >= 1);
      assert.ok(floodRetries.every((r) => r.reason === 'cluster_block_exception'));
      assert.equal(floodRetries[0]?.operations, 120);

      // Write block (403 per item), lifted likewise: retried too, never dead-lettered.
      retries.length = 0;
      await client.indices.putSettings({ index, body: { 'index.blocks.write': true } });
      const unblockWrite = setTimeout(() => {
        void client.indices.putSettings({ index, body: { 'index.blocks.write': false } });
      }, 2000);
      const writeBlocked = await sink
        .write(records.slice(300, 400), AbortSignal.timeout(60_000))
        .finally(() => clearTimeout(unblockWrite));
      assert.deepEqual([writeBlocked.written, writeBlocked.rejected.length], [100, 0]);
      assert.ok(retries.some((r) => r.reason === 'cluster_block_exception'));

      const expected = expectedEntries([...records, ...tombstones].filter((r) => !bad.has(r)));
      // Without a document: the rejected ones and the deleted ones (records[10] is both).
      assert.equal(expected.length, 400 - new Set([...bad, ...records.slice(0, 20)]).size);
      await assertIndexHolds(client, alias, expected);
    } finally {
      await sink.close();
      await removeAliasIndices(client, alias);
      await client.close();
    }
  });

  test('re-processing: a new model version fills its own index, the alias switch exposes it', async () => {
    const id = runId();
    const alias = `medstream-test-${id}`;
    const client = new Client({ node: requireServiceEnv('OPENSEARCH_URL') });
    const logs: string[] = [];
    const concepts = generatedConcepts(id);
    const oldRecords = asSinkRecords(
      generateArticles({ firstPmid: 7_000, count: 300, concepts, seed: 6, modelVersion: '1.0.0' }),
    );
    const newRecords = asSinkRecords(
      generateArticles({ firstPmid: 7_000, count: 320, concepts, seed: 7, modelVersion: '2.0.0' }),
    );
    const sinkA = createSearchIndexSink(
      sinkOptions(alias, { model: { name: 'generated', version: '1.0.0' } }),
    );
    const sinkB = createSearchIndexSink(
      sinkOptions(alias, {
        model: { name: 'generated', version: '2.0.0' },
        log: (l) => logs.push(l),
      }),
    );
    try {
      await sinkA.start();
      const indexA = sinkA.index ?? '';
      assert.equal(indexA, `${alias}-generated-1.0.0`);
      await writeAll(sinkA, oldRecords);
      assert.deepEqual(await listAliasIndices(client, alias), [
        { index: indexA, isWriteIndex: true },
      ]);

      // Created ahead of time, as an operator would; the sink finds it and fills it.
      const indexB = await ensureModelIndex(
        client,
        alias,
        { name: 'Generated', version: '2.0.0' },
        defaultIndexSettings,
      );
      assert.equal(indexB, `${alias}-generated-2.0.0`);
      await sinkB.start();
      assert.equal(sinkB.index, indexB);
      assert.ok(
        logs.some((l) => l.includes(`writing ${indexB}, which is not behind alias ${alias}`)),
      );
      await writeAll(sinkB, newRecords);

      // While B fills, readers still see A only.
      await assertIndexHolds(client, alias, expectedEntries(oldRecords));

      assert.deepEqual(await switchAlias(client, alias, indexB), [indexA]);
      assert.deepEqual(await listAliasIndices(client, alias), [
        { index: indexB, isWriteIndex: true },
      ]);
      await assertIndexHolds(client, alias, expectedEntries(newRecords));
      const viaAlias = await fetchEntries(client, alias);
      assert.ok(viaAlias.every((e) => e.modelVersion === '2.0.0'));
      // The old index is intact for a rollback.
      await assertIndexHolds(client, indexA, expectedEntries(oldRecords));

      // A sink given neither model nor index now writes the alias's write index, B.
      const follower = createSearchIndexSink(sinkOptions(alias, { model: undefined }));
      try {
        await follower.start();
        assert.equal(follower.index, indexB);
      } finally {
        await follower.close();
      }
      // Switching to the index the alias already points to changes nothing.
      assert.deepEqual(await switchAlias(client, alias, indexB), []);
    } finally {
      await sinkA.close();
      await sinkB.close();
      await removeAliasIndices(client, alias);
      await client.close();
    }
  });
});
