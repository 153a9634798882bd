import type { AnnotatedArticle } from '../../codec/records.js';

/**
 * NDJSON output: one AnnotatedArticle per line, exactly the record (field names of
 * schemas/annotated-article.avsc, offsets in UTF-16 code units), and a deletion as
 * `{"pmid":"…","deleted":true}`. Lines are in stream order, so a reader that applies them in
 * order (a later line for a PMID replaces or deletes an earlier one) reproduces the stream.
 */

/**
 * `JSON.stringify` leaves U+0085, U+2028 and U+2029 unescaped; some line readers (Python's
 * `str.splitlines`, editors) break lines there. Escaping them keeps one record per line and is
 * still the same JSON value.
 */
export function jsonOneLine(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u0085\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export function formatNdjsonArticle(article: AnnotatedArticle): string {
  return `${jsonOneLine(article)}\n`;
}

export function formatNdjsonDeletion(pmid: string): string {
  return `${jsonOneLine({ pmid, deleted: true })}\n`;
}
