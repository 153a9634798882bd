import type { DeadLetterInput } from '../../../src/codec/records.js';
import { parsePubmedXml } from '../../../src/producers/pubmed-xml/parse-pubmed-xml.js';
import type {
  ParsePubmedXmlOptions,
  PubmedEvent,
} from '../../../src/producers/pubmed-xml/parse-pubmed-xml.js';
import type { Article } from '../../../src/codec/records.js';

/** Helpers for tests that build small PubMed XML documents by hand (project-written text). */

export const FIXED_NOW = 1_700_000_000_000;

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** The bytes in chunks of `size` (a stand-in for a stream cut at arbitrary places). */
export async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) {
    await Promise.resolve();
    yield bytes.subarray(i, Math.min(bytes.length, i + size));
  }
}

export async function parseAll(
  input: string | Uint8Array,
  options: Partial<ParsePubmedXmlOptions> = {},
  chunkSize = 64 * 1024,
): Promise<PubmedEvent[]> {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  return collect(
    parsePubmedXml(chunked(bytes, chunkSize), {
      source: 'test.xml',
      now: () => FIXED_NOW,
      ...options,
    }),
  );
}

export function articles(events: readonly PubmedEvent[]): Article[] {
  return events.flatMap((e) => (e.kind === 'article' ? [e.article] : []));
}

export function deadLetters(events: readonly PubmedEvent[]): DeadLetterInput[] {
  return events.flatMap((e) => (e.kind === 'dead-letter' ? [e.record] : []));
}

export function deletions(events: readonly PubmedEvent[]): string[] {
  return events.flatMap((e) => (e.kind === 'delete' ? [e.pmid] : []));
}

export interface ArticleParts {
  title?: string;
  /** Raw XML inside <Abstract>; default one plain AbstractText. */
  abstractXml?: string;
  version?: number;
}

/** A small, well-formed PubmedArticle (current DTD layout). */
export function pubmedArticle(pmid: string, parts: ArticleParts = {}): string {
  const title = parts.title ?? `Synthetic article ${pmid} about receptor signaling.`;
  const abstractXml =
    parts.abstractXml ??
    `<AbstractText>Abstract of ${pmid}: patients were followed for one year.</AbstractText>`;
  return (
    `<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM">` +
    `<PMID Version="${parts.version ?? 1}">${pmid}</PMID>` +
    `<DateRevised><Year>2024</Year><Month>01</Month><Day>15</Day></DateRevised>` +
    `<Article PubModel="Print"><Journal><ISSN IssnType="Print">1234-5678</ISSN>` +
    `<JournalIssue CitedMedium="Print"><PubDate><Year>2023</Year><Month>Nov</Month></PubDate></JournalIssue>` +
    `<Title>Journal of tests</Title><ISOAbbreviation>J Tests</ISOAbbreviation></Journal>` +
    `<ArticleTitle>${title}</ArticleTitle><Abstract>${abstractXml}</Abstract></Article>` +
    `</MedlineCitation><PubmedData><ArticleIdList><ArticleId IdType="pubmed">${pmid}</ArticleId></ArticleIdList></PubmedData>` +
    `</PubmedArticle>`
  );
}

export function pubmedArticleSet(records: readonly string[], prolog = ''): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n${prolog}${prolog === '' ? '' : '\n'}<PubmedArticleSet>\n` +
    records.map((r) => `${r}\n`).join('') +
    `</PubmedArticleSet>\n`
  );
}
