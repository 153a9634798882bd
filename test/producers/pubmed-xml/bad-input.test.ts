import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import type { DeadLetterInput } from '../../../src/codec/records.js';
import { parsePubmedXml } from '../../../src/producers/pubmed-xml/parse-pubmed-xml.js';
import { syntheticPubmedXml } from '../../../src/producers/pubmed-xml/synthetic.js';
import {
  FIXED_NOW,
  articles,
  chunked,
  collect,
  deadLetters,
  parseAll,
  pubmedArticle,
  pubmedArticleSet,
} from './xml-fixtures.js';

/**
 * A bad-input corpus generated here (nothing copied): each case must yield the good records
 * around the damage and dead letters with the right code, position and raw bytes.
 */

const GOOD_1 = pubmedArticle('1001');
const GOOD_3 = pubmedArticle('1003');

function only(records: DeadLetterInput[]): DeadLetterInput {
  assert.equal(records.length, 1, JSON.stringify(records.map((r) => [r.errorCode, r.message])));
  return records[0];
}

/** The two good neighbours came out intact. */
async function assertNeighboursSurvive(
  doc: string | Buffer,
  chunkSize?: number,
): Promise<DeadLetterInput[]> {
  const events = await parseAll(doc, {}, chunkSize);
  assert.deepEqual(
    articles(events).map((a) => a.pmid),
    ['1001', '1003'],
  );
  return deadLetters(events);
}

