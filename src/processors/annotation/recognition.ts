import type { Mention } from '../../codec/records.js';
import { findAbbreviations } from '../normalization/abbreviations.js';
import type {
  NormalizationConfig,
  RecognitionConfig,
} from '../normalization/normalization-config.js';
import type { LexiconEntry } from './mention-lexicon.js';
import { annotationRatio, selectLeftmostLongest } from './mention-lexicon.js';
import type { PropagatedMention } from './mention-propagation.js';
import { propagateAbbreviations, propagateConsistency } from './mention-propagation.js';
import type { ConceptCandidate, MentionResolver } from './onnx-annotator.js';

/**
 * From what the model computed for one article to its mentions, without the model: the
 * recognition steps of normalization-config.ts, then the resolver, then propagation. The
 * annotator calls it for every article; the threshold search calls it many times over one
 * analysis per article (so model outputs are computed once per split).
 *
 * Offsets are UTF-16 offsets into the article text (`title + " " + abstract`).
 */
export interface ProposedSpan {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly type: string;
  /** Recognition confidence: mean Viterbi-tag marginal, or the span score (marginal-spans.ts). */
  readonly score: number;
  /** The model's concepts for the span (normalization head), best first. */
  readonly candidates: readonly ConceptCandidate[];
}

export interface LexiconProposal {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  /** The lexicon entries of the span's key, best annotation ratio first. */
  readonly entries: readonly LexiconEntry[];
  readonly candidates: readonly ConceptCandidate[];
}

/** Everything the model said about one article that the recognition steps may use. */
export interface ArticleAnalysis {
  readonly text: string;
  /** Sentence break for abbreviation detection (titles often lack a final period). */
  readonly titleLength: number;
  /** Viterbi mentions. */
  readonly model: readonly ProposedSpan[];
  /** Marginal spans (best end per start) scoring at least the analysis's floor. */
  readonly marginal: readonly ProposedSpan[];
  /** Dictionary-name spans whose score for the name's type is at least the analysis's floor. */
  readonly vocabulary: readonly ProposedSpan[];
  /** Every span whose key has lexicon entries. */
  readonly lexicon: readonly LexiconProposal[];
}

export type RecognitionOrigin = 'model' | 'lexicon' | 'vocabulary' | 'marginal';

export interface RecognizedSpan extends ProposedSpan {
  readonly origin: RecognitionOrigin;
}

function overlapsAny(
  taken: readonly { readonly start: number; readonly end: number }[],
  start: number,
  end: number,
): boolean {
  return taken.some((m) => start < m.end && m.start < end);
}

const byScoreThenLength = (a: ProposedSpan, b: ProposedSpan): number =>
  b.score - a.score || b.end - b.start - (a.end - a.start) || a.start - b.start;

/**
 * The model's mentions plus those of the enabled steps 1–3 of normalization-config.ts, each
 * step adding only spans that overlap nothing taken before; sorted by start.
 */
export function recognizeSpans(
  analysis: ArticleAnalysis,
  recognition: RecognitionConfig,
): RecognizedSpan[] {
  const out: RecognizedSpan[] = analysis.model.map((m) => ({ ...m, origin: 'model' as const }));
  const { lexicon, vocabularySpans, marginalSpans } = recognition;
  if (lexicon !== null) {
    const accept = (e: LexiconEntry) =>
      annotationRatio(e) >= lexicon.minRatio && e.annotated >= lexicon.minAnnotated;
    for (const { hit, entry } of selectLeftmostLongest(analysis.lexicon, accept)) {
      if (overlapsAny(out, hit.start, hit.end)) continue;
      out.push({
        start: hit.start,
        end: hit.end,
        text: hit.text,
        type: entry.type,
        score: annotationRatio(entry),
        candidates: hit.candidates,
        origin: 'lexicon',
      });
    }
  }
  const addScored = (
    spans: readonly ProposedSpan[],
    minProbability: number,
    origin: RecognitionOrigin,
  ) => {
    for (const span of spans.filter((s) => s.score >= minProbability).sort(byScoreThenLength)) {
      if (!overlapsAny(out, span.start, span.end)) out.push({ ...span, origin });
    }
  };
  if (vocabularySpans !== null) {
    addScored(analysis.vocabulary, vocabularySpans.minProbability, 'vocabulary');
  }
  if (marginalSpans !== null)
    addScored(analysis.marginal, marginalSpans.minProbability, 'marginal');
  return out.sort((a, b) => a.start - b.start || a.end - b.end);
}

/** Steps 4–5 of normalization-config.ts over resolved mentions; returns only the added ones. */
export function propagateMentions(
  analysis: Pick<ArticleAnalysis, 'text' | 'titleLength'>,
  mentions: readonly PropagatedMention[],
  recognition: RecognitionConfig,
): PropagatedMention[] {
  const added: PropagatedMention[] = [];
  if (recognition.abbreviationPropagation && mentions.length > 0) {
    const abbreviations = findAbbreviations(analysis.text, { breaks: [analysis.titleLength] });
    added.push(...propagateAbbreviations(analysis.text, mentions, abbreviations));
  }
  if (recognition.consistencyPropagation !== 'off') {
    added.push(
      ...propagateConsistency(analysis.text, [...mentions, ...added], {
        ignoreCase: recognition.consistencyPropagation === 'ignore-case',
      }),
    );
  }
  return added;
}

/** Each ID in the form of `idForms` (normalization-config.ts), duplicates dropped. */
export function applyIdForms(
  ids: readonly string[],
  idForms: Readonly<Record<string, string>> | null,
): string[] {
  if (idForms === null) return [...ids];
  return [...new Set(ids.map((id) => idForms[id] ?? id))];
}

/**
 * The article's mentions: recognized spans, their ids from the resolver (then in the corpus's
 * ID forms) or, without one, the model's best concept as labelled; then the propagated
 * mentions; sorted by start.
 */
export function decideMentions(
  analysis: ArticleAnalysis,
  config: Pick<NormalizationConfig, 'recognition' | 'thresholds' | 'idForms'>,
  resolver?: MentionResolver,
): Mention[] {
  const { recognition } = config;
  const spans = recognizeSpans(analysis, recognition);
  const resolved =
    resolver
      ?.resolve(
        analysis.text,
        spans.map((s) => ({
          mention: { start: s.start, end: s.end, text: s.text, type: s.type },
          candidates: s.candidates,
        })),
        config.thresholds,
      )
      .map((r) => ({ ids: applyIdForms(r.ids, config.idForms), source: r.source })) ??
    spans.map((s) => ({
      // The model's labels are already written as its training corpus writes them.
      ids: splitConceptLabel(s.candidates[0]?.label ?? 'NIL'),
      source: 'model',
    }));
  const mentions: Mention[] = spans.map((s, k) => ({
    start: s.start,
    end: s.end,
    text: s.text,
    type: s.type,
    ids: resolved[k].ids,
    score: s.score,
    source: resolved[k].source,
  }));
  for (const m of propagateMentions(analysis, mentions, recognition)) {
    mentions.push({ ...m, ids: [...m.ids] });
  }
  return mentions.sort((a, b) => a.start - b.start || a.end - b.end);
}

/** The IDs of a model concept label (`MESH:D1`, composites `MESH:D1|MESH:D2`, `NIL`). */
export function splitConceptLabel(label: string): string[] {
  if (label === 'NIL' || label === 'O') return [];
  return label.split(/[|+]/).filter((id) => id.length > 0);
}
