import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AnnotatedArticle, Mention } from '../../../src/codec/records.js';
import type { MedStreamError } from '../../../src/errors.js';
import {
  csvArray,
  csvField,
  exportKnowledgeGraphCsv,
  neo4jAdminImportArguments,
} from '../../../src/sinks/knowledge-graph/csv-export.js';
import type { ConceptLookup } from '../../../src/sinks/knowledge-graph/graph-model.js';
import { asSinkRecords, generateArticles, generatedConcepts } from '../generated-articles.js';
import { expectedGraph } from './expected-graph.js';
import { assertSameGraph } from './graph-snapshot.js';
import { parseCsv, readExportedGraph } from './import-csv.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'medstream-kg-csv-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('fields are quoted with doubled quotes; null is an empty unquoted field', () => {
  assert.equal(csvField('plain'), '"plain"');
  assert.equal(csvField('a "quoted", comma'), '"a ""quoted"", comma"');
  assert.equal(csvField(''), '""');
  assert.equal(csvField(null), '');
  assert.equal(csvArray(['1-4', '9-12']), '"1-4;9-12"');
  assert.equal(csvArray([]), '');
  const tricky = ['', 'x', 'He said "no", twice', '"', '""', 'a,b', 'line\nbreak', 'α-β ±5%'];
  const line = [...tricky.map(csvField), csvField(null)].join(',');
  assert.deepEqual(parseCsv(`${line}\n`), [[...tricky, null]]);
});

const mention = (start: number, end: number, ids: string[], type: string, text: string) =>
  ({ start, end, text, type, ids, score: 0.5, source: 'model' }) satisfies Mention;

function article(pmid: string, title: string, mentions: Mention[]): AnnotatedArticle {
  return {
    pmid,
    version: 1,
    title,
    abstract: '',
    journal: null,
    publicationDate: pmid === '11' ? null : '2019-03-02',
    meshHeadings: [],
    textSha256: '',
    modelName: 'bc5cdr',
    modelVersion: '2.0',
    vocabularyVersion: 'v',
    mentions,
    processedAt: 0,
  };
}

test('a small export, file by file, in the format neo4j-admin imports', async (t) => {
  const dir = await tempDir(t);
  const lookup: ConceptLookup = (id) =>
    id === 'MESH:D008094' ? { name: 'Lithium', type: 'Chemical' } : undefined;
  const rejected: Array<[string, MedStreamError]> = [];
  const summary = await exportKnowledgeGraphCsv(
    [
      article('10', 'Lithium, "polyuria" and NDI', [
        mention(0, 7, ['MESH:D008094'], 'Chemical', 'Lithium'),
        mention(10, 18, ['MESH:D011141'], 'Disease', 'polyuria'),
        mention(30, 33, ['OMIM:304800'], 'Disease', 'NDI'),
        mention(40, 47, ['MESH:D008094'], 'Chemical', 'lithium'),
      ]),
      article('11', 'Polyuria', [mention(0, 8, ['MESH:D011141'], 'Disease', 'Polyuria')]),
      article('10', 'A second record of PMID 10', []),
      article('12', 'Bad id', [mention(0, 3, ['D1'], 'Disease', 'Bad')]),
    ],
    {
      dir,
      conceptLookup: lookup,
      versionOf: (a) => (a.pmid === '10' ? 5 : -1),
      onRejected: (pmid, error) => rejected.push([pmid, error]),
    },
  );
  const files = Object.fromEntries(
    await Promise.all(
      ['articles', 'concepts', 'mentions', 'co_occurs'].map(
        async (name) => [name, await readFile(join(dir, `${name}.csv`), 'utf8')] as const,
      ),
    ),
  );
  assert.equal(
    files.articles,
    'pmid:ID(Article),version:long,articleVersion:int,title,modelName,modelVersion,' +
      'publicationDate,pairedConcepts:string[],:LABEL\n' +
      '"10",5,1,"Lithium, ""polyuria"" and NDI","bc5cdr","2.0","2019-03-02",' +
      '"MESH:D008094;MESH:D011141;OMIM:304800",Article\n' +
      '"11",-1,1,"Polyuria","bc5cdr","2.0",,,Article\n',
  );
  assert.equal(
    files.concepts,
    'id:ID(Concept),name,type,vocabulary,:LABEL\n' +
      '"MESH:D008094","Lithium","Chemical","MESH",Concept\n' +
      '"MESH:D011141","polyuria","Disease","MESH",Concept\n' +
      '"OMIM:304800","NDI","Disease","OMIM",Concept\n',
  );
  assert.equal(
    files.mentions,
    ':START_ID(Article),:END_ID(Concept),:TYPE,count:int,spans:string[],model\n' +
      '"10","MESH:D008094",MENTIONS,2,"0-7;40-47","bc5cdr@2.0"\n' +
      '"10","MESH:D011141",MENTIONS,1,"10-18","bc5cdr@2.0"\n' +
      '"10","OMIM:304800",MENTIONS,1,"30-33","bc5cdr@2.0"\n' +
      '"11","MESH:D011141",MENTIONS,1,"0-8","bc5cdr@2.0"\n',
  );
  assert.equal(
    files.co_occurs,
    ':START_ID(Concept),:END_ID(Concept),:TYPE,articles:int\n' +
      '"MESH:D008094","MESH:D011141",CO_OCCURS,1\n' +
      '"MESH:D008094","OMIM:304800",CO_OCCURS,1\n' +
      '"MESH:D011141","OMIM:304800",CO_OCCURS,1\n',
  );
  assert.deepEqual(
    rejected.map(([pmid, error]) => [pmid, error.code]),
    [
      ['10', 'SINK_REJECTED'],
      ['12', 'SINK_REJECTED'],
    ],
  );
  assert.match(rejected[0][1].message, /occurs again/);
  assert.match(rejected[1][1].message, /not a CURIE/);
  assert.deepEqual(
    { ...summary, importArguments: undefined },
    {
      articles: 2,
      concepts: 3,
      mentions: 4,
      coOccurrences: 3,
      pairOccurrences: 3,
      skippedPairs: 0,
      rejected: 2,
      pairRuns: 0,
      multilineFields: false,
      importArguments: undefined,
    },
  );
  assert.deepEqual(summary.importArguments, neo4jAdminImportArguments(dir));
  assert.deepEqual((await readdir(dir)).sort(), [
    'articles.csv',
    'co_occurs.csv',
    'concepts.csv',
    'mentions.csv',
  ]);
});

