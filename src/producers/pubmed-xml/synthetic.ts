import type { AbstractSection, Article, MeshHeading } from '../../codec/records.js';

/**
 * Project-written synthetic PubMed XML, shaped like real update files and efetch replies
 * (element layout of the 2016 MEDLINE and 2024 PubMed DTD samples), for tests, the parse
 * benchmark and demos. No text is taken from PubMed: words come from a small hand-written
 * vocabulary and a seeded PRNG, so the same options always give the same bytes.
 *
 * Each article comes with the Article fields the parser must extract from it, so consumers
 * can check a round trip without a second parser.
 */

export type SyntheticFormat = 'PubmedArticleSet' | 'MedlineCitationSet';

export interface SyntheticOptions {
  articles: number;
  seed?: number;
  format?: SyntheticFormat;
  /** PMID of the first article; the rest follow consecutively. Default 30,000,000. */
  firstPmid?: number;
  /** PMIDs listed in a final DeleteCitation. */
  deletions?: readonly string[];
  /** Mean abstract length in characters. Default 1,500. */
  abstractChars?: number;
  /** Share of articles with a ReferenceList (PubmedArticleSet only). Default 0.4. */
  referenceShare?: number;
}

/** The fields the parser must produce for an article (source and ingestedAt excluded). */
export type ExpectedArticle = Omit<Article, 'source' | 'ingestedAt'>;

export interface SyntheticArticle {
  /** The record element (PubmedArticle or MedlineCitation), without surrounding whitespace. */
  xml: string;
  expected: ExpectedArticle;
}

const WORDS = (
  'patients cohort treatment therapy clinical trial randomized outcome mortality risk factor ' +
  'expression protein gene receptor signaling pathway inhibitor activation regulation cell ' +
  'tumor cancer carcinoma metastasis survival prognosis biomarker serum plasma level dose ' +
  'response efficacy safety adverse event placebo group control baseline follow-up month ' +
  'year analysis regression significant increase decrease association correlation model ' +
  'mouse rat vivo vitro tissue liver kidney heart brain lung muscle blood bone marrow ' +
  'infection virus bacterial resistance antibiotic vaccine immune inflammation cytokine ' +
  'diabetes insulin glucose obesity hypertension stroke disease syndrome disorder chronic ' +
  'acute severe mild symptom diagnosis screening imaging sensitivity specificity accuracy ' +
  'mutation variant allele genotype phenotype sequencing transcription methylation ' +
  'mitochondrial oxidative stress apoptosis proliferation differentiation migration ' +
  'children adults elderly women men participants questionnaire survey hospital care ' +
  'surgery procedure complication recovery rehabilitation pain quality life cost ' +
  'we found that these results suggest the present study this was in and of with for ' +
  'between among after before during within compared higher lower novel potential role'
).split(' ');

const HEADINGS: ReadonlyArray<readonly [string, string]> = [
  ['D006801', 'Humans'],
  ['D008297', 'Male'],
  ['D005260', 'Female'],
  ['D000328', 'Adult'],
  ['D008875', 'Middle Aged'],
  ['D000368', 'Aged'],
  ['D051379', 'Mice'],
  ['D009369', 'Neoplasms'],
  ['D003920', 'Diabetes Mellitus'],
  ['D006973', 'Hypertension'],
  ['D020521', 'Stroke'],
  ['D007249', 'Inflammation'],
  ['D017209', 'Apoptosis'],
  ['D009154', 'Mutation'],
  ['D015415', 'Biomarkers'],
  ['D016032', 'Randomized Controlled Trials as Topic'],
  ['D015331', 'Cohort Studies'],
  ['D012307', 'Risk Factors'],
  ['D016896', 'Treatment Outcome'],
  ['D018384', 'Oxidative Stress'],
];

const QUALIFIERS: ReadonlyArray<readonly [string, string]> = [
  ['Q000175', 'diagnosis'],
  ['Q000188', 'drug therapy'],
  ['Q000453', 'epidemiology'],
  ['Q000235', 'genetics'],
  ['Q000378', 'metabolism'],
  ['Q000503', 'physiopathology'],
  ['Q000517', 'prevention & control'],
  ['Q000628', 'therapy'],
];

const SECTIONS: ReadonlyArray<readonly [string, string]> = [
  ['BACKGROUND', 'BACKGROUND'],
  ['OBJECTIVE', 'OBJECTIVE'],
  ['METHODS', 'METHODS'],
  ['RESULTS', 'RESULTS'],
  ['CONCLUSIONS', 'CONCLUSIONS'],
];

const JOURNALS: ReadonlyArray<readonly [string, string, string]> = [
  ['Journal of synthetic medicine', 'J Synth Med', '1234-5678'],
  ['Synthetic oncology reports', 'Synth Oncol Rep', '2345-6789'],
  ['Annals of generated biology', 'Ann Gen Biol', '3456-7890'],
  ['The example journal of clinical research', 'Example J Clin Res', '4567-8901'],
];

