import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BulkOperation } from '../../../src/sinks/search-index/bulk-request.js';
import {
  bulkBody,
  chunkOperations,
  invalidRecordReason,
  toBulkOperation,
} from '../../../src/sinks/search-index/bulk-request.js';
import type { SinkRecord } from '../../../src/sinks/sink.js';
import {
  asSinkRecords,
  deletion,
  generateArticles,
  generatedConcepts,
  prng,
} from '../generated-articles.js';

const concepts = generatedConcepts('bulk');

function articles(count: number, seed = 7) {
  return generateArticles({ firstPmid: 31_000_000, count, concepts, seed });
}

function operations(count: number, seed = 7): BulkOperation[] {
  const records = asSinkRecords(articles(count, seed), 100);
  // Every fifth record a tombstone, so chunks mix operation sizes.
  return records.map((r, i) => toBulkOperation(i % 5 === 4 ? deletion(r.pmid, r.version) : r));
}

describe('bulk operations', () => {
  test('an article becomes an externally versioned index of its document', () => {
    const article = articles(20).find((a) => a.mentions.length >= 3);
    assert.ok(article !== undefined);
    const op = toBulkOperation({ pmid: article.pmid, article, version: 4711, origin: null });
    assert.equal(op.kind, 'index');
    const lines = op.lines.split('\n');
    assert.equal(lines.length, 3, 'action, document, and the final newline');
    assert.equal(lines[2], '');
    assert.deepEqual(JSON.parse(lines[0] ?? ''), {
      index: { _id: article.pmid, version: 4711, version_type: 'external' },
    });
    const doc = JSON.parse(lines[1] ?? '') as Record<string, unknown>;
    assert.equal(doc.pmid, article.pmid);
    assert.equal(doc.textSha256, article.textSha256);
    assert.deepEqual(doc.mentions, article.mentions);
    const ids = [...new Set(article.mentions.flatMap((m) => m.ids))].sort();
    assert.deepEqual(doc.conceptIds, ids);
    assert.deepEqual(doc.mentionTypes, [...new Set(article.mentions.map((m) => m.type))].sort());
    // The generated abstracts contain ± and α: bytes are UTF-8 bytes, not string length.
    assert.equal(op.bytes, Buffer.byteLength(op.lines));
    assert.ok(op.bytes > op.lines.length);
  });

  test('a tombstone becomes an externally versioned delete', () => {
    const op = toBulkOperation(deletion('123', 9));
    assert.equal(op.kind, 'delete');
    assert.equal(op.lines, '{"delete":{"_id":"123","version":9,"version_type":"external"}}\n');
    assert.equal(op.bytes, op.lines.length);
  });

  test('refuses records the server would reject the whole request for', () => {
    const [article] = articles(1);
    assert.ok(article !== undefined);
    const valid: SinkRecord = { pmid: article.pmid, article, version: 0, origin: null };
    assert.equal(invalidRecordReason(valid), undefined);
    assert.equal(invalidRecordReason(deletion('1', Number.MAX_SAFE_INTEGER)), undefined);
    const cases: [SinkRecord, RegExp][] = [
      [{ ...valid, version: -1 }, /version -1/],
      [{ ...valid, version: 1.5 }, /version 1.5/],
      [{ ...valid, version: Number.NaN }, /version NaN/],
      [{ ...valid, version: 2 ** 60 }, /not a non-negative integer/],
      [{ ...valid, pmid: '' }, /empty PMID/],
      [{ ...valid, pmid: '9'.repeat(513) }, /longer than 512 bytes/],
      [{ ...valid, pmid: '42' }, /differs from the article's PMID/],
    ];
    for (const [record, reason] of cases) {
      assert.match(invalidRecordReason(record) ?? 'accepted', reason);
    }
  });
});

describe('chunkOperations', () => {
  function assertPartition(
    ops: readonly BulkOperation[],
    chunks: BulkOperation[][],
    maxRecords: number,
    maxBytes: number,
  ) {
    assert.deepEqual(chunks.flat(), ops, 'every operation once, in order');
    for (const chunk of chunks) {
      assert.ok(chunk.length >= 1 && chunk.length <= maxRecords);
      const bytes = Buffer.byteLength(bulkBody(chunk));
      assert.equal(
        bytes,
        chunk.reduce((n, op) => n + op.bytes, 0),
      );
      assert.ok(chunk.length === 1 || bytes <= maxBytes, `${bytes} > ${maxBytes}`);
    }
    // Greedy: no chunk could have taken the next chunk's first operation.
    for (let i = 0; i + 1 < chunks.length; i += 1) {
      const chunk = chunks[i] ?? [];
      const next = chunks[i + 1]?.[0];
      assert.ok(next !== undefined);
      const bytes = chunk.reduce((n, op) => n + op.bytes, 0);
      assert.ok(chunk.length === maxRecords || bytes + next.bytes > maxBytes);
    }
  }

  test('splits by record count', () => {
    const ops = operations(1234);
    const chunks = chunkOperations(ops, { maxRecords: 500, maxBytes: 1e9 });
    assert.deepEqual(
      chunks.map((c) => c.length),
      [500, 500, 234],
    );
    assertPartition(ops, chunks, 500, 1e9);
  });

  test('splits by body bytes', () => {
    const ops = operations(1000);
    const total = ops.reduce((n, op) => n + op.bytes, 0);
    const maxBytes = Math.ceil(total / 7);
    const chunks = chunkOperations(ops, { maxRecords: 10_000, maxBytes });
    assert.ok(chunks.length >= 7 && chunks.length <= 9, `${chunks.length} chunks`);
    assertPartition(ops, chunks, 10_000, maxBytes);
  });

  test('an operation larger than the byte limit travels alone', () => {
    const ops = operations(10);
    const largest = Math.max(...ops.map((op) => op.bytes));
    const chunks = chunkOperations(ops, { maxRecords: 500, maxBytes: largest - 1 });
    const alone = chunks.filter((c) => c.some((op) => op.bytes === largest));
    assert.ok(alone.every((c) => c.length === 1));
    assertPartition(ops, chunks, 500, largest - 1);
  });

  test('holds its invariants for random limits', () => {
    const random = prng(20240610);
    const ops = operations(600, 11);
    for (let i = 0; i < 200; i += 1) {
      const maxRecords = 1 + Math.floor(random() * 120);
      const maxBytes = 1 + Math.floor(random() * 60_000);
      assertPartition(ops, chunkOperations(ops, { maxRecords, maxBytes }), maxRecords, maxBytes);
    }
  });

  test('no operations, no requests; limits must be positive integers', () => {
    assert.deepEqual(chunkOperations([], { maxRecords: 1, maxBytes: 1 }), []);
    assert.throws(() => chunkOperations([], { maxRecords: 0, maxBytes: 1 }), RangeError);
    assert.throws(() => chunkOperations([], { maxRecords: 1, maxBytes: 0.5 }), RangeError);
  });
});
