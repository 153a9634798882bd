import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { AnnotatedArticle, Article, MentionSource } from '../../codec/records.js';
import { articleText } from '../../codec/records.js';
import { CrfDecoder } from '../../model/crf-decode.js';
import type { SessionOptions } from '../../model/onnx-session.js';
import { OutputBuffers, ServedModel } from '../../model/served-model.js';
import { sentencesFromTokens } from '../../text/sentence-splitter.js';
import { decodeTags } from '../../text/tag-scheme.js';
import type { Token } from '../../text/tokenizer.js';
import { tokenize } from '../../text/tokenizer.js';
import { planBatches } from '../batching/token-budget.js';
import type {
  NormalizationConfig,
  ThresholdsByType,
} from '../normalization/normalization-config.js';
import { loadNormalizationConfig } from '../normalization/normalization-config.js';
import type { Annotator } from './annotator.js';
import { annotatedArticle } from './annotator.js';
import { marginalSpans, scoredSpans } from './marginal-spans.js';
import { MentionLexicon } from './mention-lexicon.js';
import type { LexiconEntry } from './mention-lexicon.js';
import type { ArticleAnalysis, LexiconProposal, ProposedSpan } from './recognition.js';
import { decideMentions } from './recognition.js';

/** A concept the model's MEN head proposes for a mention, with its mean token probability. */
export interface ConceptCandidate {
  /** A concept label of the model: one CURIE, or several joined by `|`/`+`, or `NIL`. */
  label: string;
  score: number;
}

export interface MentionToResolve {
  start: number;
  end: number;
  text: string;
  type: string;
}

/**
 * Turns the model's concept candidates into the mention's final ids (dictionary lookup,
 * abbreviations, thresholds). Without one, the model's best concept is used as is.
 */
export interface MentionResolver {
  readonly vocabularyVersion: string;
  /**
   * Called once per article with all its mentions (e.g. to find abbreviation definitions);
   * `thresholds` are the served model's per-type thresholds (normalization.json).
   */
  resolve(
    text: string,
    mentions: readonly { mention: MentionToResolve; candidates: readonly ConceptCandidate[] }[],
    thresholds?: ThresholdsByType,
  ): { ids: string[]; source: MentionSource }[];
  /** Whether `text` is a vocabulary name of a concept typed `type` (vocabulary spans). */
  isTypedName?(text: string, type: string): boolean;
}

/**
 * What `analyze` proposes beyond the Viterbi mentions (see recognition.ts). The served
 * settings come from the model's normalization.json (`servedAnalysis`); a threshold search
 * passes the loosest settings of its grid once and filters in memory.
 */
export interface AnalysisSettings {
  /** Lexicon whose entries are matched (every hit is proposed). */
  readonly lexicon?: MentionLexicon;
  /** Lowest score of proposed marginal spans. */
  readonly marginalFloor?: number;
  /** Lowest score of proposed dictionary-name spans (needs a resolver with `isTypedName`). */
  readonly vocabularyFloor?: number;
  readonly vocabularyMaxTokens?: number;
}

export interface OnnxAnnotatorOptions {
  modelDir: string;
  session?: SessionOptions;
  /** Padded token cells per inference call. */
  maxBatchTokens?: number;
  maxBatchRows?: number;
  /**
   * `least-cost` (default): batches are cut where padding would cost more than another call
   * of `batchCallCost` padded cells; `greedy`: each batch filled up to the budget
   * (token-budget.ts).
   */
  batchPlanning?: 'least-cost' | 'greedy';
  /** Fixed cost of one inference call in padded token cells; default {@link DEFAULT_BATCH_CALL_COST}. */
  batchCallCost?: number;
  /** Sentences longer than this are cut into pieces of this many tokens. */
  maxSentenceTokens?: number;
  maxTextChars?: number;
  resolver?: MentionResolver;
  /** Post-processing of the model's output; default: the model directory's normalization.json. */
  normalization?: NormalizationConfig;
  now?: () => number;
}

export interface AnnotatorStats {
  articles: number;
  tokens: number;
  batches: number;
  /** Sentences (or pieces of long ones) sent to the model. */
  rows: number;
  /** Padded cells sent to the model (≥ tokens). */
  paddedTokens: number;
  /** Padded token × character cells sent to the model's character encoder. */
  paddedCharCells: number;
  /** Wall time spent inside the ONNX session (input tensors built, outputs returned). */
  inferenceMs: number;
}