const MONTH_NAMES = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
];

/** Inline fragments: [xml, text the parser must produce]. Non-ASCII on purpose. */
const INLINE: ReadonlyArray<readonly [string, string]> = [
  ['<i>in vitro</i>', 'in vitro'],
  ['CO<sub>2</sub>', 'CO2'],
  ['10<sup>-3</sup> M', '10-3 M'],
  ['p &lt; 0.05', 'p < 0.05'],
  ['IL-1&#x3b2;', 'IL-1β'],
  ['15 &#xb1; 3 µg', '15 ± 3 µg'],
  ['<b>R&amp;D</b>', 'R&D'],
  ['<u>β-cell</u>', 'β-cell'],
];

/** mulberry32: small, fast, seeded; good enough for test data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;',
  );
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

class Writer {
  constructor(readonly random: () => number) {}

  int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }

  /** A sentence as [xml, text]; sometimes with an inline fragment. */
  sentence(inlineChance: number): [string, string] {
    const n = this.int(8, 24);
    const words: string[] = [];
    for (let i = 0; i < n; i++) words.push(this.pick(WORDS));
    const first = words[0];
    words[0] = first.charAt(0).toUpperCase() + first.slice(1);
    let xml = words.join(' ');
    let text = xml;
    if (this.chance(inlineChance)) {
      const [fragmentXml, fragmentText] = this.pick(INLINE);
      xml += ` ${fragmentXml}`;
      text += ` ${fragmentText}`;
    }
    return [`${xml}.`, `${text}.`];
  }

  paragraph(chars: number, inlineChance: number): [string, string] {
    const xml: string[] = [];
    const text: string[] = [];
    let length = 0;
    while (length < chars) {
      const [x, t] = this.sentence(inlineChance);
      xml.push(x);
      text.push(t);
      length += t.length + 1;
    }
    return [xml.join(' '), text.join(' ')];
  }

  name(): string {
    const w = this.pick(WORDS);
    return w.charAt(0).toUpperCase() + w.slice(1);
  }
}

function pubDate(w: Writer): { xml: string; expected: string } {
  const year = w.int(1990, 2024);
  const roll = w.int(0, 99);
  if (roll < 40) {
    const month = w.int(1, 12);
    const day = w.int(1, 28);
    return {
      xml: `<PubDate><Year>${year}</Year><Month>${MONTH_NAMES[month - 1]}</Month><Day>${pad2(day)}</Day></PubDate>`,
      expected: `${year}-${pad2(month)}-${pad2(day)}`,
    };
  }
  if (roll < 75) {
    const month = w.int(1, 12);
    return {
      xml: `<PubDate><Year>${year}</Year><Month>${MONTH_NAMES[month - 1]}</Month></PubDate>`,
      expected: `${year}-${pad2(month)}`,
    };
  }
  if (roll < 85) return { xml: `<PubDate><Year>${year}</Year></PubDate>`, expected: `${year}` };
  if (roll < 95) {
    const month = w.int(1, 11);
    return {
      xml: `<PubDate><MedlineDate>${year} ${MONTH_NAMES[month - 1]}-${MONTH_NAMES[month]}</MedlineDate></PubDate>`,
      expected: `${year}-${pad2(month)}`,
    };
  }
  return {
    xml: `<PubDate><Year>${year}</Year><Season>Spring</Season></PubDate>`,
    expected: `${year}`,
  };
}

