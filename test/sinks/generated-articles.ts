import { createHash } from 'node:crypto';
import type { AnnotatedArticle, Mention } from '../../src/codec/records.js';
import { articleText } from '../../src/codec/records.js';
import type { SinkRecord } from '../../src/sinks/sink.js';

/**
 * Deterministic annotated articles for sink tests: the same seed gives the same articles, so a
 * test can compute the expected index or graph independently from the input it wrote.
 */

/** A small xorshift PRNG: reproducible without a dependency. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

export interface GeneratedConcept {
  readonly id: string;
  readonly name: string;
  readonly type: 'Disease' | 'Chemical';
}

/**
 * `count` concepts with ids unique to `namespace` (e.g. a test run id), so that tests sharing a
 * server never see each other's concepts: `MESH:T<namespace>D0001`, …
 */
export function generatedConcepts(namespace: string, count = 60): GeneratedConcept[] {
  const concepts: GeneratedConcept[] = [];
  for (let i = 0; i < count; i += 1) {
    const type = i % 3 === 0 ? 'Chemical' : 'Disease';
    const n = String(i).padStart(4, '0');
    concepts.push({
      id: `MESH:T${namespace}${type === 'Chemical' ? 'C' : 'D'}${n}`,
      name: `${type === 'Chemical' ? 'compound' : 'syndrome'} ${n}`,
      type,
    });
  }
  return concepts;
}

export interface GenerateOptions {
  /** First PMID; PMIDs are consecutive from here. */
  readonly firstPmid: number;
  readonly count: number;
  readonly concepts: readonly GeneratedConcept[];
  readonly seed: number;
  /** Written into `modelVersion`; a different value gives different mentions for the same PMID. */
  readonly modelVersion?: string;
  /** Most mentions per article (some articles get none). */
  readonly maxMentions?: number;
}

/**
 * Articles whose mentions are real spans of their text: each mention's concept name is written
 * into the abstract, so `text.slice(start, end) === mention.text` holds like in real output.
 */
export function generateArticles(options: GenerateOptions): AnnotatedArticle[] {
  const modelVersion = options.modelVersion ?? '1.0.0';
  const random = prng(options.seed);
  const maxMentions = options.maxMentions ?? 8;
  const articles: AnnotatedArticle[] = [];
  for (let i = 0; i < options.count; i += 1) {
    const pmid = String(options.firstPmid + i);
    const title = `Study ${pmid} of outcomes in a cohort`;
    const k = Math.floor(random() * (maxMentions + 1));
    const parts: string[] = ['We examined'];
    const spans: { offset: number; concept: GeneratedConcept; score: number }[] = [];
    let abstract = parts[0] ?? '';
    for (let j = 0; j < k; j += 1) {
      const concept = options.concepts[Math.floor(random() * options.concepts.length)];
      if (concept === undefined) continue;
      abstract += j === 0 ? ' ' : ' and ';
      // Scores are Avro floats: keep them exactly representable in 32 bits.
      const score = Math.fround(Math.round(random() * 1000) / 1000);
      spans.push({ offset: abstract.length, concept, score });
      abstract += concept.name;
    }
    abstract += ' in patients (±5%, α-level 0.05).';
    const textOffset = title.length + 1;
    const mentions: Mention[] = spans.map(({ offset, concept, score }) => ({
      start: textOffset + offset,
      end: textOffset + offset + concept.name.length,
      text: concept.name,
      type: concept.type,
      ids: [concept.id],
      score,
      source: 'model',
    }));
    const text = articleText({ title, abstract });
    articles.push({
      pmid,
      version: 1,
      title,
      abstract,
      journal: 'Journal of Generated Results',
      publicationDate: `20${String(10 + (i % 15))}-0${1 + (i % 9)}-1${i % 10}`,
      meshHeadings: [],
      textSha256: createHash('sha256').update(text).digest('hex'),
      modelName: 'generated',
      modelVersion,
      vocabularyVersion: 'generated-vocab-1',
      mentions,
      processedAt: 1_700_000_000_000 + i,
    });
  }
  return articles;
}

/** Upserts as sink records with consecutive versions starting at `firstVersion`. */
export function asSinkRecords(
  articles: readonly AnnotatedArticle[],
  firstVersion = 1,
): SinkRecord[] {
  return articles.map((article, i) => ({
    pmid: article.pmid,
    article,
    version: firstVersion + i,
    origin: null,
  }));
}

/** A deletion (tombstone) record. */
export function deletion(pmid: string, version: number): SinkRecord {
  return { pmid, article: null, version, origin: null };
}
