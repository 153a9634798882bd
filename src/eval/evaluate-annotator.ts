import type { Article } from '../codec/records.js';
import type { Annotator } from '../processors/annotation/annotator.js';
import type { PubTatorDocument } from '../text/pubtator-reader.js';
import type { EvalDocument } from './corpus-metrics.js';
import { evaluateConcepts, evaluateMentions } from './corpus-metrics.js';
import type { ScoreSet } from './prf.js';

export interface AnnotatorEvaluation {
  documents: number;
  ner: ScoreSet;
  nen: ScoreSet;
  seconds: number;
}

/** A corpus document as the pipeline sees an article: only its title and abstract. */
export function documentAsArticle(doc: PubTatorDocument): Article {
  return {
    pmid: doc.pmid,
    version: 1,
    title: doc.title,
    abstract: doc.abstract,
    sections: [],
    journal: null,
    publicationDate: null,
    meshHeadings: [],
    dateRevised: null,
    source: 'corpus',
    ingestedAt: 0,
  };
}

/**
 * Runs the served annotator (the processor's own code path) over corpus documents and scores
 * it: strict mention NER and document-level concept NEN, restricted to the corpus's types.
 */
export async function evaluateAnnotator(
  annotator: Annotator,
  documents: readonly PubTatorDocument[],
  options: { types: readonly string[]; typeOf: (corpusType: string) => string; batch?: number },
): Promise<AnnotatorEvaluation> {
  const started = performance.now();
  const predicted: EvalDocument[] = [];
  const batch = options.batch ?? 64;
  for (let i = 0; i < documents.length; i += batch) {
    const articles = documents.slice(i, i + batch).map(documentAsArticle);
    for (const annotated of await annotator.annotate(articles)) {
      predicted.push({ pmid: annotated.pmid, mentions: annotated.mentions });
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const gold: EvalDocument[] = documents.map((d) => ({
    pmid: d.pmid,
    mentions: d.mentions.map((m) => ({ ...m, type: options.typeOf(m.type) })),
  }));
  const scoring = { types: options.types };
  return {
    documents: documents.length,
    ner: evaluateMentions(gold, predicted, scoring),
    nen: evaluateConcepts(gold, predicted, scoring),
    seconds,
  };
}
