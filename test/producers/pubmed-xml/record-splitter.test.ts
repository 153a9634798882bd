import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RecordSplitter } from '../../../src/producers/pubmed-xml/record-splitter.js';
import type { RecordVerdict, Segment } from '../../../src/producers/pubmed-xml/record-splitter.js';
import { parseAll, pubmedArticle, pubmedArticleSet } from './xml-fixtures.js';

/** Framing must not depend on where the input is cut into chunks. */

interface Framed {
  type: string;
  name?: string;
  text?: string;
  code?: string;
  byteOffset?: number;
  line?: number;
}

function frame(
  doc: Buffer,
  chunkSize: number,
  verdict: (s: Segment) => RecordVerdict = () => undefined,
): Framed[] {
  const out: Framed[] = [];
  const splitter = new RecordSplitter(
    { maxRecordBytes: 1 << 20, maxRawBytes: 1 << 16 },
    (segment) => {
      const answer = verdict(segment);
      // Like the real callback: a span sent back for reframing is not reported.
      if (answer !== undefined && answer.reframe === true) return answer;
      switch (segment.type) {
        case 'record':
          out.push({
            type: 'record',
            name: segment.name,
            text: Buffer.from(segment.bytes).toString('utf8'),
            byteOffset: segment.byteOffset,
            line: segment.line,
          });
          break;
        case 'error':
          out.push({
            type: 'error',
            code: segment.code,
            byteOffset: segment.byteOffset,
            line: segment.line,
          });
          break;
        case 'doctype':
          out.push({ type: 'doctype', byteOffset: segment.byteOffset, line: segment.line });
          break;
        case 'root':
          out.push({ type: 'root', name: segment.name });
          break;
      }
      return answer;
    },
  );
  for (let i = 0; i < doc.length; i += chunkSize) splitter.push(doc.subarray(i, i + chunkSize));
  splitter.end();
  return out;
}

function document(title: string): Buffer {
  return Buffer.from(
    '\ufeff<?xml version="1.0" encoding="UTF-8"?>\r\n' +
      '<!-- a comment with <PubmedArticle> in it -->\n' +
      '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle//EN" "x.dtd">\n' +
      '<PubmedArticleSet a="1 > 0">\n' +
      `${pubmedArticle('1', { title })}\n` +
      '<?processing instruction?>\n' +
      `<!-- between\nrecords -->${pubmedArticle('2')}\n` +
      '<DeleteCitation>\n<PMID Version="1">3</PMID>\n<PMID Version="1">4</PMID>\n</DeleteCitation>\n' +
      '</PubmedArticleSet >\n<!-- trailing comment -->\n',
    'utf8',
  );
}

/** Framing alone accepts every span; the CDATA trick needs the parser's verdict (below). */
const DOC = document('Ünïcödé – 東京 <![CDATA[<b>]]>');
const TRICKY_DOC = document('Ünïcödé – 東京 <![CDATA[</PubmedArticle>]]>');

describe('RecordSplitter', () => {
  test('same segments for every chunk size, 1 byte included', () => {
    const reference = frame(DOC, DOC.length);
    assert.deepEqual(
      reference.map((s) => [s.type, s.name ?? s.code ?? '']),
      [
        ['doctype', ''],
        ['root', 'PubmedArticleSet'],
        ['record', 'PubmedArticle'],
        ['record', 'PubmedArticle'],
        ['record', 'DeleteCitation'],
      ],
    );
    for (const size of [1, 2, 3, 5, 13, 64, 1000])
      assert.deepEqual(frame(DOC, size), reference, `chunk size ${size}`);
  });

  test('byte offsets and lines (LF, CRLF) of records', () => {
    const records = frame(DOC, 17).filter((s) => s.type === 'record');
    for (const record of records) {
      assert.equal(
        DOC.subarray(record.byteOffset as number)
          .toString('utf8')
          .startsWith(record.text as string),
        true,
      );
    }
    assert.deepEqual(
      records.map((r) => r.line),
      [5, 8, 9],
    );
  });

  test('a fast span that fails is reframed carefully and delivered again', () => {
    const missingEnd = pubmedArticle('1').replace('</PubmedArticle>', '');
    const doc = Buffer.from(pubmedArticleSet([missingEnd, pubmedArticle('2')]));
    let asked = 0;
    const segments = frame(doc, 50, (s) => {
      // What the parser does: a span holding two records is not well-formed.
      if (
        s.type === 'record' &&
        s.fast &&
        Buffer.from(s.bytes).toString().split('<PubmedArticle>').length > 2
      ) {
        asked++;
        return { reframe: true };
      }
      return undefined;
    });
    assert.equal(asked, 1);
    assert.deepEqual(
      segments.filter((s) => s.type !== 'root').map((s) => [s.type, s.code ?? s.name]),
      [
        ['error', 'XML_MALFORMED'],
        ['record', 'PubmedArticle'],
      ],
    );
  });

  test('parse results do not depend on chunking either, fake end tag in CDATA included', async () => {
    const reference = await parseAll(TRICKY_DOC);
    for (const size of [1, 7, 333])
      assert.deepEqual(await parseAll(TRICKY_DOC, {}, size), reference);
    assert.equal(
      reference[0]?.kind === 'article' && reference[0].article.title,
      'Ünïcödé – 東京 </PubmedArticle>',
    );
    assert.deepEqual(
      reference.map((e) => e.kind),
      ['article', 'article', 'delete', 'delete'],
    );
  });
});