function article(
  w: Writer,
  pmid: string,
  options: Required<Omit<SyntheticOptions, 'deletions'>>,
): SyntheticArticle {
  const version = w.chance(0.05) ? 2 : 1;
  const [journalTitle, iso, issn] = w.pick(JOURNALS);
  const date = pubDate(w);
  const revYear = w.int(2000, 2024);
  const revMonth = w.int(1, 12);
  const revDay = w.int(1, 28);
  const dateRevised = `${revYear}-${pad2(revMonth)}-${pad2(revDay)}`;
  const [titleXml, title] = w.sentence(0.1);

  const sections: AbstractSection[] = [];
  let abstractXml = '';
  if (!w.chance(0.05)) {
    const target = Math.max(200, Math.round(options.abstractChars * (0.6 + w.random() * 0.8)));
    if (w.chance(0.35)) {
      const parts = [SECTIONS[w.int(0, 1)], SECTIONS[2], SECTIONS[3], SECTIONS[4]] as ReadonlyArray<
        readonly [string, string]
      >;
      for (const [label, category] of parts) {
        const [x, t] = w.paragraph(target / parts.length, 0.15);
        abstractXml += `<AbstractText Label="${label}" NlmCategory="${category}">${x}</AbstractText>`;
        sections.push({ label, category, text: t });
      }
    } else {
      const [x, t] = w.paragraph(target, 0.15);
      abstractXml += `<AbstractText>${x}</AbstractText>`;
      sections.push({ label: null, category: null, text: t });
    }
    if (w.chance(0.3)) {
      abstractXml += `<CopyrightInformation>Copyright &#xa9; ${revYear} The Authors.</CopyrightInformation>`;
    }
    abstractXml = `<Abstract>${abstractXml}</Abstract>`;
  }

  let authors = '';
  const authorCount = w.int(1, 10);
  for (let i = 0; i < authorCount; i++) {
    const last = w.name();
    const fore = w.name();
    authors +=
      `<Author ValidYN="Y"><LastName>${last}</LastName><ForeName>${fore}</ForeName><Initials>${fore.charAt(0)}</Initials>` +
      (w.chance(0.7)
        ? `<AffiliationInfo><Affiliation>Department of ${w.name()}, University of ${w.name()}, ${w.name()} ${w.int(10000, 99999)}, Country.</Affiliation></AffiliationInfo>`
        : '') +
      `</Author>`;
  }

  const meshHeadings: MeshHeading[] = [];
  let meshXml = '';
  const headingCount = w.chance(0.1) ? 0 : w.int(5, 15);
  const used = new Set<string>();
  for (let i = 0; i < headingCount; i++) {
    const [ui, name] = w.pick(HEADINGS);
    if (used.has(ui)) continue;
    used.add(ui);
    const major = w.chance(0.2);
    const heading: MeshHeading = {
      descriptorUi: ui,
      descriptorName: name,
      majorTopic: major,
      qualifiers: [],
    };
    let xml = `<MeshHeading><DescriptorName UI="${ui}" MajorTopicYN="${major ? 'Y' : 'N'}">${escapeXml(name)}</DescriptorName>`;
    if (w.chance(0.5)) {
      const count = w.int(1, 3);
      const usedQ = new Set<string>();
      for (let q = 0; q < count; q++) {
        const [qui, qname] = w.pick(QUALIFIERS);
        if (usedQ.has(qui)) continue;
        usedQ.add(qui);
        const qmajor = w.chance(0.3);
        heading.qualifiers.push({ ui: qui, name: qname, majorTopic: qmajor });
        xml += `<QualifierName UI="${qui}" MajorTopicYN="${qmajor ? 'Y' : 'N'}">${escapeXml(qname)}</QualifierName>`;
      }
    }
    meshXml += `${xml}</MeshHeading>`;
    meshHeadings.push(heading);
  }

  const citation =
    `<MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="${version}">${pmid}</PMID>` +
    `<DateCompleted><Year>${revYear}</Year><Month>${pad2(revMonth)}</Month><Day>${pad2(revDay)}</Day></DateCompleted>` +
    `<DateRevised><Year>${revYear}</Year><Month>${pad2(revMonth)}</Month><Day>${pad2(revDay)}</Day></DateRevised>` +
    `<Article PubModel="Print-Electronic"><Journal><ISSN IssnType="Electronic">${issn}</ISSN>` +
    `<JournalIssue CitedMedium="Internet"><Volume>${w.int(1, 300)}</Volume><Issue>${w.int(1, 12)}</Issue>${date.xml}</JournalIssue>` +
    `<Title>${escapeXml(journalTitle)}</Title><ISOAbbreviation>${escapeXml(iso)}</ISOAbbreviation></Journal>` +
    `<ArticleTitle>${titleXml}</ArticleTitle>` +
    `<Pagination><StartPage>${w.int(1, 900)}</StartPage><MedlinePgn>${w.int(1, 900)}</MedlinePgn></Pagination>` +
    `<ELocationID EIdType="doi" ValidYN="Y">10.5555/synthetic.${pmid}</ELocationID>` +
    abstractXml +
    `<AuthorList CompleteYN="Y">${authors}</AuthorList><Language>eng</Language>` +
    `<PublicationTypeList><PublicationType UI="D016428">Journal Article</PublicationType></PublicationTypeList>` +
    `</Article><MedlineJournalInfo><Country>United States</Country><MedlineTA>${escapeXml(iso)}</MedlineTA>` +
    `<NlmUniqueID>${w.int(1000000, 9999999)}</NlmUniqueID><ISSNLinking>${issn}</ISSNLinking></MedlineJournalInfo>` +
    `<CitationSubset>IM</CitationSubset>` +
    (meshXml === '' ? '' : `<MeshHeadingList>${meshXml}</MeshHeadingList>`) +
    (w.chance(0.4)
      ? `<KeywordList Owner="NOTNLM"><Keyword MajorTopicYN="N">${w.pick(WORDS)}</Keyword><Keyword MajorTopicYN="N">${w.pick(WORDS)}</Keyword></KeywordList>`
      : '') +
    `</MedlineCitation>`;

  let xml = citation;
  if (options.format === 'PubmedArticleSet') {
    let references = '';
    if (w.chance(options.referenceShare)) {
      const count = w.int(5, 25);
      for (let i = 0; i < count; i++) {
        const [refXml] = w.sentence(0);
        references +=
          `<Reference><Citation>${w.name()} A, ${w.name()} B. ${refXml} J Synth Med. ${w.int(1980, 2023)};${w.int(1, 99)}:${w.int(1, 999)}.</Citation>` +
          `<ArticleIdList><ArticleId IdType="pubmed">${w.int(1000000, 39999999)}</ArticleId></ArticleIdList></Reference>`;
      }
      references = `<ReferenceList>${references}</ReferenceList>`;
    }
    xml =
      `<PubmedArticle>${citation}<PubmedData><History>` +
      `<PubMedPubDate PubStatus="entrez"><Year>${revYear}</Year><Month>${revMonth}</Month><Day>${revDay}</Day></PubMedPubDate>` +
      `</History><PublicationStatus>ppublish</PublicationStatus><ArticleIdList>` +
      `<ArticleId IdType="pubmed">${pmid}</ArticleId><ArticleId IdType="doi">10.5555/synthetic.${pmid}</ArticleId>` +
      `</ArticleIdList>${references}</PubmedData></PubmedArticle>`;
  }

  return {
    xml,
    expected: {
      pmid,
      version,
      title,
      abstract: sections.map((s) => s.text).join(' '),
      sections,
      journal: { title: journalTitle, isoAbbreviation: iso, issn },
      publicationDate: date.expected,
      meshHeadings,
      dateRevised,
    },
  };
}

