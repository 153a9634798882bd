import { evaluateConcepts } from '../../eval/corpus-metrics.js';
import type { EvalDocument } from '../../eval/corpus-metrics.js';
import { parseConceptIds } from '../../text/pubtator-reader.js';
import type { ConceptDictionary } from './concept-dictionary.js';
import type { Candidate } from './normalizer.js';

/**
 * How a mention's concept is decided from the model's concept distribution and the
 * dictionary's candidates (the documented rule; thresholds chosen on a dev split):
 *
 * 1. the model's best non-NIL concept if its probability ≥ τ_model — the model knows the
 *    corpus conventions and the context, but only the training concepts;
 * 2. else the dictionary's exact match (tier 1 `nameKey`, then tier 2 `bagKey`);
 * 3. else the dictionary's TF-IDF top-1 if its cosine ≥ τ_tfidf;
 * 4. else the model's best non-NIL concept if its probability ≥ τ_fallback (a weak model guess
 *    beats nothing for a concept the dictionary cannot reach);
 * 5. else NIL (no IDs; the mention is still emitted by the recognizer).
 *
 * The model's NIL label never wins by itself: NIL mentions are rare in training (76 of 14,519)
 * and a dictionary match is a better bet than discarding an ID.
 */
export interface CombineThresholds {
  readonly model: number;
  readonly tfidf: number;
  readonly fallback: number;
}

/**
 * τ_tfidf per entity type, chosen on the dev splits (NCBI-disease + BC5CDR pooled, 0.05 grid,
 * dictionary from vocabularies + train mentions, exact + TF-IDF + abbreviations; see
 * bench/normalizer.ts): Disease 0.8 (NCBI alone would pick 0.7, BC5CDR 0.8), Chemical 0.9 (the
 * chemical vocabulary has no synonyms, so near misses are mostly other compounds).
 */
export const TFIDF_THRESHOLD_BY_TYPE: Readonly<Record<string, number>> = {
  Disease: 0.8,
  Chemical: 0.9,
};

/**
 * Defaults: τ_tfidf for types without a dev choice (the stricter Disease value); τ_model and
 * τ_fallback are placeholders until a trained model's dev outputs are tuned with
 * `tuneThresholds`.
 */
export const DEFAULT_THRESHOLDS: CombineThresholds = { model: 0.5, tfidf: 0.8, fallback: 0.1 };

/** The default thresholds with the dev-chosen τ_tfidf of `type`. */
export function thresholdsFor(
  type: string,
  base: CombineThresholds = DEFAULT_THRESHOLDS,
): CombineThresholds {
  return { ...base, tfidf: TFIDF_THRESHOLD_BY_TYPE[type] ?? base.tfidf };
}

export type DecisionSource = 'model' | 'dictionary' | 'nil';

export interface Decision {
  readonly ids: readonly string[];
  readonly score: number;
  readonly source: DecisionSource;
  /** Which step of the rule decided (see module comment). */
  readonly step: 1 | 2 | 3 | 4 | 5;
  readonly candidate?: Candidate;
}

const NIL_DECISION: Decision = { ids: [], score: 0, source: 'nil', step: 5 };

function bestModel(model: readonly Candidate[]): Candidate | undefined {
  let best: Candidate | undefined;
  for (const c of model)
    if (c.ids.length > 0 && (best === undefined || c.score > best.score)) best = c;
  return best;
}

