import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ExternalPairCounter,
  PAIR_INDEX_LIMIT,
  pairKey,
  splitPairKey,
} from '../../../src/sinks/knowledge-graph/pair-counter.js';
import { prng } from '../generated-articles.js';

async function collect(counter: ExternalPairCounter, batchEntries?: number) {
  const out: Array<[number, number]> = [];
  for await (const batch of counter.counts(batchEntries)) {
    for (let i = 0; i < batch.length; i += 1) out.push([batch.keys[i], batch.counts[i]]);
  }
  return out;
}

test('pair keys are exact for the largest concept indices', () => {
  const last = PAIR_INDEX_LIMIT - 1;
  assert.deepEqual(splitPairKey(pairKey(last, last - 1)), [last, last - 1]);
  assert.deepEqual(splitPairKey(pairKey(0, 7)), [0, 7]);
  assert.ok(pairKey(1, 0) > pairKey(0, last), 'keys order by start, then end');
});

test('counts equal a plain tally, in memory and through many runs merged in several passes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'medstream-pairs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const random = prng(9);
  const articles: number[][] = [];
  for (let a = 0; a < 3_000; a += 1) {
    const keys: number[] = [];
    const k = Math.floor(random() * 12);
    for (let j = 0; j < k; j += 1) {
      // A skewed distribution: a few popular pairs, a long tail.
      const start = Math.floor(random() ** 3 * 500);
      keys.push(pairKey(start, start + 1 + Math.floor(random() * 2_000)));
    }
    articles.push(keys);
  }
  const tally = new Map<number, number>();
  for (const keys of articles) for (const key of keys) tally.set(key, (tally.get(key) ?? 0) + 1);
  const expected = [...tally.entries()].sort((a, b) => a[0] - b[0]);

  const inMemory = new ExternalPairCounter({ dir: join(dir, 'memory') });
  for (const keys of articles) await inMemory.add(keys);
  assert.deepEqual(await collect(inMemory, 1_000), expected);
  assert.equal(inMemory.runCount, 0);
  await inMemory.dispose();

  const spilled = new ExternalPairCounter({
    dir: join(dir, 'runs'),
    chunkEntries: 97,
    readBufferEntries: 5,
    maxOpenRuns: 3,
  });
  for (const keys of articles) await spilled.add(keys);
  const merged = await collect(spilled, 64);
  assert.ok(spilled.runCount > 100, `spilled into many runs (${spilled.runCount})`);
  assert.deepEqual(merged, expected);
  assert.equal(
    spilled.occurrences,
    articles.reduce((n, keys) => n + keys.length, 0),
  );
  assert.ok((await readdir(join(dir, 'runs'))).length <= 3, 'merged runs are removed');
  await spilled.dispose();
  assert.equal(existsSync(join(dir, 'runs')), false);
});

test('a counter is read once, after its last add', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'medstream-pairs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const counter = new ExternalPairCounter({ dir });
  await counter.add([pairKey(1, 2), pairKey(1, 2)]);
  assert.deepEqual(await collect(counter), [[pairKey(1, 2), 2]]);
  await assert.rejects(counter.add([1]), /after counts/);
  await assert.rejects(collect(counter), /called twice/);
});