interface Row {
  article: number;
  tokens: readonly Token[];
}

/**
 * Measured on 2 cores (onnxruntime CPU, the BC5CDR models): an inference call costs about as
 * much as a few to ten tokens beyond its cells; 32 leaves room for the per-call work in
 * TypeScript and still keeps padding near 3 % (greedy filling of a 4,096-cell budget: 23 %).
 */
export const DEFAULT_BATCH_CALL_COST = 32;

/** The analysis settings that serve a normalization configuration exactly. */
export function servedAnalysis(config: NormalizationConfig): AnalysisSettings {
  const { lexicon, marginalSpans: marginal, vocabularySpans } = config.recognition;
  return {
    ...(lexicon === null
      ? {}
      : {
          lexicon: new MentionLexicon(
            lexicon.entries.map(([key, type, annotated, occurrences]): LexiconEntry => ({
              key,
              type,
              annotated,
              occurrences,
            })),
          ),
        }),
    ...(marginal === null ? {} : { marginalFloor: marginal.minProbability }),
    ...(vocabularySpans === null
      ? {}
      : {
          vocabularyFloor: vocabularySpans.minProbability,
          vocabularyMaxTokens: vocabularySpans.maxTokens,
        }),
  };
}

interface RowProposals {
  model: ProposedSpan[];
  marginal: ProposedSpan[];
  vocabulary: ProposedSpan[];
  lexicon: LexiconProposal[];
}

/**
 * The ONNX implementation of {@link Annotator}: tokenize and split sentences (the one
 * tokenizer), plan padded batches under a token budget with length bucketing, run the model,
 * decode recognition tags with the CRF (Viterbi; forward-backward marginals give the score),
 * pick each mention's concepts from the normalization head (`analyze`), then apply the served
 * model's recognition steps, the resolver and propagation (recognition.ts, configured by the
 * model's normalization.json).
 */
export class OnnxAnnotator implements Annotator {
  readonly maxTextChars: number;
  readonly stats: AnnotatorStats = {
    articles: 0,
    tokens: 0,
    batches: 0,
    rows: 0,
    paddedTokens: 0,
    paddedCharCells: 0,
    inferenceMs: 0,
  };
  private readonly decoder: CrfDecoder;
  private readonly menConcepts: string[];
  private readonly ranker: ConceptRanker;
  private readonly outputBuffers = new OutputBuffers();
  private readonly served: AnalysisSettings;

  private constructor(
    private readonly model: ServedModel,
    private readonly options: OnnxAnnotatorOptions,
    readonly normalization: NormalizationConfig,
  ) {
    this.maxTextChars = options.maxTextChars ?? 100_000;
    this.decoder = new CrfDecoder(model.merCrf);
    // MEN labels are B-<concept>/I-<concept>/O: index both prefixes to one concept slot.
    const slots = new Map<string, number>();
    const menConcept = new Int32Array(model.menLabels.length).fill(-1);
    model.menLabels.forEach((label, i) => {
      if (label.length < 3 || label[1] !== '-') return;
      const concept = label.slice(2);
      let slot = slots.get(concept);
      if (slot === undefined) slots.set(concept, (slot = slots.size));
      menConcept[i] = slot;
    });
    this.menConcepts = [...slots.keys()];
    this.ranker = new ConceptRanker(menConcept, slots.size);
    this.served = servedAnalysis(normalization);
  }

  static async create(options: OnnxAnnotatorOptions): Promise<OnnxAnnotator> {
    const model = await ServedModel.load(options.modelDir, options.session);
    try {
      const normalization =
        options.normalization ?? (await loadNormalizationConfig(options.modelDir, model));
      return new OnnxAnnotator(model, options, normalization);
    } catch (error) {
      await model.close();
      throw error;
    }
  }

  get modelName(): string {
    return this.model.name;
  }

  get modelVersion(): string {
    return this.model.version;
  }

  /** The ONNX file the session runs. */
  get modelPath(): string {
    return join(this.model.dir, this.model.manifest.onnx.file);
  }

  get resolver(): MentionResolver | undefined {
    return this.options.resolver;
  }

  async annotate(articles: readonly Article[]): Promise<AnnotatedArticle[]> {
    const analyses = await this.analyze(articles, this.served);
    const processedAt = (this.options.now ?? Date.now)();
    this.stats.articles += articles.length;
    return articles.map((article, i) =>
      annotatedArticle(
        article,
        decideMentions(analyses[i], this.normalization, this.options.resolver),
        {
          modelName: this.model.name,
          modelVersion: this.model.version,
          vocabularyVersion: this.options.resolver?.vocabularyVersion ?? 'model-only',
        },
        processedAt,
      ),
    );
  }

