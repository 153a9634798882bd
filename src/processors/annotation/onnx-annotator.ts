import { createHash } from 'node:crypto';
import type { AnnotatedArticle, Article, Mention, MentionSource } from '../../codec/records.js';
import { articleText } from '../../codec/records.js';
import { CrfDecoder } from '../../model/crf-decode.js';
import type { SessionOptions } from '../../model/onnx-session.js';
import { ServedModel } from '../../model/served-model.js';
import { sentencesFromTokens } from '../../text/sentence-splitter.js';
import { decodeTags } from '../../text/tag-scheme.js';
import type { Token } from '../../text/tokenizer.js';
import { tokenize } from '../../text/tokenizer.js';
import { planBatches } from '../batching/token-budget.js';
import type { Annotator } from './annotator.js';

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
  /** Called once per article before its mentions, e.g. to find abbreviation definitions. */
  resolve(
    text: string,
    mentions: readonly { mention: MentionToResolve; candidates: readonly ConceptCandidate[] }[],
  ): { ids: string[]; source: MentionSource }[];
}

export interface OnnxAnnotatorOptions {
  modelDir: string;
  session?: SessionOptions;
  /** Padded token cells per inference call. */
  maxBatchTokens?: number;
  maxBatchRows?: number;
  /** Sentences longer than this are cut into pieces of this many tokens. */
  maxSentenceTokens?: number;
  maxTextChars?: number;
  resolver?: MentionResolver;
  now?: () => number;
}

export interface AnnotatorStats {
  articles: number;
  tokens: number;
  batches: number;
  /** Padded cells sent to the model (≥ tokens). */
  paddedTokens: number;
}

interface Row {
  article: number;
  tokens: readonly Token[];
}

export function splitConceptLabel(label: string): string[] {
  if (label === 'NIL' || label === 'O') return [];
  return label.split(/[|+]/).filter((id) => id.length > 0);
}

/**
 * The ONNX implementation of {@link Annotator}: tokenize and split sentences (the one
 * tokenizer), plan padded batches under a token budget with length bucketing, run the model,
 * decode recognition tags with the CRF (Viterbi; forward-backward marginals give the score),
 * pick each mention's concept from the normalization head, then let the resolver decide.
 */
export class OnnxAnnotator implements Annotator {
  readonly maxTextChars: number;
  readonly stats: AnnotatorStats = { articles: 0, tokens: 0, batches: 0, paddedTokens: 0 };
  private readonly decoder: CrfDecoder;
  private readonly menConcept: Int32Array;
  private readonly menConcepts: string[];

  private constructor(
    private readonly model: ServedModel,
    private readonly options: OnnxAnnotatorOptions,
  ) {
    this.maxTextChars = options.maxTextChars ?? 100_000;
    this.decoder = new CrfDecoder(model.merCrf);
    // MEN labels are B-<concept>/I-<concept>/O: index both prefixes to one concept slot.
    const slots = new Map<string, number>();
    this.menConcept = new Int32Array(model.menLabels.length).fill(-1);
    model.menLabels.forEach((label, i) => {
      if (label.length < 3 || label[1] !== '-') return;
      const concept = label.slice(2);
      let slot = slots.get(concept);
      if (slot === undefined) slots.set(concept, (slot = slots.size));
      this.menConcept[i] = slot;
    });
    this.menConcepts = [...slots.keys()];
  }

  static async create(options: OnnxAnnotatorOptions): Promise<OnnxAnnotator> {
    return new OnnxAnnotator(await ServedModel.load(options.modelDir, options.session), options);
  }

  get modelName(): string {
    return this.model.name;
  }

  get modelVersion(): string {
    return this.model.version;
  }