/** Applies the rule of the module comment. `dictionary` is Normalizer output (ranked). */
export function combineCandidates(
  model: readonly Candidate[],
  dictionary: readonly Candidate[],
  thresholds: CombineThresholds = DEFAULT_THRESHOLDS,
): Decision {
  const m = bestModel(model);
  if (m !== undefined && m.score >= thresholds.model) {
    return { ids: m.ids, score: m.score, source: 'model', step: 1, candidate: m };
  }
  const d = dictionary[0];
  if (d !== undefined && d.method !== 'tfidf' && d.method !== 'model') {
    return { ids: d.ids, score: d.score, source: 'dictionary', step: 2, candidate: d };
  }
  if (d !== undefined && d.method === 'tfidf' && d.score >= thresholds.tfidf) {
    return { ids: d.ids, score: d.score, source: 'dictionary', step: 3, candidate: d };
  }
  if (m !== undefined && m.score >= thresholds.fallback) {
    return { ids: m.ids, score: m.score, source: 'model', step: 4, candidate: m };
  }
  return NIL_DECISION;
}

/**
 * Model candidates from a concept label distribution (MEN labels as the training export writes
 * them: `MESH:D054549`, composites `MESH:D1|MESH:D2` or `MESH:D1+MESH:D2`, `NIL`), best first,
 * IDs mapped to the dictionary's primary IDs so both sides speak the same IDs.
 */
export function modelCandidates(
  distribution: readonly { readonly label: string; readonly probability: number }[],
  dictionary?: ConceptDictionary,
  topK = 5,
): Candidate[] {
  return [...distribution]
    .sort((a, b) => b.probability - a.probability)
    .slice(0, topK)
    .map(({ label, probability }) => {
      const ids = label === 'NIL' ? [] : parseConceptIds(label).ids;
      return {
        ids:
          dictionary === undefined
            ? ids
            : [...new Set(ids.map((id) => dictionary.canonicalId(id)))],
        score: probability,
        method: 'model' as const,
      };
    });
}

/** One dev mention for threshold tuning. */
export interface TuningExample {
  readonly pmid: string;
  readonly type: string;
  readonly start: number;
  readonly end: number;
  readonly goldIds: readonly string[];
  readonly model: readonly Candidate[];
  readonly dictionary: readonly Candidate[];
}

export interface TuningResult {
  readonly thresholds: CombineThresholds;
  readonly f1: number;
}

const DEFAULT_GRID = Array.from({ length: 21 }, (_, i) => i / 20);

/**
 * Grid search of the thresholds maximizing document-level concept F1 (evaluateConcepts) over
 * the examples; ties go to the first grid point (lowest thresholds). Dimensions without any
 * model candidates are not searched (their default is kept).
 */
export function tuneThresholds(
  examples: readonly TuningExample[],
  options: {
    readonly grid?: readonly number[];
    readonly canonicalId?: (id: string) => string;
    readonly base?: CombineThresholds;
  } = {},
): TuningResult {
  const grid = options.grid ?? DEFAULT_GRID;
  const base = options.base ?? DEFAULT_THRESHOLDS;
  const hasModel = examples.some((e) => e.model.length > 0);
  const docsOf = (pick: (e: TuningExample) => readonly string[]): EvalDocument[] => {
    const byPmid = new Map<string, EvalDocument['mentions'][number][]>();
    for (const e of examples) {
      const list = byPmid.get(e.pmid) ?? [];
      list.push({ start: e.start, end: e.end, type: e.type, ids: pick(e) });
      byPmid.set(e.pmid, list);
    }
    return [...byPmid].map(([pmid, mentions]) => ({ pmid, mentions }));
  };
  const gold = docsOf((e) => e.goldIds);
  const score = (t: CombineThresholds) =>
    evaluateConcepts(
      gold,
      docsOf((e) => combineCandidates(e.model, e.dictionary, t).ids),
      { canonicalId: options.canonicalId },
    ).overall.f1;
  let best: TuningResult = { thresholds: base, f1: -1 };
  const models = hasModel ? grid : [base.model];
  const fallbacks = hasModel ? grid : [base.fallback];
  for (const model of models) {
    for (const fallback of fallbacks) {
      if (fallback > model) continue;
      for (const tfidf of grid) {
        const thresholds = { model, tfidf, fallback };
        const f1 = score(thresholds);
        if (f1 > best.f1) best = { thresholds, f1 };
      }
    }
  }
  return best;
}
