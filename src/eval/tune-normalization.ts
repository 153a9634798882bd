import type { ArticleAnalysis, RecognizedSpan } from '../processors/annotation/recognition.js';
import {
  applyIdForms,
  propagateMentions,
  recognizeSpans,
} from '../processors/annotation/recognition.js';
import type { LexiconEntry } from '../processors/annotation/mention-lexicon.js';
import { annotationRatio } from '../processors/annotation/mention-lexicon.js';
import type { CombineThresholds, TuningExample } from '../processors/normalization/combine.js';
import { scoreThresholds, tuneThresholds } from '../processors/normalization/combine.js';
import type {
  DictionaryMentionResolver,
  ResolutionCandidates,
} from '../processors/normalization/mention-resolver.js';
import type {
  RecognitionConfig,
  ThresholdsByType,
} from '../processors/normalization/normalization-config.js';
import { VITERBI_ONLY } from '../processors/normalization/normalization-config.js';
import type { Candidate } from '../processors/normalization/normalizer.js';
import type { EvalDocument } from './corpus-metrics.js';
import { evaluateConcepts, evaluateMentions, mentionConceptIds } from './corpus-metrics.js';
import type { Prf } from './prf.js';

/**
 * The search behind `medstream eval --split dev --tune`: given the model's analysis of every
 * dev article (computed once, with the loosest settings of the grids), choose the recognition
 * steps and the normalization thresholds of normalization-config.ts in memory.
 *
 * 1. Recognition, by greedy forward selection on dev NER F1 (strict mentions, micro over the
 *    corpus's types): starting from the Viterbi mentions, each step in the serving order of
 *    `STEP_ORDER` is tried with every value of its grid on top of the steps already chosen, and
 *    kept with its best value only if that raises dev NER F1. Ties keep the step off (fewer
 *    moving parts) and, within a grid, go to the first (most conservative) value.
 * 2. ID forms: with and without the training corpus's ID forms (`trainingIdForms`), the
 *    thresholds of step 3 are chosen; the forms are kept if they raise dev NEN F1 (micro).
 * 3. Thresholds, per entity type, by `tuneThresholds` on dev NEN F1 of that type (document-level
 *    concepts, BioCreative kit), over the mentions the chosen recognition produces (propagated
 *    mentions copy the type and ids of a mention of the same document, so they add no concept
 *    key and need no decision). Gold concepts of mentions the recognizer missed count as false
 *    negatives.
 *
 * Nothing here reads test data; the caller passes the dev split.
 */
export interface TuningGrids {
  readonly lexiconRatios: readonly number[];
  readonly lexiconCounts: readonly number[];
  readonly vocabularyProbabilities: readonly number[];
  readonly marginalProbabilities: readonly number[];
  readonly thresholds: readonly number[];
}

