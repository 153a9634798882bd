/**
 * Search-index sink throughput: `npx tsx bench/search-index-sink.ts [documents] [batch]`
 * (defaults 5000 and 500). Prints one JSON object.
 *
 * Protocol: generated annotated articles (0–8 mentions each, deterministic) are written with
 * `write()` in batches of `batch` records into a fresh `<alias>-bench-…` index of the server
 * at OPENSEARCH_URL (refresh interval as created, no refresh per request); `seconds` covers
 * the `write()` calls only, generation and index creation excluded. The index and its
 * template are deleted afterwards.
 */
import { Client } from '@opensearch-project/opensearch';
import { loadConfig } from '../src/config/config.js';
import { deleteIndexTemplate } from '../src/sinks/search-index/index-admin.js';
import {
  createSearchIndexSink,
  searchIndexSinkOptionsFromConfig,
} from '../src/sinks/search-index/search-index-sink.js';
import {
  asSinkRecords,
  generateArticles,
  generatedConcepts,
} from '../test/sinks/generated-articles.js';

function positiveArg(index: number, fallback: number, name: string): number {
  const raw = process.argv[index];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
}

const documents = positiveArg(2, 5000, 'documents');
const batchRecords = positiveArg(3, 500, 'batch');
const config = loadConfig();
const base = searchIndexSinkOptionsFromConfig(config);
const alias = `medstream-bench-${Date.now().toString(36)}`;
const records = asSinkRecords(
  generateArticles({
    firstPmid: 30_000_000,
    count: documents,
    concepts: generatedConcepts('bench'),
    seed: 42,
  }),
);
const sink = createSearchIndexSink({
  ...base,
  alias,
  model: { name: 'bench', version: '1' },
  batchRecords,
});
const client = new Client({
  node: base.url,
  ...(base.username === undefined || base.password === undefined
    ? {}
    : { auth: { username: base.username, password: base.password } }),
});
try {
  await sink.start();
  let bulkRequests = 0;
  let bytes = 0;
  const started = performance.now();
  for (let i = 0; i < records.length; i += batchRecords) {
    const result = await sink.write(
      records.slice(i, i + batchRecords),
      AbortSignal.timeout(300_000),
    );
    if (result.rejected.length > 0) throw new Error(`rejected: ${result.rejected[0]?.message}`);
    bulkRequests += result.stats.bulkRequests;
    bytes += result.stats.bulkBytes;
  }
  const seconds = (performance.now() - started) / 1000;
  await client.indices.refresh({ index: alias });
  const count = await client.count({ index: alias });
  if (count.body.count !== documents) {
    throw new Error(`index holds ${count.body.count} documents, expected ${documents}`);
  }
  console.log(
    JSON.stringify({
      documents,
      seconds: Number(seconds.toFixed(3)),
      documents_per_s: Math.round(documents / seconds),
      bulk_requests: bulkRequests,
      batch_records: batchRecords,
      body_mb: Number((bytes / 1e6).toFixed(2)),
    }),
  );
} finally {
  await sink.close();
  await client.indices.delete({ index: `${alias}-*`, ignore_unavailable: true });
  await deleteIndexTemplate(client, alias);
  await client.close();
}
