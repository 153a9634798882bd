import { evaluateConcepts, mentionConceptIds } from '../../eval/corpus-metrics.js';
import type { EvalDocument } from '../../eval/corpus-metrics.js';
import { prf } from '../../eval/prf.js';
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
 * Defaults for a model without its own thresholds: τ_tfidf for types without a dev choice (the
 * stricter Disease value); τ_model and τ_fallback are neutral guesses. A served model's own
 * thresholds, chosen on its dev outputs by `medstream eval --split dev --tune`
 * (tune-normalization.ts), live in its normalization.json and replace these per type.
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
  /** The mention's gold IDs (oracle spans); unused when `gold` documents are given. */
  readonly goldIds?: readonly string[];
  readonly model: readonly Candidate[];
  readonly dictionary: readonly Candidate[];
}

export interface TuningResult {
  readonly thresholds: CombineThresholds;
  readonly f1: number;
}

/** 0, 0.05, …, 1. */
export const DEFAULT_GRID: readonly number[] = Array.from({ length: 21 }, (_, i) => i / 20);

/** Options shared by `scoreThresholds` and `tuneThresholds`. */
export interface TuningScoreOptions {
  readonly canonicalId?: (id: string) => string;
  /** Gold documents (predicted spans); default: the examples' own `goldIds` (oracle spans). */
  readonly gold?: readonly EvalDocument[];
  /** Types evaluated (evaluateConcepts' `types`); default: every type found. */
  readonly types?: readonly string[];
}

function documentsOf(
  examples: readonly TuningExample[],
  pick: (e: TuningExample) => readonly string[],
): EvalDocument[] {
  const byPmid = new Map<string, EvalDocument['mentions'][number][]>();
  for (const e of examples) {
    const list = byPmid.get(e.pmid) ?? [];
    list.push({ start: e.start, end: e.end, type: e.type, ids: pick(e) });
    byPmid.set(e.pmid, list);
  }
  return [...byPmid].map(([pmid, mentions]) => ({ pmid, mentions }));
}

/**
 * `scoreThresholds` for many thresholds over the same examples: keys, gold sets and the
 * inputs of each decision are computed once, and each call only replays the rule. Exactly
 * evaluateConcepts' F1 (same keys, types and gold-document restriction), which a test holds.
 */
export function thresholdScorer(
  examples: readonly TuningExample[],
  options: TuningScoreOptions = {},
): (thresholds: CombineThresholds) => number {
  const gold = options.gold ?? documentsOf(examples, (e) => e.goldIds ?? []);
  const canonical = options.canonicalId;
  const types = new Set(
    options.types ?? [
      ...gold.flatMap((d) => d.mentions.map((m) => m.type)),
      ...examples.map((e) => e.type),
    ],
  );
  const index = new Map<string, number>();
  const keyId = (key: string): number => {
    let id = index.get(key);
    if (id === undefined) index.set(key, (id = index.size));
    return id;
  };
  const goldKeys = new Set<number>();
  const goldDocuments = new Set<string>();
  for (const doc of gold) {
    for (const m of doc.mentions) {
      if (!types.has(m.type)) continue;
      for (const id of mentionConceptIds(m.ids, canonical)) {
        goldKeys.add(keyId(`${doc.pmid}\u0000${m.type}\u0000${id}`));
        goldDocuments.add(doc.pmid);
      }
    }
  }
  // Examples whose keys the evaluation would drop (type not evaluated, document without gold
  // keys) cannot change the score.
  const compiled = examples
    .filter((e) => types.has(e.type) && goldDocuments.has(e.pmid))
    .map((e) => {
      const keysOf = (ids: readonly string[]) =>
        mentionConceptIds(ids, canonical).map((id) => keyId(`${e.pmid}\u0000${e.type}\u0000${id}`));
      const m = bestModel(e.model);
      const d = e.dictionary[0];
      return {
        modelScore: m === undefined ? -Infinity : m.score,
        modelKeys: m === undefined ? [] : keysOf(m.ids),
        dictionary:
          d === undefined || d.method === 'model'
            ? ('none' as const)
            : d.method === 'tfidf'
              ? ('tfidf' as const)
              : ('exact' as const),
        dictionaryScore: d?.score ?? 0,
        dictionaryKeys: d === undefined ? [] : keysOf(d.ids),
      };
    });
  const stamp = new Int32Array(index.size);
  let round = 0;
  return (t: CombineThresholds): number => {
    round += 1;
    let predicted = 0;
    let tp = 0;
    for (const e of compiled) {
      // combineCandidates' rule, steps 1–5.
      let keys: readonly number[];
      if (e.modelScore >= t.model) keys = e.modelKeys;
      else if (e.dictionary === 'exact') keys = e.dictionaryKeys;
      else if (e.dictionary === 'tfidf' && e.dictionaryScore >= t.tfidf) keys = e.dictionaryKeys;
      else if (e.modelScore >= t.fallback) keys = e.modelKeys;
      else continue;
      for (const k of keys) {
        if (stamp[k] === round) continue;
        stamp[k] = round;
        predicted += 1;
        if (goldKeys.has(k)) tp += 1;
      }
    }
    return prf(tp, predicted - tp, goldKeys.size - tp).f1;
  };
}

/** Document-level concept F1 (evaluateConcepts) of the examples' decisions under `thresholds`. */
export function scoreThresholds(
  examples: readonly TuningExample[],
  thresholds: CombineThresholds,
  options: TuningScoreOptions = {},
): number {
  const gold = options.gold ?? documentsOf(examples, (e) => e.goldIds ?? []);
  return evaluateConcepts(
    gold,
    documentsOf(examples, (e) => combineCandidates(e.model, e.dictionary, thresholds).ids),
    {
      ...(options.canonicalId === undefined ? {} : { canonicalId: options.canonicalId }),
      ...(options.types === undefined ? {} : { types: options.types }),
    },
  ).overall.f1;
}

/**
 * Grid search of the thresholds maximizing document-level concept F1 (`scoreThresholds`) of
 * the examples' decisions; ties go to the first grid point (lowest thresholds), with
 * τ_fallback ≤ τ_model. Dimensions without any model candidates are not searched (their base
 * value is kept). Gold: `gold` documents when given (predicted spans: gold concepts the
 * recognizer missed still count as false negatives), else the examples' own `goldIds` (oracle
 * spans).
 */
export function tuneThresholds(
  examples: readonly TuningExample[],
  options: TuningScoreOptions & {
    readonly grid?: readonly number[];
    readonly base?: CombineThresholds;
  } = {},
): TuningResult {
  const grid = options.grid ?? DEFAULT_GRID;
  const base = options.base ?? DEFAULT_THRESHOLDS;
  const hasModel = examples.some((e) => e.model.length > 0);
  const score = thresholdScorer(examples, options);
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