export const DEFAULT_TUNING_GRIDS: TuningGrids = {
  lexiconRatios: [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
  lexiconCounts: [1, 2, 3, 5],
  vocabularyProbabilities: [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5],
  marginalProbabilities: [0.1, 0.2, 0.3, 0.4, 0.5],
  thresholds: Array.from({ length: 21 }, (_, i) => i / 20),
};

export type RecognitionStep =
  | 'abbreviationPropagation'
  | 'consistencyPropagation'
  | 'lexicon'
  | 'vocabularySpans'
  | 'marginalSpans';

export const STEP_ORDER: readonly RecognitionStep[] = [
  'abbreviationPropagation',
  'consistencyPropagation',
  'lexicon',
  'vocabularySpans',
  'marginalSpans',
];

export interface TuningDocument {
  readonly pmid: string;
  readonly analysis: ArticleAnalysis;
}

export interface StepTrial {
  /** The step's value, e.g. `{ minProbability: 0.05 }`. */
  readonly value: unknown;
  readonly ner: Prf;
}

export interface StepSelection {
  readonly step: RecognitionStep;
  readonly chosen: unknown;
  readonly kept: boolean;
  /** Dev NER with the steps chosen before this one (this step off). */
  readonly before: Prf;
  /** Dev NER after the decision on this step. */
  readonly after: Prf;
  readonly trials: readonly StepTrial[];
}

export interface ThresholdSelection {
  readonly type: string;
  readonly thresholds: CombineThresholds;
  /** Dev NEN F1 of this type with the default thresholds (`thresholdsFor`) and with the chosen. */
  readonly defaultF1: number;
  readonly f1: number;
}

export interface TuningOutcome {
  readonly recognition: RecognitionConfig;
  readonly idForms: Readonly<Record<string, string>> | null;
  /** Dev NEN F1 (micro) with primary IDs and with the training forms; absent without forms. */
  readonly idFormsSelection?: { readonly primaryF1: number; readonly formsF1: number };
  readonly steps: readonly StepSelection[];
  readonly thresholds: ThresholdsByType;
  readonly thresholdSelections: readonly ThresholdSelection[];
  /** Dev scores of the chosen configuration (NEN only with a resolver). */
  readonly ner: { readonly overall: Prf; readonly byType: Readonly<Record<string, Prf>> };
  readonly nen?: { readonly overall: Prf; readonly byType: Readonly<Record<string, Prf>> };
}

/** Predicted documents (ids empty) of a recognition configuration: for NER scoring. */
export function recognizedDocuments(
  documents: readonly TuningDocument[],
  recognition: RecognitionConfig,
): EvalDocument[] {
  return documents.map(({ pmid, analysis }) => {
    const spans = recognizeSpans(analysis, recognition).map((s) => ({
      start: s.start,
      end: s.end,
      text: s.text,
      type: s.type,
      ids: [] as string[],
      score: s.score,
      source: 'model' as const,
    }));
    const added = propagateMentions(analysis, spans, recognition);
    return { pmid, mentions: [...spans, ...added] };
  });
}

function stepValues(
  step: RecognitionStep,
  grids: TuningGrids,
  lexicon: readonly LexiconEntry[],
  lexiconSource: string,
): unknown[] {
  switch (step) {
    case 'abbreviationPropagation':
      return [true];
    case 'consistencyPropagation':
      return ['exact', 'ignore-case'];
    case 'lexicon':
      if (lexicon.length === 0) return [];
      return grids.lexiconRatios.flatMap((minRatio) =>
        grids.lexiconCounts.map((minAnnotated) => ({
          minRatio,
          minAnnotated,
          source: lexiconSource,
          entries: [],
        })),
      );
    case 'vocabularySpans':
      return grids.vocabularyProbabilities.map((minProbability) => ({
        minProbability,
        maxTokens: 6,
      }));
    case 'marginalSpans':
      return grids.marginalProbabilities.map((minProbability) => ({ minProbability }));
  }
}

/** Entries of `lexicon` that a lexicon step value keeps, as stored in normalization.json. */
export function keptLexiconEntries(
  lexicon: readonly LexiconEntry[],
  minRatio: number,
  minAnnotated: number,
): [string, string, number, number][] {
  return lexicon
    .filter((e) => annotationRatio(e) >= minRatio && e.annotated >= minAnnotated)
    .map((e) => [e.key, e.type, e.annotated, e.occurrences]);
}

/** Step 1 of the module comment. */
export function selectRecognition(
  documents: readonly TuningDocument[],
  gold: readonly EvalDocument[],
  options: {
    readonly types: readonly string[];
    readonly grids?: TuningGrids;
    /** All training lexicon entries; the step keeps the ones its values select. */
    readonly lexicon?: readonly LexiconEntry[];
    readonly lexiconSource?: string;
    /** Steps that cannot run (e.g. vocabulary spans without a dictionary). */
    readonly skip?: readonly RecognitionStep[];
  },
): { recognition: RecognitionConfig; steps: StepSelection[] } {
  const grids = options.grids ?? DEFAULT_TUNING_GRIDS;
  const lexicon = options.lexicon ?? [];
  const ner = (recognition: RecognitionConfig): Prf =>
    evaluateMentions(gold, recognizedDocuments(documents, recognition), { types: options.types })
      .overall;
  let current: RecognitionConfig = VITERBI_ONLY;
  let currentNer = ner(current);
  const steps: StepSelection[] = [];
  for (const step of STEP_ORDER) {
    if (options.skip?.includes(step) === true) continue;
    const trials: StepTrial[] = [];
    let best: { value: unknown; ner: Prf } | undefined;
    for (const value of stepValues(step, grids, lexicon, options.lexiconSource ?? 'train')) {
      const score = ner({ ...current, [step]: value });
      trials.push({ value: describeValue(value), ner: score });
      if (best === undefined || score.f1 > best.ner.f1) best = { value, ner: score };
    }
    const kept = best !== undefined && best.ner.f1 > currentNer.f1;
    const before = currentNer;
    if (kept && best !== undefined) {
      current = { ...current, [step]: best.value };
      currentNer = best.ner;
    }
    steps.push({
      step,
      chosen: kept && best !== undefined ? describeValue(best.value) : null,
      kept,
      before,
      after: currentNer,
      trials,
    });
  }
  const chosenLexicon = current.lexicon;
  if (chosenLexicon !== null) {
    current = {
      ...current,
      lexicon: {
        ...chosenLexicon,
        entries: keptLexiconEntries(lexicon, chosenLexicon.minRatio, chosenLexicon.minAnnotated),
      },
    };
  }
  return { recognition: current, steps };
}

/** A step value without its bulk (the lexicon entries), for reports. */
function describeValue(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && 'entries' in value) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).filter(([key]) => key !== 'entries'),
    );
  }
  return value;
}

