import { setTimeout as sleep } from 'node:timers/promises';
import type { AnnotatedArticle, Article } from '../../src/codec/records.js';
import { articleText } from '../../src/codec/records.js';
import type { Annotator } from '../../src/processors/annotation/annotator.js';
import { annotatedArticle } from '../../src/processors/annotation/annotator.js';

export interface KeywordAnnotatorOptions {
  /** The word marked as a Disease mention wherever it occurs (case-insensitive, whole word). */
  word?: string;
  maxTextChars?: number;
  /** Simulated model time, so a kill can land in the middle of a batch. */
  delayMsPerArticle?: number;
  /** PMIDs whose annotation is made unencodable (a mention type that is not a string). */
  breakPmids?: readonly string[];
}

/**
 * A deterministic stand-in for the ONNX annotator in tests: every occurrence of one word is a
 * `Disease` mention normalized to `MESH:D009369`. It honours the Annotator contract (one result
 * per input, in order) and records the batch sizes it was called with.
 */
export class KeywordAnnotator implements Annotator {
  readonly modelName = 'test-keyword';
  readonly modelVersion = '1';
  readonly maxTextChars: number;
  readonly batches: number[] = [];
  closed = false;
  private readonly pattern: RegExp;

  constructor(private readonly options: KeywordAnnotatorOptions = {}) {
    this.maxTextChars = options.maxTextChars ?? 100_000;
    const word = (options.word ?? 'cancer').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.pattern = new RegExp(`\\b${word}\\b`, 'gi');
  }

  async annotate(articles: readonly Article[]): Promise<AnnotatedArticle[]> {
    this.batches.push(articles.length);
    const delay = (this.options.delayMsPerArticle ?? 0) * articles.length;
    if (delay > 0) await sleep(delay);
    return articles.map((article) => {
      const text = articleText(article);
      const broken = this.options.breakPmids?.includes(article.pmid) === true;
      const mentions = [...text.matchAll(this.pattern)].map((m) => ({
        start: m.index,
        end: m.index + m[0].length,
        text: m[0],
        type: broken ? (42 as unknown as string) : 'Disease',
        ids: ['MESH:D009369'],
        score: 1,
        source: 'dictionary' as const,
      }));
      const producedBy = {
        modelName: this.modelName,
        modelVersion: this.modelVersion,
        vocabularyVersion: 'test',
      };
      return annotatedArticle(article, mentions, producedBy, 1_700_000_000_000);
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

/** An Article with the given text, for tests that need exact control over it. */
export function testArticle(pmid: string, title: string, abstract: string): Article {
  return {
    pmid,
    version: 1,
    title,
    abstract,
    sections: [{ label: null, category: null, text: abstract }],
    journal: { title: 'Test Journal', isoAbbreviation: null, issn: null },
    publicationDate: '2024-01-01',
    meshHeadings: [],
    dateRevised: null,
    source: 'test',
    ingestedAt: 1_700_000_000_000,
  };
}
