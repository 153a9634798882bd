import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CrfDecoder, crfFromManifest, type CrfParameters } from '../../src/model/crf-decode.js';

function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomCrf(n: number, rand: () => number): CrfParameters {
  const row = () => Array.from({ length: n }, () => rand() * 4 - 2);
  return crfFromManifest({ transitions: Array.from({ length: n }, row), start: row(), end: row() });
}

function pathScore(crf: CrfParameters, e: Float32Array, path: number[]): number {
  const n = crf.numTags;
  let s = crf.start[path[0]] + crf.end[path[path.length - 1]];
  path.forEach((tag, t) => {
    s += e[t * n + tag];
    if (t > 0) s += crf.transitions[path[t - 1] * n + tag];
  });
  return s;
}

function allPaths(n: number, length: number): number[][] {
  if (length === 0) return [[]];
  return allPaths(n, length - 1).flatMap((p) => Array.from({ length: n }, (_, j) => [...p, j]));
}

test('viterbi equals brute-force argmax and marginals equal brute-force posteriors', () => {
  const rand = lcg(7);
  for (let trial = 0; trial < 40; trial += 1) {
    const n = 2 + (trial % 4);
    const length = 1 + (trial % 5);
    const crf = randomCrf(n, rand);
    const e = Float32Array.from({ length: length * n }, () => rand() * 6 - 3);
    const decoder = new CrfDecoder(crf);
    const paths = allPaths(n, length);
    const scores = paths.map((p) => pathScore(crf, e, p));
    const best = paths[scores.indexOf(Math.max(...scores))];
    assert.deepEqual([...decoder.viterbi(e, 0, length)], best);

    const z = scores.reduce((acc, s) => acc + Math.exp(s), 0);
    const marginals = decoder.marginals(e, 0, length);
    for (let t = 0; t < length; t += 1) {
      for (let j = 0; j < n; j += 1) {
        const expected =
          paths.reduce((acc, p, k) => acc + (p[t] === j ? Math.exp(scores[k]) : 0), 0) / z;
        assert.ok(Math.abs(marginals[t * n + j] - expected) < 1e-6);
      }
    }
  }
});

test('decodes a sentence at an offset inside a padded batch', () => {
  const crf = crfFromManifest({
    transitions: [
      [0, 0],
      [0, 0],
    ],
    start: [0, 0],
    end: [0, 0],
  });
  const batch = Float32Array.from([9, 0, 9, 0, /* second sentence */ 0, 5, 5, 0, 0, 5]);
  assert.deepEqual([...new CrfDecoder(crf).viterbi(batch, 2, 3)], [1, 0, 1]);
});

test('manifest sizes are validated', () => {
  assert.throws(
    () => crfFromManifest({ transitions: [[0]], start: [0, 0], end: [0, 0] }),
    RangeError,
  );
});
