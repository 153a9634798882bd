import type { TokenSpan } from '../../text/tag-scheme.js';

/**
 * Mention candidates from the recognition CRF's per-token posterior marginals, for the spans
 * Viterbi decoding leaves out: the single best tag sequence drops a mention whenever `O` is a
 * little more likely, even where the mention itself has substantial probability (an unseen drug
 * name, a second mention in a long sentence).
 *
 * For a type X of a BIO label set, a span [s, e) is proposed when
 *   score = min(p_s(B-X), p_t(I-X) for s < t < e, 1 − p_e(I-X)) ≥ `minProbability`
 * where p_t is the marginal of token t (p_length(·) = 0: the sentence ends). Each probability in
 * the minimum is a necessary event of the span being exactly one mention, so the score bounds
 * that probability from above and is close to it when the events are strongly correlated, as
 * adjacent tags of a CRF are. From each start with p_s(B-X) ≥ `minProbability` the end with the
 * best score is kept; spans of different starts or types may overlap (the caller resolves
 * overlaps, best score first).
 */
export interface ScoredTokenSpan extends TokenSpan {
  /** The span's score (see module comment), in [0, 1]. */
  readonly score: number;
}

/** `B-X`/`I-X` label indices of each type X of a BIO label list (no `I-X`: -1). */
export function bioLabelIndices(
  labels: readonly string[],
): { type: string; begin: number; inside: number }[] {
  const out: { type: string; begin: number; inside: number }[] = [];
  labels.forEach((label, index) => {
    if (label.startsWith('B-')) {
      const type = label.slice(2);
      out.push({ type, begin: index, inside: labels.indexOf(`I-${type}`) });
    }
  });
  return out;
}

/**
 * Spans of the module comment. `marginals` is row-major [length × labels.length] (what
 * `CrfDecoder.marginals` returns).
 */
export function marginalSpans(
  marginals: ArrayLike<number>,
  length: number,
  labels: readonly string[],
  minProbability: number,
): ScoredTokenSpan[] {
  const n = labels.length;
  const spans: ScoredTokenSpan[] = [];
  for (const { type, begin, inside } of bioLabelIndices(labels)) {
    const pInside = (t: number): number =>
      t >= length || inside < 0 ? 0 : marginals[t * n + inside];
    for (let s = 0; s < length; s += 1) {
      let running = marginals[s * n + begin];
      if (!(running >= minProbability)) continue;
      let bestEnd = s + 1;
      let bestScore = Math.min(running, 1 - pInside(s + 1));
      for (let e = s + 1; e < length; e += 1) {
        const p = pInside(e);
        if (!(p >= minProbability)) break;
        running = Math.min(running, p);
        const score = Math.min(running, 1 - pInside(e + 1));
        if (score > bestScore) {
          bestScore = score;
          bestEnd = e + 1;
        }
      }
      if (bestScore >= minProbability) {
        spans.push({ start: s, end: bestEnd, label: type, score: bestScore });
      }
    }
  }
  return spans.sort((a, b) => a.start - b.start || a.end - b.end);
}

/** The score of the module comment for the span [start, end) of one type's label indices. */
export function spanScore(
  marginals: ArrayLike<number>,
  length: number,
  nLabels: number,
  labels: { readonly begin: number; readonly inside: number },
  start: number,
  end: number,
): number {
  const { begin, inside } = labels;
  let score = marginals[start * nLabels + begin];
  for (let t = start + 1; t < end && score > 0; t += 1) {
    score = Math.min(score, inside < 0 ? 0 : marginals[t * nLabels + inside]);
  }
  if (end < length && inside >= 0) score = Math.min(score, 1 - marginals[end * nLabels + inside]);
  return score;
}

/**
 * Every span of at most `maxTokens` tokens and every type whose score is ≥ `minProbability`
 * (unlike `marginalSpans`, all ends of a start, not only the best): candidates that another
 * source of evidence (a dictionary name) must confirm.
 */
export function scoredSpans(
  marginals: ArrayLike<number>,
  length: number,
  labels: readonly string[],
  minProbability: number,
  maxTokens: number,
): ScoredTokenSpan[] {
  const n = labels.length;
  const spans: ScoredTokenSpan[] = [];
  for (const type of bioLabelIndices(labels)) {
    for (let s = 0; s < length; s += 1) {
      let running = marginals[s * n + type.begin];
      for (let e = s + 1; e <= length && e - s <= maxTokens; e += 1) {
        if (e > s + 1)
          running = Math.min(running, type.inside < 0 ? 0 : marginals[(e - 1) * n + type.inside]);
        if (!(running >= minProbability)) break;
        const after = e < length && type.inside >= 0 ? marginals[e * n + type.inside] : 0;
        const score = Math.min(running, 1 - after);
        if (score >= minProbability) spans.push({ start: s, end: e, label: type.type, score });
      }
    }
  }
  return spans.sort((a, b) => a.start - b.start || a.end - b.end);
}
