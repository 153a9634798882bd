import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planBatches } from '../../../src/processors/batching/token-budget.js';

/** The least-cost batch plan the annotator uses (token-budget.ts with `callCost`). */
function cost(batches: ReturnType<typeof planBatches>, call: number): number {
  return batches.reduce((acc, b) => acc + b.rows.length * b.maxLength + call, 0);
}

test('least-cost plans respect the limits, cover every row once and beat greedy filling', () => {
  let seed = 5;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const lengths = Array.from({ length: 700 }, () => 1 + Math.floor(rand() * rand() * 120));
  for (const callCost of [0, 8, 32, 256]) {
    const options = { maxTokens: 2048, maxRows: 128 };
    const batches = planBatches(lengths, { ...options, callCost });
    assert.deepEqual(
      batches.flatMap((b) => b.rows).sort((a, b) => a - b),
      lengths.map((_, i) => i),
    );
    for (const batch of batches) {
      assert.ok(batch.rows.length <= 128);
      assert.ok(batch.rows.length * batch.maxLength <= 2048);
      assert.equal(batch.maxLength, Math.max(...batch.rows.map((i) => lengths[i])));
    }
    const greedy = planBatches(lengths, options);
    assert.ok(cost(batches, callCost) <= cost(greedy, callCost));
  }
  const padded = (c: number) =>
    planBatches(lengths, { maxTokens: 4096, maxRows: 128, callCost: c }).reduce(
      (acc, b) => acc + b.rows.length * b.maxLength,
      0,
    );
  const real = lengths.reduce((a, b) => a + b, 0);
  assert.equal(padded(0), real, 'no call cost: no padding at all');
  assert.ok(padded(32) / real < 1.05);
});

test('least-cost plans: a row longer than the budget gets a batch of its own; none for no rows', () => {
  const batches = planBatches([3, 1000, 4], { maxTokens: 100, maxRows: 8, callCost: 16 });
  assert.deepEqual(
    batches.map((b) => b.rows),
    [[0, 2], [1]],
  );
  assert.deepEqual(planBatches([], { maxTokens: 100, maxRows: 8, callCost: 16 }), []);
});