/** Resolution candidates of every recognized (not propagated) mention, computed once. */
export function resolutionExamples(
  documents: readonly TuningDocument[],
  recognition: RecognitionConfig,
  resolver: DictionaryMentionResolver,
): TuningExample[] {
  const examples: TuningExample[] = [];
  for (const { pmid, analysis } of documents) {
    const spans: RecognizedSpan[] = recognizeSpans(analysis, recognition);
    const candidates: ResolutionCandidates[] = resolver.candidates(
      analysis.text,
      spans.map((s) => ({
        mention: { start: s.start, end: s.end, text: s.text, type: s.type },
        candidates: s.candidates,
      })),
    );
    spans.forEach((s, k) => {
      examples.push({
        pmid,
        type: s.type,
        start: s.start,
        end: s.end,
        model: candidates[k].model,
        dictionary: candidates[k].dictionary,
      });
    });
  }
  return examples;
}

/** Step 2 of the module comment. */
export function selectThresholds(
  examples: readonly TuningExample[],
  gold: readonly EvalDocument[],
  options: {
    readonly types: readonly string[];
    readonly defaults: (type: string) => CombineThresholds;
    readonly grid?: readonly number[];
  },
): ThresholdSelection[] {
  const grid = options.grid ?? DEFAULT_TUNING_GRIDS.thresholds;
  return options.types.map((type) => {
    const ofType = examples.filter((e) => e.type === type);
    const defaults = options.defaults(type);
    const defaultF1 = scoreThresholds(ofType, defaults, { gold, types: [type] });
    const tuned = tuneThresholds(ofType, { gold, types: [type], grid, base: defaults });
    // The grid need not contain the defaults: never return something worse than them.
    const better = tuned.f1 > defaultF1;
    return {
      type,
      thresholds: better ? tuned.thresholds : defaults,
      defaultF1,
      f1: better ? tuned.f1 : defaultF1,
    };
  });
}

/**
 * For each concept of the training annotations (IDs mapped to the dictionary's primary ID by
 * `canonicalId`), the form its annotators wrote most often, where that differs from the
 * primary ID. Ties go to the primary ID, then to the smaller form.
 */
export function trainingIdForms(
  documents: readonly EvalDocument[],
  canonicalId: (id: string) => string,
): Record<string, string> {
  const counts = new Map<string, Map<string, number>>();
  for (const doc of documents) {
    for (const m of doc.mentions) {
      for (const raw of m.ids) {
        for (const id of mentionConceptIds([raw])) {
          const primary = canonicalId(id);
          const forms = counts.get(primary) ?? new Map<string, number>();
          forms.set(id, (forms.get(id) ?? 0) + 1);
          counts.set(primary, forms);
        }
      }
    }
  }
  const out: Record<string, string> = {};
  for (const primary of [...counts.keys()].sort()) {
    const forms = counts.get(primary) as Map<string, number>;
    const best = [...forms].sort(
      ([a, x], [b, y]) =>
        y - x || (a === primary ? -1 : b === primary ? 1 : a < b ? -1 : a > b ? 1 : 0),
    )[0][0];
    if (best !== primary) out[primary] = best;
  }
  return out;
}

