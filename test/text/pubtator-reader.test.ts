import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MedStreamError } from '../../src/errors.js';
import {
  addPubTatorStats,
  emptyPubTatorStats,
  normalizeConceptId,
  parseConceptIds,
  parsePubTator,
  readPubTatorFile,
  readPubTatorLines,
} from '../../src/text/pubtator-reader.js';
import type { PubTatorDocument } from '../../src/text/pubtator-reader.js';
import { CDR_DOC, NCBI_DOC, pubtatorDocument, pubtatorFile } from './pubtator-fixture.js';

const isCode =
  (code: string) =>
  (error: unknown): boolean =>
    error instanceof MedStreamError && error.code === code;

test('reads title, abstract, mentions and relations; text = title + " " + abstract', () => {
  const [doc] = parsePubTator(pubtatorFile([CDR_DOC]));
  assert.ok(doc);
  assert.equal(doc.pmid, '1000001');
  assert.equal(doc.text, `${CDR_DOC.title} ${CDR_DOC.abstract}`);
  assert.equal(doc.mentions.length, CDR_DOC.mentions.length);
  for (const m of doc.mentions) {
    assert.equal(doc.text.slice(m.start, m.end), m.text);
    assert.ok(m.textMatches);
  }
  const composite = doc.mentions[3];
  assert.deepEqual(composite.ids, ['MESH:D058186', 'MESH:D017093']);
  assert.equal(composite.idJoiner, '|');
  assert.deepEqual(composite.parts, ['acute renal failure', 'hepatic failure']);
  assert.deepEqual(doc.mentions[6].ids, []); // -1 = no ID
  assert.deepEqual(doc.relations, [
    { type: 'CID', args: ['MESH:D002945', 'MESH:D007674'], line: 10 },
  ]);
});

test('NCBI quirks: `+` composites, stray spaces, MESH: prefix, OMIM IDs', () => {
  const [doc] = parsePubTator(pubtatorFile([NCBI_DOC]));
  assert.deepEqual(
    doc.mentions.map((m) => [m.type, m.ids, m.idJoiner]),
    [
      ['CompositeMention', ['MESH:D061325', 'OMIM:604370'], '+'],
      ['CompositeMention', ['MESH:D001943', 'MESH:D010051'], '|'],
      ['Modifier', ['MESH:D005199'], null],
      ['SpecificDisease', ['OMIM:208900'], null],
    ],
  );
});

test('ID normalization', () => {
  assert.equal(normalizeConceptId(' D008661'), 'MESH:D008661');
  assert.equal(normalizeConceptId('MESH:C535662'), 'MESH:C535662');
  assert.equal(normalizeConceptId('mesh:D1'), 'MESH:D1');
  assert.equal(normalizeConceptId('OMIM:106210 '), 'OMIM:106210');
  assert.equal(normalizeConceptId('106210'), 'OMIM:106210');
  assert.equal(normalizeConceptId('-1'), undefined);
  assert.equal(normalizeConceptId(''), undefined);
  assert.deepEqual(parseConceptIds('D1|D1|-1'), { ids: ['MESH:D1'], joiner: null });
  assert.deepEqual(parseConceptIds('D1+ D2'), { ids: ['MESH:D1', 'MESH:D2'], joiner: '+' });
});

test('duplicate documents are yielded as they appear; stats count PMIDs once', () => {
  const content = pubtatorFile([NCBI_DOC, CDR_DOC, NCBI_DOC]);
  const docs = parsePubTator(content);
  assert.deepEqual(
    docs.map((d) => d.pmid),
    ['2000002', '1000001', '2000002'],
  );
  const stats = emptyPubTatorStats();
  const seen = new Set<string>();
  for (const d of docs) addPubTatorStats(stats, d, seen);
  assert.equal(stats.documents, 3);
  assert.equal(stats.uniquePmids, 2);
  assert.equal(stats.mentions, 2 * NCBI_DOC.mentions.length + CDR_DOC.mentions.length);
  assert.equal(stats.relations, 1);
  assert.equal(stats.mentionsWithoutId, 1);
});

