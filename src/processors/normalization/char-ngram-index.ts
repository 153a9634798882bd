/**
 * Character n-gram TF-IDF retrieval with an inverted index.
 *
 * A key (already normalized by `nameKey`, words separated by single spaces) is represented by
 * the n-grams of each word padded with `#` on both sides (`#type#` → `#ty`, `typ`, `ype`,
 * `pe#`), so word order does not matter (inverted MeSH headings still match) and a one-letter
 * word is still one gram (`#2#`). Weights: raw term frequency × smoothed IDF
 * `ln((1 + N) / (1 + df)) + 1`, L2-normalized, so a dot product is the cosine.
 *
 * Invariants: postings are stored per gram in flat typed arrays (built in two passes, no
 * per-posting objects), keys are deduplicated by the caller (one document per distinct key);
 * `search` is not re-entrant (it reuses one accumulator), which is fine on one JS thread.
 */
export interface NgramHit {
  /** Index of the key in the array given to the constructor. */
  readonly doc: number;
  /** Cosine similarity in [0, 1]. */
  readonly score: number;
}

export interface NgramIndexOptions {
  /** n of the n-grams (default 3). */
  readonly n?: number;
}

/** Grams of one normalized key with their counts (see module comment). */
export function keyGrams(key: string, n = 3): Map<string, number> {
  const grams = new Map<string, number>();
  for (const word of key.split(' ')) {
    if (word === '') continue;
    const padded = `#${word}#`;
    if (padded.length <= n) {
      grams.set(padded, (grams.get(padded) ?? 0) + 1);
      continue;
    }
    for (let i = 0; i + n <= padded.length; i += 1) {
      const g = padded.slice(i, i + n);
      grams.set(g, (grams.get(g) ?? 0) + 1);
    }
  }
  return grams;
}

const PAD = 0x23; // '#'
const BASE = 1024;
/** Non-ASCII characters seen so far → 128 + k (shared by all indexes; only grows). */
const NON_ASCII = new Map<number, number>();

function charId(c: number): number {
  if (c < 128) return c;
  let id = NON_ASCII.get(c);
  if (id === undefined) {
    // Beyond 896 distinct non-ASCII characters ids wrap around: two rare characters may then
    // share grams, which only blurs similarity a little and never breaks an invariant.
    id = 128 + (NON_ASCII.size % (BASE - 128));
    NON_ASCII.set(c, id);
  }
  return id;
}

/**
 * The same grams as `keyGrams`, as small integers (character ids in base 1024, so a 3-gram is
 * below 2^30 and stays a V8 small integer), sorted, so counting is a run-length pass: several
 * times faster than string slices in a Map when indexing ~100k names at start-up.
 */
function gramCodes(key: string, n: number, out: number[]): void {
  out.length = 0;
  let wordStart = 0;
  for (let i = 0; i <= key.length; i += 1) {
    if (i < key.length && key.charCodeAt(i) !== 0x20) continue;
    const len = i - wordStart + 2; // padded word: '#' + key[wordStart, i) + '#'
    if (len > 2) {
      const span = Math.max(1, len - n + 1);
      const width = Math.min(n, len);
      for (let j = 0; j < span; j += 1) {
        let code = 0;
        for (let k = j; k < j + width; k += 1) {
          const c = k === 0 || k === len - 1 ? PAD : charId(key.charCodeAt(wordStart + k - 1));
          code = code * BASE + c;
        }
        out.push(code);
      }
    }
    wordStart = i + 1;
  }
  out.sort((a, b) => a - b);
}

export class CharNgramIndex {
  readonly size: number;
  private readonly n: number;
  private readonly gramIds = new Map<number, number>();
  private readonly idf: Float64Array;
  /** Postings of gram g: docs `postDocs[postStart[g] .. postStart[g + 1])` with their weights. */
  private readonly postStart: Int32Array;
  private readonly postDocs: Int32Array;
  private readonly postWeights: Float32Array;
  private readonly acc: Float32Array;
  private readonly touched: Int32Array;