  /**
   * The model's part of annotation: per article, the Viterbi mentions and the spans the
   * settings propose, each with its concept candidates (recognition.ts decides the rest).
   */
  async analyze(
    articles: readonly Article[],
    settings: AnalysisSettings = this.served,
  ): Promise<ArticleAnalysis[]> {
    const maxSentence = this.options.maxSentenceTokens ?? 160;
    const texts = articles.map((a) => articleText(a));
    const rows: Row[] = [];
    texts.forEach((text, article) => {
      const tokens = tokenize(text);
      this.stats.tokens += tokens.length;
      const breaks = [articles[article].title.length];
      for (const sentence of sentencesFromTokens(text, tokens, { breaks })) {
        for (let i = 0; i < sentence.tokens.length; i += maxSentence) {
          rows.push({ article, tokens: sentence.tokens.slice(i, i + maxSentence) });
        }
      }
    });

    const found: RowProposals[][] = articles.map(() => []);
    const plan = planBatches(
      rows.map((r) => r.tokens.length),
      {
        maxTokens: this.options.maxBatchTokens ?? 4096,
        maxRows: this.options.maxBatchRows ?? 128,
        ...(this.options.batchPlanning === 'greedy'
          ? {}
          : { callCost: this.options.batchCallCost ?? DEFAULT_BATCH_CALL_COST }),
      },
    );
    for (const batch of plan) {
      const batchRows = batch.rows.map((i) => rows[i]);
      const started = performance.now();
      // Decoded synchronously below, before the next run reuses the buffers.
      const outputs = await this.model.run(
        batchRows.map((r) => r.tokens.map((t) => t.text)),
        this.outputBuffers,
      );
      this.stats.inferenceMs += performance.now() - started;
      this.stats.batches += 1;
      this.stats.rows += outputs.rows;
      this.stats.paddedTokens += outputs.rows * outputs.maxLength;
      this.stats.paddedCharCells += outputs.rows * outputs.maxLength * outputs.maxChars;
      batchRows.forEach((row, b) => {
        found[row.article].push(
          this.decodeRow(texts[row.article], row.tokens, outputs, b, settings),
        );
      });
    }
    const byStart = (a: { start: number; end: number }, b: { start: number; end: number }) =>
      a.start - b.start || a.end - b.end;
    return articles.map((article, i) => ({
      text: texts[i],
      titleLength: article.title.length,
      model: found[i].flatMap((r) => r.model).sort(byStart),
      marginal: found[i].flatMap((r) => r.marginal).sort(byStart),
      vocabulary: found[i].flatMap((r) => r.vocabulary).sort(byStart),
      lexicon: found[i].flatMap((r) => r.lexicon).sort(byStart),
    }));
  }

