import { SaxesParser } from 'saxes';
import type { SaxesTagPlain } from 'saxes';
import { MedStreamError } from '../../errors.js';
import type { ErrorCode } from '../../errors.js';
import type { AbstractSection, Article, MeshHeading } from '../../codec/records.js';
import { normalizeDate } from './dates.js';
import type { DateParts } from './dates.js';

/**
 * Turns the text of ONE record (`<PubmedArticle>…</PubmedArticle>`, `<MedlineCitation>…`,
 * `<PubmedBookArticle>…`, `<DeleteCitation>…`) into an Article or deletions, with saxes.
 *
 * saxes is given the record alone, never the document prolog: it knows only the five XML
 * predefined entities and character references, so any other entity reference (a DTD entity,
 * `&nbsp;`, a billion-laughs or XXE payload) is an "undefined entity" error, never an
 * expansion or a fetch.
 *
 * Extraction is by path from the citation element (MedlineCitation or BookDocument); subtrees
 * that carry nothing we keep (authors, references, PubmedData, …) are skipped wholesale, so
 * the handlers stay cheap. Text is taken with inline markup (b, i, sup, sub, u, MathML)
 * reduced to its characters; runs of XML whitespace (space, tab, CR, LF) collapse to one
 * space and ends are trimmed, so offsets into the annotated text do not depend on the XML's
 * indentation. Other characters (e.g. U+00A0) are kept as they are.
 */

export interface RecordError {
  code: ErrorCode;
  message: string;
  /** 1-based, relative to the record's first line. */
  line: number | null;
  column: number | null;
}

export interface RecordOutcome {
  article: Article | null;
  /** PMIDs of a DeleteCitation. */
  deletes: string[];
  /** Set when the record (or part of a DeleteCitation) must be dead-lettered. */
  error: RecordError | null;
  /** The record's PMID when it was read (dead-letter key). */
  pmid: string | null;
  /** Line ends in the record, as XML counts them; null when parsing stopped early. */
  newlines: number | null;
}

export interface RecordParserOptions {
  source: string;
  maxTextChars: number;
  now: () => number;
}

/** What a captured leaf element's text is for. */
const Field = {
  Pmid: 1,
  Title: 2,
  Vernacular: 3,
  BookTitle: 4,
  AbstractText: 5,
  JournalTitle: 6,
  JournalIso: 7,
  Issn: 8,
  PubYear: 9,
  PubMonth: 10,
  PubDay: 11,
  PubSeason: 12,
  PubMedlineDate: 13,
  RevYear: 14,
  RevMonth: 15,
  RevDay: 16,
  Descriptor: 17,
  Qualifier: 18,
  DeletePmid: 19,
} as const;
type Field = (typeof Field)[keyof typeof Field];

const MC = 'MedlineCitation';
const BD = 'BookDocument';

/** Elements we descend into; any other element not in LEAVES is skipped with its subtree. */
const CONTAINERS = new Set<string>([
  MC,
  `${MC}/Article`,
  `${MC}/Article/Journal`,
  `${MC}/Article/Journal/JournalIssue`,
  `${MC}/Article/Journal/JournalIssue/PubDate`,
  `${MC}/Article/Abstract`,
  `${MC}/DateRevised`,
  `${MC}/MeshHeadingList`,
  `${MC}/MeshHeadingList/MeshHeading`,
  BD,
  `${BD}/Book`,
  `${BD}/Book/PubDate`,
  `${BD}/Abstract`,
  `${BD}/DateRevised`,
]);

