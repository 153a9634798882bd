import type { AnnotatedArticle, Article, DeadLetterInput } from '../codec/records.js';
import { articleText } from '../codec/records.js';
import type { PubmedEvent } from '../producers/pubmed-xml/parse-pubmed-xml.js';
import { BoundedQueue } from '../transport/bounded-queue.js';
import type { Annotator } from './annotation/annotator.js';
import { microBatches } from './batching/micro-batcher.js';

export type AnnotatedEvent =
  | { kind: 'annotated'; record: AnnotatedArticle }
  | { kind: 'delete'; pmid: string }
  | { kind: 'dead-letter'; record: DeadLetterInput };

export interface InProcessOptions {
  /** Articles buffered between the reader and the annotator. */
  queueCapacity?: number;
  maxBatchArticles?: number;
  maxBatchChars?: number;
  maxDelayMs?: number;
}

/**
 * The processor stage on one machine: the reader runs ahead of the annotator by at most
 * `queueCapacity` events (a bounded queue, not Kafka), so XML parsing overlaps with inference,
 * which runs on onnxruntime's own threads. Output order equals input order.
 */
export async function* annotateInProcess(
  events: AsyncIterable<PubmedEvent>,
  annotator: Annotator,
  options: InProcessOptions = {},
): AsyncGenerator<AnnotatedEvent> {
  const queue = new BoundedQueue<PubmedEvent>(options.queueCapacity ?? 1024);
  const reader = (async () => {
    try {
      for await (const event of events) await queue.push(event);
      queue.close();
    } catch (error) {
      queue.fail(error);
    }
  })();
  const batches = microBatches(queue, {
    maxItems: options.maxBatchArticles ?? 64,
    maxWeight: options.maxBatchChars ?? 200_000,
    weight: (e) => (e.kind === 'article' ? articleText(e.article).length : 0),
    maxDelayMs: options.maxDelayMs ?? 50,
  });
  try {
    for await (const batch of batches) {
      // Length checked once per article: it decides both what is annotated and what is not.
      const fits = batch.map(
        (e) => e.kind === 'article' && articleText(e.article).length <= annotator.maxTextChars,
      );
      const articles: Article[] = [];
      batch.forEach((e, i) => {
        if (fits[i] === true && e.kind === 'article') articles.push(e.article);
      });
      const annotated = articles.length === 0 ? [] : await annotator.annotate(articles);
      let next = 0;
      for (const [i, event] of batch.entries()) {
        if (event.kind === 'delete') yield { kind: 'delete', pmid: event.pmid };
        else if (event.kind === 'dead-letter') yield { kind: 'dead-letter', record: event.record };
        else if (fits[i] === true) yield { kind: 'annotated', record: annotated[next++] };
        else yield { kind: 'dead-letter', record: tooLarge(event.article, annotator.maxTextChars) };
      }
    }
  } finally {
    queue.close();
    await reader;
  }
}

function tooLarge(article: Article, max: number): DeadLetterInput {
  const value = Buffer.from(JSON.stringify(article).slice(0, 65_536));
  return {
    key: Buffer.from(article.pmid),
    value,
    valueTruncated: true,
    valueSize: value.length,
    stage: 'processor',
    errorCode: 'RECORD_TOO_LARGE',
    message: `text of ${articleText(article).length} characters exceeds the annotator's ${max}`,
    source: article.source,
    position: null,
  };
}