  private decodeRow(
    text: string,
    tokens: readonly Token[],
    outputs: { mer: Float32Array; men: Float32Array; maxLength: number },
    row: number,
    settings: AnalysisSettings,
  ): RowProposals {
    const { merLabels, menLabels } = this.model;
    const length = tokens.length;
    const offset = row * outputs.maxLength;
    const tags = this.decoder.viterbi(outputs.mer, offset, length);
    const spans = decodeTags(Array.from(tags, (t) => merLabels[t]));
    const proposals: RowProposals = { model: [], marginal: [], vocabulary: [], lexicon: [] };
    const { marginalFloor, vocabularyFloor, lexicon } = settings;
    const isTypedName = this.options.resolver?.isTypedName?.bind(this.options.resolver);
    const needVocabulary = vocabularyFloor !== undefined && isTypedName !== undefined;
    if (
      spans.length === 0 &&
      marginalFloor === undefined &&
      !needVocabulary &&
      lexicon === undefined
    )
      return proposals;
    const nMer = merLabels.length;
    const nMen = menLabels.length;
    // Concept evidence: mean over the span's tokens of p(B-c) + p(I-c); once per token range.
    const conceptCache = new Map<number, ConceptCandidate[]>();
    const candidatesOf = (start: number, end: number): ConceptCandidate[] => {
      const key = start * (length + 1) + end;
      let list = conceptCache.get(key);
      if (list === undefined) {
        const width = end - start;
        list = this.ranker
          .top(outputs.men, nMen, offset + start, width, CANDIDATES)
          .map(([slot, value]) => ({ label: this.menConcepts[slot], score: value / width }));
        conceptCache.set(key, list);
      }
      return list;
    };
    const charSpan = (start: number, end: number) => {
      const from = tokens[start].start;
      const to = tokens[end - 1].end;
      return { start: from, end: to, text: text.slice(from, to) };
    };
    const marginals =
      spans.length > 0 || marginalFloor !== undefined || needVocabulary
        ? this.decoder.marginals(outputs.mer, offset, length)
        : undefined;
    if (marginals !== undefined) {
      for (const span of spans) {
        let confidence = 0;
        for (let t = span.start; t < span.end; t += 1) confidence += marginals[t * nMer + tags[t]];
        proposals.model.push({
          ...charSpan(span.start, span.end),
          type: span.label,
          score: confidence / (span.end - span.start),
          candidates: candidatesOf(span.start, span.end),
        });
      }
      const scored = (span: { start: number; end: number; label: string; score: number }) => ({
        ...charSpan(span.start, span.end),
        type: span.label,
        score: span.score,
        candidates: candidatesOf(span.start, span.end),
      });
      if (marginalFloor !== undefined) {
        proposals.marginal.push(
          ...marginalSpans(marginals, length, merLabels, marginalFloor).map(scored),
        );
      }
      if (needVocabulary) {
        const maxTokens = settings.vocabularyMaxTokens ?? DEFAULT_VOCABULARY_MAX_TOKENS;
        for (const span of scoredSpans(marginals, length, merLabels, vocabularyFloor, maxTokens)) {
          const { text: name } = charSpan(span.start, span.end);
          if (isTypedName(name, span.label)) proposals.vocabulary.push(scored(span));
        }
      }
    }
    if (lexicon !== undefined) {
      for (const hit of lexicon.hits(tokens)) {
        const proposal: LexiconProposal = {
          ...charSpan(hit.start, hit.end),
          entries: hit.entries,
          candidates: candidatesOf(hit.start, hit.end),
        };
        proposals.lexicon.push(proposal);
      }
    }
    return proposals;
  }

  async close(): Promise<void> {
    await this.model.close();
  }
}

/** Longest dictionary-name span proposed by default, in tokens. */
export const DEFAULT_VOCABULARY_MAX_TOKENS = 6;

/** Concept candidates kept per mention. */
const CANDIDATES = 5;

/**
 * Ranks concepts for a span by mass(c) = Σ over the span's tokens t and c's labels j
 * (B-c, I-c) of exp(men[t][j]), and returns the top k as [slot, mass], by mass descending, ties
 * by slot ascending. Log-probabilities are finite (log-softmax outputs).
 *
 * Exactly what summing every label would give (the same additions in the same order: tokens,
 * then labels ascending), but only concepts that can reach the top k are exponentiated. Every
 * term is positive, so mass(c) ≥ each of its terms and mass(c) ≤ n·exp(M(c)) with M(c) its
 * largest log-probability and n = labels per concept × width its number of terms. Among the
 * k·L largest label values of the first token (L = most labels per concept) are k distinct
 * concepts, each with mass ≥ exp(v), v the (k·L)-th value; a concept with n·exp(M(c)) < exp(v)
 * is beaten by k others and skipped. A softmax over ~2,700 labels is peaked: a handful of
 * concepts survive, instead of an exp per label and token.
 */
export class ConceptRanker {
  /** Labels of slot s: labels[start[s] .. start[s + 1]), ascending. */
  private readonly start: Int32Array;
  private readonly labels: Int32Array;
  private readonly maxLabels: number;
  private readonly marked: Uint8Array;
  private readonly survivors: Int32Array;
  private readonly scratch: Float64Array;
  private readonly topSlot: Int32Array;
  private readonly topValue: Float64Array;