  async annotate(articles: readonly Article[]): Promise<AnnotatedArticle[]> {
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

    const found: { mention: MentionToResolve; candidates: ConceptCandidate[]; score: number }[][] =
      articles.map(() => []);
    const plan = planBatches(
      rows.map((r) => r.tokens.length),
      { maxTokens: this.options.maxBatchTokens ?? 4096, maxRows: this.options.maxBatchRows ?? 128 },
    );
    for (const batch of plan) {
      const batchRows = batch.rows.map((i) => rows[i]);
      const outputs = await this.model.run(batchRows.map((r) => r.tokens.map((t) => t.text)));
      this.stats.batches += 1;
      this.stats.paddedTokens += outputs.rows * outputs.maxLength;
      batchRows.forEach((row, b) => {
        for (const m of this.decodeRow(texts[row.article], row.tokens, outputs, b)) {
          found[row.article].push(m);
        }
      });
    }

    const processedAt = (this.options.now ?? Date.now)();
    this.stats.articles += articles.length;
    return articles.map((article, i) => {
      const text = texts[i];
      const items = found[i].sort((a, b) => a.mention.start - b.mention.start);
      const resolved =
        this.options.resolver?.resolve(text, items) ??
        items.map((item) => ({
          ids: splitConceptLabel(item.candidates[0]?.label ?? 'NIL'),
          source: 'model' as const,
        }));
      const mentions: Mention[] = items.map((item, k) => ({
        ...item.mention,
        ids: resolved[k].ids,
        score: item.score,
        source: resolved[k].source,
      }));
      return {
        pmid: article.pmid,
        version: article.version,
        title: article.title,
        abstract: article.abstract,
        journal: article.journal?.title ?? null,
        publicationDate: article.publicationDate,
        meshHeadings: article.meshHeadings.map((h) => ({
          ui: h.descriptorUi,
          name: h.descriptorName,
          majorTopic: h.majorTopic,
        })),
        textSha256: createHash('sha256').update(text).digest('hex'),
        modelName: this.model.name,
        modelVersion: this.model.version,
        vocabularyVersion: this.options.resolver?.vocabularyVersion ?? 'model-only',
        mentions,
        processedAt,
      };
    });
  }

  private decodeRow(
    text: string,
    tokens: readonly Token[],
    outputs: { mer: Float32Array; men: Float32Array; maxLength: number },
    row: number,
  ): { mention: MentionToResolve; candidates: ConceptCandidate[]; score: number }[] {
    const { merLabels, menLabels } = this.model;
    const length = tokens.length;
    const offset = row * outputs.maxLength;
    const tags = this.decoder.viterbi(outputs.mer, offset, length);
    const spans = decodeTags(Array.from(tags, (t) => merLabels[t]));
    if (spans.length === 0) return [];
    const marginals = this.decoder.marginals(outputs.mer, offset, length);
    const nMer = merLabels.length;
    const nMen = menLabels.length;
    return spans.map((span) => {
      let confidence = 0;
      for (let t = span.start; t < span.end; t += 1) confidence += marginals[t * nMer + tags[t]];
      // Concept evidence: mean over the span's tokens of p(B-c) + p(I-c).
      const mass = new Float64Array(this.menConcepts.length);
      for (let t = span.start; t < span.end; t += 1) {
        const base = (offset + t) * nMen;
        for (let j = 0; j < nMen; j += 1) {
          const slot = this.menConcept[j];
          if (slot >= 0) mass[slot] += Math.exp(outputs.men[base + j]);
        }
      }
      const width = span.end - span.start;
      const candidates = topK(mass, 5).map(([slot, value]) => ({
        label: this.menConcepts[slot],
        score: value / width,
      }));
      const start = tokens[span.start].start;
      const end = tokens[span.end - 1].end;
      return {
        mention: { start, end, text: text.slice(start, end), type: span.label },
        candidates,
        score: confidence / width,
      };
    });
  }

  async close(): Promise<void> {
    await this.model.close();
  }
}

function topK(values: Float64Array, k: number): [number, number][] {
  const best: [number, number][] = [];
  values.forEach((value, index) => {
    if (best.length < k || value > best[best.length - 1][1]) {
      best.push([index, value]);
      best.sort((a, b) => b[1] - a[1]);
      if (best.length > k) best.pop();
    }
  });
  return best;
}

export async function createOnnxAnnotator(options: OnnxAnnotatorOptions): Promise<OnnxAnnotator> {
  return OnnxAnnotator.create(options);
}