  constructor(keys: readonly string[], options: NgramIndexOptions = {}) {
    this.n = options.n ?? 3;
    if (!Number.isInteger(this.n) || this.n < 1 || this.n > 3) {
      throw new RangeError(`n-gram size must be 1, 2 or 3, got ${this.n}`);
    }
    this.size = keys.length;
    // Pass 1: gram ids, document frequencies and each key's (gram, tf) pairs, in flat arrays
    // (one small typed array per key costs more than the whole index at ~100k keys).
    const df: number[] = [];
    const pairIds: number[] = [];
    const pairTf: number[] = [];
    const keyStart = new Int32Array(keys.length + 1);
    const codes: number[] = [];
    keys.forEach((key, doc) => {
      gramCodes(key, this.n, codes);
      for (let j = 0; j < codes.length; j += 1) {
        if (j > 0 && codes[j] === codes[j - 1]) {
          pairTf[pairTf.length - 1] += 1;
          continue;
        }
        let id = this.gramIds.get(codes[j]);
        if (id === undefined) {
          id = df.length;
          this.gramIds.set(codes[j], id);
          df.push(0);
        }
        df[id] += 1;
        pairIds.push(id);
        pairTf.push(1);
      }
      keyStart[doc + 1] = pairIds.length;
    });
    const gramCount = df.length;
    this.idf = new Float64Array(gramCount);
    for (let g = 0; g < gramCount; g += 1) {
      this.idf[g] = Math.log((1 + keys.length) / (1 + df[g])) + 1;
    }
    // Pass 2: fill postings grouped by gram (counting sort on gram id).
    this.postStart = new Int32Array(gramCount + 1);
    for (let g = 0; g < gramCount; g += 1) this.postStart[g + 1] = this.postStart[g] + df[g];
    this.postDocs = new Int32Array(pairIds.length);
    this.postWeights = new Float32Array(pairIds.length);
    const fill = this.postStart.slice(0, gramCount);
    for (let doc = 0; doc < keys.length; doc += 1) {
      let norm = 0;
      for (let j = keyStart[doc]; j < keyStart[doc + 1]; j += 1) {
        const w = pairTf[j] * this.idf[pairIds[j]];
        norm += w * w;
      }
      norm = Math.sqrt(norm) || 1;
      for (let j = keyStart[doc]; j < keyStart[doc + 1]; j += 1) {
        const at = fill[pairIds[j]]++;
        this.postDocs[at] = doc;
        this.postWeights[at] = (pairTf[j] * this.idf[pairIds[j]]) / norm;
      }
    }
    this.acc = new Float32Array(keys.length);
    this.touched = new Int32Array(keys.length);
  }

  /** Number of distinct grams (vocabulary size). */
  get grams(): number {
    return this.gramIds.size;
  }

  /**
   * The `k` best keys for a normalized query with cosine ≥ `minScore`, best first (ties by key
   * index, so results are deterministic). Grams unseen in the index still count in the query
   * norm: a query full of unknown grams scores low against everything.
   */
  search(queryKey: string, k: number, minScore = 0): NgramHit[] {
    const codes: number[] = [];
    gramCodes(queryKey, this.n, codes);
    if (codes.length === 0 || this.size === 0) return [];
    // Unknown grams get the largest IDF (df = 0).
    const unseenIdf = Math.log(1 + this.size) + 1;
    let norm = 0;
    const q: { id: number; w: number }[] = [];
    for (let j = 0; j < codes.length;) {
      let count = 1;
      while (j + count < codes.length && codes[j + count] === codes[j]) count += 1;
      const id = this.gramIds.get(codes[j]);
      const w = count * (id === undefined ? unseenIdf : this.idf[id]);
      norm += w * w;
      if (id !== undefined) q.push({ id, w });
      j += count;
    }
    norm = Math.sqrt(norm);
    let touchedCount = 0;
    const { acc, touched, postStart, postDocs, postWeights } = this;
    for (const { id, w } of q) {
      const qw = w / norm;
      for (let p = postStart[id]; p < postStart[id + 1]; p += 1) {
        const doc = postDocs[p];
        if (acc[doc] === 0) touched[touchedCount++] = doc;
        acc[doc] += qw * postWeights[p];
      }
    }
    const hits: NgramHit[] = [];
    let floor = minScore;
    for (let t = 0; t < touchedCount; t += 1) {
      const doc = touched[t];
      const score = acc[doc];
      acc[doc] = 0;
      if (score < floor) continue;
      hits.push({ doc, score: Math.min(1, score) });
      // Keep the list small: once it holds 4k, prune to the best k and raise the floor.
      if (hits.length >= 4 * k) {
        hits.sort(byScore);
        hits.length = k;
        floor = Math.max(floor, hits[k - 1].score);
      }
    }
    hits.sort(byScore);
    if (hits.length > k) hits.length = k;
    return hits;
  }
}

function byScore(a: NgramHit, b: NgramHit): number {
  return b.score - a.score || a.doc - b.doc;
}
