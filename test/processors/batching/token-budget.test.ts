import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planBatches } from '../../../src/processors/batching/token-budget.js';

test('every row lands in exactly one batch and no batch exceeds the budget', () => {
  let seed = 3;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const lengths = Array.from({ length: 500 }, () => 1 + Math.floor(rand() * 80));
  const batches = planBatches(lengths, { maxTokens: 512, maxRows: 32 });
  const seen = batches.flatMap((b) => b.rows).sort((a, b) => a - b);
  assert.deepEqual(
    seen,
    lengths.map((_, i) => i),
  );
  for (const batch of batches) {
    assert.ok(batch.rows.length <= 32);
    assert.ok(batch.rows.length * batch.maxLength <= 512);
    assert.equal(batch.maxLength, Math.max(...batch.rows.map((i) => lengths[i])));
  }
});

test('bucketing keeps padding low compared with arrival order', () => {
  const lengths = Array.from({ length: 256 }, (_, i) => (i % 2 === 0 ? 5 : 60));
  const batches = planBatches(lengths, { maxTokens: 2048, maxRows: 64 });
  const padded = batches.reduce((acc, b) => acc + b.rows.length * b.maxLength, 0);
  const real = lengths.reduce((a, b) => a + b, 0);
  assert.ok(padded / real < 1.05, `padding overhead ${padded / real}`);
});

test('a row longer than the budget gets a batch of its own', () => {
  const batches = planBatches([3, 1000, 4], { maxTokens: 100, maxRows: 8 });
  assert.deepEqual(
    batches.map((b) => b.rows),
    [[0, 2], [1]],
  );
});
