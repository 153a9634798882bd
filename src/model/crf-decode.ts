/**
 * Linear-chain CRF decoding over emissions produced by the ONNX model. The transition scores
 * come from the model manifest; the model itself only emits per-token tag scores, so decoding
 * is done here, once, for every served model.
 *
 * Layout: `emissions` is row-major [length × numTags] (one sentence; a padded batch is decoded
 * sentence by sentence through `offset`), `transitions[i * numTags + j]` scores tag i → tag j.
 */
export interface CrfParameters {
  numTags: number;
  transitions: Float32Array;
  start: Float32Array;
  end: Float32Array;
}

export function crfFromManifest(crf: {
  transitions: number[][];
  start: number[];
  end: number[];
}): CrfParameters {
  const numTags = crf.start.length;
  if (crf.end.length !== numTags || crf.transitions.length !== numTags) {
    throw new RangeError('CRF start/end/transitions sizes disagree');
  }
  const transitions = new Float32Array(numTags * numTags);
  crf.transitions.forEach((row, i) => {
    if (row.length !== numTags)
      throw new RangeError(`CRF transition row ${i} has ${row.length} entries`);
    transitions.set(row, i * numTags);
  });
  return {
    numTags,
    transitions,
    start: Float32Array.from(crf.start),
    end: Float32Array.from(crf.end),
  };
}

/** Reused buffers: decoding allocates nothing per sentence once warmed up. */
export class CrfDecoder {
  private score: Float64Array;
  private next: Float64Array;
  private backpointers: Int32Array;
  private alpha = new Float64Array(0);
  private beta = new Float64Array(0);
  private readonly tmp: Float64Array;

  constructor(private readonly crf: CrfParameters) {
    this.score = new Float64Array(crf.numTags);
    this.next = new Float64Array(crf.numTags);
    this.tmp = new Float64Array(crf.numTags);
    this.backpointers = new Int32Array(0);
  }

  /** Best tag sequence for `length` tokens starting at row `offset` of `emissions`. */
  viterbi(
    emissions: Float32Array,
    offset: number,
    length: number,
    out: Int32Array = new Int32Array(length),
  ): Int32Array {
    const { numTags: n, transitions, start, end } = this.crf;
    if (length === 0) return out;
    if (this.backpointers.length < length * n) this.backpointers = new Int32Array(length * n * 2);
    const bp = this.backpointers;
    let score = this.score;
    let next = this.next;
    const base = offset * n;
    for (let j = 0; j < n; j += 1) score[j] = start[j] + emissions[base + j];
    for (let t = 1; t < length; t += 1) {
      const row = base + t * n;
      for (let j = 0; j < n; j += 1) {
        let best = -Infinity;
        let arg = 0;
        for (let i = 0; i < n; i += 1) {
          const s = score[i] + transitions[i * n + j];
          if (s > best) {
            best = s;
            arg = i;
          }
        }
        next[j] = best + emissions[row + j];
        bp[t * n + j] = arg;
      }
      const swap = score;
      score = next;
      next = swap;
    }
    let best = -Infinity;
    let last = 0;
    for (let j = 0; j < n; j += 1) {
      const s = score[j] + end[j];
      if (s > best) {
        best = s;
        last = j;
      }
    }
    out[length - 1] = last;
    for (let t = length - 1; t > 0; t -= 1) {
      last = bp[t * n + last]!;
      out[t - 1] = last;
    }
    return out;
  }

  /**
   * Per-token posterior marginals p(tag_t = j | sentence) by forward-backward in log space;
   * row-major [length × numTags]. Used for mention confidences.
   */
  marginals(emissions: Float32Array, offset: number, length: number): Float64Array {
    const { numTags: n, transitions, start, end } = this.crf;
    // Forward and backward tables are reused between sentences; only the result is allocated.
    if (this.alpha.length < length * n) {
      this.alpha = new Float64Array(length * n * 2);
      this.beta = new Float64Array(length * n * 2);
    }
    const alpha = this.alpha;
    const beta = this.beta;
    const base = offset * n;
    const tmp = this.tmp;
    for (let j = 0; j < n; j += 1) alpha[j] = start[j] + emissions[base + j];
    for (let t = 1; t < length; t += 1) {
      const prev = (t - 1) * n;
      for (let j = 0; j < n; j += 1) {
        for (let i = 0; i < n; i += 1) tmp[i] = alpha[prev + i] + transitions[i * n + j];
        alpha[t * n + j] = logSumExp(tmp, n) + emissions[base + t * n + j];
      }
    }
    for (let j = 0; j < n; j += 1) beta[(length - 1) * n + j] = end[j];
    for (let t = length - 2; t >= 0; t -= 1) {
      const next = (t + 1) * n;
      for (let i = 0; i < n; i += 1) {
        for (let j = 0; j < n; j += 1) {
          tmp[j] = transitions[i * n + j] + emissions[base + next + j] + beta[next + j];
        }
        beta[t * n + i] = logSumExp(tmp, n);
      }
    }
    for (let j = 0; j < n; j += 1) tmp[j] = alpha[(length - 1) * n + j] + end[j];
    const logZ = logSumExp(tmp, n);
    const out = new Float64Array(length * n);
    for (let k = 0; k < length * n; k += 1) out[k] = Math.exp(alpha[k] + beta[k] - logZ);
    return out;
  }
}

/** log Σ exp(values[0..n)), summed in index order after subtracting the maximum. */
function logSumExp(values: Float64Array, n: number): number {
  let max = -Infinity;
  for (let i = 0; i < n; i += 1) if (values[i] > max) max = values[i];
  if (max === -Infinity) return max;
  let sum = 0;
  for (let i = 0; i < n; i += 1) sum += Math.exp(values[i] - max);
  return max + Math.log(sum);
}
