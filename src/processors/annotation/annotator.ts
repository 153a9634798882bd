import { createHash } from 'node:crypto';
import type { AnnotatedArticle, Article, Mention } from '../../codec/records.js';
import { articleText } from '../../codec/records.js';

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

/**
 * The one place an Article and its mentions become an AnnotatedArticle: the article fields the
 * sinks need, the hash of the annotated text (offsets are only valid for that text), and the
 * versions that produced the mentions.
 */
export function annotatedArticle(
  article: Article,
  mentions: Mention[],
  producedBy: { modelName: string; modelVersion: string; vocabularyVersion: string },
  processedAt: number,
): AnnotatedArticle {
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
    textSha256: createHash('sha256').update(articleText(article)).digest('hex'),
    ...producedBy,
    mentions,
    processedAt,
  };
}
