import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { loadConfig } from '../../../src/config/config.js';
import { MedStreamError } from '../../../src/errors.js';
import type { SearchIndexRetryEvent } from '../../../src/sinks/search-index/request-retry.js';
import type { SearchIndexSinkOptions } from '../../../src/sinks/search-index/search-index-sink.js';
import {
  createSearchIndexSink,
  searchIndexSinkOptionsFromConfig,
} from '../../../src/sinks/search-index/search-index-sink.js';
import { FakeClock } from '../../producers/http/fake-clock.js';
import { reset } from '../../producers/http/scripted-server.js';
import {
  asSinkRecords,
  deletion,
  generateArticles,
  generatedConcepts,
} from '../generated-articles.js';
import type { BulkResponder, FakeOpenSearch, FakeOpenSearchOptions } from './fake-opensearch.js';
import { allOk, bulkReply, failWith, okItem, startFakeOpenSearch } from './fake-opensearch.js';

const concepts = generatedConcepts('unit');
const MAX_DELAY_MS = 2000;

function records(count: number, firstVersion = 1) {
  return asSinkRecords(
    generateArticles({ firstPmid: 40_000_000, count, concepts, seed: 5 }),
    firstVersion,
  );
}

async function withSink<T>(
  fake: FakeOpenSearchOptions,
  run: (ctx: {
    server: FakeOpenSearch;
    sink: ReturnType<typeof createSearchIndexSink>;
    retries: SearchIndexRetryEvent[];
    logs: string[];
    clock: FakeClock;
  }) => Promise<T> | T,
  options: Partial<SearchIndexSinkOptions> = {},
): Promise<T> {
  const server = await startFakeOpenSearch(fake);
  const retries: SearchIndexRetryEvent[] = [];
  const logs: string[] = [];
  const clock = new FakeClock();
  const sink = createSearchIndexSink({
    url: server.url,
    alias: 'pubmed-entities',
    model: { name: 'bc5cdr-mtl', version: '1.0.0' },
    clock,
    random: () => 0.999,
    retry: { baseDelayMs: 100, maxDelayMs: MAX_DELAY_MS },
    onRetry: (event) => retries.push(event),
    log: (line) => logs.push(line),
    ...options,
  });
  try {
    await sink.start();
    return await run({ server, sink, retries, logs, clock });
  } finally {
    await sink.close();
    await server.close();
  }
}

describe('search-index sink start', () => {
  test('puts the strict template, creates the model index and the missing alias', async () => {
    await withSink({}, ({ server, sink, logs }) => {
      assert.equal(sink.index, 'pubmed-entities-bc5cdr-mtl-1.0.0');
      assert.deepEqual(server.createdIndices, ['pubmed-entities-bc5cdr-mtl-1.0.0']);
      assert.equal(server.templates.length, 1);
      const template = server.templates[0]?.body as {
        index_patterns: string[];
        template: { mappings: { dynamic: string } };
      };
      assert.deepEqual(template.index_patterns, ['pubmed-entities-*']);
      assert.equal(template.template.mappings.dynamic, 'strict');
      assert.deepEqual(server.aliasActions, [
        {
          actions: [
            {
              add: {
                index: 'pubmed-entities-bc5cdr-mtl-1.0.0',
                alias: 'pubmed-entities',
                is_write_index: true,
              },
            },
          ],
        },
      ]);
      assert.ok(logs.some((l) => l.includes('alias pubmed-entities now points to')));
    });
  });

  test('never moves an existing alias; says where it writes instead', async () => {
    const aliases = {
      'pubmed-entities-bc5cdr-mtl-0.9.0': { aliases: { 'pubmed-entities': {} } },
    };
    await withSink({ aliases }, ({ server, sink, logs }) => {
      assert.equal(sink.index, 'pubmed-entities-bc5cdr-mtl-1.0.0');
      assert.deepEqual(server.aliasActions, []);
      assert.ok(
        logs.some((l) =>
          l.includes(
            'not behind alias pubmed-entities (it serves pubmed-entities-bc5cdr-mtl-0.9.0)',
          ),
        ),
      );
    });
  });

  test('without index or model, writes the alias’s write index', async () => {
    const aliases = {
      'pubmed-entities-a-1': { aliases: { 'pubmed-entities': { is_write_index: false } } },
      'pubmed-entities-a-2': { aliases: { 'pubmed-entities': { is_write_index: true } } },
    };
    await withSink(
      { aliases },
      ({ sink }) => {
        assert.equal(sink.index, 'pubmed-entities-a-2');
      },
      { model: undefined },
    );
  });

  test('without index or model and no alias, start fails with CONFIG_INVALID', async () => {
    await assert.rejects(
      withSink({}, () => undefined, { model: undefined }),
      (error: unknown) =>
        error instanceof MedStreamError &&
        error.code === 'CONFIG_INVALID' &&
        /Alias "pubmed-entities" does not exist/.test(error.message),
    );
  });

  test('a server that never answers fails start with SERVICE_UNAVAILABLE after the start timeout', async () => {
    // A port that was just free: connections are refused.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const clock = new FakeClock();
    const retries: SearchIndexRetryEvent[] = [];
    const sink = createSearchIndexSink({
      url: `http://127.0.0.1:${port}`,
      alias: 'pubmed-entities',
      model: { name: 'm', version: '1' },
      clock,
      random: () => 0.999,
      retry: { baseDelayMs: 100, maxDelayMs: 1000 },
      startTimeoutMs: 10_000,
      onRetry: (event) => retries.push(event),
    });
    const started = clock.now();
    try {
      await assert.rejects(sink.start(), (error: unknown) => {
        assert.ok(error instanceof MedStreamError);
        assert.equal(error.code, 'SERVICE_UNAVAILABLE');
        assert.match(error.message, /did not answer within 10000 ms/);
        return true;
      });
    } finally {
      await sink.close();
    }
    assert.ok(retries.length >= 9, `${retries.length} retries`);
    assert.ok(retries.every((r) => r.reason === 'NETWORK'));
    assert.ok(clock.now() - started <= 10_000);
  });
});