test('a PMID seen again is left out, beyond the bitset range as well', async (t) => {
  const dir = await tempDir(t);
  const seen: string[] = [];
  const pmids = ['134217727', '134217728', '98765432109', '134217727', '98765432109', '5'];
  const summary = await exportKnowledgeGraphCsv(
    pmids.map((pmid) => article(pmid, `T${pmid}`, [])),
    { dir, conceptLookup: () => undefined, onRejected: (pmid) => seen.push(pmid) },
  );
  assert.deepEqual(seen, ['134217727', '98765432109']);
  assert.equal(summary.articles, 4);
});

test('a line break in a field asks for --multiline-fields', async (t) => {
  const dir = await tempDir(t);
  const summary = await exportKnowledgeGraphCsv([article('20', 'Two\nlines', [])], {
    dir,
    conceptLookup: () => undefined,
  });
  assert.equal(summary.multilineFields, true);
  assert.ok(summary.importArguments.includes('--multiline-fields=true'));
  assert.ok(!neo4jAdminImportArguments(dir).includes('--multiline-fields=true'));
  assert.deepEqual(neo4jAdminImportArguments('/x', { database: 'graph' }).slice(0, 5), [
    'database',
    'import',
    'full',
    'graph',
    '--nodes=/x/articles.csv',
  ]);
});

test('a generated corpus exports the graph computed independently, through spilled pair runs', async (t) => {
  const dir = await tempDir(t);
  const concepts = generatedConcepts('csv', 90);
  const known = new Map(concepts.filter((_, i) => i % 4 !== 0).map((c) => [c.id, c]));
  const lookup: ConceptLookup = (id) => {
    const c = known.get(id);
    return c === undefined ? undefined : { name: `${c.name} (preferred)`, type: c.type };
  };
  const articles = [
    ...generateArticles({ firstPmid: 7_000, count: 1_500, concepts, seed: 5, maxMentions: 10 }),
    ...generateArticles({ firstPmid: 9_000, count: 80, concepts, seed: 6, maxMentions: 40 }),
  ];
  const records = asSinkRecords(articles, 100);
  const versions = new Map(records.map((r) => [r.pmid, r.version]));
  async function* stream() {
    for (const a of articles) yield await Promise.resolve(a);
  }
  const cap = 8;
  const summary = await exportKnowledgeGraphCsv(stream(), {
    dir: join(dir, 'spilled'),
    conceptLookup: lookup,
    maxPairedConcepts: cap,
    versionOf: (a) => versions.get(a.pmid) ?? -1,
    pairChunkEntries: 500,
  });
  assert.ok(summary.pairRuns > 10, `pairs went through run files (${summary.pairRuns})`);
  assert.ok(summary.skippedPairs > 0, 'the dense articles hit the cap');
  const expected = expectedGraph({
    written: records,
    applied: articles,
    concepts,
    knownNames: new Map([...known.values()].map((c) => [c.id, `${c.name} (preferred)`])),
    cap,
  });
  assertSameGraph(await readExportedGraph(join(dir, 'spilled')), expected);
  assert.equal(summary.coOccurrences, expected.coOccurs.size);
  assert.equal(
    summary.pairOccurrences,
    [...expected.coOccurs.values()].reduce((a, b) => a + b, 0),
  );

  const inMemory = await exportKnowledgeGraphCsv(articles, {
    dir: join(dir, 'memory'),
    conceptLookup: lookup,
    maxPairedConcepts: cap,
    versionOf: (a) => versions.get(a.pmid) ?? -1,
  });
  assert.equal(inMemory.pairRuns, 0);
  for (const file of ['articles.csv', 'concepts.csv', 'mentions.csv', 'co_occurs.csv']) {
    assert.equal(
      await readFile(join(dir, 'memory', file), 'utf8'),
      await readFile(join(dir, 'spilled', file), 'utf8'),
      file,
    );
  }
});
