import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { microBatches } from '../../../src/processors/batching/micro-batcher.js';

async function* counting(n: number, gapMs = 0): AsyncGenerator<number> {
  for (let i = 0; i < n; i += 1) {
    if (gapMs > 0) await sleep(gapMs);
    yield i;
  }
}

test('batches by count and weight, in order, nothing lost', async () => {
  const batches: number[][] = [];
  for await (const batch of microBatches(counting(103), {
    maxItems: 10,
    maxWeight: 25,
    weight: (x) => (x % 2 === 0 ? 1 : 5),
    maxDelayMs: 1000,
  })) {
    batches.push(batch);
  }
  assert.deepEqual(
    batches.flat(),
    Array.from({ length: 103 }, (_, i) => i),
  );
  for (const batch of batches) assert.ok(batch.length <= 10);
});

test('a slow trickle is flushed after maxDelayMs instead of waiting for a full batch', async () => {
  const started = Date.now();
  const iterator = microBatches(counting(3, 40), { maxItems: 100, maxDelayMs: 10 });
  const first = await iterator.next();
  assert.deepEqual(first.value, [0]);
  assert.ok(Date.now() - started < 500);
  const rest: number[] = [];
  for await (const batch of { [Symbol.asyncIterator]: () => iterator }) rest.push(...batch);
  assert.deepEqual(rest, [1, 2]);
});

test('breaking out early closes the source', async () => {
  let closed = false;
  async function* source(): AsyncGenerator<number> {
    try {
      for (let i = 0; ; i += 1) {
        await Promise.resolve();
        yield i;
      }
    } finally {
      closed = true;
    }
  }
  for await (const batch of microBatches(source(), { maxItems: 4, maxDelayMs: 5 })) {
    assert.equal(batch.length, 4);
    break;
  }
  assert.equal(closed, true);
});