describe('bad records between good ones', () => {
  test('mismatched tags → XML_MALFORMED with the whole record, its PMID, offset and line', async () => {
    const bad =
      '<PubmedArticle><MedlineCitation><PMID Version="1">1002</PMID><Article><ArticleTitle>Broken</Article></MedlineCitation></PubmedArticle>';
    const doc = pubmedArticleSet([GOOD_1, bad, GOOD_3]);
    for (const chunkSize of [7, 64 * 1024]) {
      const record = only(await assertNeighboursSurvive(doc, chunkSize));
      assert.equal(record.errorCode, 'XML_MALFORMED');
      assert.match(record.message, /not well-formed XML/);
      assert.equal(record.value.toString('utf8'), bad);
      assert.equal(record.valueTruncated, false);
      assert.equal(record.valueSize, Buffer.byteLength(bad));
      assert.equal(record.key?.toString(), '1002');
      assert.equal(record.stage, 'producer.pubmed-xml');
      assert.equal(record.source, 'test.xml');
      assert.equal(record.position?.byteOffset, Buffer.from(doc).indexOf(bad));
      assert.equal(record.position?.line, 4);
    }
  });

  test('a record whose end tag is missing is cut at the next record', async () => {
    const bad = pubmedArticle('1002').replace('</PubmedArticle>', '');
    const record = only(await assertNeighboursSurvive(pubmedArticleSet([GOOD_1, bad, GOOD_3])));
    assert.equal(record.errorCode, 'XML_MALFORMED');
    assert.match(record.message, /end tag is missing before the next <PubmedArticle>/);
    assert.equal(record.value.toString('utf8').trim(), bad);
  });

  test('…or at the root end tag, and the document still ends cleanly', async () => {
    const bad = pubmedArticle('1004').replace('</PubmedArticle>', '');
    const events = await parseAll(pubmedArticleSet([GOOD_1, GOOD_3, bad]));
    assert.deepEqual(
      articles(events).map((a) => a.pmid),
      ['1001', '1003'],
    );
    const record = only(deadLetters(events));
    assert.equal(record.errorCode, 'XML_MALFORMED');
    assert.match(record.message, /before the root end tag/);
  });

  test('invalid UTF-8 → ENCODING_INVALID naming the byte offset', async () => {
    const [head, tail] = pubmedArticle('1002', { title: 'Caf@ au lait' }).split('@') as [
      string,
      string,
    ];
    const prefix = Buffer.from(pubmedArticleSet([GOOD_1, `${head}`]).split(head)[0] ?? '', 'utf8');
    const doc = Buffer.concat([
      prefix,
      Buffer.from(head),
      Buffer.from([0xc3, 0x28]), // a lead byte followed by a non-continuation byte
      Buffer.from(`${tail}\n${GOOD_3}\n</PubmedArticleSet>\n`),
    ]);
    const record = only(await assertNeighboursSurvive(doc));
    assert.equal(record.errorCode, 'ENCODING_INVALID');
    const badOffset = doc.indexOf(Buffer.from([0xc3, 0x28]));
    assert.match(record.message, new RegExp(`offset ${badOffset}\\b`));
    assert.equal(record.key?.toString(), '1002');
    assert.ok(record.value.includes(Buffer.from([0xc3, 0x28])));
  });

  test('an unclosed inline tag inside the abstract → XML_MALFORMED', async () => {
    const bad = pubmedArticle('1002', {
      abstractXml: '<AbstractText>An <i>unclosed tag.</AbstractText>',
    });
    const record = only(await assertNeighboursSurvive(pubmedArticleSet([GOOD_1, bad, GOOD_3])));
    assert.equal(record.errorCode, 'XML_MALFORMED');
  });

  test('an HTML entity (&nbsp;) is not XML → XML_MALFORMED, undefined entity', async () => {
    const bad = pubmedArticle('1002', { title: 'A&nbsp;title' });
    const record = only(await assertNeighboursSurvive(pubmedArticleSet([GOOD_1, bad, GOOD_3])));
    assert.equal(record.errorCode, 'XML_MALFORMED');
    assert.match(record.message, /undefined entity/);
  });

  test('no PMID, or a non-numeric one → RECORD_INVALID', async () => {
    const noPmid = pubmedArticle('1002').replace('<PMID Version="1">1002</PMID>', '');
    const letters = pubmedArticle('1002').replace('>1002</PMID>', '>12ab</PMID>');
    const records = await assertNeighboursSurvive(
      pubmedArticleSet([GOOD_1, noPmid, letters, GOOD_3]),
    );
    assert.deepEqual(
      records.map((r) => r.errorCode),
      ['RECORD_INVALID', 'RECORD_INVALID'],
    );
    assert.match(records[1]?.message ?? '', /not numeric/);
  });

  test('a stray end tag between records is reported and skipped', async () => {
    const record = only(
      await assertNeighboursSurvive(pubmedArticleSet([GOOD_1, '</Oops>', GOOD_3])),
    );
    assert.equal(record.errorCode, 'XML_MALFORMED');
    assert.match(record.message, /Stray end tag <\/Oops>/);
  });

  test('an unknown element where a record belongs → RECORD_INVALID', async () => {
    const record = only(
      await assertNeighboursSurvive(
        pubmedArticleSet([GOOD_1, '<Unexpected>x</Unexpected>', GOOD_3]),
      ),
    );
    assert.equal(record.errorCode, 'RECORD_INVALID');
  });

  test('a comment holding a fake end tag does not cut the record', async () => {
    const tricky = pubmedArticle('1002', {
      abstractXml:
        '<!-- </PubmedArticle> --><AbstractText>Real <![CDATA[</PubmedArticle>]]> text.</AbstractText>',
    });
    const events = await parseAll(pubmedArticleSet([GOOD_1, tricky, GOOD_3]));
    assert.deepEqual(deadLetters(events), []);
    assert.deepEqual(
      articles(events).map((a) => [a.pmid, a.abstract]),
      [
        ['1001', 'Abstract of 1001: patients were followed for one year.'],
        ['1002', 'Real </PubmedArticle> text.'],
        ['1003', 'Abstract of 1003: patients were followed for one year.'],
      ],
    );
  });
});

