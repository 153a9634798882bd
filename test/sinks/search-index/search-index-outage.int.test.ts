import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@opensearch-project/opensearch';
import type { SearchIndexRetryEvent } from '../../../src/sinks/search-index/request-retry.js';
import { createSearchIndexSink } from '../../../src/sinks/search-index/search-index-sink.js';
import type { SinkRecord } from '../../../src/sinks/sink.js';
import { startService, stopService } from '../../services/outage.js';
import { requireServiceEnv, runId } from '../../services/service-env.js';
import {
  asSinkRecords,
  deletion,
  generateArticles,
  generatedConcepts,
} from '../generated-articles.js';
import { assertIndexHolds, expectedEntries, removeAliasIndices } from './index-state.js';

const OUTAGE_MS = 60_000;
const MAX_DELAY_MS = 10_000;

test(
  'search-index sink: OpenSearch stopped for a minute mid-run, restarted on its data',
  { timeout: 600_000 },
  async (t) => {
    const id = runId();
    const alias = `medstream-test-${id}`;
    const url = requireServiceEnv('OPENSEARCH_URL');
    const client = new Client({ node: url });
    const retries: SearchIndexRetryEvent[] = [];
    const logs: string[] = [];
    const sink = createSearchIndexSink({
      url,
      alias,
      model: { name: 'generated', version: '1.0.0' },
      batchRecords: 200,
      retry: { baseDelayMs: 500, maxDelayMs: MAX_DELAY_MS },
      requestTimeoutMs: 20_000,
      onRetry: (event) => retries.push(event),
      log: (line) => logs.push(line),
    });
    let stopped = false;
    try {
      await sink.start();
      const concepts = generatedConcepts(id);
      const upserts = asSinkRecords(
        generateArticles({ firstPmid: 60_000_000, count: 5000, concepts, seed: 12 }),
        1,
      );
      const updates = asSinkRecords(
        generateArticles({
          firstPmid: 60_000_000,
          count: 500,
          concepts,
          seed: 13,
          modelVersion: '1.1.0',
        }),
        10_001,
      );
      const tombstones = Array.from({ length: 200 }, (_, i) =>
        deletion(String(60_004_000 + i), 20_001 + i),
      );
      const input: SinkRecord[] = [...upserts, ...updates, ...tombstones];
      const batches: SinkRecord[][] = [];
      for (let i = 0; i < input.length; i += 200) batches.push(input.slice(i, i + 200));

      // The writer: one batch a second, like a driver fed by a steady topic. A write that meets
      // the outage blocks (retrying) until the server is back.
      let written = 0;
      let deleted = 0;
      let retriedWrites = 0;
      let resumedAt: number | undefined;
      let reachedOutage!: () => void;
      const outageMayStart = new Promise<void>((resolve) => {
        reachedOutage = resolve;
      });
      const writer = (async () => {
        for (const [n, batch] of batches.entries()) {
          const result = await sink.write(batch, AbortSignal.timeout(400_000));
          assert.deepEqual(result.rejected, []);
          written += result.written;
          deleted += result.deleted;
          if (result.stats.requestRetries > 0) {
            retriedWrites += 1;
            resumedAt ??= performance.now();
          }
          if (n === 2) reachedOutage();
          await sleep(1000);
        }
      })();
      // Awaited below; until then a failed write must not be an unhandled rejection.
      writer.catch(() => undefined);

      await Promise.race([outageMayStart, writer]);
      await stopService('opensearch');
      stopped = true;
      const downAt = performance.now();
      await sleep(OUTAGE_MS);
      // Still blocked: the batch in flight cannot have completed while the server was down.
      assert.ok(written < upserts.length + updates.length, 'the writer met the outage');
      await startService('opensearch', { keepData: true });
      stopped = false;
      const upAt = performance.now();
      const downMs = upAt - downAt;
      await writer;
      const outageRetries = retries.filter((r) => r.scope === 'request');
      t.diagnostic(
        `down ${Math.round(downMs / 1000)} s (stop + ${OUTAGE_MS / 1000} s + start); ` +
          `${outageRetries.length} request retries (${[...new Set(outageRetries.map((r) => r.reason))].join(', ')}), ` +
          `${retries.length - outageRetries.length} item retries; blocked write done ${Math.round(((resumedAt ?? Number.NaN) - upAt) / 1000)} s after the server was healthy`,
      );

      assert.equal(written, upserts.length + updates.length);
      assert.equal(deleted, tombstones.length);
      assert.ok(retriedWrites >= 1, 'at least one write retried through the outage');
      assert.ok(outageRetries.length >= 3, `${outageRetries.length} request retries`);
      assert.ok(
        outageRetries.every((r) =>
          ['NETWORK', 'SERVICE_UNAVAILABLE', 'HTTP_TIMEOUT', 'HTTP_STATUS'].includes(r.reason),
        ),
        JSON.stringify([...new Set(outageRetries.map((r) => r.reason))]),
      );
      assert.ok(
        outageRetries.some((r) => r.reason === 'NETWORK'),
        'connection refused seen',
      );
      assert.ok(outageRetries.every((r) => r.delayMs <= MAX_DELAY_MS));
      assert.ok(logs.some((l) => l.includes('retry') && l.includes('ECONNREFUSED')));
      assert.ok(downMs >= OUTAGE_MS);

      await assertIndexHolds(client, alias, expectedEntries(input));
    } finally {
      if (stopped) await startService('opensearch', { keepData: true });
      await sink.close();
      await removeAliasIndices(client, alias);
      await client.close();
    }
  },
);
