import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AnnotatedArticle, Mention } from '../../src/codec/records.js';
import { articleText } from '../../src/codec/records.js';
import { countMentions, topConcepts } from '../../src/demo/demo-stats.js';
import type { ReportData } from '../../src/demo/report-html.js';
import {
  PALETTE,
  TEXT_COLOUR,
  escapeHtml,
  placeMentions,
  renderReportHtml,
  typeStyles,
} from '../../src/demo/report-html.js';
import {
  articleSections,
  assertBalancedTags,
  contrastRatio,
  innerOf,
  marks,
  textContent,
} from './html-checks.js';

const NAMES: Record<string, string> = {
  'MESH:D000140': 'Acidosis, Lactic',
  'MESH:D008687': 'Metformin',
  'MESH:D000319': 'Adrenergic beta-Antagonists',
  'MESH:D014409': 'Tumor Necrosis Factor-alpha',
};

function article(
  pmid: string,
  title: string,
  abstract: string,
  mentions: Mention[] = [],
): AnnotatedArticle {
  return {
    pmid,
    version: 1,
    title,
    abstract,
    journal: 'Journal of <Tests> & "Quotes"',
    publicationDate: '2024-06',
    meshHeadings: [],
    textSha256: '0'.repeat(64),
    modelName: 'test-model',
    modelVersion: '1.2.3',
    vocabularyVersion: 'vocab-1',
    mentions,
    processedAt: 0,
  };
}

/** The n-th occurrence of `needle` in the article text, as a mention (UTF-16 offsets). */
function mention(
  a: Pick<AnnotatedArticle, 'title' | 'abstract'>,
  needle: string,
  type: string,
  ids: string[] = [],
  occurrence = 0,
  score = 0.9,
): Mention {
  const text = articleText(a);
  let start = -1;
  for (let i = 0; i <= occurrence; i += 1) start = text.indexOf(needle, start + 1);
  assert.ok(start >= 0, `"${needle}" not in the text`);
  return { start, end: start + needle.length, text: needle, type, ids, score, source: 'model' };
}

function report(records: AnnotatedArticle[], overrides: Partial<ReportData> = {}): string {
  const conceptName = (id: string): string | undefined => NAMES[id];
  return renderReportHtml({
    input: { source: 'samples', description: 'test articles', fallbackReason: null },
    model: 'test-model@1.2.3',
    vocabularyVersion: 'vocab-1',
    generatedAt: Date.UTC(2024, 5, 12, 8, 30, 0),
    seconds: 0.5,
    records,
    topConcepts: topConcepts(records, conceptName),
    conceptName,
    pubmedLinks: true,
    ...overrides,
  });
}

/** Title and abstract as a reader sees them: tags dropped, entities decoded. */
function visibleText(section: string): { title: string; abstract: string } {
  return {
    title: textContent(innerOf(section, 'h2', 'title') ?? ''),
    abstract: textContent(innerOf(section, 'p', 'abstract') ?? ''),
  };
}

describe('escapeHtml', () => {
  test('escapes the five characters that can end text or an attribute', () => {
    assert.equal(escapeHtml(`a<b>&"c"'d'`), 'a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;');
    assert.equal(escapeHtml('α ± β — 𝛼'), 'α ± β — 𝛼');
  });
});