describe('size limits', () => {
  test('a 10 MB abstract → XML_TOO_LARGE, raw bytes capped at 64 KiB, neighbours intact', async () => {
    const huge = `<AbstractText>${'word '.repeat(2_000_000)}</AbstractText>`;
    const bad = pubmedArticle('1002', { abstractXml: huge });
    const doc = pubmedArticleSet([GOOD_1, bad, GOOD_3]);
    // Streamed in 64 KiB chunks, and as one 10 MB chunk (the record is never seen growing).
    const [record, whole] = [
      only(await assertNeighboursSurvive(doc)),
      only(await assertNeighboursSurvive(doc, Buffer.byteLength(doc))),
    ];
    assert.deepEqual(whole, record);
    assert.equal(record.errorCode, 'XML_TOO_LARGE');
    assert.match(record.message, /maxRecordBytes \(4194304\)/);
    assert.equal(record.valueTruncated, true);
    assert.equal(record.value.length, 64 * 1024);
    assert.equal(record.valueSize, Buffer.byteLength(bad));
    assert.ok(record.value.toString('utf8').startsWith('<PubmedArticle>'));
    assert.equal(record.key?.toString(), '1002');
  });

  test('maxTextChars rejects a record whose title + abstract is too long', async () => {
    const events = await parseAll(pubmedArticleSet([GOOD_1]), { maxTextChars: 40 });
    const record = only(deadLetters(events));
    assert.equal(record.errorCode, 'XML_TOO_LARGE');
    assert.match(record.message, /maxTextChars \(40\)/);
  });

  test('maxRawBytes caps the bytes kept in a dead letter', async () => {
    const bad = pubmedArticle('1002', { title: '<b>x</i>' });
    const events = await parseAll(pubmedArticleSet([GOOD_1, bad, GOOD_3]), { maxRawBytes: 20 });
    const record = only(deadLetters(events));
    assert.equal(record.value.length, 20);
    assert.equal(record.valueSize, Buffer.byteLength(bad));
    assert.equal(record.valueTruncated, true);
  });
});

describe('entity attacks: nothing is ever expanded or fetched', () => {
  test('billion laughs → XML_FORBIDDEN for the DOCTYPE and for the record using it', async () => {
    const entities = ['<!ENTITY lol "lol">'];
    for (let i = 1; i <= 9; i++) {
      const previous = i === 1 ? 'lol' : `lol${i - 1}`;
      entities.push(`<!ENTITY lol${i} "${`&${previous};`.repeat(10)}">`);
    }
    const doctype = `<!DOCTYPE PubmedArticleSet [\n${entities.join('\n')}\n]>`;
    const bomb = pubmedArticle('1002', { title: '&lol9;' });
    const started = performance.now();
    const records = await assertNeighboursSurvive(
      pubmedArticleSet([GOOD_1, bomb, GOOD_3], doctype),
    );
    assert.ok(performance.now() - started < 2000);
    assert.deepEqual(
      records.map((r) => r.errorCode),
      ['XML_FORBIDDEN', 'XML_FORBIDDEN'],
    );
    assert.match(records[0]?.message ?? '', /declares entities \(lol, lol1, .*lol9\)/);
    assert.match(records[1]?.message ?? '', /&lol9;/);
    assert.equal(records[1]?.key?.toString(), '1002');
  });

  test('XXE (file:///etc/passwd, parameter entity) → XML_FORBIDDEN, no file content anywhere', async () => {
    const doctype =
      '<!DOCTYPE PubmedArticleSet [\n' +
      '<!ENTITY xxe SYSTEM "file:///etc/passwd">\n' +
      '<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd">\n%remote;\n]>';
    const attack = pubmedArticle('1002', { title: 'Leak: &xxe;' });
    const events = await parseAll(pubmedArticleSet([GOOD_1, attack, GOOD_3], doctype));
    assert.deepEqual(
      articles(events).map((a) => a.pmid),
      ['1001', '1003'],
    );
    const records = deadLetters(events);
    assert.deepEqual(
      records.map((r) => r.errorCode),
      ['XML_FORBIDDEN', 'XML_FORBIDDEN'],
    );
    assert.match(records[0]?.message ?? '', /xxe, remote/);
    assert.match(records[1]?.message ?? '', /&xxe;/);
    assert.ok(!JSON.stringify(events).includes('root:'), 'no /etc/passwd content');
  });

  test('a DOCTYPE with only an external DTD (every real file) is accepted silently', async () => {
    const doctype =
      '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">';
    const records = await assertNeighboursSurvive(pubmedArticleSet([GOOD_1, GOOD_3], doctype));
    assert.deepEqual(records, []);
  });
});