function withIdForms(
  examples: readonly TuningExample[],
  idForms: Readonly<Record<string, string>>,
): TuningExample[] {
  const map = (list: readonly Candidate[]) =>
    list.map((c) => ({ ...c, ids: applyIdForms(c.ids, idForms) }));
  return examples.map((e) => ({ ...e, model: map(e.model), dictionary: map(e.dictionary) }));
}

/** All steps of the module comment, then the dev scores of the result. */
export function tuneNormalization(
  documents: readonly TuningDocument[],
  gold: readonly EvalDocument[],
  options: {
    readonly types: readonly string[];
    readonly resolver?: DictionaryMentionResolver;
    readonly grids?: TuningGrids;
    readonly lexicon?: readonly LexiconEntry[];
    readonly lexiconSource?: string;
    /** Candidate ID forms (`trainingIdForms` of the training split). */
    readonly idForms?: Readonly<Record<string, string>>;
  },
): TuningOutcome {
  const { recognition, steps } = selectRecognition(documents, gold, {
    types: options.types,
    ...(options.grids === undefined ? {} : { grids: options.grids }),
    ...(options.lexicon === undefined ? {} : { lexicon: options.lexicon }),
    ...(options.lexiconSource === undefined ? {} : { lexiconSource: options.lexiconSource }),
    ...(options.resolver === undefined ? { skip: ['vocabularySpans'] as const } : {}),
  });
  const predicted = recognizedDocuments(documents, recognition);
  const ner = evaluateMentions(gold, predicted, { types: options.types });
  const resolver = options.resolver;
  if (resolver === undefined) {
    return { recognition, steps, idForms: null, thresholds: {}, thresholdSelections: [], ner };
  }
  const primary = resolutionExamples(documents, recognition, resolver);
  const variants: {
    idForms: Readonly<Record<string, string>> | null;
    examples: TuningExample[];
  }[] = [{ idForms: null, examples: primary }];
  if (options.idForms !== undefined && Object.keys(options.idForms).length > 0) {
    variants.push({ idForms: options.idForms, examples: withIdForms(primary, options.idForms) });
  }
  const tuned = variants.map((variant) => {
    const selections = selectThresholds(variant.examples, gold, {
      types: options.types,
      defaults: (type) => resolver.thresholdsOf(type),
      ...(options.grids === undefined ? {} : { grid: options.grids.thresholds }),
    });
    const thresholds: Record<string, CombineThresholds> = {};
    for (const s of selections) thresholds[s.type] = s.thresholds;
    const byPmid = new Map<string, { start: number; end: number; type: string; ids: string[] }[]>();
    for (const e of variant.examples) {
      const list = byPmid.get(e.pmid) ?? [];
      list.push({
        start: e.start,
        end: e.end,
        type: e.type,
        ids: resolver.decide(
          { type: e.type, model: e.model, dictionary: e.dictionary },
          thresholds[e.type] ?? resolver.thresholdsOf(e.type),
        ).ids,
      });
      byPmid.set(e.pmid, list);
    }
    const nen = evaluateConcepts(
      gold,
      [...byPmid].map(([pmid, mentions]) => ({ pmid, mentions })),
      { types: options.types },
    );
    return { idForms: variant.idForms, selections, thresholds, nen };
  });
  // Forms only when strictly better (ties keep the primary IDs).
  const best =
    tuned.length > 1 && tuned[1].nen.overall.f1 > tuned[0].nen.overall.f1 ? tuned[1] : tuned[0];
  return {
    recognition,
    steps,
    idForms: best.idForms,
    ...(tuned.length > 1
      ? {
          idFormsSelection: {
            primaryF1: tuned[0].nen.overall.f1,
            formsF1: tuned[1].nen.overall.f1,
          },
        }
      : {}),
    thresholds: best.thresholds,
    thresholdSelections: best.selections,
    ner,
    nen: best.nen,
  };
}