const LEAVES = new Map<string, Field>([
  [`${MC}/PMID`, Field.Pmid],
  [`${MC}/Article/ArticleTitle`, Field.Title],
  [`${MC}/Article/VernacularTitle`, Field.Vernacular],
  [`${MC}/Article/Abstract/AbstractText`, Field.AbstractText],
  [`${MC}/Article/Journal/Title`, Field.JournalTitle],
  [`${MC}/Article/Journal/ISOAbbreviation`, Field.JournalIso],
  [`${MC}/Article/Journal/ISSN`, Field.Issn],
  [`${MC}/Article/Journal/JournalIssue/PubDate/Year`, Field.PubYear],
  [`${MC}/Article/Journal/JournalIssue/PubDate/Month`, Field.PubMonth],
  [`${MC}/Article/Journal/JournalIssue/PubDate/Day`, Field.PubDay],
  [`${MC}/Article/Journal/JournalIssue/PubDate/Season`, Field.PubSeason],
  [`${MC}/Article/Journal/JournalIssue/PubDate/MedlineDate`, Field.PubMedlineDate],
  [`${MC}/DateRevised/Year`, Field.RevYear],
  [`${MC}/DateRevised/Month`, Field.RevMonth],
  [`${MC}/DateRevised/Day`, Field.RevDay],
  [`${MC}/MeshHeadingList/MeshHeading/DescriptorName`, Field.Descriptor],
  [`${MC}/MeshHeadingList/MeshHeading/QualifierName`, Field.Qualifier],
  [`${BD}/PMID`, Field.Pmid],
  [`${BD}/ArticleTitle`, Field.Title],
  [`${BD}/VernacularTitle`, Field.Vernacular],
  [`${BD}/Book/BookTitle`, Field.BookTitle],
  [`${BD}/Abstract/AbstractText`, Field.AbstractText],
  [`${BD}/Book/PubDate/Year`, Field.PubYear],
  [`${BD}/Book/PubDate/Month`, Field.PubMonth],
  [`${BD}/Book/PubDate/Day`, Field.PubDay],
  [`${BD}/Book/PubDate/Season`, Field.PubSeason],
  [`${BD}/Book/PubDate/MedlineDate`, Field.PubMedlineDate],
  [`${BD}/DateRevised/Year`, Field.RevYear],
  [`${BD}/DateRevised/Month`, Field.RevMonth],
  [`${BD}/DateRevised/Day`, Field.RevDay],
]);

/**
 * Record root element → the path its children hang from. `PubmedArticle` (current DTD) and
 * `MedlineCitation` (MedlineCitationSet) records share the MedlineCitation paths.
 */
const RECORD_ROOTS: Readonly<Record<string, string>> = {
  PubmedArticle: '@PubmedArticle',
  PubmedBookArticle: '@PubmedBookArticle',
  MedlineCitation: MC,
  DeleteCitation: '@DeleteCitation',
};

/**
 * The paths compiled into a tree of node ids, so that an open tag costs one map lookup:
 * `CHILDREN[node].get(name)` is a container node id (>= 0), a leaf as `-field`, or undefined
 * (skip the subtree).
 */
const NODE_IDS = new Map<string, number>();
const CHILDREN: Map<string, number>[] = [];
function nodeId(path: string): number {
  let id = NODE_IDS.get(path);
  if (id === undefined) {
    id = CHILDREN.length;
    NODE_IDS.set(path, id);
    CHILDREN.push(new Map());
  }
  return id;
}
function addChild(parent: string, name: string, child: number): void {
  CHILDREN[nodeId(parent)].set(name, child);
}
function split(path: string): [string, string] {
  const slash = path.lastIndexOf('/');
  return [path.slice(0, slash), path.slice(slash + 1)];
}
for (const root of Object.values(RECORD_ROOTS)) nodeId(root);
addChild('@PubmedArticle', MC, nodeId(MC));
addChild('@PubmedBookArticle', BD, nodeId(BD));
addChild('@DeleteCitation', 'PMID', -Field.DeletePmid);
for (const path of CONTAINERS) {
  if (path.includes('/')) {
    const [parent, name] = split(path);
    addChild(parent, name, nodeId(path));
  }
}
for (const [path, field] of LEAVES) {
  const [parent, name] = split(path);
  addChild(parent, name, -field);
}
const MESH_HEADING_NODE = nodeId(`${MC}/MeshHeadingList/MeshHeading`);
const JOURNAL_NODE = nodeId(`${MC}/Article/Journal`);

const PMID_PATTERN = /^\d{1,19}$/;
const XML_SPACE_RUN = /[ \t\r\n]+/g;
const NEEDS_NORMALIZING = /[\t\r\n]| {2}/;
const ONLY_XML_SPACE = /^[ \t\r\n]*$/;