test('a mention column that differs from the text is flagged and counted, not thrown', () => {
  const content = pubtatorDocument({
    ...CDR_DOC,
    mentions: [
      {
        text: 'acute renal failure',
        type: 'Disease',
        ids: 'D058186',
        column: 'acute  renal failure ',
      },
      { text: 'Cisplatin', type: 'Chemical', ids: 'D002945', column: 'Carboplatin' },
    ],
    relations: [],
  });
  const [doc] = parsePubTator(content);
  assert.deepEqual(
    doc.mentions.map((m) => m.textMatches),
    [false, false],
  );
  const stats = emptyPubTatorStats();
  addPubTatorStats(stats, doc, new Set());
  assert.equal(stats.textMismatches, 2);
  assert.equal(stats.whitespaceOnlyMismatches, 1);
});

test('tolerates CRLF, a trailing tab, a missing blank line and leading blank lines', () => {
  const text = 'Aspirin overdose';
  const content = [
    '',
    `1|t|${text}\r`,
    '1|a|\r',
    '1\t0\t7\tAspirin\tChemical\tD001241\t\r',
    `2|t|${text}`,
    '2|a|Nothing here.',
    '',
    '',
  ].join('\n');
  const docs = parsePubTator(content);
  assert.equal(docs.length, 2);
  assert.equal(docs[0].text, `${text} `);
  assert.deepEqual(docs[0].mentions[0].parts, []);
  assert.equal(docs[0].mentions[0].textMatches, true);
});

test('structural damage throws PUBTATOR_MALFORMED with the line number', () => {
  const bad: [string, string][] = [
    ['1\t0\t3\tabc\tDisease\tD1', 'annotation before title'],
    ['1|t|abc\n2\t0\t3\tabc\tDisease\tD1', 'PMID changes'],
    ['1|t|abc\n1\t0\t30\tabc\tDisease\tD1', 'offsets out of range'],
    ['1|t|abc\n1\t2\t1\tabc\tDisease\tD1', 'end before start'],
    ['1|t|abc\n1\t0\tx\tabc\tDisease\tD1', 'end not a number'],
    ['1|t|abc\n1\t0\t3\tabc', 'too few columns'],
    ['1|t|abc\n2|a|def', 'abstract without its title'],
    ['1|x|abc', 'unknown kind'],
    ['just some words', 'not PubTator'],
  ];
  for (const [content, why] of bad) {
    assert.throws(() => parsePubTator(content), isCode('PUBTATOR_MALFORMED'), why);
  }
  assert.throws(
    () => parsePubTator('1|t|abc\n1\t0\t30\tabc\tDisease\tD1', 'x.txt'),
    (error: unknown) =>
      error instanceof MedStreamError &&
      error.message.includes('x.txt:2') &&
      error.details.line === 2,
  );
});

test('streams from lines and from a file', async () => {
  const content = pubtatorFile([CDR_DOC, NCBI_DOC]);
  const fromLines: PubTatorDocument[] = [];
  async function* lines(): AsyncGenerator<string> {
    for (const line of content.split('\n')) {
      await Promise.resolve(); // a truly asynchronous source
      yield line;
    }
  }
  for await (const doc of readPubTatorLines(lines())) fromLines.push(doc);
  assert.deepEqual(fromLines, parsePubTator(content));

  const dir = await mkdtemp(join(tmpdir(), 'medstream-pubtator-'));
  try {
    const path = join(dir, 'corpus.txt');
    await writeFile(path, content);
    const fromFile: PubTatorDocument[] = [];
    for await (const doc of readPubTatorFile(path)) fromFile.push(doc);
    assert.deepEqual(fromFile, fromLines);
    await assert.rejects(async () => {
      for await (const doc of readPubTatorFile(join(dir, 'missing.txt'))) void doc;
    }, isCode('INPUT_NOT_FOUND'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