  /** `slotOf[j]`: the concept slot of label j, or -1 (e.g. `O`). */
  constructor(
    private readonly slotOf: Int32Array,
    private readonly slots: number,
    private readonly maxK = CANDIDATES,
  ) {
    const counts = new Int32Array(slots + 1);
    for (const slot of slotOf) if (slot >= 0) counts[slot + 1] += 1;
    for (let s = 0; s < slots; s += 1) counts[s + 1] += counts[s];
    this.start = counts;
    this.labels = new Int32Array(counts[slots]);
    const fill = counts.slice(0, slots);
    slotOf.forEach((slot, j) => {
      if (slot >= 0) this.labels[fill[slot]++] = j;
    });
    let maxLabels = 1;
    for (let s = 0; s < slots; s += 1) maxLabels = Math.max(maxLabels, counts[s + 1] - counts[s]);
    this.maxLabels = maxLabels;
    this.marked = new Uint8Array(slots);
    this.survivors = new Int32Array(slots);
    this.scratch = new Float64Array(maxK * maxLabels + 1);
    this.topSlot = new Int32Array(maxK + 1);
    this.topValue = new Float64Array(maxK + 1);
  }

  /**
   * Top `k` (≤ maxK) concepts of the span of `width` tokens starting at token row `first` of
   * `men` ([tokens × nLabels] log-probabilities).
   */
  top(
    men: Float32Array,
    nLabels: number,
    first: number,
    width: number,
    k: number,
  ): [number, number][] {
    const { slotOf, slots, marked, survivors } = this;
    if (slots === 0 || k < 1) return [];
    if (k > this.maxK) throw new RangeError(`k ${k} > ${this.maxK}`);
    let cutoff = -Infinity;
    const needed = k * this.maxLabels;
    if (slots > k && this.labels.length >= needed) {
      const v = this.kthLabel(men, first * nLabels, nLabels, needed);
      // Below exp(-700) exponentials approach underflow, where the order of ties matters:
      // nothing is skipped then. The margin covers rounding in exp, the sums and the log.
      if (v > -700) cutoff = v - Math.log(this.maxLabels * width) - 1e-7;
    }
    let count = 0;
    if (cutoff === -Infinity) {
      for (let s = 0; s < slots; s += 1)
        count = this.offer(men, nLabels, first, width, k, s, count);
    } else {
      let n = 0;
      for (let t = 0; t < width; t += 1) {
        const base = (first + t) * nLabels;
        for (let j = 0; j < nLabels; j += 1) {
          if (men[base + j] < cutoff) continue;
          const slot = slotOf[j];
          if (slot >= 0 && marked[slot] === 0) {
            marked[slot] = 1;
            survivors[n++] = slot;
          }
        }
      }
      const list = survivors.subarray(0, n).sort();
      for (let i = 0; i < n; i += 1) {
        marked[list[i]] = 0;
        count = this.offer(men, nLabels, first, width, k, list[i], count);
      }
    }
    const out: [number, number][] = [];
    for (let i = 0; i < count; i += 1) out.push([this.topSlot[i], this.topValue[i]]);
    return out;
  }

  /** Adds slot `s` to the running top list of `count` entries; returns the new count. */
  private offer(
    men: Float32Array,
    nLabels: number,
    first: number,
    width: number,
    k: number,
    s: number,
    count: number,
  ): number {
    const { start, labels, topSlot, topValue } = this;
    let mass = 0;
    for (let t = 0; t < width; t += 1) {
      const base = (first + t) * nLabels;
      for (let q = start[s]; q < start[s + 1]; q += 1) mass += Math.exp(men[base + labels[q]]);
    }
    if (count < k || mass > topValue[count - 1]) {
      // After every value ≥ mass: equal masses keep the lower slot first.
      let p = count;
      while (p > 0 && topValue[p - 1] < mass) {
        topValue[p] = topValue[p - 1];
        topSlot[p] = topSlot[p - 1];
        p -= 1;
      }
      topValue[p] = mass;
      topSlot[p] = s;
      return count < k ? count + 1 : count;
    }
    return count;
  }

  /** The `needed`-th largest value among the labels that belong to a concept, in one row. */
  private kthLabel(men: Float32Array, base: number, nLabels: number, needed: number): number {
    const { slotOf, scratch } = this;
    let count = 0;
    for (let j = 0; j < nLabels; j += 1) {
      const v = men[base + j];
      if (count === needed && !(v > scratch[needed - 1])) continue;
      if (slotOf[j] < 0) continue;
      let p = count < needed ? count : needed - 1;
      while (p > 0 && scratch[p - 1] < v) {
        scratch[p] = scratch[p - 1];
        p -= 1;
      }
      scratch[p] = v;
      if (count < needed) count += 1;
    }
    return count < needed ? -Infinity : scratch[needed - 1];
  }
}

export async function createOnnxAnnotator(options: OnnxAnnotatorOptions): Promise<OnnxAnnotator> {
  return OnnxAnnotator.create(options);
}