describe('search-index sink write', () => {
  test('retries whole-request failures with capped backoff, then succeeds', async () => {
    const bulk: BulkResponder[] = [
      failWith(503, 'cluster_block_exception'),
      (_ops, req, res) => reset(req, res),
      failWith(429, 'es_rejected_execution_exception'),
      failWith(502, 'bad_gateway'),
      failWith(504, 'gateway_timeout'),
      failWith(503, 'unavailable'),
      allOk,
    ];
    await withSink({ bulk }, async ({ server, sink, retries, logs, clock }) => {
      const batch = records(20);
      const result = await sink.write(batch, new AbortController().signal);
      assert.equal(result.written, 20);
      assert.equal(result.deleted, 0);
      assert.deepEqual(result.rejected, []);
      assert.equal(result.stats.requestRetries, 6);
      assert.equal(result.stats.bulkRequests, 7);
      assert.deepEqual(
        retries.map((r) => r.reason),
        [
          'SERVICE_UNAVAILABLE',
          'NETWORK',
          'HTTP_STATUS',
          'HTTP_STATUS',
          'HTTP_STATUS',
          'SERVICE_UNAVAILABLE',
        ],
      );
      // Exponential up to the cap: 100, 200, 400, 800, 1600, then capped at 2000 (random ≈ 1).
      assert.deepEqual(clock.sleeps, [99, 199, 399, 799, 1598, 1998]);
      assert.ok(retries.every((r) => r.scope === 'request' && r.operations === 20));
      assert.equal(logs.filter((l) => l.includes('retry')).length, 6);
      assert.ok(logs.some((l) => l.includes('HTTP 429 es_rejected_execution_exception')));
      // Every request carried the same 20 operations.
      assert.ok(server.bulkCalls.every((c) => c.ops.length === 20));
      assert.equal(server.bulkCalls[0]?.path, '/pubmed-entities-bc5cdr-mtl-1.0.0/_bulk');
    });
  });

  test('resends only the retriable items; rejects mapping errors; counts replays and absent deletes', async () => {
    const first: BulkResponder = (ops, _req, res) =>
      bulkReply(
        res,
        ops.map((op, i) => {
          switch (i) {
            case 0:
              return {
                index: {
                  status: 429,
                  error: { type: 'es_rejected_execution_exception', reason: 'queue full' },
                },
              };
            case 1:
              return {
                index: {
                  status: 400,
                  error: {
                    type: 'mapper_parsing_exception',
                    reason: 'failed to parse field [publicationDate]',
                    caused_by: { type: 'date_time_exception', reason: 'Invalid date' },
                  },
                },
              };
            case 2:
              return {
                index: { status: 409, error: { type: 'version_conflict_engine_exception' } },
              };
            case 3:
              return { delete: { status: 404, result: 'not_found' } };
            case 4:
              return { delete: { status: 503, error: { type: 'unavailable_shards_exception' } } };
            default:
              return okItem(op);
          }
        }),
      );
    await withSink({ bulk: [first, allOk] }, async ({ server, sink, retries }) => {
      const batch = records(10);
      batch[3] = deletion(batch[3]?.pmid ?? '', 50);
      batch[4] = deletion(batch[4]?.pmid ?? '', 51);
      const result = await sink.write(batch, new AbortController().signal);
      assert.equal(server.bulkCalls.length, 2);
      assert.deepEqual(
        server.bulkCalls[1]?.ops.map((op) => [op.kind, op.id, op.version]),
        [
          ['index', batch[0]?.pmid, batch[0]?.version],
          ['delete', batch[4]?.pmid, 51],
        ],
      );
      assert.equal(result.written, 7, 'items 0, 2 (already newer), 5–9');
      assert.equal(result.deleted, 2, 'item 3 (absent) and item 4 (after retry)');
      assert.equal(result.rejected.length, 1);
      assert.equal(result.rejected[0]?.record, batch[1]);
      assert.equal(result.rejected[0]?.errorCode, 'SINK_REJECTED');
      assert.match(
        result.rejected[0]?.message ?? '',
        /mapper_parsing_exception.*publicationDate.*Invalid date/,
      );
      assert.equal(result.stats.superseded, 1);
      assert.equal(result.stats.absent, 1);
      assert.equal(result.stats.itemRetries, 2);
      assert.equal(retries.length, 1);
      assert.equal(retries[0]?.scope, 'items');
      assert.equal(retries[0]?.operations, 2);
      assert.match(retries[0]?.message ?? '', /es_rejected_execution_exception ×1/);
      assert.match(retries[0]?.message ?? '', /unavailable_shards_exception ×1/);
    });
  });

  test('splits a batch by record count and body bytes', async () => {
    await withSink(
      {},
      async ({ server, sink }) => {
        const batch = records(95);
        const result = await sink.write(batch, new AbortController().signal);
        assert.equal(result.written, 95);
        assert.ok(server.bulkCalls.every((c) => c.ops.length <= 40));
        assert.ok(server.bulkCalls.every((c) => c.bytes <= 20_000 || c.ops.length === 1));
        assert.deepEqual(
          server.bulkCalls.flatMap((c) => c.ops.map((op) => op.id)),
          batch.map((r) => r.pmid),
        );
        assert.equal(result.stats.bulkRequests, server.bulkCalls.length);
        assert.ok(server.bulkCalls.length >= 3);
      },
      { batchRecords: 40, batchBytes: 20_000 },
    );
  });

  test('a 413 halves the request; a single operation still too large is rejected', async () => {
    const batch = records(8);
    const huge = batch[5]?.pmid;
    const tooLarge: BulkResponder = (ops, req, res) => {
      if (ops.length > 2 || ops.some((op) => op.id === huge)) {
        failWith(413, 'content_too_long')(ops, req, res);
      } else {
        allOk(ops, req, res);
      }
    };
    await withSink({ bulk: [tooLarge] }, async ({ server, sink }) => {
      const result = await sink.write(batch, new AbortController().signal);
      assert.equal(result.written, 7);
      assert.equal(result.rejected.length, 1);
      assert.equal(result.rejected[0]?.record.pmid, huge);
      assert.match(
        result.rejected[0]?.message ?? '',
        /larger than the server accepts \(HTTP 413\)/,
      );
      // 8 → 4 + 4 → 2 + 2 + 2 + 2 → the pair with the large one → 1 + 1.
      assert.equal(server.bulkCalls.length, 1 + 2 + 4 + 2);
    });
  });

  test('an abort stops the retries and rejects with the abort reason', async () => {
    const controller = new AbortController();
    const reason = new Error('shutting down');
    await withSink(
      { bulk: [failWith(503, 'unavailable')] },
      async ({ server, sink }) => {
        await assert.rejects(sink.write(records(3), controller.signal), (e) => e === reason);
        assert.equal(server.bulkCalls.length, 3);
      },
      {
        onRetry: (event) => {
          if (event.attempt === 3) controller.abort(reason);
        },
      },
    );
  });

  test('close aborts a write that is still retrying', async () => {
    await withSink({ bulk: [failWith(503, 'unavailable')] }, async ({ server, sink, retries }) => {
      const pending = sink.write(records(3), new AbortController().signal);
      while (retries.length < 2) await new Promise((resolve) => setImmediate(resolve));
      await sink.close();
      await assert.rejects(pending, /search-index sink is closed/);
      const calls = server.bulkCalls.length;
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(server.bulkCalls.length, calls, 'no request after close');
    });
  });

  test('a non-retriable request failure rejects the write', async () => {
    await withSink(
      { bulk: [failWith(400, 'action_request_validation_exception')] },
      async ({ server, sink }) => {
        await assert.rejects(
          sink.write(records(2), new AbortController().signal),
          (error: unknown) =>
            error instanceof MedStreamError &&
            error.code === 'HTTP_STATUS' &&
            !error.retriable &&
            /action_request_validation_exception/.test(error.message),
        );
        assert.equal(server.bulkCalls.length, 1);
      },
    );
  });

  test('records that cannot be versioned are rejected without reaching the server', async () => {
    await withSink({}, async ({ server, sink }) => {
      const batch = records(3);
      const bad = { ...deletion('123', 1), version: -5 };
      const result = await sink.write([bad, ...batch], new AbortController().signal);
      assert.equal(result.written, 3);
      assert.deepEqual(
        result.rejected.map((r) => [r.record, r.errorCode]),
        [[bad, 'SINK_REJECTED']],
      );
      assert.deepEqual(
        server.bulkCalls.flatMap((c) => c.ops.map((op) => op.id)),
        batch.map((r) => r.pmid),
      );
    });
  });

  test('an empty batch sends nothing; write before start and after close are errors', async () => {
    await withSink({}, async ({ server, sink }) => {
      const result = await sink.write([], new AbortController().signal);
      assert.deepEqual([result.written, result.deleted, result.rejected.length], [0, 0, 0]);
      assert.equal(server.bulkCalls.length, 0);
      await sink.close();
      await sink.close();
      await assert.rejects(sink.write([], new AbortController().signal), /closed/);
    });
    const unstarted = createSearchIndexSink({ url: 'http://127.0.0.1:9', alias: 'a' });
    await assert.rejects(unstarted.write([], new AbortController().signal), /before start/);
    await unstarted.close();
  });
});

