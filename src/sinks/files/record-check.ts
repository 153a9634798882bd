import type { AnnotatedArticle } from '../../codec/records.js';
import { articleText } from '../../codec/records.js';
import type { SinkRecord } from '../sink.js';

/**
 * What every file format needs from a record before it is written: a PMID that cannot break a
 * line-based format, the same PMID in the key and the value, and mention offsets that address
 * the article's own text (`title + " " + abstract`, UTF-16 code units). A record failing any of
 * these is rejected with RECORD_INVALID instead of being written as a file that readers would
 * refuse or, worse, silently misread.
 */

/** PubMed PMIDs are digits; anything without separators the formats use is accepted. */
const PMID_RE = /^[^\s|]+$/;

/** Why `record` cannot be written, or undefined when it can. */
export function recordProblem(record: SinkRecord): string | undefined {
  if (!PMID_RE.test(record.pmid)) {
    return `PMID ${JSON.stringify(record.pmid)} is empty or contains whitespace or '|'`;
  }
  const article = record.article;
  if (article === null) return undefined;
  if (article.pmid !== record.pmid) {
    return `record key ${record.pmid} differs from the article's PMID ${article.pmid}`;
  }
  return mentionProblem(article);
}

/** The first mention whose offsets do not address its text in the article, described. */
export function mentionProblem(article: AnnotatedArticle): string | undefined {
  const text = articleText(article);
  for (const [i, m] of article.mentions.entries()) {
    const where = `mention ${i} (${m.start}-${m.end} ${JSON.stringify(m.text)})`;
    if (!Number.isSafeInteger(m.start) || !Number.isSafeInteger(m.end)) {
      return `${where}: offsets are not integers`;
    }
    if (m.start < 0 || m.start >= m.end) return `${where}: start must be ≥ 0 and < end`;
    if (m.end > text.length) return `${where}: end exceeds the text length ${text.length}`;
    const slice = text.slice(m.start, m.end);
    if (slice !== m.text) {
      return `${where}: the text at these offsets is ${JSON.stringify(slice)}`;
    }
  }
  return undefined;
}
