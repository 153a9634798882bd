import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { BoundedQueue } from '../../src/transport/bounded-queue.js';

test('delivers every item in order and ends after close', async () => {
  const queue = new BoundedQueue<number>(3);
  const producer = (async () => {
    for (let i = 0; i < 5000; i += 1) await queue.push(i);
    queue.close();
  })();
  const seen: number[] = [];
  for await (const item of queue) seen.push(item);
  await producer;
  assert.deepEqual(
    seen,
    Array.from({ length: 5000 }, (_, i) => i),
  );
});

test('push waits while the queue is full (backpressure)', async () => {
  const queue = new BoundedQueue<string>(2);
  await queue.push('a');
  await queue.push('b');
  let third = false;
  const pending = queue.push('c').then(() => (third = true));
  await tick();
  assert.equal(third, false);
  assert.equal(queue.depth, 2);
  const iterator = queue[Symbol.asyncIterator]();
  assert.deepEqual(await iterator.next(), { value: 'a', done: false });
  await pending;
  assert.equal(third, true);
  assert.equal(queue.depth, 2);
});

test('fail() ends the consumer with the error', async () => {
  const queue = new BoundedQueue<number>(1);
  await queue.push(1);
  queue.fail(new Error('stage broke'));
  await assert.rejects(async () => {
    for await (const item of queue) void item;
  }, /stage broke/);
});

test('push after close is rejected, capacity is validated', async () => {
  const queue = new BoundedQueue<number>(1);
  queue.close();
  await assert.rejects(queue.push(1), /after close/);
  assert.throws(() => new BoundedQueue<number>(0), RangeError);
});