describe('broken streams: one final dead letter after every record before it', () => {
  const xml = Buffer.from([...syntheticPubmedXml({ articles: 300, seed: 5 })].join(''), 'utf8');

  test('truncated gzip → all complete records, then GZIP_CORRUPT with the partial record', async () => {
    const gz = gzipSync(xml);
    for (const fraction of [0.3, 0.75]) {
      const cut = gz.subarray(0, Math.floor(gz.length * fraction));
      const readable = gunzipSync(cut, { finishFlush: constants.Z_SYNC_FLUSH });
      const complete = readable.toString('latin1').split('</PubmedArticle>').length - 1;
      const events = await collect(
        parsePubmedXml(chunked(cut, 4096), { source: 'cut.xml.gz', now: () => FIXED_NOW }),
      );
      assert.equal(articles(events).length, complete);
      const last = events.at(-1);
      assert.equal(last?.kind, 'dead-letter');
      assert.equal(deadLetters(events).length, 1);
      if (last?.kind === 'dead-letter') {
        assert.equal(last.record.errorCode, 'GZIP_CORRUPT');
        assert.match(last.record.message, /unexpected end of file/);
        assert.ok(last.record.value.toString('utf8').startsWith('<PubmedArticle>'));
      }
    }
  });

  test('corrupt gzip data → GZIP_CORRUPT', async () => {
    const gz = gzipSync(xml);
    gz.fill(0x55, 2000, 2100);
    const events = await collect(parsePubmedXml(chunked(gz, 4096), { source: 'bad.xml.gz' }));
    assert.equal(deadLetters(events).at(-1)?.errorCode, 'GZIP_CORRUPT');
    assert.equal(deadLetters(events).length, 1);
  });

  test('input ending inside a record → XML_TRUNCATED', async () => {
    const cut = xml.subarray(0, Math.floor(xml.length / 2));
    const complete = cut.toString('latin1').split('</PubmedArticle>').length - 1;
    const events = await parseAll(cut);
    assert.equal(articles(events).length, complete);
    const record = only(deadLetters(events));
    assert.equal(record.errorCode, 'XML_TRUNCATED');
    assert.match(record.message, /inside <PubmedArticle>/);
    assert.equal(events.at(-1)?.kind, 'dead-letter');
  });

  test('root never closed (unclosed tag at EOF) → XML_TRUNCATED after all records', async () => {
    const doc = pubmedArticleSet([GOOD_1, GOOD_3]).replace('</PubmedArticleSet>\n', '');
    const record = only(await assertNeighboursSurvive(doc));
    assert.equal(record.errorCode, 'XML_TRUNCATED');
    assert.match(record.message, /before <\/PubmedArticleSet>/);
  });

  test('content after the root → XML_STREAM_MALFORMED', async () => {
    const doc = `${pubmedArticleSet([GOOD_1, GOOD_3])}<PubmedArticleSet>`;
    const record = only(await assertNeighboursSurvive(doc));
    assert.equal(record.errorCode, 'XML_STREAM_MALFORMED');
  });

  test('not XML at all (an HTML error page) → XML_STREAM_MALFORMED, nothing else', async () => {
    const events = await parseAll('Service Unavailable\n<html><body>503</body></html>');
    assert.equal(events.length, 1);
    assert.equal(deadLetters(events)[0]?.errorCode, 'XML_STREAM_MALFORMED');
  });

  test('empty input → XML_TRUNCATED', async () => {
    const events = await parseAll('');
    assert.equal(only(deadLetters(events)).errorCode, 'XML_TRUNCATED');
  });

  test('an error of the input itself is rethrown unchanged, after the records before it', async () => {
    const failure = new Error('connection reset');
    async function* failing(): AsyncGenerator<Uint8Array> {
      await Promise.resolve();
      yield Buffer.from(pubmedArticleSet([GOOD_1, GOOD_3]).replace('</PubmedArticleSet>\n', ''));
      throw failure;
    }
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const event of parsePubmedXml(failing(), { source: 'net' })) {
        if (event.kind === 'article') seen.push(event.article.pmid);
      }
    }, failure);
    assert.deepEqual(seen, ['1001', '1003']);
  });
});