describe('renderReportHtml', () => {
  test('escapes titles, abstracts, journals, types and concept names everywhere', () => {
    const a = article(
      '1',
      'Metformin <script>alert(1)</script> & lactic acidosis',
      'Doses < 2 g & "quoted" text with lactic acidosis.',
    );
    a.mentions = [
      mention(a, 'Metformin', 'Chemical', ['MESH:D008687']),
      mention(a, 'lactic acidosis', 'Disease', ['MESH:D000140'], 1),
      mention(a, '<script>', 'Odd"Type<', []),
    ];
    const html = report([a]);
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotThrow(() => assertBalancedTags(html));
    const section = articleSections(html).get('1');
    assert.ok(section !== undefined);
    assert.deepEqual(visibleText(section), { title: a.title, abstract: a.abstract });
    assert.match(section, /Journal of &lt;Tests&gt; &amp; &quot;Quotes&quot;/);
    const found = marks(section);
    assert.deepEqual(
      found.map((m) => [m.text, m.attributes['data-type']]),
      [
        ['Metformin', 'Chemical'],
        ['<script>', 'Odd"Type<'],
        ['lactic acidosis', 'Disease'],
      ],
    );
    assert.match(found[0].attributes['title'], /MESH:D008687 Metformin/);
  });

  test('offsets are UTF-16 code units: Greek letters, ±, and a character outside the BMP', () => {
    const a = article(
      '2',
      'β-blockers ± TNF-α inhibitors in 𝛼-thalassemia',
      'Patients (n = 12 ± 3) on β-blockers had lower TNF-α; 𝛼𝛽 ratios and TNF-α levels fell.',
    );
    // 𝛼 (U+1D6FC) is two code units: a code-point offset would shift everything after it.
    a.mentions = [
      mention(a, 'β-blockers', 'Chemical', ['MESH:D000319']),
      mention(a, 'TNF-α', 'Gene', ['MESH:D014409']),
      mention(a, '𝛼-thalassemia', 'Disease'),
      mention(a, 'β-blockers', 'Chemical', ['MESH:D000319'], 1),
      mention(a, 'TNF-α', 'Gene', ['MESH:D014409'], 2),
    ];
    const html = report([a]);
    assertBalancedTags(html);
    const section = articleSections(html).get('2')!;
    assert.deepEqual(visibleText(section), { title: a.title, abstract: a.abstract });
    assert.deepEqual(
      marks(section).map((m) => m.text),
      ['β-blockers', 'TNF-α', '𝛼-thalassemia', 'β-blockers', 'TNF-α'],
    );
    // The abstract's second TNF-α comes after the astral 𝛼𝛽: it must still be TNF-α.
    const abstractHtml = innerOf(section, 'p', 'abstract')!;
    assert.match(abstractHtml, /𝛼𝛽 ratios and <mark[^>]*>TNF-α<\/mark> levels fell\./);
  });

  test('overlapping mentions: the longest is highlighted, all are listed, markup stays valid', () => {
    const a = article(
      '3',
      'Lactic acidosis with metformin',
      'Metformin-associated lactic acidosis was rare.',
    );
    const long = mention(a, 'Metformin-associated lactic acidosis', 'Disease', ['MESH:D000140']);
    const nested = mention(a, 'Metformin', 'Chemical', ['MESH:D008687']);
    const inner = mention(a, 'lactic acidosis', 'Disease', ['MESH:D000140']);
    // Starts inside `long` and ends after it: a partial overlap.
    const partial = mention(a, 'acidosis was', 'Disease');
    // In the title: a shorter mention that starts first loses to a longer one it overlaps.
    const titleShort = mention(a, 'Lactic', 'Chemical');
    const titleLong = mention(a, 'Lactic acidosis with', 'Disease');
    a.mentions = [long, nested, inner, partial, titleShort, titleLong];
    const html = report([a]);
    assertBalancedTags(html);
    const section = articleSections(html).get('3')!;
    assert.deepEqual(visibleText(section), { title: a.title, abstract: a.abstract });
    assert.deepEqual(
      marks(section).map((m) => m.text),
      ['Lactic acidosis with', 'Metformin-associated lactic acidosis'],
    );
    const rows = section.match(/<tr data-highlighted="(true|false)">/g) ?? [];
    assert.equal(rows.length, 6, 'every mention has a row');
    assert.equal(rows.filter((r) => r.includes('false')).length, 4);
    assert.match(section, /not highlighted: overlaps the highlighted “Metformin-associated/);
  });

  test('an article without mentions and one with an empty abstract', () => {
    const plain = article('4', 'Nothing to find here', 'Plain text & nothing else.');
    const noAbstract = article('5', 'Lactic acidosis', '');
    noAbstract.mentions = [mention(noAbstract, 'Lactic acidosis', 'Disease', ['MESH:D000140'])];
    const html = report([plain, noAbstract]);
    assertBalancedTags(html);
    const sections = articleSections(html);
    assert.deepEqual([...sections.keys()], ['4', '5']);
    const s4 = sections.get('4')!;
    assert.equal(marks(s4).length, 0);
    assert.match(s4, /No mentions found\./);
    assert.deepEqual(visibleText(s4), { title: plain.title, abstract: plain.abstract });
    const s5 = sections.get('5')!;
    assert.match(s5, /<p class="abstract empty">No abstract\.<\/p>/);
    assert.deepEqual(
      marks(s5).map((m) => [m.text, m.attributes['data-ids']]),
      [['Lactic acidosis', 'MESH:D000140']],
    );
  });

  test('mentions whose offsets do not fit the text are listed, never highlighted', () => {
    const a = article('6', 'Metformin trial', 'Lactic acidosis occurred.');
    const ok = mention(a, 'Lactic acidosis', 'Disease');
    a.mentions = [
      ok,
      { ...ok, start: 200, end: 215 },
      { ...ok, start: ok.start + 1, end: ok.end + 1 },
      // "trial Lactic": across the separating space.
      { ...mention(a, 'trial Lactic', 'Disease') },
    ];
    const placements = placeMentions(articleText(a), a.title.length, a.mentions);
    assert.deepEqual(
      placements.map((p) => (p.highlighted ? 'shown' : p.reason)),
      [
        'spans the title and the abstract',
        'shown',
        'the text at 17–32 is not the mention text',
        'offsets 200–215 are outside the text (length 41)',
      ],
    );
    const html = report([a]);
    assertBalancedTags(html);
    assert.deepEqual(
      marks(articleSections(html).get('6')!).map((m) => m.text),
      ['Lactic acidosis'],
    );
  });

  test('header facts, legend, top concepts, links and no external resources', () => {
    const a = article('38000001', 'Lactic acidosis', 'Metformin and lactic acidosis.');
    a.mentions = [
      mention(a, 'Lactic acidosis', 'Disease', ['MESH:D000140']),
      mention(a, 'Metformin', 'Chemical', ['MESH:D008687']),
      mention(a, 'lactic acidosis', 'Disease', ['MESH:D000140']),
    ];
    const b = article('38000002', 'Metformin', 'Unrelated.');
    b.mentions = [mention(b, 'Metformin', 'Chemical', ['MESH:D008687', 'MESH:D999999'])];
    const html = report([a, b], {
      input: {
        source: 'samples',
        description: 'the 2 test citations',
        fallbackReason: 'PubMed E-utilities not reachable (host not found)',
      },
      skipped: 1,
    });
    assertBalancedTags(html);
    assert.match(html, /<dt>Input<\/dt><dd>the 2 test citations<\/dd>/);
    assert.match(html, /<dt>Note<\/dt><dd>PubMed E-utilities not reachable \(host not found\)/);
    assert.match(html, /<dt>Model<\/dt><dd>test-model@1\.2\.3<\/dd>/);
    assert.match(html, /<dt>Vocabulary<\/dt><dd>vocab-1<\/dd>/);
    assert.match(html, /<dt>Articles<\/dt><dd>2 \(1 record could not be annotated\)<\/dd>/);
    assert.match(html, /<dt>Mentions<\/dt><dd>4 \(Chemical 2, Disease 2\); 4 with concept ids/);
    assert.match(html, /<dt>Throughput<\/dt><dd>4\.0 articles\/s \(0\.50 s\)<\/dd>/);
    assert.match(html, /2024-06-12 08:30:00 UTC/);
    assert.match(html, /<span class="swatch ent ent-disease">Disease<\/span> 2 mentions/);
    // Top concepts: metformin in two articles first; an id the dictionary lacks says so.
    const concepts = innerOf(html, 'table', 'concepts')!;
    const ids = [...concepts.matchAll(/<code>([^<]+)<\/code>/g)].map((m) => m[1]);
    assert.deepEqual(ids, ['MESH:D008687', 'MESH:D000140', 'MESH:D999999']);
    assert.match(
      concepts,
      /MESH:D999999<\/code><\/td><td><span class="muted">\(not in the dictionary\)/,
    );
    assert.match(
      html,
      /<a href="https:\/\/pubmed\.ncbi\.nlm\.nih\.gov\/38000001\/">PMID 38000001<\/a>/,
    );
    // Self-contained: no scripts, no external resources, and a policy that forbids both.
    assert.doesNotMatch(html, /<script|<link|<img|<iframe|\ssrc=|url\(|@import/i);
    assert.match(
      html,
      /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/,
    );
    const noLinks = report([a], { pubmedLinks: false });
    assert.doesNotMatch(noLinks, /href=/);
    assert.match(
      noLinks,
      /PMID 38000001<\/span> <span class="muted">\(sample citation, not in PubMed\)/,
    );
  });
});

describe('typeStyles', () => {
  test('usual types keep their colour; classes are unique; contrast is sufficient', () => {
    const a = typeStyles(['Chemical', 'Disease']);
    const b = typeStyles(['Disease', 'Species', 'Chemical']);
    assert.equal(a.get('Disease')!.background, b.get('Disease')!.background);
    assert.equal(a.get('Chemical')!.background, b.get('Chemical')!.background);
    assert.notEqual(a.get('Disease')!.background, a.get('Chemical')!.background);
    const many = typeStyles(['Cell Line', 'cell-line', 'X', 'Y', 'Z', 'A', 'B', 'C', 'D', 'E']);
    const classes = [...many.values()].map((s) => s.className);
    assert.equal(new Set(classes).size, 10);
    assert.ok(classes.every((c) => /^ent-[a-z0-9-]+$/.test(c)));
    assert.deepEqual(classes.slice(0, 2), ['ent-cell-line', 'ent-cell-line-2']);
    // Eight colours for the first eight types, then reuse.
    assert.equal(new Set([...many.values()].slice(0, 8).map((s) => s.background)).size, 8);
    for (const colour of PALETTE) {
      assert.ok(contrastRatio(TEXT_COLOUR, colour.background) >= 7, colour.background);
      assert.ok(contrastRatio(colour.border, colour.background) >= 3, colour.border);
    }
  });
});

describe('demo stats', () => {
  test('counts by type (most frequent first) and ranks concepts by articles, then mentions', () => {
    const a = article('1', 'Metformin', 'metformin and lactic acidosis');
    a.mentions = [
      mention(a, 'Metformin', 'Chemical', ['MESH:D008687']),
      mention(a, 'metformin', 'Chemical', ['MESH:D008687']),
      mention(a, 'lactic acidosis', 'Disease', []),
    ];
    const b = article('2', 'Lactic acidosis', '');
    b.mentions = [mention(b, 'Lactic acidosis', 'Disease', ['MESH:D000140'])];
    const counts = countMentions([a, b]);
    assert.deepEqual(counts, { mentions: 4, normalized: 3, byType: { Chemical: 2, Disease: 2 } });
    assert.deepEqual(Object.keys(countMentions([b, a]).byType), ['Chemical', 'Disease']);
    assert.deepEqual(
      topConcepts([a, b], (id) => NAMES[id]),
      [
        { id: 'MESH:D008687', name: 'Metformin', type: 'Chemical', articles: 1, mentions: 2 },
        { id: 'MESH:D000140', name: 'Acidosis, Lactic', type: 'Disease', articles: 1, mentions: 1 },
      ],
    );
  });
});