/** Collapses runs of XML whitespace to one space and trims XML whitespace at both ends. */
export function normalizeSpace(text: string): string {
  if (
    text.charCodeAt(0) !== 0x20 &&
    text.charCodeAt(text.length - 1) !== 0x20 &&
    !NEEDS_NORMALIZING.test(text)
  ) {
    return text;
  }
  const collapsed = text.replace(XML_SPACE_RUN, ' ');
  const start = collapsed.startsWith(' ') ? 1 : 0;
  const end = collapsed.endsWith(' ') ? collapsed.length - 1 : collapsed.length;
  return start >= end ? '' : collapsed.slice(start, end);
}

function yes(value: string | undefined): boolean {
  return value === 'Y';
}

function nonEmpty(value: string | undefined): string | null {
  if (value === undefined) return null;
  const normalized = normalizeSpace(value);
  return normalized === '' ? null : normalized;
}

/** Namespaces off (MathML prefixes stay in names), positions on (error messages). */
type SaxesOptionsUsed = { xmlns: false; position: true };

export class PubmedRecordParser {
  private parser!: SaxesParser<SaxesOptionsUsed>;

  // Per-record state, reset by begin().
  private rootNode = 0;
  /** Node ids of the open (not skipped, not captured) elements. */
  private nodes: number[] = [];
  private skipDepth = 0;
  private field: Field | 0 = 0;
  private captureDepth = 0;
  private mathDepth = 0;
  private captured: string[] = [];
  private capturedAttrs: Record<string, string> = {};
  private isDelete = false;
  private pmid: string | null = null;
  private version = 1;
  private title = '';
  private vernacular = '';
  private bookTitle = '';
  private sections: AbstractSection[] = [];
  private textChars = 0;
  private journalTitle: string | null = null;
  private journalIso: string | null = null;
  private issn: string | null = null;
  private sawJournal = false;
  private pubDate: DateParts = {};
  private revised: DateParts = {};
  private mesh: MeshHeading[] = [];
  private heading: MeshHeading | null = null;
  private deletes: string[] = [];
  private invalid: RecordError | null = null;

  constructor(private readonly options: RecordParserOptions) {
    this.createParser();
  }

  private createParser(): void {
    const parser = new SaxesParser<SaxesOptionsUsed>({ xmlns: false, position: true });
    parser.on('opentag', (tag) => this.openTag(tag));
    parser.on('closetag', () => this.closeTag());
    parser.on('text', (text) => this.onText(text));
    parser.on('cdata', (text) => this.onText(text));
    // Throwing from the handler abandons the record at its first error.
    parser.on('error', (error) => {
      throw new MedStreamError('XML_MALFORMED', error.message.replace(/^\d+:\d+: /, ''), {
        details: { line: parser.line, column: parser.column },
      });
    });
    this.parser = parser;
  }

  /** Parses one record's text; `rootName` is the record element's name as framed. */
  parse(text: string, rootName: string): RecordOutcome {
    if (!Object.hasOwn(RECORD_ROOTS, rootName)) {
      this.pmid = null;
      return this.fail(
        'RECORD_INVALID',
        `Unexpected element <${rootName}> where a record was expected.`,
      );
    }
    this.begin(rootName);
    let newlines: number;
    try {
      this.parser.write(text);
      newlines = this.parser.line - 1;
      this.parser.close();
    } catch (error) {
      // saxes is left mid-document after an error: start over with a fresh parser.
      this.createParser();
      if (error instanceof MedStreamError && error.code === 'XML_MALFORMED') {
        return this.syntaxOutcome(error);
      }
      throw error;
    }
    return { ...this.finish(), newlines };
  }

  private fail(
    code: ErrorCode,
    message: string,
    line: number | null = null,
    column: number | null = null,
  ): RecordOutcome {
    return {
      article: null,
      deletes: [],
      error: { code, message, line, column },
      pmid: this.pmid,
      newlines: null,
    };
  }