function resolved(options: SyntheticOptions): Required<Omit<SyntheticOptions, 'deletions'>> {
  return {
    articles: options.articles,
    seed: options.seed ?? 1,
    format: options.format ?? 'PubmedArticleSet',
    firstPmid: options.firstPmid ?? 30_000_000,
    abstractChars: options.abstractChars ?? 1500,
    referenceShare: options.referenceShare ?? 0.4,
  };
}

/** The articles one at a time (nothing is accumulated). */
export function* syntheticArticles(
  options: SyntheticOptions,
): Generator<SyntheticArticle, void, undefined> {
  const o = resolved(options);
  const w = new Writer(prng(o.seed));
  for (let i = 0; i < o.articles; i++) yield article(w, String(o.firstPmid + i), o);
}

export function syntheticHeader(format: SyntheticFormat = 'PubmedArticleSet'): string {
  const doctype =
    format === 'PubmedArticleSet'
      ? '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2024//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_240101.dtd">'
      : '<!DOCTYPE MedlineCitationSet PUBLIC "-//NLM//DTD Medline Citation, 1st January, 2016//EN" "https://www.nlm.nih.gov/databases/dtd/nlmmedlinecitationset_160101.dtd">';
  return `<?xml version="1.0" encoding="UTF-8"?>\n${doctype}\n<${format}>\n`;
}

export function syntheticFooter(
  format: SyntheticFormat = 'PubmedArticleSet',
  deletions: readonly string[] = [],
): string {
  const deletes =
    deletions.length === 0
      ? ''
      : `<DeleteCitation>\n${deletions.map((pmid) => `<PMID Version="1">${pmid}</PMID>\n`).join('')}</DeleteCitation>\n`;
  return `${deletes}</${format}>\n`;
}

/** The whole document as string pieces: header, one piece per article, footer. */
export function* syntheticPubmedXml(options: SyntheticOptions): Generator<string, void, undefined> {
  const format = options.format ?? 'PubmedArticleSet';
  yield syntheticHeader(format);
  for (const { xml } of syntheticArticles(options)) yield `${xml}\n`;
  yield syntheticFooter(format, options.deletions);
}

/** The document as UTF-8 chunks of about `chunkBytes` (a stand-in for a file stream). */
export async function* syntheticPubmedXmlBytes(
  options: SyntheticOptions,
  chunkBytes = 64 * 1024,
): AsyncGenerator<Uint8Array, void, undefined> {
  let pieces: string[] = [];
  let size = 0;
  for (const piece of syntheticPubmedXml(options)) {
    pieces.push(piece);
    size += piece.length;
    if (size >= chunkBytes) {
      // Let other work run between chunks, as a real stream would.
      await Promise.resolve();
      yield Buffer.from(pieces.join(''), 'utf8');
      pieces = [];
      size = 0;
    }
  }
  if (pieces.length > 0) yield Buffer.from(pieces.join(''), 'utf8');
}
