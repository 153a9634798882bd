import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConceptRanker } from '../../../src/processors/annotation/onnx-annotator.js';

/**
 * The pruned concept ranking (profiled as the annotator's hottest TypeScript loop) must give
 * exactly what summing every label gives: same concepts, same order, bit-identical masses.
 */
function bruteForce(
  slotOf: Int32Array,
  slots: number,
  men: Float32Array,
  nLabels: number,
  first: number,
  width: number,
  k: number,
): [number, number][] {
  const mass = new Float64Array(slots);
  for (let t = first; t < first + width; t += 1) {
    for (let j = 0; j < nLabels; j += 1) {
      if (slotOf[j] >= 0) mass[slotOf[j]] += Math.exp(men[t * nLabels + j]);
    }
  }
  return [...mass.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, k);
}

function logSoftmaxRows(logits: Float32Array, nLabels: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let base = 0; base < logits.length; base += nLabels) {
    let max = -Infinity;
    for (let j = 0; j < nLabels; j += 1) max = Math.max(max, logits[base + j]);
    let sum = 0;
    for (let j = 0; j < nLabels; j += 1) sum += Math.exp(logits[base + j] - max);
    for (let j = 0; j < nLabels; j += 1) out[base + j] = logits[base + j] - max - Math.log(sum);
  }
  return out;
}

test('top concepts equal the brute-force sum over every label (peaked, flat, tied, multi-token)', () => {
  let seed = 11;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  // Labels: O, then B-/I- per concept in a shuffled order, plus one concept with B- only.
  const concepts = 300;
  const labels: number[] = [-1];
  for (let c = 0; c < concepts; c += 1) labels.push(c, c);
  labels.push(concepts);
  for (let i = labels.length - 1; i > 1; i -= 1) {
    const j = 1 + Math.floor(rand() * i);
    [labels[i], labels[j]] = [labels[j], labels[i]];
  }
  const slotOf = Int32Array.from(labels);
  const nLabels = slotOf.length;
  const slots = concepts + 1;
  const ranker = new ConceptRanker(slotOf, slots);
  const tokens = 12;
  for (const [name, scale] of [
    ['peaked', 12],
    ['moderate', 3],
    ['flat', 0.01],
  ] as const) {
    const logits = Float32Array.from({ length: tokens * nLabels }, () => rand() * scale);
    const men = logSoftmaxRows(logits, nLabels);
    for (let first = 0; first < tokens; first += 1) {
      for (let width = 1; first + width <= Math.min(tokens, first + 4); width += 1) {
        for (const k of [1, 5]) {
          assert.deepEqual(
            ranker.top(men, nLabels, first, width, k),
            bruteForce(slotOf, slots, men, nLabels, first, width, k),
            `${name}, tokens ${first}..${first + width}, k ${k}`,
          );
        }
      }
    }
  }
  // Exact ties everywhere: the lower slot wins, as in the unpruned order.
  const uniform = new Float32Array(2 * nLabels).fill(-Math.log(nLabels));
  assert.deepEqual(
    ranker.top(uniform, nLabels, 0, 2, 5),
    bruteForce(slotOf, slots, uniform, nLabels, 0, 2, 5),
  );
  // Everything far below exp(-700): nothing is pruned, ties at 0 keep slot order.
  const underflow = new Float32Array(nLabels).fill(-1e30);
  assert.deepEqual(
    ranker.top(underflow, nLabels, 0, 1, 5),
    bruteForce(slotOf, slots, underflow, nLabels, 0, 1, 5),
  );
});