  private syntaxOutcome(error: MedStreamError): RecordOutcome {
    const undefinedEntity = /undefined entity/.test(error.message);
    return this.fail(
      'XML_MALFORMED',
      `Record is not well-formed XML: ${error.message}${
        undefinedEntity
          ? ' (only the XML predefined entities and character references are allowed)'
          : ''
      }`,
      error.details.line as number,
      error.details.column as number,
    );
  }

  private begin(rootName: string): void {
    this.rootNode = nodeId(RECORD_ROOTS[rootName]);
    this.nodes.length = 0;
    this.skipDepth = 0;
    this.field = 0;
    this.captureDepth = 0;
    this.mathDepth = 0;
    this.captured = [];
    this.capturedAttrs = {};
    this.isDelete = rootName === 'DeleteCitation';
    this.pmid = null;
    this.version = 1;
    this.title = '';
    this.vernacular = '';
    this.bookTitle = '';
    this.sections = [];
    this.textChars = 0;
    this.journalTitle = null;
    this.journalIso = null;
    this.issn = null;
    this.sawJournal = false;
    this.pubDate = {};
    this.revised = {};
    this.mesh = [];
    this.heading = null;
    this.deletes = [];
    this.invalid = null;
  }

  private openTag(tag: SaxesTagPlain): void {
    if (this.skipDepth > 0) {
      this.skipDepth++;
      return;
    }
    const { name } = tag;
    if (this.field !== 0) {
      this.captureDepth++;
      if (this.mathDepth > 0 || name === 'math' || name.endsWith(':math')) this.mathDepth++;
      return;
    }
    const { nodes } = this;
    const depth = nodes.length;
    if (depth === 0) {
      nodes.push(this.rootNode);
      return;
    }
    const child = CHILDREN[nodes[depth - 1]].get(name);
    if (child === undefined) {
      this.skipDepth = 1;
      return;
    }
    if (child >= 0) {
      nodes.push(child);
      if (child === MESH_HEADING_NODE) {
        this.heading = {
          descriptorUi: null,
          descriptorName: '',
          majorTopic: false,
          qualifiers: [],
        };
      } else if (child === JOURNAL_NODE) {
        this.sawJournal = true;
      }
      return;
    }
    const field = -child as Field;
    this.field = field;
    this.captureDepth = 1;
    this.mathDepth = 0;
    this.captured = [];
    this.capturedAttrs = tag.attributes;
  }

  private closeTag(): void {
    if (this.skipDepth > 0) {
      this.skipDepth--;
      return;
    }
    if (this.field !== 0) {
      if (this.mathDepth > 0) this.mathDepth--;
      if (--this.captureDepth === 0) {
        const field = this.field;
        this.field = 0;
        this.store(field, this.captured.length === 1 ? this.captured[0] : this.captured.join(''));
      }
      return;
    }
    const node = this.nodes.pop();
    if (node === MESH_HEADING_NODE && this.heading !== null) {
      if (this.heading.descriptorName !== '') this.mesh.push(this.heading);
      this.heading = null;
    }
  }

  private onText(text: string): void {
    if (this.field === 0) return;
    // Whitespace between MathML elements is layout, not content.
    if (this.mathDepth > 0 && ONLY_XML_SPACE.test(text)) return;
    this.captured.push(text);
  }

  private countText(text: string): void {
    this.textChars += text.length;
    if (this.textChars > this.options.maxTextChars && this.invalid === null) {
      this.invalid = {
        code: 'XML_TOO_LARGE',
        message: `Title and abstract exceed maxTextChars (${this.options.maxTextChars}).`,
        line: null,
        column: null,
      };
    }
  }