describe('searchIndexSinkOptionsFromConfig', () => {
  test('reads the server, credentials, alias and bulk limits', () => {
    const config = loadConfig({
      OPENSEARCH_URL: 'https://search.example.org:9200',
      OPENSEARCH_USERNAME: 'medstream',
      OPENSEARCH_PASSWORD: 'secret',
      OPENSEARCH_INDEX_ALIAS: 'pubmed-staging',
      MEDSTREAM_SINK_BATCH_RECORDS: '250',
      MEDSTREAM_SINK_BATCH_BYTES: '1000000',
    });
    assert.deepEqual(searchIndexSinkOptionsFromConfig(config), {
      url: 'https://search.example.org:9200',
      username: 'medstream',
      password: 'secret',
      alias: 'pubmed-staging',
      batchRecords: 250,
      batchBytes: 1_000_000,
    });
    const defaults = searchIndexSinkOptionsFromConfig(
      loadConfig({ OPENSEARCH_URL: 'http://127.0.0.1:9200' }),
    );
    assert.deepEqual(defaults, {
      url: 'http://127.0.0.1:9200',
      alias: 'pubmed-entities',
      batchRecords: 500,
      batchBytes: 5_000_000,
    });
  });

  test('a missing URL or half the credentials is CONFIG_INVALID', () => {
    const invalid = (error: unknown) =>
      error instanceof MedStreamError && error.code === 'CONFIG_INVALID';
    assert.throws(() => searchIndexSinkOptionsFromConfig(loadConfig({})), invalid);
    assert.throws(
      () =>
        searchIndexSinkOptionsFromConfig(
          loadConfig({ OPENSEARCH_URL: 'http://127.0.0.1:9200', OPENSEARCH_USERNAME: 'u' }),
        ),
      invalid,
    );
    assert.throws(
      () => createSearchIndexSink({ url: 'http://127.0.0.1:9200', alias: 'a', batchRecords: 0 }),
      invalid,
    );
  });
});
