import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnnotatedArticle, Article } from '../../src/codec/records.js';
import { articleText } from '../../src/codec/records.js';
import type { Annotator } from '../../src/processors/annotation/annotator.js';
import { annotatedArticle } from '../../src/processors/annotation/annotator.js';
import { annotateInProcess } from '../../src/processors/in-process.js';
import type { PubmedEvent } from '../../src/producers/pubmed-xml/parse-pubmed-xml.js';

/** Marks every "fever" as a Disease: enough to follow records through the stage. */
class WordAnnotator implements Annotator {
  readonly modelName = 'word';
  readonly modelVersion = '1';
  readonly maxTextChars = 200;
  batches: number[] = [];

  annotate(articles: readonly Article[]): Promise<AnnotatedArticle[]> {
    this.batches.push(articles.length);
    return Promise.resolve(
      articles.map((a) => {
        const text = articleText(a);
        const mentions = [...text.matchAll(/fever/g)].map((m) => ({
          start: m.index,
          end: m.index + 5,
          text: 'fever',
          type: 'Disease',
          ids: ['MESH:D005334'],
          score: 1,
          source: 'model' as const,
        }));
        const producedBy = {
          modelName: this.modelName,
          modelVersion: this.modelVersion,
          vocabularyVersion: 'test',
        };
        return annotatedArticle(a, mentions, producedBy, 0);
      }),
    );
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function article(pmid: string, abstract: string): PubmedEvent {
  return {
    kind: 'article',
    article: {
      pmid,
      version: 1,
      title: `Title ${pmid}`,
      abstract,
      sections: [],
      journal: null,
      publicationDate: null,
      meshHeadings: [],
      dateRevised: null,
      source: 'test',
      ingestedAt: 0,
    },
  };
}

async function* events(list: PubmedEvent[]): AsyncGenerator<PubmedEvent> {
  for (const e of list) {
    await Promise.resolve();
    yield e;
  }
}

test('keeps input order; deletions pass through; oversized text is dead-lettered', async () => {
  const input: PubmedEvent[] = [];
  for (let i = 0; i < 300; i += 1) {
    input.push(article(String(i), i % 7 === 0 ? 'a fever again, fever' : 'nothing here'));
    if (i % 50 === 0) input.push({ kind: 'delete', pmid: `d${i}`, source: 'test' });
  }
  input.push(article('big', 'x'.repeat(500)));
  const annotator = new WordAnnotator();
  const out = [];
  for await (const e of annotateInProcess(events(input), annotator, { maxBatchArticles: 16 })) {
    out.push(e);
  }
  assert.equal(out.length, input.length);
  out.forEach((e, i) => {
    const source = input[i];
    if (source.kind === 'delete') assert.deepEqual(e, { kind: 'delete', pmid: source.pmid });
    else if (source.kind === 'article' && source.article.pmid === 'big') {
      assert.equal(e.kind, 'dead-letter');
      if (e.kind === 'dead-letter') assert.equal(e.record.errorCode, 'RECORD_TOO_LARGE');
    } else {
      assert.equal(e.kind, 'annotated');
      if (e.kind === 'annotated' && source.kind === 'article') {
        assert.equal(e.record.pmid, source.article.pmid);
        const expected = Number(source.article.pmid) % 7 === 0 ? 2 : 0;
        assert.equal(e.record.mentions.length, expected);
      }
    }
  });
  assert.ok(annotator.batches.every((n) => n <= 16));
});

test('a reader failure ends the stage with that error', async () => {
  async function* broken(): AsyncGenerator<PubmedEvent> {
    yield article('1', 'fever');
    await Promise.resolve();
    throw new Error('disk gone');
  }
  await assert.rejects(async () => {
    for await (const e of annotateInProcess(broken(), new WordAnnotator())) void e;
  }, /disk gone/);
});