  private store(field: Field, raw: string): void {
    const attrs = this.capturedAttrs;
    switch (field) {
      case Field.Pmid: {
        this.pmid = raw.trim();
        const version = attrs.Version;
        if (version !== undefined && /^\d{1,9}$/.test(version.trim()))
          this.version = Number(version);
        break;
      }
      case Field.Title:
        this.title = normalizeSpace(raw);
        this.countText(this.title);
        break;
      case Field.Vernacular:
        this.vernacular = normalizeSpace(raw);
        break;
      case Field.BookTitle:
        this.bookTitle = normalizeSpace(raw);
        break;
      case Field.AbstractText: {
        const text = normalizeSpace(raw);
        // Empty parts are dropped so the joined abstract never has doubled spaces.
        if (text !== '') {
          this.countText(text);
          this.sections.push({
            label: nonEmpty(attrs.Label),
            category: nonEmpty(attrs.NlmCategory),
            text,
          });
        }
        break;
      }
      case Field.JournalTitle:
        this.journalTitle = nonEmpty(raw);
        break;
      case Field.JournalIso:
        this.journalIso = nonEmpty(raw);
        break;
      case Field.Issn:
        this.issn = nonEmpty(raw);
        break;
      case Field.PubYear:
        this.pubDate.year = raw;
        break;
      case Field.PubMonth:
        this.pubDate.month = raw;
        break;
      case Field.PubDay:
        this.pubDate.day = raw;
        break;
      case Field.PubSeason:
        this.pubDate.season = raw;
        break;
      case Field.PubMedlineDate:
        this.pubDate.medlineDate = raw;
        break;
      case Field.RevYear:
        this.revised.year = raw;
        break;
      case Field.RevMonth:
        this.revised.month = raw;
        break;
      case Field.RevDay:
        this.revised.day = raw;
        break;
      case Field.Descriptor:
        if (this.heading !== null) {
          this.heading.descriptorName = normalizeSpace(raw);
          this.heading.descriptorUi = nonEmpty(attrs.UI);
          this.heading.majorTopic = yes(attrs.MajorTopicYN);
        }
        break;
      case Field.Qualifier:
        if (this.heading !== null) {
          const name = normalizeSpace(raw);
          if (name !== '') {
            this.heading.qualifiers.push({
              ui: nonEmpty(attrs.UI),
              name,
              majorTopic: yes(attrs.MajorTopicYN),
            });
          }
        }
        break;
      case Field.DeletePmid:
        this.deletes.push(raw.trim());
        break;
    }
  }

  private finish(): Omit<RecordOutcome, 'newlines'> {
    if (this.isDelete) {
      const valid = this.deletes.filter((pmid) => PMID_PATTERN.test(pmid));
      const bad = this.deletes.filter((pmid) => !PMID_PATTERN.test(pmid));
      return {
        article: null,
        deletes: valid,
        error:
          bad.length > 0 || valid.length === 0
            ? {
                code: 'RECORD_INVALID',
                message:
                  valid.length === 0 && bad.length === 0
                    ? 'DeleteCitation without PMID.'
                    : `DeleteCitation with invalid PMID(s): ${bad.map((p) => JSON.stringify(p)).join(', ')}.`,
                line: null,
                column: null,
              }
            : null,
        pmid: null,
      };
    }
    if (this.invalid !== null)
      return { article: null, deletes: [], error: this.invalid, pmid: this.pmid };
    if (this.pmid === null) return this.fail('RECORD_INVALID', 'Record without PMID.');
    if (!PMID_PATTERN.test(this.pmid)) {
      return this.fail('RECORD_INVALID', `PMID ${JSON.stringify(this.pmid)} is not numeric.`);
    }
    const title =
      this.title !== '' ? this.title : this.vernacular !== '' ? this.vernacular : this.bookTitle;
    const journal =
      this.sawJournal ||
      this.journalTitle !== null ||
      this.journalIso !== null ||
      this.issn !== null
        ? { title: this.journalTitle, isoAbbreviation: this.journalIso, issn: this.issn }
        : null;
    const article: Article = {
      pmid: this.pmid,
      version: this.version,
      title,
      abstract: this.sections.map((s) => s.text).join(' '),
      sections: this.sections,
      journal,
      publicationDate: normalizeDate(this.pubDate),
      meshHeadings: this.mesh,
      dateRevised: normalizeDate(this.revised),
      source: this.options.source,
      ingestedAt: this.options.now(),
    };
    return { article, deletes: [], error: null, pmid: this.pmid };
  }
}
