/**
 * Builds small PubTator documents for tests from project-written text (never corpus text):
 * offsets are computed here, so fixtures stay correct when their sentences are edited.
 */
export interface FixtureMention {
  /** The mention text; found in `title + " " + abstract`. */
  readonly text: string;
  readonly type: string;
  readonly ids: string;
  /** Which occurrence of `text` (0-based). */
  readonly occurrence?: number;
  readonly extra?: string;
  /** Override the mention column (to simulate a text mismatch). */
  readonly column?: string;
}

export interface FixtureDocument {
  readonly pmid: string;
  readonly title: string;
  readonly abstract: string;
  readonly mentions: readonly FixtureMention[];
  readonly relations?: readonly string[];
}

export function pubtatorDocument(doc: FixtureDocument): string {
  const text = `${doc.title} ${doc.abstract}`;
  const lines = [`${doc.pmid}|t|${doc.title}`, `${doc.pmid}|a|${doc.abstract}`];
  for (const m of doc.mentions) {
    let start = -1;
    for (let k = 0; k <= (m.occurrence ?? 0); k += 1) start = text.indexOf(m.text, start + 1);
    if (start < 0) throw new Error(`fixture mention not found: ${m.text}`);
    const cols = [
      doc.pmid,
      String(start),
      String(start + m.text.length),
      m.column ?? m.text,
      m.type,
      m.ids,
    ];
    if (m.extra !== undefined) cols.push(m.extra);
    lines.push(cols.join('\t'));
  }
  for (const r of doc.relations ?? []) lines.push(`${doc.pmid}\t${r}`);
  return `${lines.join('\n')}\n`;
}

export function pubtatorFile(docs: readonly FixtureDocument[]): string {
  return docs.map(pubtatorDocument).join('\n');
}

/** A chemical/disease abstract in BC5CDR style. */
export const CDR_DOC: FixtureDocument = {
  pmid: '1000001',
  title: 'Cisplatin-induced nephrotoxicity in rats',
  abstract:
    'Rats given cisplatin (5 mg/kg, i.p.) developed acute renal failure and hepatic failure. ' +
    'Co-treatment with N-acetylcysteine reduced nephrotoxicity. The Ca2+ overload was unaffected.',
  mentions: [
    { text: 'Cisplatin', type: 'Chemical', ids: 'D002945' },
    { text: 'nephrotoxicity', type: 'Disease', ids: 'D007674' },
    { text: 'cisplatin', type: 'Chemical', ids: 'D002945' },
    {
      text: 'acute renal failure and hepatic failure',
      type: 'Disease',
      ids: 'D058186|D017093',
      extra: 'acute renal failure|hepatic failure',
    },
    { text: 'N-acetylcysteine', type: 'Chemical', ids: 'D000111' },
    { text: 'nephrotoxicity', type: 'Disease', ids: 'D007674', occurrence: 1 },
    { text: 'Ca', type: 'Chemical', ids: '-1' },
  ],
  relations: ['CID\tD002945\tD007674'],
};

/** A disease abstract in NCBI style: subtypes, `+` composites, stray spaces, MESH: prefix, OMIM. */
export const NCBI_DOC: FixtureDocument = {
  pmid: '2000002',
  title: 'Hereditary breast and ovarian cancer in BRCA1 carriers.',
  abstract:
    'Germline BRCA1 mutations cause breast and ovarian cancer. Some carriers had ' +
    'Fanconi anemia-like features; others showed ataxia-telangiectasia.',
  mentions: [
    {
      text: 'Hereditary breast and ovarian cancer',
      type: 'CompositeMention',
      ids: 'D061325+OMIM:604370',
    },
    {
      text: 'breast and ovarian cancer',
      type: 'CompositeMention',
      ids: ' D001943|D010051',
      occurrence: 1,
    },
    { text: 'Fanconi anemia', type: 'Modifier', ids: 'MESH:D005199' },
    { text: 'ataxia-telangiectasia', type: 'SpecificDisease', ids: 'OMIM:208900 ' },
  ],
};
