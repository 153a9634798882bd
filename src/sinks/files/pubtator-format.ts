import type { AnnotatedArticle } from '../../codec/records.js';

/**
 * PubTator text, as PubTator3 exports it: `PMID|t|title`, `PMID|a|abstract`, then one line per
 * mention `PMID<TAB>start<TAB>end<TAB>text<TAB>Type<TAB>ids` (several ids joined by `|`, `-`
 * when unnormalized: PubTator3 leaves the column empty or `-`), and a blank line. Offsets are
 * UTF-16 code units into `title + " " + abstract`, which equal the format's character offsets
 * for the BMP text PubMed uses.
 */
export function formatPubTator(article: AnnotatedArticle): string {
  // One space per character, so offsets stay valid.
  const clean = (s: string) => s.replace(/[\t\r\n]/g, ' ');
  const lines = [
    `${article.pmid}|t|${clean(article.title)}`,
    `${article.pmid}|a|${clean(article.abstract)}`,
  ];
  for (const m of article.mentions) {
    const ids = m.ids.length === 0 ? '-' : m.ids.join('|');
    lines.push([article.pmid, m.start, m.end, clean(m.text), m.type, ids].join('\t'));
  }
  return `${lines.join('\n')}\n\n`;
}
