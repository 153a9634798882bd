import type { AnnotatedArticle, Article } from '../../codec/records.js';

/**
 * The transform at the heart of the processor stage, independent of transport: the Kafka
 * processor and the in-process pipeline both call it with micro-batches of articles.
 *
 * Contract: returns exactly one AnnotatedArticle per input article, in input order. It throws
 * only for failures of the batch as a whole (model not loaded, runtime error), never for one
 * bad article: callers validate records (size, encoding) before handing them over.
 */
export interface Annotator {
  readonly modelName: string;
  readonly modelVersion: string;
  /** Longest text (UTF-16 code units) the annotator accepts; longer records are dead-lettered. */
  readonly maxTextChars: number;
  annotate(articles: readonly Article[]): Promise<AnnotatedArticle[]>;
  close(): Promise<void>;
}
