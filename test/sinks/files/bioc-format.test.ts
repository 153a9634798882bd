import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  biocCollectionInfo,
  biocProblem,
  codePointIndex,
  formatBioCCollection,
  toBioCDocument,
} from '../../../src/sinks/files/bioc-format.js';
import { annotatedArticle, checkBioC } from './bioc-check.js';

// Unicode beyond ASCII: Greek and accented letters (one UTF-16 unit each) and a mathematical
// alpha U+1D6FC and a test tube emoji (two UTF-16 units, one code point each).
const unicode = annotatedArticle(
  '31000001',
  '𝛼-Lipoic acid and β-carotene in naïve rats',
  'Oral 𝛼-lipoic acid 🧪 reduced cisplatin nephrotoxicity; β-carotene did not.',
  [
    { text: 'Lipoic acid', type: 'Chemical', ids: ['MESH:D008063'] },
    { text: 'β-carotene', type: 'Chemical', ids: ['MESH:D019207'] },
    { text: 'cisplatin', type: 'Chemical', ids: ['MESH:D002945'] },
    { text: 'nephrotoxicity', type: 'Disease', ids: ['MESH:D007674'] },
    { text: 'β-carotene', type: 'Chemical', ids: ['MESH:D019207'], occurrence: 1 },
  ],
);
const atZero = annotatedArticle(
  '31000002',
  'Cocaine-induced seizures in mice',
  'Cocaine and lidocaine both lower the seizure threshold.',
  [
    { text: 'Cocaine', type: 'Chemical', ids: ['MESH:D003042'] },
    { text: 'seizures', type: 'Disease', ids: ['MESH:D012640'] },
    { text: 'lidocaine', type: 'Chemical', ids: ['MESH:D008012'] },
  ],
);
const noAbstract = annotatedArticle('31000003', 'Hepatitis after halothane anaesthesia', '', [
  { text: 'Hepatitis', type: 'Disease', ids: ['MESH:D056486'] },
  { text: 'halothane', type: 'Chemical', ids: [] },
]);
const multipleIds = annotatedArticle(
  '31000004',
  'Renal and hepatic failure after paracetamol',
  'Breast and ovarian cancer in carriers.',
  [
    { text: 'Renal and hepatic failure', type: 'Disease', ids: ['MESH:D051437', 'MESH:D017093'] },
    { text: 'Breast and ovarian cancer', type: 'Disease', ids: ['MESH:D001943', 'MESH:D010051'] },
  ],
);

test('BioC JSON of several documents validates against the BioC schema, offsets exact', () => {
  const articles = [unicode, atZero, noAbstract, multipleIds];
  const collection = checkBioC(
    formatBioCCollection(articles, biocCollectionInfo(new Date('2024-06-01T12:00:00Z'))),
  );
  assert.deepEqual(
    [collection.source, collection.date, collection.key],
    ['MedStream', '2024-06-01', 'BioC.key'],
  );
  assert.deepEqual(
    collection.documents.map((d) => d.id),
    articles.map((a) => a.pmid),
  );
  const annotationCount = collection.documents
    .flatMap((d) => d.passages)
    .reduce((n, p) => n + p.annotations.length, 0);
  assert.equal(annotationCount, 5 + 3 + 2 + 2, 'every mention is an annotation');
});

test('passages: title at 0, abstract one character after the title; an empty abstract stays', () => {
  const doc = toBioCDocument(noAbstract);
  assert.deepEqual(
    doc.passages.map((p) => [p.offset, p.infons.type, p.text]),
    [
      [0, 'title', noAbstract.title],
      [noAbstract.title.length + 1, 'abstract', ''],
    ],
  );
  const first = toBioCDocument(atZero).passages[0]?.annotations[0];
  assert.deepEqual(first?.locations, [{ offset: 0, length: 7 }]);
});

test('offsets count code points: characters outside the BMP shift UTF-16 offsets, not BioC ones', () => {
  const doc = toBioCDocument(unicode);
  const [title, abstract] = doc.passages;
  // '𝛼' is two UTF-16 units: the record says 3, BioC says 2.
  assert.equal(unicode.mentions[0]?.start, 3);
  assert.deepEqual(title?.annotations[0]?.locations, [{ offset: 2, length: 11 }]);
  // The title holds one astral character, so the abstract starts one code point earlier.
  assert.equal(abstract?.offset, unicode.title.length + 1 - 1);
  // 'cisplatin' comes after two more astral characters in the abstract.
  const cisplatin = abstract?.annotations.find((a) => a.text === 'cisplatin');
  assert.equal(cisplatin?.locations[0]?.offset, (unicode.mentions[2]?.start ?? 0) - 3);
});

test('annotation infons: type, ids joined with ";" or "-", score, source; document infons the model', () => {
  const doc = toBioCDocument(multipleIds);
  assert.deepEqual(doc.passages[0]?.annotations[0]?.infons, {
    identifier: 'MESH:D051437;MESH:D017093',
    type: 'Disease',
    score: '0.875',
    source: 'model',
  });
  assert.equal(toBioCDocument(noAbstract).passages[0]?.annotations[1]?.infons.identifier, '-');
  assert.deepEqual(doc.infons, {
    article_version: '2',
    model: 'bc5cdr-mtl',
    model_version: '1.2.0',
    vocabulary_version: 'medic-2017',
    text_sha256: 'f'.repeat(64),
    processed_at: '2024-05-06T07:08:09.000Z',
    journal: 'J Test Med',
    publication_date: '2024-05',
  });
});

test('a mention across the title/abstract boundary or inside a surrogate pair cannot be BioC', () => {
  const across = {
    ...atZero.mentions[1],
    start: atZero.title.length - 4,
    end: atZero.title.length + 8,
    text: 'mice Cocaine',
  };
  const spanning = { ...atZero, mentions: [across] };
  assert.match(biocProblem(spanning) ?? '', /spans the title and the abstract/);
  const halfPair = { ...unicode, mentions: [{ ...unicode.mentions[0], start: 1 }] };
  assert.match(biocProblem(halfPair) ?? '', /surrogate pair/);
  assert.equal(biocProblem(unicode), undefined);
  assert.equal(biocProblem(noAbstract), undefined);
});

test('codePointIndex maps UTF-16 offsets to code points and is the identity for BMP text', () => {
  const astral = codePointIndex('a𝛼b🧪c');
  assert.deepEqual(
    [0, 1, 3, 4, 6, 7].map((i) => astral(i)),
    [0, 1, 2, 3, 4, 5],
  );
  const bmp = codePointIndex('naïve β');
  assert.equal(bmp(7), 7);
});

test('the BioC checks refuse what is not BioC: a number infon, a missing array, a shifted location', () => {
  const good = JSON.parse(formatBioCCollection([atZero])) as {
    documents: {
      infons: Record<string, unknown>;
      relations?: unknown;
      passages: { annotations: { locations: { offset: number }[] }[] }[];
    }[];
  };
  const variants = [
    (c: typeof good) => {
      c.documents[0].infons.model_version = 1;
    },
    (c: typeof good) => {
      delete c.documents[0].relations;
    },
    (c: typeof good) => {
      c.documents[0].passages[0].annotations[0].locations[0].offset += 1;
    },
  ];
  for (const change of variants) {
    const bad = structuredClone(good);
    change(bad);
    assert.throws(() => checkBioC(JSON.stringify(bad)), assert.AssertionError);
  }
  checkBioC(JSON.stringify(good));
});
